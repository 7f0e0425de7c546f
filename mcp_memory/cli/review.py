"""`quarantine` and `agents`: the human reviews held writes and sets who is trusted."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mcp_memory.cli._common import (
    DbOption,
    JsonOption,
    YesOption,
    confirm_or_yes,
    handled,
    open_store,
    print_json,
)
from mcp_memory.cli._tables import Column, print_table
from mcp_memory.render import plural

quarantine_app = typer.Typer(
    help="Review writes held back by the trust layer.", no_args_is_help=True
)
agents_app = typer.Typer(
    help="See and set how much each agent is trusted; issue HTTP tokens (`agents token`).",
    no_args_is_help=True,
)


def _review() -> Any:
    """The review library, loaded by the command that runs (it brings the whole store)."""
    from mcp_memory import review

    return review


IdArg = Annotated[int, typer.Argument(help="Memory id")]
NameArg = Annotated[str, typer.Argument(help="Agent name (as in `agents list`)")]


@quarantine_app.command("list")
def quarantine_list(db: DbOption = None, json_out: JsonOption = False) -> None:
    """List quarantined writes and forget requests waiting for review."""
    with handled():
        items = _review().queue(open_store(db))
    if json_out:
        print_json([i.to_dict() for i in items])
        return
    if not items:
        typer.echo("Nothing waiting for review.")
        return
    rows = [
        (str(i.memory_id), i.request, i.agent, i.source, f"{i.risk:.2f}", ", ".join(i.reasons),
         i.preview)
        for i in items
    ]  # fmt: skip
    title = f"{plural(len(items), 'item')} waiting for review (approve or reject by id)"
    print_table(title, QUEUE_COLUMNS, rows)


QUEUE_COLUMNS = (
    Column("id", whole=True),
    Column("request", whole=True),
    Column("agent", whole=True),
    Column("source", drop=1),
    Column("risk", drop=2),
    Column("reasons", wrap=True),
    Column("content (escaped)", wrap=True),
)


@quarantine_app.command("show")
def quarantine_show(memory_id: IdArg, db: DbOption = None, json_out: JsonOption = False) -> None:
    """Show one memory in full with provenance; hidden characters are made visible."""
    with handled():
        record = _review().show(open_store(db), memory_id)
    if json_out:
        print_json(record)
        return
    for key in (
        "id",
        "status",
        "agent",
        "client_name",
        "session_id",
        "source",
        "project",
        "created_at",
        "risk",
        "reasons",
        "content_hash",
        "forget_requests",
    ):
        typer.echo(f"{key:>16}: {record[key]}")
    hides = record.get("will_hide")
    if isinstance(hides, dict):
        typer.echo(
            f"{'supersedes':>16}: approving hides #{hides['id']} by {hides['agent']} "
            f"from recall: {hides['preview']}"
        )
    typer.echo("         content:\n" + str(record["content_visible"]))


def _decide(memory_id: int, approve: bool, db: object, json_out: bool, yes: bool) -> None:
    actor = confirm_or_yes(f"{'Approve' if approve else 'Reject'} memory #{memory_id}", yes)
    with handled():
        store = open_store(db)  # type: ignore[arg-type]
        outcome = _review().decide(store, memory_id, approve, actor=actor)
    if json_out:
        print_json(outcome)
    else:
        hid = outcome.get("superseded")
        also = f"; it replaced #{hid}, which recall no longer shows" if hid else ""
        typer.echo(f"Memory #{memory_id} ({outcome['request']}): {outcome['status']}{also}.")


@quarantine_app.command("approve")
def quarantine_approve(
    memory_id: IdArg, yes: YesOption = False, db: DbOption = None, json_out: JsonOption = False
) -> None:
    """Release a held write into recall (or carry out a forget request); raises writer trust."""
    _decide(memory_id, True, db, json_out, yes)


@quarantine_app.command("reject")
def quarantine_reject(
    memory_id: IdArg, yes: YesOption = False, db: DbOption = None, json_out: JsonOption = False
) -> None:
    """Keep a held write out of recall for good (or refuse a forget request); lowers trust."""
    _decide(memory_id, False, db, json_out, yes)


@agents_app.command("list")
def agents_list(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Every agent that has written, with its current trust."""
    with handled():
        rows = _review().agent_rows(open_store(db))
    if json_out:
        print_json(rows)
        return
    cells = [
        (str(r["name"]), f"{r['trust']:.2f}", str(r["writes"]), str(r["quarantined"]),
         "yes" if r["distrusted"] else "", str(r["client"]), _minute(r["last_seen"]))
        for r in rows
    ]  # fmt: skip
    print_table(None, AGENT_COLUMNS, cells)


def _minute(iso: object) -> str:
    """`2026-12-05 13:04` for a person; --json keeps the full timestamp."""
    return str(iso or "")[:16].replace("T", " ")


AGENT_COLUMNS = (
    Column("agent", whole=True),
    Column("trust"),
    Column("writes", drop=2),
    Column("quarantined", drop=3),
    Column("distrusted"),
    Column("client", wrap=True, drop=5),
    Column("last seen (UTC)", drop=4),
)


@agents_app.command("show")
def agents_show(name: NameArg, db: DbOption = None, json_out: JsonOption = False) -> None:
    """One agent's trust (Beta alpha/beta and prior) and what it wrote."""
    with handled():
        info = _review().agent(open_store(db), name)
    if json_out:
        print_json(info)
    else:
        for key, value in info.items():
            typer.echo(f"{key:>12}: {value}")


@agents_app.command("trust")
def agents_trust(
    name: NameArg, yes: YesOption = False, db: DbOption = None, json_out: JsonOption = False
) -> None:
    """Vouch for an agent: strong positive evidence, past negatives forgiven."""
    actor = confirm_or_yes(f"Trust agent {name!r}", yes)
    with handled():
        out = _review().set_trust(open_store(db), name, True, actor=actor)
    print_json(out) if json_out else typer.echo(f"{name}: trust {out['trust']:.2f}")


@agents_app.command("distrust")
def agents_distrust(
    name: NameArg,
    retro: Annotated[
        bool,
        typer.Option(
            "--retro", help="Also hide everything it already wrote from recall, pending review"
        ),
    ] = False,
    yes: YesOption = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Sink an agent's trust so its writes are quarantined from now on."""
    past = " and hide what it wrote" if retro else ""
    actor = confirm_or_yes(f"Distrust agent {name!r}{past}", yes)
    with handled():
        out = _review().set_trust(open_store(db), name, False, retro=retro, actor=actor)
    if json_out:
        print_json(out)
    else:
        hidden = plural(out["hidden"], "memory", "memories")
        typer.echo(f"{name}: trust {out['trust']:.2f}; {hidden} sent to review.")
