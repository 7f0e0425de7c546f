"""`serve`: run the MCP server over stdio or HTTP, optionally watching instruction files.

The server (and the MCP SDK under it) is imported inside the command, so every other
command starts without loading it.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from mcp_memory.cli._common import EXIT_USAGE, DbOption, fail, handled, open_store, settings_for
from mcp_memory.cli.watch import start_watcher
from mcp_memory.config import Settings
from mcp_memory.errors import (
    DatabaseBusy,
    DatabaseReadOnly,
    DatabaseUnusable,
    InvalidToken,
    StorageError,
)

TransportOption = Annotated[str, typer.Option(help="stdio (default) or http")]
HostOption = Annotated[str, typer.Option(help="HTTP bind address")]
PortOption = Annotated[int, typer.Option(help="HTTP port")]
AgentOption = Annotated[
    str | None,
    typer.Option(
        help="Name claimed by callers without a token, stored as unverified:NAME "
        "(default: $MCP_MEMORY_AGENT or clientInfo); a token's agent always wins"
    ),
]
WatchOption = Annotated[
    bool,
    typer.Option(
        "--watch",
        help="Also keep this folder's instruction files (AGENTS.md, .cursorrules, ...) in memory",
    ),
]
PollingOption = Annotated[
    bool,
    typer.Option(
        "--polling", envvar="MCP_MEMORY_WATCH_POLLING", help="With --watch: poll instead of inotify"
    ),
]
RequireTokenOption = Annotated[
    bool,
    typer.Option(
        "--require-token",
        help="HTTP: refuse requests without a bearer token on loopback too "
        "(always on for other addresses; also $MCP_MEMORY_REQUIRE_TOKEN=1). "
        "Tokens: `agents token create`",
    ),
]


def serve(
    transport: TransportOption = "stdio",
    host: HostOption = "127.0.0.1",
    port: PortOption = 8765,
    agent: AgentOption = None,
    db: DbOption = None,
    watch: WatchOption = False,
    polling: PollingOption = False,
    require_token: RequireTokenOption = False,
) -> None:
    """Run the MCP server (stdio for one client, http for several).

    Over stdio, $MCP_MEMORY_TOKEN makes the client the token's verified agent. Over HTTP
    beyond loopback, every request needs `Authorization: Bearer <token>` and is served as
    the token's agent; see `mcp-memory agents token --help`. Callers without a token are
    unverified."""
    from mcp_memory.server.http import configure_logging, run

    if transport not in ("stdio", "http"):
        raise typer.BadParameter("transport must be stdio or http", param_hint="--transport")
    settings = _server_settings(db, transport, agent=agent, require_token=require_token)
    configure_logging()  # before the watcher starts, so its first quarantine reports reach stderr
    watcher = None
    if watch:
        with handled("serve --watch"):
            watcher = start_watcher(open_store(db, create=True), Path.cwd(), polling=polling)
    try:  # HTTP reads its tokens from the database before serving: one line if it cannot
        with handled():
            run(transport, settings=settings, host=host, port=port)  # type: ignore[arg-type]
    finally:
        if watcher is not None:
            watcher.stop()
            watcher.store.close()


def _server_settings(
    db: str | None, transport: str, *, agent: str | None, require_token: bool
) -> Settings:
    """Checked before the server starts: a database that is not there fails with one clear
    line and exit code, not a traceback from inside the server. A file that is there but
    cannot be used (corrupt, read-only, locked, a file in the way of its folder) does not
    stop it: the server starts and every tool names the cause to the agent, which would
    otherwise see only a closed connection (server/state.py)."""
    from mcp_memory.storage import open_backend

    with handled():
        settings = settings_for(db)
        with suppress(DatabaseUnusable, DatabaseReadOnly, DatabaseBusy):  # logged at start
            open_backend(settings.db_path).close()
        if settings.token and transport == "stdio":
            _check_token(settings)
    if agent:
        settings = replace(settings, agent=agent)
    if require_token:
        if transport != "http":
            raise typer.BadParameter(
                "tokens protect the HTTP transport; stdio serves the one client that started it",
                param_hint="--require-token",
            )
        settings = replace(settings, require_token=True)
    return settings


def _check_token(settings: Settings) -> None:
    """A wrong, mistyped or revoked MCP_MEMORY_TOKEN stops the server with one line: falling
    back to an unverified identity would quietly write under another name."""
    from mcp_memory.tokens import TokenStore

    try:
        tokens = TokenStore.open(settings.db_path)
    except StorageError:  # an unusable database: the server starts and checks it on first use
        return
    try:
        tokens.authenticate(settings.token or "")
    except InvalidToken as exc:
        fail(f"MCP_MEMORY_TOKEN: {exc} (create one with `mcp-memory agents token create NAME`)",
             EXIT_USAGE)  # fmt: skip
    finally:
        tokens.close()
