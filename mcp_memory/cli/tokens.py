"""`agents token`: the human issues, lists and revokes the bearer tokens of the HTTP server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mcp_memory.cli._common import (
    EXIT_USAGE,
    DbOption,
    JsonOption,
    YesOption,
    confirm_or_yes,
    existing_settings,
    fail,
    handled,
    print_json,
    settings_for,
)
from mcp_memory.cli._tables import Column, print_table
from mcp_memory.config import USER_AGENT

if TYPE_CHECKING:  # the token table (and the storage stack) loads only when a command runs
    from mcp_memory.tokens import TokenInfo, TokenStore

token_app = typer.Typer(
    help="Bearer tokens for `serve --transport http`: each token is one agent's identity.\n\n"
    "A client that presents a token is recorded as the token's agent, whatever it calls "
    "itself. Revoking takes effect on the next request, even on a running server.",
    no_args_is_help=True,
)


@contextmanager
def _tokens(db: str | Path | None, *, create: bool = False) -> Iterator[TokenStore]:
    from mcp_memory.tokens import TokenStore

    with handled():
        store = TokenStore.open((settings_for if create else existing_settings)(db).db_path)
        try:
            yield store
        finally:
            store.close()


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="Agent the token stands for, e.g. alice-laptop")],
    note: Annotated[
        str | None, typer.Option("--note", help="Where it is used, for your own records")
    ] = None,
    yes: YesOption = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Issue a token for agent NAME and print it once.

    Only its SHA-256 hash is stored: copy it now into the client's
    `Authorization: Bearer` header. The token alone goes to stdout, so
    `TOKEN=$(mcp-memory agents token create NAME)` works."""
    actor = confirm_or_yes(f"Create a token that writes as agent {name!r}", yes)
    with _tokens(db, create=True) as store:
        new = store.create(name, note=note, actor=actor.agent, interactive=actor.interactive)
    if json_out:
        print_json(new.to_dict())
        return
    typer.echo(new.secret)
    info = new.info
    typer.echo(
        f"Token {info.id} ({info.prefix}...) for agent {info.agent!r}. It is shown only this "
        "once; only its hash is stored.\nClients send it as the HTTP header "
        "`Authorization: Bearer <token>`; revoke it with "
        f"`mcp-memory agents token revoke {info.id}`.",
        err=True,
    )
    if info.agent == USER_AGENT:
        typer.echo(
            "Note: 'user' is the human at the CLI; requests with this token are recorded "
            "as agent 'mcp:user', like any MCP client calling itself 'user'.",
            err=True,
        )


@token_app.command("list")
def token_list(
    agent: Annotated[str | None, typer.Option("--agent", help="Only this agent's tokens")] = None,
    active: Annotated[bool, typer.Option("--active", help="Hide revoked tokens")] = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """List tokens: id, display prefix, agent, created, last used, revoked.

    Never shows a token or its hash. `last used` is updated at most once a
    minute per token."""
    with _tokens(db) as store:
        rows = store.list_tokens(agent=agent, active_only=active)
    if json_out:
        print_json([r.to_dict() for r in rows])
        return
    if not rows:
        typer.echo("No tokens. Create one with `mcp-memory agents token create NAME`.")
        return
    print_table(None, TOKEN_COLUMNS, [_token_row(r) for r in rows])


def _token_row(r: TokenInfo) -> tuple[str, ...]:
    used = _short(r.last_used_at) or "never"
    return (str(r.id), r.agent, r.prefix + "...", _short(r.revoked_at), used,
            _short(r.created_at), r.note)  # fmt: skip


TOKEN_COLUMNS = (
    Column("id", whole=True),
    Column("agent", whole=True),
    Column("prefix", whole=True),
    Column("revoked (UTC)"),
    Column("last used", drop=2),
    Column("created (UTC)", drop=3),
    Column("note", wrap=True, drop=1),
)


def _short(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M")


@token_app.command("revoke")
def token_revoke(
    ref: Annotated[
        str | None,
        typer.Argument(help="Token id, display prefix (mcpm_...) or the full token"),
    ] = None,
    agent: Annotated[
        str | None, typer.Option("--agent", help="Revoke every active token of this agent")
    ] = None,
    yes: YesOption = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Revoke a token (or all of an agent's) for good.

    The next HTTP request carrying it is refused with 401, by every server
    using this database, without a restart. Revoking twice is harmless."""
    if (ref is None) == (agent is None):
        fail("give a token id or prefix, or --agent NAME (not both)", EXIT_USAGE)
    who = f"every token of agent {agent!r}" if agent is not None else f"token {ref}"
    actor = confirm_or_yes(f"Revoke {who}", yes)
    by, interactive = actor.agent, actor.interactive
    with _tokens(db) as store:
        if agent is not None:
            done = store.revoke_agent(agent, actor=by, interactive=interactive)
            changed: list[tuple[TokenInfo, bool]] = [(info, True) for info in done]
        else:
            changed = [store.revoke(ref or "", actor=by, interactive=interactive)]
    if json_out:
        print_json([{**info.to_dict(), "changed": flag} for info, flag in changed])
        return
    if not changed:
        typer.echo(f"Agent {agent!r} has no active tokens.")
    for info, flag in changed:
        state = "revoked" if flag else "was already revoked"
        typer.echo(f"Token {info.id} ({info.prefix}...) of agent {info.agent!r} {state}.")
