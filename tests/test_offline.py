"""Offline is a supported mode: no model and no hub mean keyword recall and one notice line,
not third-party ERROR lines and ~40 s of download retries; `embed` fills the vectors in later,
and `install --model-dir` hands a client's server the model folder.

There is no hub here, so "no model" is the natural state once MCP_MEMORY_MODEL_DIR is unset
and fastembed's cache is an empty folder. The hub address is a closed local port, so a probe
is real and refused at once, whatever network the machine running the tests has.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from mcp_memory import HUMAN, MemoryStore, Settings, embeddings, hub, install, quantize
from mcp_memory.cli import app
from mcp_memory.cli.setup import install_command

from .conftest import MODEL_DIR, REPO, needs_model

CLOSED_HUB = "http://127.0.0.1:9"  # discard port: nothing listens, the connect is refused


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """This process sees no model anywhere and an unreachable hub; returns the cache dir."""
    (tmp_path / "fastembed").mkdir()
    monkeypatch.delenv("MCP_MEMORY_MODEL_DIR", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for proxy in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    monkeypatch.setenv("FASTEMBED_CACHE_PATH", str(tmp_path / "fastembed"))
    monkeypatch.setenv("HF_ENDPOINT", CLOSED_HUB)
    monkeypatch.setenv("MCP_MEMORY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(embeddings, "_noticed", threading.Event())  # a fresh "process"
    return tmp_path / "cache"


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mcp_memory", *args],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(REPO)},
        cwd=REPO,
    )


@pytest.mark.slow
def test_without_a_model_the_cli_says_so_in_one_line_and_recalls_by_keywords(
    no_model: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "MCP_MEMORY_DB": str(tmp_path / "m.db")}
    stored = cli("remember", "Deploys go through the release/* branches", env=env)
    found = cli("recall", "release process", env=env)
    for proc in (stored, found):
        assert proc.returncode == 0, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "no embedding model" in lines[0], proc.stderr
        assert "ERROR" not in proc.stderr and "mcp-memory embed" in lines[0]
    assert "Deploys go through the release/* branches" in found.stdout


def _spy_loads(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Which `allow_download` each model load asked for (the real loader runs)."""
    asked: list[bool] = []
    real = embeddings.FastEmbedder

    def load(*args: Any, **kwargs: Any) -> embeddings.FastEmbedder:
        asked.append(bool(kwargs.get("allow_download", True)))
        return real(*args, **kwargs)

    monkeypatch.setattr(embeddings, "FastEmbedder", load)
    return asked


def _count_probes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    probes: list[tuple[str, int]] = []
    real = hub.connect

    def connect(host: str, port: int, timeout: float) -> bool:
        probes.append((host, port))
        return real(host, port, timeout)

    monkeypatch.setattr(hub, "connect", connect)
    return probes


def test_a_server_with_no_model_probes_the_hub_once_and_never_starts_a_download(
    no_model: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    asked, probes = _spy_loads(monkeypatch), _count_probes(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="mcp_memory"):
        for _ in range(2):  # a second server (or store) in the same hour
            loader = embeddings.ModelLoader(allow_download=True, cache_dir=no_model)
            assert loader.wait() is None
            assert "cannot be reached" in (loader.error or "")
    assert probes == [("127.0.0.1", 9)]  # the failure was remembered
    assert (no_model / hub.STAMP).is_file()
    assert asked == [False, False]  # only the local look-up ran: no download, no retries
    notices = [r for r in caplog.records if "no embedding model" in r.getMessage()]
    assert len(notices) == 1


def test_a_failed_probe_is_forgotten_after_an_hour(no_model: Path) -> None:
    stamp = no_model / hub.STAMP
    assert hub.reachable(no_model) is False and stamp.is_file()
    assert hub.failed_recently(stamp)
    old = time.time() - hub.OFFLINE_TTL_S - 60
    os.utime(stamp, (old, old))
    assert not hub.failed_recently(stamp)


def test_hf_hub_offline_skips_the_probe(no_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    probes = _count_probes(monkeypatch)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub.reachable(no_model) is False
    assert probes == []


def test_the_probe_goes_to_the_https_proxy_when_one_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    monkeypatch.delenv("ALL_PROXY", raising=False)
    monkeypatch.delenv("all_proxy", raising=False)
    monkeypatch.delenv("https_proxy", raising=False)
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    assert hub.probe_target() == ("huggingface.co", 443)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    assert hub.probe_target() == ("proxy.corp", 3128)


def test_embed_without_a_model_fails_with_one_clear_reason(no_model: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["embed", "--db", str(tmp_path / "m.db")])
    assert result.exit_code == 1
    assert "no embedding model, nothing embedded" in result.output


def _keyword_only_store(path: Path, texts: list[str]) -> None:
    settings = Settings.from_env()
    store = MemoryStore.open(path, settings=settings, embedder=None)
    try:
        for text in texts:
            store.remember(text, actor=HUMAN)
    finally:
        store.close()


@needs_model
@pytest.mark.slow
def test_embed_fills_in_the_vectors_of_memories_stored_offline(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    texts = ["We run PostgreSQL 16 in production", "Use pytest -x for quick failures"]
    _keyword_only_store(db, texts)
    before = CliRunner().invoke(app, ["doctor", "--db", str(db)])
    assert "unembedded: 2" in before.output and "mcp-memory embed" in before.output

    result = CliRunner().invoke(app, ["embed", "--db", str(db), "--json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["embedded"] == 2 and report["left"] == 0
    assert report["model"].endswith(quantize.SUFFIX)
    found = json.loads(
        CliRunner()
        .invoke(app, ["recall", "which relational database", "--db", str(db), "--json"])
        .stdout
    )
    assert found["results"][0]["content"] == texts[0]


def _install(*args: str) -> Any:
    group = typer.Typer()
    group.command("install")(install_command)
    group.command("noop", hidden=True)(lambda: None)
    return CliRunner().invoke(group, ["install", *args])


@needs_model
def test_install_model_dir_writes_the_model_folder_into_the_clients_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MCP_MEMORY_MODEL_DIR", raising=False)

    result = _install("cursor", "--model-dir", str(MODEL_DIR))

    assert result.exit_code == 0, result.output
    c = install.client("cursor")
    path = install.config_path(c, c.default_scope, tmp_path)
    entry = install.parse(path.read_text(), c.fmt)[c.section][install.SERVER_NAME]
    assert entry["env"]["MCP_MEMORY_MODEL_DIR"] == str(MODEL_DIR.resolve())


def test_install_model_dir_refuses_a_folder_without_the_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    result = _install("cursor", "--model-dir", str(tmp_path))
    assert result.exit_code == 1
    assert "no model.onnx" in result.output
    c = install.client("cursor")
    assert not install.config_path(c, c.default_scope, tmp_path).exists()


@needs_model
@pytest.mark.slow
def test_making_the_int8_copy_logs_no_onnxruntime_info_lines(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):  # as under `serve`: a handler on the root logger
        quantize.int8_copy(MODEL_DIR, tmp_path)
    assert [r.getMessage() for r in caplog.records if "onnxruntime" in r.pathname] == []
