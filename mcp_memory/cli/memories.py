"""`remember`, `recall`, `forget`, `link`: the four memory tools, run by the human as 'user'."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from mcp_memory.cli._common import DbOption, JsonOption, handled, human, open_store, print_json


def remember(
    text: Annotated[str, typer.Argument(help="What to remember ('-' reads standard input)")],
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Tag (repeatable)")] = None,
    project: Annotated[str | None, typer.Option(help="Project scope ('' for global)")] = None,
    kind: Annotated[str | None, typer.Option(help="note, decision, fact, lesson, ...")] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Store a memory as the human user (source=user, agent 'user').

    Without a terminal (a script, a pipe, an agent's shell) it is still the human's memory,
    but screened like an agent's write and possibly held for review."""
    content = sys.stdin.read() if text == "-" else text
    with handled():
        store = open_store(db, embed=True, create=True)
        result = store.remember(content, actor=human(), tags=tag, project=project, kind=kind)
    if json_out:
        print_json(result.model_dump(mode="json"))
    else:
        from mcp_memory import render

        typer.echo(render.remember_text(result))


def recall(
    query: Annotated[str, typer.Argument(help="What to look for")],
    k: Annotated[int, typer.Option("-k", "--limit", help="How many results (1-100)")] = 10,
    project: Annotated[str | None, typer.Option(help="Project scope")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Filter by tag")] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="Filter by kind")] = None,
    all_projects: Annotated[
        bool, typer.Option("--all-projects", help="Search every project, not one")
    ] = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Search memories the way an agent would (quarantined ones never show).

    Finding nothing in the project, it says which other projects match and how to see them."""
    from mcp_memory.recall import elsewhere  # numpy: not imported for --help

    elsewhere_note = None
    with handled():
        store = open_store(db, embed=True)
        result = store.recall(
            query, limit=k, project=project, tags=tag, kinds=kind, all_projects=all_projects
        )
        if not result.results and not all_projects:
            scope = store.settings.project if project is None else project
            with store.lock:
                elsewhere_note = elsewhere.hint(store.conn, query, scope)
    if json_out:
        print_json(result.model_dump(mode="json"))
        return
    if not result.results:
        typer.echo("No memories matched.")
        if elsewhere_note:
            typer.echo(elsewhere_note)
    for hit in result.results:
        flags = " [stale]" if hit.stale else ""
        typer.echo(
            f"#{hit.id}  {hit.score:.3f}  {hit.agent}/{hit.source}  trust {hit.trust:.2f}"
            f"  {hit.created_at}{flags}"
        )
        typer.echo("    " + hit.content.replace("\n", "\n    "))


def forget(
    id: Annotated[int, typer.Argument(help="Memory id")],
    reason: Annotated[str | None, typer.Option(help="Why")] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Hide a memory from recall (kept for audit; use `erase` to remove it for real)."""
    with handled():
        result = open_store(db).forget(id, actor=human(), reason=reason)
    if json_out:
        print_json(result.model_dump(mode="json"))
    else:
        from mcp_memory import render

        typer.echo(render.forget_text(result))


def link(
    source_id: Annotated[int, typer.Argument(help="Memory the relation starts from")],
    target_id: Annotated[int, typer.Argument(help="Memory it points to")],
    relation: Annotated[
        str,
        typer.Option(help="related, supports, contradicts, supersedes, depends_on, derived_from"),
    ] = "related",
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Relate two memories."""
    with handled():
        result = open_store(db).link(source_id, target_id, relation, actor=human())
    if json_out:
        print_json(result.model_dump(mode="json"))
    else:
        typer.echo(f"Linked #{result.source_id} {result.relation} #{result.target_id}.")
