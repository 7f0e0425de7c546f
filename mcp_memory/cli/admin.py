"""The human's admin commands: audit log/verify, erase, backup, export and import.

Each opens the database named by --db (else $MCP_MEMORY_DB) and closes it when done.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from mcp_memory import audit
from mcp_memory.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    DbOption,
    YesOption,
    confirm_or_yes,
    fail,
    handled,
    open_store,
    print_error,
    print_json,
    stdin_is_tty,
)
from mcp_memory.config import USER_AGENT

if TYPE_CHECKING:  # the store, erasure and numpy load only in the commands that use them
    from mcp_memory import erasure
    from mcp_memory.portability import ImportReport
    from mcp_memory.store import MemoryStore

audit_app = typer.Typer(
    help="Read and verify the tamper-evident audit log (who did what, when).",
    no_args_is_help=True,
)


@contextmanager
def _store(db: str | None) -> Iterator[MemoryStore]:
    """Closed when the command is done: erase and backup must not leave a writer open."""
    with handled():
        store = open_store(db)
    try:
        yield store
    finally:
        store.close()


def _console() -> Console:
    return Console(soft_wrap=False)


# ---- audit ---------------------------------------------------------------------------------


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
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="Show only the newest N entries.")
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print machine-readable JSON (a list of entries).")
    ] = False,
    db: DbOption = None,
) -> None:
    """Show audit entries, oldest first."""
    if action is not None and action not in audit.ACTIONS:
        fail(f"unknown action {action!r}; expected one of {', '.join(audit.ACTIONS)}", EXIT_USAGE)
    with _store(db) as store, handled():
        found = audit.entries(store.conn, agent=agent, since=since, action=action, limit=limit)
    if json_out:
        print_json([entry.to_dict() for entry in found])
        return
    _console().print(_entries_table(found))


def _entries_table(found: list[audit.AuditEntry]) -> Table:
    table = Table(title=f"audit log ({len(found)} entries)")
    for column in ("seq", "time (UTC)", "actor", "action", "memory"):
        table.add_column(column, no_wrap=True)
    table.add_column("data", overflow="fold", ratio=1)
    table.add_column("hash", no_wrap=True)
    for entry in found:
        table.add_row(
            str(entry.seq),
            _human_ts(entry.ts),
            entry.actor,
            entry.action,
            "" if entry.memory_id is None else str(entry.memory_id),
            _short(audit.canonical_json(entry.data), 120),
            entry.hash[7:15],
        )
    return table


def _human_ts(iso: str) -> str:
    """Tables show seconds; the JSON output keeps the full microsecond timestamp."""
    return iso[:19].replace("T", " ")


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@audit_app.command("verify")
def audit_verify(
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Check the hash chain end to end; exit 1 and show the first bad entry if it is broken."""
    with _store(db) as store, handled():
        result = audit.verify(store.conn)
        bad = _entry_at(store.conn, result.first_bad_seq)
    if json_out:
        print_json({**result.to_dict(), "first_bad_entry": bad})
    elif result.ok:
        typer.echo(f"ok: {result.checked} entries verified; head {result.head_hash}")
        for note in result.notes:
            typer.echo(f"note: {note}")
    else:
        typer.echo(f"BROKEN at seq {result.first_bad_seq}: {result.problem}")
        typer.echo(f"verified before it: {result.checked} entries")
        if bad is not None:
            typer.echo(f"entry: {json.dumps(bad, ensure_ascii=False, sort_keys=True)}")
    raise typer.Exit(EXIT_OK if result.ok else EXIT_FAILED)


def _entry_at(conn: Any, seq: int | None) -> dict[str, Any] | None:
    if seq is None:
        return None
    row = conn.execute("select * from audit_log where seq = ?", (seq,)).fetchone()
    return dict(row) if row else None


# ---- erase ---------------------------------------------------------------------------------


IdOption = Annotated[int | None, typer.Option("--id", help="Erase the memory with this id.")]
AgentOption = Annotated[
    str | None, typer.Option("--agent", help="Erase every memory written by this agent.")
]
ProjectOption = Annotated[
    str | None, typer.Option("--project", help="Erase every memory in this project.")
]
MatchOption = Annotated[
    str | None,
    typer.Option("--match", help="Erase every memory whose text contains this (plain, any case)."),
]
SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since", help="Erase memories created at or after: ISO time, unix seconds, 7d/24h."
    ),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Show exactly what would be erased; change nothing.")
]
NoVacuumOption = Annotated[
    bool,
    typer.Option(
        "--no-vacuum",
        help="Skip VACUUM on very large databases; relies on secure_delete and a checkpoint.",
    ),
]


