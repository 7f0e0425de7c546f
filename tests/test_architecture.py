"""The library stays a library: server and CLI are shells over it, and the layout shows it.

These tests read the source (ast), not the running imports, so a function-level import
counts as a dependency too: hiding a cycle inside a function still fails here.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import typer
from typer.testing import CliRunner

import mcp_memory
from mcp_memory.cli import app

PACKAGE = Path(mcp_memory.__file__).parent
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60
# Schema migrations are table definitions, and a shipped migration is never edited.
_TABLE_DEFINITIONS = re.compile(r"^m\d{3}_")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imported(node: ast.ImportFrom, here: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = here.split(".") if is_package else here.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _dependencies(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module of ours that `name` imports, at any depth of the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in modules}
        elif isinstance(node, ast.ImportFrom):
            target = _imported(node, name, path.name == "__init__.py")
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in modules else target)
    return {m for m in found if m in modules and m != name}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _dependencies(name, path, modules) for name, path in modules.items()}


def test_the_package_has_no_import_cycle_even_inside_functions() -> None:
    assert _cycles(_import_graph()) == []


def test_the_cycle_check_sees_a_cycle_hidden_in_a_function() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    source = "def late():\n    from mcp_memory import store\n"
    node = ast.parse(source).body[0].body[0]  # type: ignore[attr-defined]
    assert isinstance(node, ast.ImportFrom)
    assert _imported(node, "mcp_memory.trust.gate", False) == "mcp_memory"


def _within(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


SHELLS = ("mcp_memory.server", "mcp_memory.cli", "mcp_memory.__main__")
LOWER_LAYERS = ("mcp_memory.storage", "mcp_memory.trust", "mcp_memory.recall")


def test_storage_recall_and_trust_never_depend_on_the_front_door_or_the_shells() -> None:
    for name, deps in _import_graph().items():
        if _within(name, *LOWER_LAYERS):
            assert "mcp_memory.store" not in deps, name
        if not _within(name, *SHELLS):
            assert [d for d in deps if _within(d, *SHELLS)] == [], name


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def test_modules_and_functions_stay_short_enough_to_read_at_once() -> None:
    long_modules, long_functions = [], []
    for name, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_MODULE_LINES:
            long_modules.append(f"{name}: {len(text.splitlines())}")
        for fn in _functions(ast.parse(text)):
            length = (fn.end_lineno or fn.lineno) - fn.lineno + 1
            if length > MAX_FUNCTION_LINES and not _TABLE_DEFINITIONS.match(fn.name):
                long_functions.append(f"{name}.{fn.name}: {length}")
    assert long_modules == []
    assert long_functions == []


def test_the_core_never_imports_typer_rich_the_mcp_server_or_fastembed() -> None:
    core = [
        m
        for m in _modules()
        if not _within(m, *SHELLS)
        and not _within(m, "mcp_memory.storage.postgres")  # psycopg: an optional extra
    ]
    code = (
        f"import sys, importlib\nfor m in {core!r}: importlib.import_module(m)\n"
        "shells = ('mcp.server', 'mcp_memory.server', 'mcp_memory.cli')\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('typer', 'rich', 'fastembed') "
        "or any(m == s or m.startswith(s + '.') for s in shells)]\n"
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, f"core imported: {proc.stdout} {proc.stderr}"


# SQLite's own SQL (json_each id lists, unary + to keep the planner off an index) lives in
# storage/, where each engine answers for its dialect; every other module asks its backend,
# so the same code runs on PostgreSQL.
_SQLITE_SQL_ALLOWED = ("mcp_memory.storage",)
_SQLITE_ONLY_SQL = re.compile(r"json_each\(\?|[\s(]\+(?:[a-z]\.)?(?:project|status|kind|agent)\b")


def test_id_lists_and_unindexed_columns_come_from_the_backend() -> None:
    offenders = [
        f"{name}:{n}"
        for name, path in _modules().items()
        if not name.startswith(_SQLITE_SQL_ALLOWED)
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
