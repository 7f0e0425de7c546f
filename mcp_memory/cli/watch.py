"""`mcp-memory watch [PATH]` and the hook behind `serve --watch`."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from mcp_memory.cli._common import MODEL_WAIT_S, DbOption, handled, settings_for
from mcp_memory.cli._progress import bar, model_copy_status
from mcp_memory.config import git_root_name
from mcp_memory.progress import Progress

if TYPE_CHECKING:  # the store and watchdog load only when something is watched
    from mcp_memory.store import MemoryStore
    from mcp_memory.watch import Watcher

log = logging.getLogger("mcp_memory")
_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_HERE = Path(".")
FIRST_SCAN_WAIT_S = 3600.0  # the bar stops waiting after this; watching goes on


def start_watcher(
    store: MemoryStore, root: Path, *, polling: bool = False, progress: Progress | None = None
) -> Watcher:
    """For `serve --watch`: returns at once (the initial sync runs on the watcher's thread)."""
    from mcp_memory.watch import Watcher

    return Watcher(store, Path(root), polling=polling, progress=progress).start()


def _first_scan(store: MemoryStore, root: Path, polling: bool) -> Watcher:
    """Start watching; on a terminal, show the first scan's bar and return once it is done
    (later syncs are one file at a time and report on stderr as lines)."""
    with bar("first scan of instruction files") as progress:
        watcher = start_watcher(store, root, polling=polling, progress=progress)
        if progress is not None:
            watcher.wait_until(lambda: watcher.rescans >= 1, FIRST_SCAN_WAIT_S)
    return watcher


def _log_to_stderr() -> None:
    """Quarantine reports must reach the human even when nothing else configured logging."""
    logger = logging.getLogger("mcp_memory")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _wait_for_signal() -> None:
    """Block until SIGINT/SIGTERM; handlers only set an event, the main thread does the work."""
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in _SIGNALS}
    try:
        while not stop.wait(1.0):  # a bounded wait keeps the main thread responsive to signals
            pass
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def watched_project(root: Path, project: str | None) -> str:
    """The watched tree, not the cwd, decides the project (unless --project/env says otherwise),
    by the rule `serve` and the CLI apply to their working folder: the git root's name, or the
    global scope outside a repository. A different rule here would file a folder's instruction
    files where the agents working in that folder never recall them."""
    return project if project is not None else git_root_name(root)


def _open(root: Path, project: str | None, db: str | Path | None) -> MemoryStore:
    from mcp_memory.store import MemoryStore

    settings = replace(settings_for(db), project=watched_project(root, project))
    with model_copy_status():
        store = MemoryStore.open(settings=settings, embedder=True, allow_download=False, root=root)
        store.loader.wait(MODEL_WAIT_S)
    return store


def watch_command(
    path: Annotated[
        Path, typer.Argument(help="Project folder to watch (default: current)")
    ] = _HERE,
    polling: Annotated[
        bool,
        typer.Option(
            "--polling",
            envvar="MCP_MEMORY_WATCH_POLLING",
            help="Poll instead of inotify/FSEvents (network or container file systems)",
        ),
    ] = False,
    project: Annotated[
        str | None,
        typer.Option(
            envvar="MCP_MEMORY_PROJECT",
            help="Project scope (default: the folder's git root name; global outside a repository)",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Keep instruction files (AGENTS.md, CLAUDE.md, .cursorrules, ...) in memory.

    Each section or bullet becomes a memory (source=file); edits and deletions
    retire what changed. Hidden or suspicious text is quarantined and reported
    on stderr. Runs until Ctrl-C or SIGTERM.
    """
    root = path.expanduser().resolve()
    if not root.is_dir():
        raise typer.BadParameter(f"{path} is not a folder", param_hint="PATH")
    _log_to_stderr()
    with handled():
        store = _open(root, project, db)
        watcher = _first_scan(store, root, polling)
    try:
        _wait_for_signal()
    finally:
        watcher.stop()
        store.close()
    typer.echo("Stopped watching.", err=True)