def erase_command(
    id: IdOption = None,  # noqa: A002 - the flag is --id
    agent: AgentOption = None,
    project: ProjectOption = None,
    match: MatchOption = None,
    since: SinceOption = None,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the plan (dry run) or the receipt as JSON.")
    ] = False,
    no_vacuum: NoVacuumOption = False,
    db: DbOption = None,
) -> None:
    """Erase memories for real (GDPR Art. 17): rows, index, vectors, links and their bytes."""
    from mcp_memory import erasure

    selectors = {"id": id, "agent": agent, "project": project, "match": match, "since": since}
    chosen = [name for name, value in selectors.items() if value is not None]
    if len(chosen) != 1:
        fail("give exactly one of --id, --agent, --project, --match, --since", EXIT_USAGE)
    with _store(db) as store:
        with handled():
            erase_plan = erasure.plan(store.conn, **selectors)
        if dry_run:
            _show_plan(store, erase_plan, json_out)
            return
        if not erase_plan.ids:
            _report_nothing(erase_plan, json_out)
            return
        if not yes and stdin_is_tty():
            _show_plan(store, erase_plan, json_out=False, err=True)
        n = len(erase_plan.ids)
        actor = confirm_or_yes(f"Erase {n} memories permanently (this cannot be undone)", yes)
        with handled("erase failed, nothing was deleted", invalid=EXIT_FAILED):
            receipt = erasure.execute(
                store.conn, store.lock, erase_plan, actor=actor.agent, vacuum=not no_vacuum,
                interactive=actor.interactive,
            )  # fmt: skip
    _show_receipt(receipt, json_out)


def _preview_rows(store: Any, ids: list[int]) -> list[dict[str, Any]]:
    fragment, param = store.backend.id_list(ids)
    sql = (
        "select id, agent, project, status, created_at, content from memories "
        f"where id in {fragment} order by id"
    )
    rows = store.conn.execute(sql, (param,)).fetchall()
    return [
        {
            "id": row["id"],
            "agent": row["agent"],
            "project": row["project"],
            "status": row["status"],
            "created_at": audit.format_ts(datetime.fromtimestamp(row["created_at"], timezone.utc)),
            "preview": _short(" ".join(row["content"].split()), 70),
        }
        for row in rows
    ]


def _show_plan(
    store: Any, erase_plan: erasure.ErasePlan, json_out: bool, err: bool = False
) -> None:
    items = _preview_rows(store, erase_plan.ids)
    if json_out:
        print_json({**erase_plan.to_dict(), "dry_run": True, "memories": items})
        return
    console = Console(stderr=err, soft_wrap=False)
    table = Table(title=f"would erase {len(items)} memories ({erase_plan.selector})")
    for column in ("id", "agent", "project", "status", "created (UTC)"):
        table.add_column(column, no_wrap=True)
    table.add_column("text", overflow="fold", ratio=1)
    for item in items:
        table.add_row(
            str(item["id"]),
            item["agent"],
            item["project"],
            item["status"],
            _human_ts(item["created_at"]),
            item["preview"],
        )
    console.print(table)
    console.print("rows per table: " + _counts_text(erase_plan.counts))


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{table}={count}" for table, count in sorted(counts.items()))


def _report_nothing(erase_plan: erasure.ErasePlan, json_out: bool) -> None:
    from mcp_memory import erasure

    if json_out:
        empty = erasure.Receipt(
            erased_ids=[],
            content_hashes={},
            counts=erase_plan.counts,
            when=audit.utc_now_iso(),
            by=USER_AGENT,
            selector=erase_plan.selector,
            audit_hash="",
            purged=True,
            notes=["nothing matched; nothing was erased"],
        )
        print_json(empty.to_dict())
    else:
        typer.echo("nothing matched; nothing was erased")


