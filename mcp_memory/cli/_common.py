"""What every CLI module shares: the --db/--json options, opening the store, printing, exit codes.

The exit-code contract lives here once: 0 success, 1 failed operation, 2 bad usage. Commands
map library errors through `handled()` rather than catching them one by one, so the same
error means the same code and the same one-line message everywhere. That includes the
storage failures (errors.py: DatabaseUnusable, DatabaseReadOnly, DatabaseBusy, NoDatabase)
and whatever the driver raises on its own mid-command (a corrupt page met by a recall),
which `storage.storage_error` names.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from mcp_memory.config import DbTarget, Settings, db_target
from mcp_memory.errors import InvalidInput, MemoryStoreError

if TYPE_CHECKING:  # the store, models and numpy load only in the commands that use them
    from mcp_memory.embeddings import Embedder
    from mcp_memory.models import Actor
    from mcp_memory.store import MemoryStore

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
MODEL_WAIT_S = 30.0
# onnxruntime threads of a command that embeds a text or two: a pool of spinning threads costs
# more CPU to start than it saves on one short text (`embed`, filling many, keeps the default).
CLI_THREADS = 1

# str, not Path: Path() would mangle a postgresql:// URL (issue 8); settings_for classifies it.
DbOption = Annotated[
    str | None, typer.Option("--db", help="SQLite database path (default: $MCP_MEMORY_DB)")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output")]
YesOption = Annotated[
    bool, typer.Option("--yes", "-y", help="Confirm without a prompt (needed without a terminal)")
]


# The database this command works on: a driver error met mid-command (a corrupt page in a
# recall) carries no file name, and the one-line message should name it. One per process.
_CURRENT: list[DbTarget] = []


def settings_for(db: str | Path | None) -> Settings:
    """The environment's settings, with --db (a file path, or a URL kept as str) on top."""
    settings = Settings.from_env()
    settings = replace(settings, db_path=db_target(db)) if db else settings
    _CURRENT[:] = [settings.db_path]
    return settings


def existing_settings(db: str | Path | None) -> Settings:
    """settings_for, for a command that must not create the database: NoDatabase if absent."""
    from mcp_memory.storage import require_database

    settings = settings_for(db)
    require_database(settings.db_path)
    return settings


def open_store(
    db: str | Path | None = None, *, embed: bool = False, create: bool = False
) -> MemoryStore:
    """CLI stores never download a model (that could stall a command for ~40 s offline).
    With `embed`, a running server's model is borrowed when one answers; otherwise the model
    starts loading before the store is imported and opened: the two overlap (onnxruntime
    builds its session outside the GIL).

    Only commands that add memories pass `create=True`: any other command pointed at a
    path with no database says so (NoDatabase) instead of leaving an empty one there."""
    from mcp_memory.cli._progress import model_copy_status
    from mcp_memory.embeddings import ModelLoader

    settings = settings_for(db) if create else existing_settings(db)
    borrowed = _borrowed_model(settings) if embed else None
    if borrowed is not None:
        loader = ModelLoader.ready(borrowed)
    else:
        loader = ModelLoader.for_settings(settings, allow_download=False, threads=CLI_THREADS)
    with model_copy_status(quiet=not embed or borrowed is not None):
        if embed:
            loader.start()
        from mcp_memory.store import MemoryStore

        store = MemoryStore.open(settings=settings, embedder=loader, allow_download=False)
        if embed:
            store.loader.wait(MODEL_WAIT_S)
    return store


def _borrowed_model(settings: Settings) -> Embedder | None:
    """A running server's loaded model (embed_socket.py): loading it here is most of what a
    CLI recall costs. None when no server with this very model answers."""
    from mcp_memory import embed_socket

    return embed_socket.borrow(settings)


def print_error(message: str) -> None:
    """The one shape of an error line: on stderr, so stdout stays parseable."""
    typer.echo(f"Error: {message}", err=True)


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    print_error(message)
    raise typer.Exit(code)


@contextmanager
def handled(failed: str = "", *, invalid: int = EXIT_USAGE) -> Iterator[None]:
    """Library errors become one clear line on stderr and the documented exit code.

    `failed` names the operation in a failure's message ("backup failed: ..."). `invalid` is
    the exit code of InvalidInput: bad usage, unless a command documents it as a failed
    operation (`backup` to a file that exists). Also usable as a decorator.
    """
    try:
        yield
    except InvalidInput as exc:
        fail(str(exc), invalid)
    except MemoryStoreError as exc:
        fail(f"{failed}: {exc}" if failed else str(exc), EXIT_FAILED)
    except Exception as exc:  # a driver's own error: named if it is a storage failure
        from mcp_memory.storage import storage_error

        named = storage_error(exc, _CURRENT[0] if _CURRENT else None)
        if named is None:
            raise
        fail(f"{failed}: {named}" if failed else str(named), EXIT_FAILED)


def print_json(value: Any) -> None:
    """Plain stdout, never rich: markup or wrapping would corrupt the JSON."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


# ---- the human's commands need the human ---------------------------------------------------


def stdin_is_tty() -> bool:
    """Whether a person could be typing: an agent's shell tool, a pipe or a script has no
    terminal on stdin. One place, so tests can stand in a terminal by monkeypatching it."""
    try:
        return bool(sys.stdin and sys.stdin.isatty())
    except (AttributeError, ValueError):  # closed or replaced stdin
        return False


def human() -> Actor:
    """The CLI's actor: the human, marked non-interactive when no terminal is attached, so
    the audit log and the trust gate can tell a person from a script speaking as 'user'."""
    from mcp_memory.models import HUMAN

    return replace(HUMAN, interactive=stdin_is_tty())


def confirm_or_yes(action: str, yes: bool) -> Actor:
    """Review, trust, token, import and erase commands: ask on a terminal, refuse without one.

    An agent with a shell can run any command the human can; without a terminal it cannot
    answer the prompt, so it must pass --yes, which the client's permission rules (see
    `install claude-code`) make ask the human first, and the audit log records the action as
    non-interactive. Returns the actor to record. A "no" at the prompt aborts (exit 1).
    """
    from mcp_memory.models import HUMAN

    if yes:
        return human()
    if not stdin_is_tty():
        fail(f"{action} needs confirmation at a terminal; pass --yes to confirm", EXIT_USAGE)
    typer.confirm(f"{action}?", abort=True, err=True)
    return replace(HUMAN, interactive=True)
