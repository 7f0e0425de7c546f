"""Setting a machine up: `install CLIENT`, `doctor`, `version` and `context` (the
SessionStart hook). Thin over install.py, doctor.py and the context library."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from mcp_memory import __version__, install
from mcp_memory.cli._common import (
    EXIT_FAILED,
    EXIT_USAGE,
    DbOption,
    JsonOption,
    fail,
    handled,
    print_json,
    settings_for,
)
from mcp_memory.context import context_text, recent_memories
from mcp_memory.doctor import diagnose
from mcp_memory.store import MemoryStore

ScopeOption = Annotated[
    str | None,
    typer.Option(
        "--scope",
        help="project (config in this repo) or user (all projects); "
        "default: project where the client supports it",
    ),
]


def install_command(
    client: Annotated[str, typer.Argument(help=f"One of: {', '.join(install.CLIENTS)}")],
    scope: ScopeOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the new file; write nothing")
    ] = False,
    name: Annotated[
        str, typer.Option(help="Server name in the client's config")
    ] = install.SERVER_NAME,
    project_dir: Annotated[
        Path | None, typer.Option("--project-dir", help="Project root (default: cwd)")
    ] = None,
) -> None:
    """Add mcp-memory to a client's MCP config (other servers kept, old file backed up)."""
    if scope not in (None, "project", "user"):
        fail("--scope must be project or user", EXIT_USAGE)
    try:
        plan = install.plan(client, scope, project_dir=project_dir, name=name)  # type: ignore[arg-type]
    except install.UnknownClient as exc:
        fail(str(exc), EXIT_USAGE)
    except install.InstallError as exc:
        fail(str(exc))
    if dry_run:
        typer.echo(
            f"# {plan.path} ({'would change' if plan.changed else 'already up to date'})", err=True
        )
        typer.echo(plan.new_text, nl=False)
        return
    try:
        backup = install.apply(plan)
    except OSError as exc:
        fail(f"cannot write {plan.path}: {exc}")
    typer.echo(_install_summary(plan, backup))


def _install_summary(plan: install.Plan, backup: Path | None) -> str:
    if not plan.changed:
        return f"{plan.client}: {plan.path} already has {plan.name!r}; nothing changed."
    saved = f" (previous file saved as {backup})" if backup else ""
    return (
        f"{plan.client}: added {plan.name!r} to {plan.path}{saved}. "
        f"Restart {plan.client} to load it."
    )


def doctor(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Check driver, sqlite-vec, FTS5, embedding model, paths and counts."""
    with handled():
        report = diagnose(settings_for(db))
    if json_out:
        print_json(report)
    else:
        for key, value in report.items():
            typer.echo(f"{key:>14}: {value}")
    if not report.get("ok", False):
        raise typer.Exit(EXIT_FAILED)


def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def context_command(
    project: Annotated[str | None, typer.Option(help="Project scope (default: current)")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many memories (1-100)")] = 10,
    json_out: JsonOption = False,
    hook: Annotated[
        bool,
        typer.Option(
            "--hook", help="Claude Code SessionStart hook output (hookSpecificOutput JSON)"
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Print the project's recent, trusted memories for a new session, fenced as data."""
    with handled():
        store = MemoryStore.open(settings=settings_for(db), embedder=None)
        try:
            result = recent_memories(store, project=project, limit=limit)
            scope = store.settings.project if project is None else project
        finally:
            store.close()
    if json_out:
        print_json({"project": scope, **result.model_dump(mode="json")})
    elif hook:
        typer.echo(json.dumps(hook_output(context_text(result, scope)), ensure_ascii=False))
    else:
        typer.echo(context_text(result, scope))


def hook_output(text: str) -> dict[str, Any]:
    """The shape Claude Code reads from a SessionStart hook's stdout."""
    return {"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": text}}
