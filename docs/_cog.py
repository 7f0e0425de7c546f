"""Generators for the `[[[cog ... ]]]` blocks in README.md and docs/schema.md.

The CLI synopsis, the environment table and the schema are read from the live code, so they
cannot drift: `cog --check README.md docs/schema.md` (CI, tests/test_docs.py) fails when a
block is stale, and `cog -r README.md docs/schema.md` rewrites it. Each block puts this
folder on sys.path (found from the file cog is reading) and imports this module; it needs
the installed package (`pip install -e ".[dev]"`).
"""

from __future__ import annotations

import enum
import tempfile
import typing
from pathlib import Path
from typing import Any

PROG = "mcp-memory"
WIDTH = 96  # the synopsis wraps here, continuation lines indented by four spaces


# --- CLI synopsis -------------------------------------------------------------------------


def cli_commands() -> list[tuple[str, Any]]:
    """Every runnable command as ("agents token create", command), in `--help` order.

    Typer vendors its own click, so the tree is walked by duck typing (`commands`, `params`)
    rather than through click's classes."""
    import typer

    from mcp_memory.cli import app

    found: list[tuple[str, Any]] = []

    def walk(command: Any, path: list[str]) -> None:
        if getattr(command, "hidden", False):
            return
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
        else:
            found.append((" ".join(path), command))

    walk(typer.main.get_command(app), [])
    return found


def _choices(annotation: Any) -> list[str]:
    """The values an Enum or Literal option accepts (typer's vendored click hides its Choice)."""
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [str(member.value) for member in annotation]
    if typing.get_origin(annotation) is typing.Literal:
        return [str(value) for value in typing.get_args(annotation)]
    return []


def _placeholder(param: Any) -> str:
    """The option's metavar if it sets one, its choices if it has them, else its name."""
    if param.metavar:
        return str(param.metavar)
    choices = _choices(getattr(getattr(param, "type_descriptor", None), "annotation", None))
    if choices:
        return "|".join(choices)
    longs = [o for o in param.opts if o.startswith("--")]
    return (longs or param.opts)[0].lstrip("-").replace("-", "_").upper()


def _param_usage(param: Any) -> str | None:
    """One synopsis token: `TEXT`, `[PATH]`, `[--tag TAG]...`, `[--json]`."""
    if getattr(param, "hidden", False) or "--help" in param.opts:
        return None
    if param.param_type_name == "argument":
        name = param.metavar or param.name.upper()
        if param.nargs == -1:
            name += "..."
        return name if param.required else f"[{name}]"
    longs = [o for o in param.opts if o.startswith("--")]
    flag = (longs or param.opts)[0]
    if param.secondary_opts:
        flag += "/" + param.secondary_opts[0]
    text = flag if param.is_flag else f"{flag} {_placeholder(param)}"
    text = text if param.required else f"[{text}]"
    return text + "..." if param.multiple else text


def command_usage(path: str, command: Any) -> list[str]:
    """The synopsis of one command, wrapped at WIDTH."""
    tokens = [f"{PROG} {path}"]
    tokens += [t for t in map(_param_usage, command.params) if t]
    lines = [tokens[0]]
    for token in tokens[1:]:
        if len(lines[-1]) + 1 + len(token) > WIDTH:
            lines.append("    " + token)
        else:
            lines[-1] += " " + token
    return lines


def summary(command: Any) -> str:
    """The first paragraph of a command's docstring, on one line (what `--help` lists)."""
    first = (command.help or "").strip().split("\n\n")[0]
    return " ".join(first.split())


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def cli_synopsis() -> str:
    """A fenced block with every command's synopsis, then a table of what each one does."""
    commands = cli_commands()
    out = ["```"]
    for path, command in commands:
        out += command_usage(path, command)
    out += ["```", "", "| command | what it does |", "|---|---|"]
    out += [f"| `{path}` | {_cell(summary(command))} |" for path, command in commands]
    return "\n".join(out) + "\n"


# --- environment --------------------------------------------------------------------------


def env_table() -> str:
    """The README's environment table, from mcp_memory.config.ENVIRONMENT."""
    from mcp_memory.config import ENVIRONMENT

    rows = ["| variable | meaning | default |", "|---|---|---|"]
    rows += [f"| `{v.name}` | {v.meaning} | {v.default} |" for v in ENVIRONMENT]
    return "\n".join(rows) + "\n"


# --- SQLite schema ------------------------------------------------------------------------


def _tidy(sql: str) -> str:
    """SQLite keeps DDL as the migration wrote it, indented for Python: re-indent by 4."""
    lines = sql.strip().splitlines()
    body = [line.strip() for line in lines[1:]]
    closing = (")", "end")
    return "\n".join(
        [lines[0].rstrip()]
        + [line if line.lower().startswith(closing) else "    " + line for line in body]
    )


def sqlite_schema_rows() -> list[tuple[str, str, str, str]]:
    """(type, name, table, sql) of a freshly migrated database with its vector index made
    (a real database gets it when a model first loads), in creation order; FTS5 and vec0
    shadow tables, automatic indexes and sqlite_sequence left out."""
    from mcp_memory.embeddings import DIM
    from mcp_memory.storage import open_backend

    with tempfile.TemporaryDirectory() as tmp:
        backend = open_backend(Path(tmp) / "schema.db")
        try:
            backend.migrate()
            with backend.write_transaction() as conn:
                backend.create_vector_index(conn, DIM)
            rows = [
                (str(r[0]), str(r[1]), str(r[2]), str(r[3]))
                for r in backend.conn.execute(
                    "select type, name, tbl_name, sql from sqlite_master "
                    "where sql is not null and name not like 'sqlite_%' order by rowid"
                ).fetchall()
            ]
        finally:
            backend.close()
    virtual = [name for kind, name, _, sql in rows if sql.upper().startswith("CREATE VIRTUAL")]
    return [
        row
        for row in rows
        if not (
            row[0] == "table"
            and not row[3].upper().startswith("CREATE VIRTUAL")
            and any(row[1].startswith(v + "_") for v in virtual)
        )
    ]


def schema_tables() -> list[str]:
    return [name for kind, name, _, _ in sqlite_schema_rows() if kind == "table"]


def schema_sql() -> str:
    """One fenced SQL block: each table, then its indexes and triggers."""
    rows = sqlite_schema_rows()
    parts: list[str] = []
    for kind, name, _, sql in rows:
        if kind != "table":
            continue
        parts.append(_tidy(sql) + ";")
        parts += [_tidy(s) + ";" for k, _, table, s in rows if k != "table" and table == name]
        parts.append("")
    return "```sql\n" + "\n".join(parts).rstrip() + "\n```\n"


def migrations() -> str:
    """The applied migration steps, newest last."""
    from mcp_memory.storage.sqlite.migrations import MIGRATIONS

    return ", ".join(f"`{name}`" for name, _ in MIGRATIONS) + "\n"
