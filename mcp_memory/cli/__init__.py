"""The human's interface (typer). Thin: every command is a few lines over the library."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from mcp_memory import __version__, render
from mcp_memory.cli._common import handled, open_store, print_json, settings_for
from mcp_memory.models import HUMAN

app = typer.Typer(
    help="Shared, poisoning-resistant memory for coding agents (MCP server + review CLI).",
    no_args_is_help=True,
    add_completion=False,
)

# str, not Path: Path() would mangle a postgresql:// URL (issue 8); settings_for classifies it.
DbOption = Annotated[
    str | None, typer.Option("--db", help="SQLite database path (default: $MCP_MEMORY_DB)")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output")]


@app.command()
def serve(
    transport: Annotated[str, typer.Option(help="stdio (default) or http")] = "stdio",
    host: Annotated[str, typer.Option(help="HTTP bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port")] = 8765,
    agent: Annotated[
        str | None,
        typer.Option(
            help="Agent identity (default: $MCP_MEMORY_AGENT or clientInfo); "
            "a bearer token's agent always wins"
        ),
    ] = None,
    db: DbOption = None,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Also keep this folder's instruction "
            "files (AGENTS.md, .cursorrules, ...) in memory",
        ),
    ] = False,
    polling: Annotated[
        bool,
        typer.Option(
            "--polling",
            envvar="MCP_MEMORY_WATCH_POLLING",
            help="With --watch: poll instead of inotify",
        ),
    ] = False,
    require_token: Annotated[
        bool,
        typer.Option(
            "--require-token",
            help="HTTP: refuse requests without a bearer token on loopback too "
            "(always on for other addresses; also $MCP_MEMORY_REQUIRE_TOKEN=1). "
            "Tokens: `agents token create`",
        ),
    ] = False,
) -> None:
    """Run the MCP server (stdio for one client, http for several).

    Over HTTP beyond loopback, every request needs `Authorization: Bearer <token>` and is
    served as the token's agent; see `mcp-memory agents token --help`."""
    from mcp_memory.server.app import configure_logging, run
    from mcp_memory.storage import open_backend

    if transport not in ("stdio", "http"):
        raise typer.BadParameter("transport must be stdio or http", param_hint="--transport")
    with handled():  # one clear line and exit code, not a traceback from inside the server
        settings = settings_for(db)
        open_backend(settings.db_path).close()  # a server that is not there fails here
    if agent:
        settings = replace(settings, agent=agent)
    if require_token:
        if transport != "http":
            raise typer.BadParameter(
                "tokens protect the HTTP transport; stdio serves the one client that started it",
                param_hint="--require-token",
            )
        settings = replace(settings, require_token=True)
    configure_logging()  # before the watcher starts, so its first quarantine reports reach stderr
    watcher = None
    if watch:
        from mcp_memory.cli.watch import start_watcher

        watcher = start_watcher(open_store(db), Path.cwd(), polling=polling)
    try:
        run(transport, settings=settings, host=host, port=port)  # type: ignore[arg-type]
    finally:
        if watcher is not None:
            watcher.stop()
            watcher.store.close()


@app.command()
def remember(
    text: Annotated[str, typer.Argument(help="What to remember ('-' reads standard input)")],
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Tag (repeatable)")] = None,
    project: Annotated[str | None, typer.Option(help="Project scope ('' for global)")] = None,
    kind: Annotated[str | None, typer.Option(help="note, decision, fact, lesson, ...")] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Store a memory as the human user (source=user, agent 'user')."""
    content = sys.stdin.read() if text == "-" else text
    with handled():
        store = open_store(db, embed=True)
        result = store.remember(content, actor=HUMAN, tags=tag, project=project, kind=kind)
    if json_out:
        print_json(result.model_dump(mode="json"))
    else:
        typer.echo(render.remember_text(result))


@app.command()
def recall(
    query: Annotated[str, typer.Argument(help="What to look for")],
    k: Annotated[int, typer.Option("-k", "--limit", help="How many results (1-100)")] = 10,
    project: Annotated[str | None, typer.Option(help="Project scope")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Filter by tag")] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="Filter by kind")] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Search memories the way an agent would (quarantined ones never show)."""
    with handled():
        store = open_store(db, embed=True)
        result = store.recall(query, limit=k, project=project, tags=tag, kinds=kind)
    if json_out:
        print_json(result.model_dump(mode="json"))
        return
    if not result.results:
        typer.echo("No memories matched.")
    for hit in result.results:
        flags = " [stale]" if hit.stale else ""
        typer.echo(
            f"#{hit.id}  {hit.score:.3f}  {hit.agent}/{hit.source}  trust {hit.trust:.2f}"
            f"  {hit.created_at}{flags}"
        )
        typer.echo("    " + hit.content.replace("\n", "\n    "))


@app.command()
def forget(
    id: Annotated[int, typer.Argument(help="Memory id")],
    reason: Annotated[str | None, typer.Option(help="Why")] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Hide a memory from recall (kept for audit; use `erase` to remove it for real)."""
    with handled():
        result = open_store(db).forget(id, actor=HUMAN, reason=reason)
    if json_out:
        print_json(result.model_dump(mode="json"))
    else:
        typer.echo(f"Memory #{result.id}: {result.status}.")


@app.command()
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
        result = open_store(db).link(source_id, target_id, relation, actor=HUMAN)
    if json_out:
        print_json(result.model_dump(mode="json"))
    else:
        typer.echo(f"Linked #{result.source_id} {result.relation} #{result.target_id}.")


@app.command()
def export(
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (default stdout)")
    ] = None,
    db: DbOption = None,
) -> None:
    """Write every memory with its provenance as JSON Lines (schemas/export-line.json)."""
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


def export_line(store: object, record: object) -> dict[str, object]:
    from mcp_memory.portability import export_line as build

    return build(store, record)  # type: ignore[arg-type]


@app.command()
def doctor(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Check driver, sqlite-vec, FTS5, embedding model, paths and counts."""
    from mcp_memory.doctor import diagnose

    with handled():
        report = diagnose(settings_for(db))
    if json_out:
        print_json(report)
    else:
        for key, value in report.items():
            typer.echo(f"{key:>14}: {value}")
    if not report.get("ok", False):
        raise typer.Exit(1)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def _mount_subcommands() -> None:
    """Review, audit, erasure and backup live in their own modules."""
    from mcp_memory.cli import admin as cli_admin
    from mcp_memory.cli import migrate as cli_migrate
    from mcp_memory.cli import review as cli_review
    from mcp_memory.cli import setup as cli_extras
    from mcp_memory.cli import tokens as cli_tokens
    from mcp_memory.cli import watch as cli_watch

    cli_review.agents_app.add_typer(cli_tokens.token_app, name="token")
    app.add_typer(cli_review.quarantine_app, name="quarantine")
    app.add_typer(cli_review.agents_app, name="agents")
    app.add_typer(cli_admin.audit_app, name="audit")
    app.command("erase")(cli_admin.erase_command)
    app.command("backup")(cli_admin.backup_command)
    app.command("import")(cli_admin.import_command)
    app.command("watch")(cli_watch.watch_command)
    app.command("install")(cli_extras.install_command)
    app.command("context")(cli_extras.context_command)
    app.command("migrate-to")(cli_migrate.migrate_to_command)


_mount_subcommands()
