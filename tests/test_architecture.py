"""The library stays a library: server and CLI are shells over it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

import mcp_memory
from mcp_memory.cli import app


def test_the_core_never_imports_typer_or_the_mcp_server() -> None:
    code = (
        "import sys, mcp_memory, mcp_memory.store, mcp_memory.recall.hybrid, mcp_memory.trust.gate,"
        " mcp_memory.storage, mcp_memory.storage.sqlite.backend, mcp_memory.storage.sqlite.erasure,"
        " mcp_memory.erasure, mcp_memory.backup, mcp_memory.tokens;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('typer', 'fastembed') "
        "or m.startswith('mcp.server') or m in ('mcp_memory.server.app', 'mcp_memory.cli')];"
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, f"core imported: {proc.stdout} {proc.stderr}"


# Modules still holding SQLite-only SQL outside backends/ (docs/design/postgres-backend.md §2.4
# step 2): search.py and vectors.py until their FTS5/vec0 halves move, migrations.py for the
# SQLite DDL. Every other module asks its backend instead.
_SQLITE_SQL_ALLOWED = {"search.py", "vectors.py", "migrations.py"}
_SQLITE_ONLY_SQL = re.compile(r"json_each\(\?|[\s(]\+(?:[a-z]\.)?(?:project|status|kind|agent)\b")


def test_id_lists_and_unindexed_columns_come_from_the_backend() -> None:
    package = Path(mcp_memory.__file__).parent
    offenders = [
        f"{path.name}:{n}"
        for path in sorted(package.glob("*.py"))
        if path.name not in _SQLITE_SQL_ALLOWED
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _SQLITE_ONLY_SQL.search(line)
    ]
    assert offenders == []


def test_the_public_api_is_listed_in_all() -> None:
    for name in mcp_memory.__all__:
        assert hasattr(mcp_memory, name), name
    assert {"MemoryStore", "Actor", "RecallResult", "InvalidInput"} <= set(mcp_memory.__all__)


def _commands(group: typer.Typer, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix + (c.name or c.callback.__name__,) for c in group.registered_commands]
    for sub in group.registered_groups:
        found += _commands(sub.typer_instance, prefix + (sub.name,))
    return found


def test_every_cli_command_has_help_text() -> None:
    runner = CliRunner()
    commands = _commands(app)
    assert ("recall",) in commands and ("serve",) in commands
    for path in commands:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        body = result.output.split("Options")[0]
        assert len(body.strip().splitlines()) >= 3, f"{path} has no help text:\n{result.output}"
