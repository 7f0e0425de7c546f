"""The docs say what the code does: generated blocks are current, and nothing is left out.

The CLI synopsis, the environment table and docs/schema.md are cog blocks (docs/_cog.py);
CI runs `cog --check` too, but a plain pytest run should catch the drift as well. The other
checks here hold the hand-written parts to the code: every command, every variable the
package reads, every table and every module is named somewhere a newcomer will look.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import typer
from cogapp import Cog

from mcp_memory.cli import app
from mcp_memory.config import ENVIRONMENT

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SCHEMA = ROOT / "docs" / "schema.md"
PACKAGE = ROOT / "mcp_memory"
COG_FILES = ("README.md", "docs/schema.md")


def _generators() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_cog", ROOT / "docs" / "_cog.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _section(text: str, heading: str) -> str:
    """The body of a `## heading` section, up to the next heading of that level."""
    start = text.index(f"## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _commands() -> list[tuple[str, Any]]:
    """Every runnable command path, walked here without docs/_cog.py so the two can disagree."""
    found: list[tuple[str, Any]] = []

    def walk(command: Any, path: str) -> None:
        if getattr(command, "hidden", False):
            return
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}".strip())
        else:
            found.append((path, command))

    walk(typer.main.get_command(app), "")
    return found


def test_the_generated_blocks_match_the_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    status = Cog().main(["cog", "--check", "--diff", *COG_FILES])
    out = capsys.readouterr()
    assert status == 0, (
        f"stale generated docs; run `cog -r {' '.join(COG_FILES)}`\n{out.out}{out.err}"
    )


def test_every_cli_command_is_in_the_readme_synopsis() -> None:
    synopsis = _section(README.read_text(encoding="utf-8"), "The human's CLI")
    missing = [
        path
        for path, _ in _commands()
        if not re.search(rf"^mcp-memory {re.escape(path)}(?: |$)", synopsis, re.MULTILINE)
    ]
    assert missing == []


def test_every_option_of_every_command_is_in_its_synopsis() -> None:
    synopsis = _section(README.read_text(encoding="utf-8"), "The human's CLI")
    missing = []
    for path, command in _commands():
        found = re.search(rf"^mcp-memory {re.escape(path)}(?= |$).*(?:\n    .*)*", synopsis, re.M)
        flags = set(re.findall(r"--[a-z][a-z-]*", found.group(0) if found else ""))
        for param in command.params:
            if param.param_type_name == "option" and not param.hidden:
                longs = [o for o in param.opts if o.startswith("--")] or param.opts
                if longs[0] not in flags:
                    missing.append(f"{path} {longs[0]}")
    assert missing == []


def test_the_environment_table_lists_every_variable_the_package_reads() -> None:
    read = set()
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if path == PACKAGE / "config.py":  # the list itself does not count as reading
            start = text.index("ENVIRONMENT: tuple")
            text = text[:start] + text[text.index("\n)\n", start) :]
        read |= set(re.findall(r"\bMCP_MEMORY_[A-Z_]+\b", text))
    documented = {v.name for v in ENVIRONMENT}
    assert len(documented) == len(ENVIRONMENT), "a variable is listed twice"
    assert sorted(read - documented) == [], "read by the package but not in ENVIRONMENT"
    assert sorted(documented - read) == [], "in ENVIRONMENT but read nowhere"
    for var in ENVIRONMENT:
        assert var.meaning.strip() and var.default.strip(), var.name


def test_every_envvar_a_cli_option_reads_is_documented() -> None:
    documented = {v.name for v in ENVIRONMENT}
    envvars = {
        name
        for _, command in _commands()
        for param in command.params
        for name in ([param.envvar] if isinstance(param.envvar, str) else param.envvar or [])
    }
    assert envvars and envvars <= documented


def test_the_readme_environment_section_is_the_generated_table() -> None:
    environment = _section(README.read_text(encoding="utf-8"), "Environment")
    for var in ENVIRONMENT:
        assert f"| `{var.name}` |" in environment


def test_docs_schema_says_what_every_table_holds() -> None:
    tables = _generators().schema_tables()
    text = SCHEMA.read_text(encoding="utf-8")
    described = set(re.findall(r"^\| `([a-z_0-9]+)` \|", text, re.MULTILINE))
    assert "memories" in tables and "audit_log" in tables
    assert sorted(set(tables) - described) == [], "add a row to docs/schema.md's table"
    assert sorted(described - set(tables)) == [], "docs/schema.md describes a table that is gone"


def _architecture() -> str:
    return _section(README.read_text(encoding="utf-8"), "Architecture")


def test_the_architecture_table_names_only_modules_that_exist() -> None:
    """A row whose cell starts with `pkg/`: names the modules of that package."""
    missing = []
    for row in _architecture().splitlines():
        if not row.startswith("| ") or row.startswith("| responsibility"):
            continue
        where = row.split(" | ", 1)[1]
        package = re.match(r"`([a-z_]+/)`:", where)
        base = PACKAGE / package.group(1) if package else PACKAGE
        for name in re.findall(r"`([A-Za-z_0-9/]+(?:\.py|/))`", where):
            if not ((base / name).exists() or (PACKAGE / name).exists()):
                missing.append(name)
    assert missing == [], "README Architecture names modules that are not in mcp_memory/"


def test_every_package_and_top_level_module_is_in_the_architecture_table() -> None:
    table = _architecture()
    wanted = [
        f"{p.name}/" if p.is_dir() else p.name
        for p in PACKAGE.iterdir()
        if (p.is_dir() and (p / "__init__.py").exists())
        or (p.suffix == ".py" and p.name not in ("__init__.py", "__main__.py"))
    ]
    missing = sorted(name for name in wanted if f"`{name}`" not in table)
    assert missing == [], "say in README Architecture what these are for"


# Flat-layout names from before issue 14; the docs name the packages now.
_OLD_NAMES = re.compile(
    r"\b(?:server_extras|server_auth|cli_admin|cli_review|cli_tokens|cli_migrate|cli_extras"
    r"|cli_support|cli_watch|migrations_pg|pg_copy|pg_facade|pg_search|pg_vectors|pg_erasure)\b"
    r"|`(?:search|db|server|trust|cli)\.py`|`backends/|mcp_memory/(?:search|db|vectors|"
    r"migrations|gate|termstats|ranking|anchors|agents|contradiction)\.py"
)


def test_the_docs_name_the_new_module_paths() -> None:
    files = [README, *sorted((ROOT / "docs").glob("*.md"))]
    stale = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in files
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _OLD_NAMES.search(line)
    ]
    assert stale == []
