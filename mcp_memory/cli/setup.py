"""Setting a machine up: `install CLIENT`, `doctor`, `version` and `context` (the
SessionStart hook). Thin over install.py, doctor.py and the context library."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, cast

import typer

from mcp_memory import __version__, install
from mcp_memory.cli._common import (
    EXIT_FAILED,
    EXIT_USAGE,
    DbOption,
    JsonOption,
    existing_settings,
    fail,
    handled,
    print_json,
    settings_for,
    stdin_is_tty,
)
from mcp_memory.client_token import TokenIssuer, install_note, open_tokens

ScopeOption = Annotated[
    str | None,
    typer.Option(
        "--scope",
        help="project (config in this repo) or user (all projects); "
        "default: project where the client supports it",
    ),
]

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="MCP URL of a `serve --transport http` server using this database: write an "
        "HTTP entry, the token in its Authorization header",
    ),
]
ModelDirOption = Annotated[
    Path | None,
    typer.Option(
        "--model-dir",
        help="Folder with the ONNX embedding model (model.onnx, tokenizer files): written "
        "into the entry as MCP_MEMORY_MODEL_DIR, for machines that cannot download it",
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
    url: UrlOption = None,
    model_dir: ModelDirOption = None,
) -> None:
    """Add mcp-memory to a client's MCP config, with a token that proves the client's name.

    Other servers in the config are kept and the old file is backed up. For Claude Code it
    also adds rules that make its agent ask before running the human's commands. Re-running
    keeps a token that still works, else replaces it."""
    if scope not in (None, "project", "user"):
        fail("--scope must be project or user", EXIT_USAGE)
    where = cast("install.Scope | None", scope)
    try:
        c = install.client(client)
        path = install.config_path(c, where or c.default_scope, project_dir or Path.cwd())
        rules = install.permissions_plan(client, where, project_dir=project_dir)
    except install.UnknownClient as exc:
        fail(str(exc), EXIT_USAGE)
    except install.InstallError as exc:
        fail(str(exc))
    with _issuer(c.name, name, path, dry_run) as issuer:
        try:
            plan = install.plan(
                client,
                where,
                project_dir=project_dir,
                name=name,
                token_for=issuer,
                url=url,
                model_dir=model_dir,
            )
        except install.InstallError as exc:
            issuer.rollback()
            fail(str(exc))
        plans = [p for p in (plan, rules) if p is not None]
        if dry_run:
            _show_dry_run(plans)
            return
        backups = _apply_all(plans, issuer)
        issuer.commit()
    for p, backup in zip(plans, backups, strict=True):
        typer.echo(_install_summary(p, backup))
    typer.echo(_token_summary(issuer, plan), err=True)


@contextmanager
def _issuer(client: str, name: str, path: Path, dry_run: bool) -> Iterator[TokenIssuer]:
    """Tokens live in the database the client's server will use ($MCP_MEMORY_DB)."""
    with handled("cannot issue the client's token"):
        tokens = open_tokens(settings_for(None).db_path, create=not dry_run)
    note = install_note(client, name, path)
    issuer = TokenIssuer(tokens, client, note, dry_run=dry_run, interactive=stdin_is_tty())
    try:
        with handled("cannot issue the client's token"):
            yield issuer
    finally:
        issuer.close()


def _show_dry_run(plans: list[install.Plan]) -> None:
    for p in plans:
        state = "would change" if p.changed else "already up to date"
        typer.echo(f"# {p.path} ({state})", err=True)
        typer.echo(p.new_text, nl=False)


def _apply_all(plans: list[install.Plan], issuer: TokenIssuer) -> list[Path | None]:
    done = []
    for p in plans:
        try:
            done.append(install.apply(p))
        except OSError as exc:
            if p is plans[0]:  # the token was never written anywhere: take it back
                issuer.rollback()
            fail(f"cannot write {p.path}: {exc}")
    return done


def _install_summary(plan: install.Plan, backup: Path | None) -> str:
    if not plan.changed:
        return f"{plan.client}: {plan.path} already has {plan.name!r}; nothing changed."
    saved = f" (previous file saved as {backup})" if backup else ""
    if plan.name == "permissions.ask":
        return (
            f"{plan.client}: {plan.path}: its agent now asks you before running "
            f"mcp-memory's review, trust, token, erase, import and install commands{saved}."
        )
    return (
        f"{plan.client}: added {plan.name!r} to {plan.path}{saved}. "
        f"Restart {plan.client} to load it."
    )


def _token_summary(issuer: TokenIssuer, plan: install.Plan) -> str:
    made = issuer.created.info if issuer.created else None
    if made is None:
        return f"token: kept the one {plan.path} already holds for agent {issuer.agent!r}."
    replaced = ", ".join(str(t.id) for t in issuer.replaced)
    text = (
        f"token: created token {made.id} ({made.prefix}...) for agent {issuer.agent!r} in "
        f"{plan.path}" + (f"; revoked token {replaced} it replaces" if replaced else "") + "."
    )
    if plan.path.resolve().is_relative_to(Path.cwd().resolve()):
        text += (
            f"\nNote: {plan.path.name} now holds a secret: keep it out of version control "
            "(add it to .gitignore) or install with --scope user."
        )
    return text


def doctor(
    db: DbOption = None,
    json_out: JsonOption = False,
    rebuild_indexes: Annotated[
        bool,
        typer.Option(
            "--rebuild-indexes",
            help="First rebuild the keyword index, term counts and vectors from the memory "
            "rows (after salvaging a damaged file, as doctor's recovery advice says)",
        ),
    ] = False,
) -> None:
    """Check driver, sqlite-vec, FTS5, embedding model, paths and counts."""
    from mcp_memory.doctor import diagnose

    with handled():
        report = diagnose(settings_for(db), rebuild=rebuild_indexes)
    if json_out:
        print_json(report)
    else:
        for key, value in report.items():
            typer.echo(f"{key:>14}: {_doctor_value(key, value)}{_doctor_hint(key, report)}")
    if not report.get("ok", False):
        raise typer.Exit(EXIT_FAILED)


def _doctor_value(key: str, value: Any) -> str:
    """Words, not Python reprs, and short: `--json` keeps every value as it is. Messages are
    left whole (never wrapped), so a recovery command can be copied from one line."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{name} {count}" for name, count in value.items()) or "none"
    if isinstance(value, list) and key == "migrations" and value:
        return f"{len(value)} applied, the last {value[-1]}"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    return str(value)


def _doctor_hint(key: str, report: dict[str, Any]) -> str:
    """Memories without a vector are found by keywords only: say how to fix it."""
    if key != "unembedded" or not report.get(key):
        return ""
    if report.get("mode") == "keyword-only":
        return " (found by keywords only; set MCP_MEMORY_MODEL_DIR, then `mcp-memory embed`)"
    return " (found by keywords only until `mcp-memory embed` or a server fills them in)"


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
    from mcp_memory.context import context_text, recent_memories
    from mcp_memory.store import MemoryStore

    with handled():
        store = MemoryStore.open(settings=existing_settings(db), embedder=None)
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