def _show_receipt(receipt: erasure.Receipt, json_out: bool) -> None:
    if json_out:
        print_json(receipt.to_dict())
    else:
        table = Table(title="erasure receipt", show_header=False)
        table.add_column("field")
        table.add_column("value", overflow="fold")
        table.add_row("erased ids", ", ".join(map(str, receipt.erased_ids)))
        table.add_row("rows removed", _counts_text(receipt.counts))
        table.add_row("when (UTC)", receipt.when)
        table.add_row("by", receipt.by)
        table.add_row("audit entry", receipt.audit_hash)
        table.add_row("bytes purged", "yes" if receipt.purged else "NOT YET (see notes)")
        for key, digest in receipt.content_hashes.items():
            table.add_row(f"content hash #{key}", digest)
        _console().print(table)
    for note in receipt.notes:
        typer.echo(f"note: {note}", err=True)


# ---- backup --------------------------------------------------------------------------------


def backup_command(
    file: Annotated[
        Path, typer.Argument(help="Where to write the copy (must not exist yet).", dir_okay=False)
    ],
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Write a consistent copy of the database while it keeps serving, and log it."""
    from mcp_memory import backup as backup_mod

    with _store(db) as store, handled("backup failed", invalid=EXIT_FAILED):
        info = backup_mod.backup(store.conn, file, lock=store.lock, actor=USER_AGENT)
    if json_out:
        print_json(info)
    else:
        typer.echo(f"backup written: {info['dest']} ({info['bytes']} bytes, {info['sha256']})")
        if info.get("note"):
            typer.echo(f"Note: {info['note']}", err=True)


# ---- export and import ---------------------------------------------------------------------

MAX_ERRORS_SHOWN = 50


def export_command(
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (default stdout)")
    ] = None,
    db: DbOption = None,
) -> None:
    """Write every memory with its provenance as JSON Lines (schemas/export-line.json)."""
    # Imported here: jsonschema would otherwise load on every command's startup.
    from mcp_memory.portability import export_line

    with handled():
        store = open_store(db)
        lines = (
            json.dumps(export_line(store, r), ensure_ascii=False, sort_keys=True)
            for r in store.iter_records()
        )
        if out is None:
            for line in lines:
                sys.stdout.write(line + "\n")
            return
        tmp = out.with_name(out.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for line in lines:
                fh.write(line + "\n")
        tmp.replace(out)
    typer.echo(f"Exported to {out}", err=True)


def import_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="JSON Lines file written by `mcp-memory export`.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    db: DbOption = None,
    skip_bad: Annotated[
        bool,
        typer.Option(
            "--skip-bad", help="Import the good lines even if some are bad (they are listed)."
        ),
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the import report as JSON.")
    ] = False,
    yes: YesOption = False,
) -> None:
    """Import memories from an export file, screened like any other write.

    Every line is checked first; one bad line (malformed, edited, a secret) stops the import.

    --skip-bad imports the good lines and lists the bad ones.

    Imported text is screened as untrusted input and may be quarantined for review.

    Ids are kept when all are free, else remapped with their links; duplicates are skipped.
    """
    # Imported here: jsonschema would otherwise load on every command's startup.
    from mcp_memory.portability import import_lines, read_lines

    actor = confirm_or_yes(f"Import the memories in {file}", yes)
    with (
        handled(),
        closing(open_store(db, embed=True, create=True)) as store,
        file.open("rb") as fh,
    ):
        report = import_lines(store, read_lines(fh), actor=actor, skip_bad=skip_bad)
    if json_out:
        print_json(report.to_dict())
    else:
        _show_import(report, skip_bad)
    if report.errors and not skip_bad:
        raise typer.Exit(EXIT_FAILED)


def _show_import(report: ImportReport, skip_bad: bool) -> None:
    for error in report.errors[:MAX_ERRORS_SHOWN]:
        typer.echo(f"line {error.line}: {error.message}", err=True)
    if len(report.errors) > MAX_ERRORS_SHOWN:
        typer.echo(f"... and {len(report.errors) - MAX_ERRORS_SHOWN} more (see --json)", err=True)
    for note in report.notes:
        typer.echo(f"note: {note}", err=True)
    counts = report.counts()
    if not report.committed:
        good = report.lines - counts["bad"]
        print_error(
            f"nothing imported: {counts['bad']} of {report.lines} lines are bad; fix them "
            f"or rerun with --skip-bad to import the {good} good lines"
        )
        return
    skipped = f", {counts['bad']} bad lines skipped" if skip_bad and counts["bad"] else ""
    typer.echo(
        f"imported {counts['imported']} memories ({counts['quarantined']} quarantined for "
        f"review), {counts['duplicate']} duplicates skipped{skipped}; ids {report.id_policy}"
    )
    if counts["quarantined"]:
        typer.echo("review them with: mcp-memory quarantine list")
