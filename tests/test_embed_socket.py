"""A running server lends its loaded model to CLI commands (embed_socket.py).

The socket's own behaviour (stale files, a second server, privacy, another model, a server
that goes away) is tested in process with a fake embedder named like the real model: these
tests are about the socket, not about meaning. The whole route, a real `serve` over stdio and
a real CLI recall that never loads onnxruntime, runs in real processes with the real model.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mcp_memory import FakeEmbedder, Settings, embed_socket

from .conftest import REPO, needs_model

pytestmark = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets")


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A short private XDG_RUNTIME_DIR (a socket's path must fit in ~100 bytes), sharing on."""
    folder = Path(tempfile.mkdtemp(prefix="mm-"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    monkeypatch.setenv("MCP_MEMORY_SHARE_MODEL", "1")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def lendable(tmp_path: Path) -> tuple[Settings, FakeEmbedder]:
    """Settings, and an embedder a CLI with them would accept (it carries the model's name)."""
    settings = Settings(db_path=tmp_path / "m.db", cache_dir=tmp_path / "cache")
    return settings, FakeEmbedder(name=embed_socket.model_name(settings))


def lender(settings: Settings, embedder: FakeEmbedder) -> embed_socket.Lender:
    found = embed_socket.Lender.for_settings(embedder, settings)
    assert found is not None
    return found


def test_a_cli_gets_the_vectors_the_lending_server_computes(runtime: Path, tmp_path: Path) -> None:
    settings, embedder = lendable(tmp_path)
    serving = lender(settings, embedder)
    assert serving.publish()
    try:
        borrowed = embed_socket.borrow(settings, fallback=lambda: pytest.fail("loaded locally"))
        assert borrowed is not None
        assert (borrowed.name, borrowed.dim) == (embedder.name, embedder.dim)
        texts = ["which database do we use", "deploys go through release branches"]
        assert np.array_equal(borrowed.embed(texts), embedder.embed(texts))
        assert np.array_equal(borrowed.embed_fixed(texts[:1]), embedder.embed(texts[:1]))
    finally:
        serving.close()


def test_the_socket_and_its_folder_are_private_to_the_user(runtime: Path, tmp_path: Path) -> None:
    settings, embedder = lendable(tmp_path)
    serving = lender(settings, embedder)
    assert serving.publish()
    try:
        assert stat.S_IMODE(serving.path.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(serving.path.stat().st_mode) == 0o600
        assert serving.path.parent.stat().st_uid == os.getuid()
    finally:
        serving.close()
    assert not serving.path.exists()  # a server that stops removes its socket


def test_a_folder_other_users_can_enter_is_never_used(runtime: Path, tmp_path: Path) -> None:
    settings, _ = lendable(tmp_path)
    assert embed_socket.socket_path(settings) is not None  # made private
    (runtime / "mcp-memory").chmod(0o755)
    assert embed_socket.socket_path(settings) is None


def test_a_stale_socket_file_is_skipped_by_the_cli_and_replaced_by_the_next_server(
    runtime: Path, tmp_path: Path
) -> None:
    settings, embedder = lendable(tmp_path)
    path = embed_socket.socket_path(settings)
    assert path is not None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:  # a server killed -9
        dead.bind(str(path))
    assert path.exists()

    assert embed_socket.borrow(settings) is None  # refused: the CLI loads its own model

    serving = lender(settings, embedder)
    assert serving.publish()
    try:
        assert embed_socket.borrow(settings) is not None
    finally:
        serving.close()


def test_a_second_server_leaves_the_socket_to_the_first_and_takes_over_when_it_exits(
    runtime: Path, tmp_path: Path
) -> None:
    settings, embedder = lendable(tmp_path)
    first, second = lender(settings, embedder), lender(settings, embedder)
    assert first.publish()
    assert not second.publish()
    assert first.listening and not second.listening
    first.close()
    assert embed_socket.borrow(settings) is None
    assert second.publish()  # its next backfill round (server/app.py)
    try:
        assert embed_socket.borrow(settings) is not None
    finally:
        second.close()


def test_a_server_running_another_model_is_not_borrowed(runtime: Path, tmp_path: Path) -> None:
    settings, _ = lendable(tmp_path)
    assert embed_socket.Lender.for_settings(FakeEmbedder(), settings) is None  # lends nothing
    path = embed_socket.socket_path(settings)
    assert path is not None
    other = embed_socket.Lender(FakeEmbedder(name="another/model:int8"), path)
    assert other.publish()
    try:
        assert embed_socket.borrow(settings) is None
    finally:
        other.close()


def test_without_unix_sockets_or_with_sharing_off_nothing_is_lent_or_borrowed(
    runtime: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, embedder = lendable(tmp_path)
    off = Settings(db_path=settings.db_path, cache_dir=settings.cache_dir, share_model=False)
    assert embed_socket.socket_path(off) is None
    assert embed_socket.Lender.for_settings(embedder, off) is None
    monkeypatch.setenv("MCP_MEMORY_SHARE_MODEL", "off")
    assert Settings.from_env().share_model is False
    monkeypatch.delattr(socket, "AF_UNIX")  # Windows
    assert embed_socket.socket_path(settings) is None
    assert embed_socket.borrow(settings) is None


def test_a_command_whose_server_goes_away_loads_the_model_itself(
    runtime: Path, tmp_path: Path
) -> None:
    settings, embedder = lendable(tmp_path)
    serving = lender(settings, embedder)
    assert serving.publish()
    loads: list[FakeEmbedder] = []

    def load_here() -> FakeEmbedder:
        loads.append(FakeEmbedder(name=embedder.name))
        return loads[-1]

    borrowed = embed_socket.borrow(settings, fallback=load_here)
    assert borrowed is not None
    serving.close()
    texts = ["the orders service retries three times"]
    assert np.array_equal(borrowed.embed(texts), embedder.embed(texts))
    assert np.array_equal(borrowed.embed(texts), embedder.embed(texts))
    assert len(loads) == 1  # loaded once, then used for the rest of the command


# ---- real processes, the real model ---------------------------------------------------------

_CLI = """
import contextlib, io, json, sys
from mcp_memory.cli import app
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        app(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
print(json.dumps({"code": code, "out": out.getvalue(), "modules": sorted(sys.modules)}))
"""


def cli(env: dict[str, str], *args: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", _CLI, *args], capture_output=True, text=True, env=env, cwd=REPO
    )
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def stderr_lines(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    """The server's log lines as they come (an empty string when it exits)."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)
        lines.put("")

    threading.Thread(target=pump, daemon=True).start()
    return lines


def wait_for(lines: queue.Queue[str], needle: str) -> str:
    seen = []
    while True:
        line = lines.get(timeout=120)
        seen.append(line)
        if needle in line:
            return line
        assert line, f"the server exited before saying {needle!r}:\n{''.join(seen)}"


@pytest.mark.slow
@needs_model
def test_a_cli_recall_uses_a_running_stdio_servers_model_and_never_loads_onnxruntime(
    runtime: Path, tmp_path: Path, model_cache: Path
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "MCP_MEMORY_DB": str(tmp_path / "shared.db"),
        "MCP_MEMORY_CACHE_DIR": str(model_cache),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "mcp_memory", "serve"],
        stdin=subprocess.PIPE,  # kept open: the stdio client is still there
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    lines = stderr_lines(server)
    try:
        lent = wait_for(lines, "lending the model to CLI commands on ")
        path = Path(lent.rsplit(" on ", 1)[1].strip())
        assert path.parent == runtime / "mcp-memory"

        wrote = cli(
            env, "remember", "We run PostgreSQL 16 in production; the replica is read-only."
        )
        found = cli(env, "recall", "which relational database do we use", "--json")
    finally:
        assert server.stdin is not None
        server.stdin.close()  # the client hangs up: the server stops
        server.wait(timeout=60)
    for run in (wrote, found):
        assert run["code"] in (0, None), run
        modules = set(run["modules"])  # type: ignore[arg-type]
        assert "onnxruntime" not in modules and "tokenizers" not in modules
    result = json.loads(str(found["out"]))
    assert result["mode"] == "hybrid"
    assert "PostgreSQL" in result["results"][0]["content"]
    assert not path.exists()  # removed when the server stopped
