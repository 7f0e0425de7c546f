"""The human's admin commands: erase and backup (audit: cli/audit.py; export and
import: cli/transfer.py).

Each opens the database named by --db (else $MCP_MEMORY_DB) and closes it when done.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcp_memory import audit
from mcp_memory.cli._common import (
    EXIT_FAILED,
    EXIT_USAGE,
    DbOption,
    YesOption,
    confirm_or_yes,
    fail,
    handled,
    print_json,
    stdin_is_tty,
)
from mcp_memory.cli._progress import bar
from mcp_memory.cli._tables import Column, console, print_table
from mcp_memory.cli.audit import store_for as _store
from mcp_memory.config import USER_AGENT
from mcp_memory.render import plural

if TYPE_CHECKING:  # the store, erasure and numpy load only in the commands that use them
    from mcp_memory import erasure


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


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
        n = plural(len(erase_plan.ids), "memory", "memories")
        actor = confirm_or_yes(f"Erase {n} permanently (this cannot be undone)", yes)
        label = "erasing" if no_vacuum else "erasing (VACUUM rewrites the file)"
        with (
            handled("erase failed, nothing was deleted", invalid=EXIT_FAILED),
            bar(label, quiet=json_out) as progress,
        ):
            receipt = erasure.execute(
                store.conn, store.lock, erase_plan, actor=actor.agent, vacuum=not no_vacuum,
                interactive=actor.interactive, progress=progress,
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
    what = plural(len(items), "memory", "memories")
    rows = [
        (str(i["id"]), i["agent"], i["project"], i["status"],
         i["created_at"][:16].replace("T", " "), i["preview"])
        for i in items
    ]  # fmt: skip
    print_table(f"would erase {what} ({erase_plan.selector})", PLAN_COLUMNS, rows, stderr=err)
    console(err).print("rows per table: " + _counts_text(erase_plan.counts))


PLAN_COLUMNS = (
    Column("id", whole=True),
    Column("agent", whole=True),
    Column("project", whole=True),
    Column("status", drop=2),
    Column("created (UTC)", drop=1),
    Column("text", wrap=True),
)


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
        rows = [
            ("erased ids", ", ".join(map(str, receipt.erased_ids))),
            ("rows removed", _counts_text(receipt.counts)),
            ("when (UTC)", receipt.when),
            ("by", receipt.by),
            ("audit entry", receipt.audit_hash),
            ("bytes purged", "yes" if receipt.purged else "NOT YET (see notes)"),
            *((f"content hash #{key}", digest) for key, digest in receipt.content_hashes.items()),
        ]
        print_table("erasure receipt", RECEIPT_COLUMNS, rows)
    for note in receipt.notes:
        typer.echo(f"note: {note}", err=True)


RECEIPT_COLUMNS = (Column("field", whole=True), Column("value", wrap=True))


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
