"""A CLI that starts fast: what `--help` and the commands that do not embed leave unloaded.

Each case runs in a fresh interpreter (imports are per process) and reports the modules the
command loaded. Speed itself is measured in benchmarks/cli.py, not here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, needs_model

_PROBE = """
import contextlib, io, json, sys
from mcp_memory.cli import app
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        app(sys.argv[1:])
    except SystemExit:
        pass
print(json.dumps(sorted(sys.modules)))
"""
# the model runtime, numpy, the MCP server and the store stack
HEAVY = ("fastembed", "onnxruntime", "numpy", "mcp", "mcp_memory.server", "mcp_memory.store")


def loaded(*args: str) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, env=env, cwd=REPO
    )
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [("--help",), ("recall", "--help"), ("install", "--help"), ("version",), ("embed", "--help")],
)
def test_help_and_version_load_neither_the_model_runtime_numpy_the_server_nor_the_store(
    args: tuple[str, ...],
) -> None:
    assert heavy(loaded(*args)) == []


@pytest.mark.slow
def test_a_command_that_does_not_embed_loads_no_model_runtime_and_no_mcp_server(
    tmp_path: Path,
) -> None:
    from mcp_memory import MemoryStore

    MemoryStore.open(tmp_path / "m.db", embedder=None).close()  # forget needs a database
    modules = loaded("forget", "999", "--db", str(tmp_path / "m.db"))
    assert "mcp_memory.store" in modules  # it did open the database
    runtime = ("fastembed", "onnxruntime", "mcp")
    assert [m for m in modules if m.split(".")[0] in runtime] == []


@pytest.mark.slow
@needs_model
def test_recall_with_a_described_model_copy_never_imports_fastembed(tmp_path: Path) -> None:
    db = str(tmp_path / "m.db")
    loaded("remember", "the first load describes the copy", "--db", db)
    modules = loaded("recall", "what describes the copy", "--db", db)
    assert "onnxruntime" in modules  # the model ran
    assert "fastembed" not in modules and "mcp" not in modules
