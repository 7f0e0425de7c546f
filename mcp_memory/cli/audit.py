"""`audit log` and `audit verify`: read and check the tamper-evident audit log.

A log grows with every write, so `audit log` shows the newest entries (50 unless told
otherwise) and, on a terminal, through a pager; each entry's data is shown as short
`key=value` text (`--json` keeps the entries exactly as stored).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcp_memory import audit
from mcp_memory.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    DbOption,
    fail,
    handled,
    open_store,
    print_json,
)
from mcp_memory.cli._tables import Column, console, fitted
from mcp_memory.render import plural

if TYPE_CHECKING:
    from mcp_memory.store import MemoryStore

audit_app = typer.Typer(
    help="Read and verify the tamper-evident audit log (who did what, when).",
    no_args_is_help=True,
)
DEFAULT_LIMIT = 50
VALUE_CHARS = 40  # one value in the data column; --json has them whole
FIRST_KEYS = ("status", "previous", "kind", "source", "project", "reason")


@contextmanager
def store_for(db: str | None) -> Iterator[MemoryStore]:
    """Closed when the command is done: nothing is left holding the database."""
    with handled():
        store = open_store(db)
    try:
        yield store
    finally:
        store.close()


def stdout_is_tty() -> bool:
    """Whether a pager makes sense; one place, so tests can stand in a terminal."""
    try:
        return bool(sys.stdout and sys.stdout.isatty())
    except (AttributeError, ValueError):
        return False


LimitOption = Annotated[
    int,
    typer.Option(
        "--limit", "-n", min=1, help=f"Show the newest N entries (default {DEFAULT_LIMIT})."
    ),
]


@audit_app.command("log")
def audit_log(
    agent: Annotated[
        str | None, typer.Option("--agent", help="Only entries by this agent (or 'user').")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only entries at or after: ISO time, unix secs, or 7d/24h."),
    ] = None,
    action: Annotated[
        str | None,
        typer.Option("--action", help=f"Only this action: {', '.join(audit.ACTIONS)}."),
    ] = None,
    limit: LimitOption = DEFAULT_LIMIT,
    show_all: Annotated[bool, typer.Option("--all", help="Show every entry (no limit).")] = False,
    no_pager: Annotated[
        bool, typer.Option("--no-pager", help="Print straight to the terminal, no pager.")
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print machine-readable JSON (a list of entries).")
    ] = False,
    db: DbOption = None,
) -> None:
    """Show the newest audit entries (50 unless --limit/--all), oldest of them first.

    On a terminal the table opens in a pager ($PAGER, else less); --no-pager prints it."""
    if action is not None and action not in audit.ACTIONS:
        fail(f"unknown action {action!r}; expected one of {', '.join(audit.ACTIONS)}", EXIT_USAGE)
    wanted = None if show_all else limit + 1  # one more: tells whether older ones exist
    with store_for(db) as store, handled():
        found = audit.entries(store.conn, agent=agent, since=since, action=action, limit=wanted)
    more = wanted is not None and len(found) > limit
    found = found[1:] if more else found
    if json_out:
        print_json([entry.to_dict() for entry in found])
        return
    _show(found, more, pager=stdout_is_tty() and not no_pager)


def _show(found: list[audit.AuditEntry], more: bool, *, pager: bool) -> None:
    out = console()
    shown = plural(len(found), "entry", "entries")
    older = "; older ones: --limit N or --all" if more else ""
    title = f"audit log: {'the newest ' if more else ''}{shown}, oldest first{older}"
    rows = [_row(entry) for entry in found]
    table = fitted(title, ENTRY_COLUMNS, rows, out.width)
    if pager:
        # as git does: less quits at once when the log fits on one screen (unless $LESS says)
        os.environ.setdefault("LESS", "FRX")
        with out.pager(styles=False):
            out.print(table)
    else:
        out.print(table)


ENTRY_COLUMNS = (
    Column("seq", whole=True),
    Column("time (UTC)"),
    Column("actor", whole=True),
    Column("action", whole=True),
    Column("memory", whole=True, drop=1),
    Column("data", wrap=True),
    Column("hash", whole=True, drop=2),
)


def _row(entry: audit.AuditEntry) -> tuple[str, ...]:
    memory = "" if entry.memory_id is None else f"#{entry.memory_id}"
    time = entry.ts[:19].replace("T", " ")  # the JSON keeps the microseconds
    return (str(entry.seq), time, entry.actor, entry.action, memory, readable(entry.data),
            entry.hash[7:15])  # fmt: skip


def readable(data: dict[str, Any]) -> str:
    """An entry's data as `key=value` text a person can scan: the usual keys first, empty
    values left out, hashes and long text shortened (`--json` has everything)."""
    keys = [k for k in FIRST_KEYS if k in data] + sorted(k for k in data if k not in FIRST_KEYS)
    return " ".join(f"{key}={_value(data[key])}" for key in keys if _shown(data[key]))


def _shown(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ",".join(_value(item) for item in value)
    if isinstance(value, dict):
        return "{" + readable(value) + "}"
    text = str(value)
    if text.startswith("sha256:"):  # enough of it to tell two apart by eye
        return text[7:15]
    text = " ".join(text.split())
    if len(text) > VALUE_CHARS:
        text = text[: VALUE_CHARS - 1] + "…"
    return json.dumps(text, ensure_ascii=False) if " " in text or "=" in text else text


@audit_app.command("verify")
def audit_verify(
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Check the hash chain end to end; exit 1 and show the first bad entry if it is broken."""
    with store_for(db) as store, handled():
        result = audit.verify(store.conn)
        bad = _entry_at(store.conn, result.first_bad_seq)
    if json_out:
        print_json({**result.to_dict(), "first_bad_entry": bad})
    elif result.ok:
        typer.echo(
            f"ok: {plural(result.checked, 'entry', 'entries')} verified; head {result.head_hash}"
        )
        for note in result.notes:
            typer.echo(f"note: {note}")
    else:
        typer.echo(f"BROKEN at seq {result.first_bad_seq}: {result.problem}")
        typer.echo(f"verified before it: {plural(result.checked, 'entry', 'entries')}")
        if bad is not None:
            typer.echo(f"entry: {json.dumps(bad, ensure_ascii=False, sort_keys=True)}")
    raise typer.Exit(EXIT_OK if result.ok else EXIT_FAILED)


def _entry_at(conn: Any, seq: int | None) -> dict[str, Any] | None:
    if seq is None:
        return None
    row = conn.execute("select * from audit_log where seq = ?", (seq,)).fetchone()
    return dict(row) if row else None
