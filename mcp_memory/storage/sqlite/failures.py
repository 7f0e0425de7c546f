"""What a SQLite failure means to the person who has to fix it.

The driver says "file is not a database" or "database is locked"; the CLI and the server
need one named error (errors.py) that says which file, what is wrong and what to do. Kept
apart from `connection` so the classification can be read (and tested) on its own.
"""

from __future__ import annotations

import os
from pathlib import Path

from mcp_memory.errors import (
    DatabaseBusy,
    DatabaseReadOnly,
    DatabaseUnusable,
    StorageError,
)
from mcp_memory.storage.driver import sqlite3

RECOVER_HINT = "`mcp-memory doctor` says how to recover"
READ_ONLY_HINT = "writes are refused, reads still work: check the file's permissions and mount"
_CORRUPT = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
_CORRUPT_TEXT = ("malformed", "not a database", "file is encrypted")
_MAX_HOLDERS = 3


def classify(exc: BaseException, target: str | Path | None = None) -> StorageError | None:
    """The named error for a driver exception, or None when it is not a storage failure
    (a programming error keeps its traceback). `target` names the file when it is known."""
    if isinstance(exc, StorageError):
        return exc
    if not isinstance(exc, sqlite3.Error) or isinstance(
        exc, (sqlite3.ProgrammingError, sqlite3.InterfaceError)
    ):
        return None
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    where = f"the database {target}" if target else "the memory database"
    if name.startswith(_CORRUPT) or any(t in text for t in _CORRUPT_TEXT):
        return DatabaseUnusable(f"{where} is unusable ({text}): {RECOVER_HINT}")
    if name.startswith("SQLITE_READONLY") or "readonly database" in text:
        return DatabaseReadOnly(f"{where} is read-only ({text}): {READ_ONLY_HINT}")
    if is_busy(exc):
        return DatabaseBusy(f"database busy: {text}")
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in text:
        return DatabaseUnusable(f"cannot open {where}: {_cannot_open(target, text)}")
    if name.startswith("SQLITE_FULL"):
        return StorageError(f"{where} cannot grow: the disk is full ({text})")
    return StorageError(f"{where} failed: {text}")


def is_busy(exc: BaseException) -> bool:
    """Another connection holds the lock (as opposed to a real error in the statement)."""
    name = getattr(exc, "sqlite_errorname", "")
    return name in ("SQLITE_BUSY", "SQLITE_LOCKED") or "database is locked" in str(exc)


def _cannot_open(target: str | Path | None, text: str) -> str:
    if target is None or str(target).startswith("file:"):
        return text
    path = Path(target)
    if path.is_dir():
        return "it is a folder, not a file"
    if not path.parent.is_dir():
        return f"{path.parent} is not a folder"
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return f"{text} (no permission to write in {path.parent})"
    return text


def busy_error(target: str | Path | None, waited_s: float, cause: BaseException) -> DatabaseBusy:
    """The lock holder is whoever else has the file open, named when /proc can tell us."""
    where = f" on {target}" if target else ""
    found = holders(target) if target else []
    named = f"; held by {', '.join(found)}" if found else ""
    return DatabaseBusy(
        f"database busy: another connection kept the write lock{where} for more than "
        f"{waited_s:g} s (MCP_MEMORY_BUSY_TIMEOUT sets the wait){named} ({cause})"
    )


def holders(target: str | Path) -> list[str]:
    """Other processes with the database (or its WAL) open, as 'pid NNN (command)'.

    SQLite does not say who holds its lock; on Linux /proc tells which processes have the
    file open, and one of them does. Best effort: elsewhere, or without permission to look,
    the list is empty and the message simply names no one."""
    proc = Path("/proc")
    if not proc.is_dir() or str(target) == ":memory:":
        return []
    try:
        base = Path(str(target)).resolve()
    except OSError:
        return []
    wanted = {str(base), f"{base}-wal"}
    found: list[str] = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        if _has_open(entry, wanted):
            found.append(f"pid {entry.name} ({_command(entry)})")
            if len(found) == _MAX_HOLDERS:
                break
    return found


def _has_open(entry: Path, wanted: set[str]) -> bool:
    try:
        return any(os.readlink(fd) in wanted for fd in (entry / "fd").iterdir())
    except OSError:  # the process ended, or is not ours to look at
        return False


def _command(entry: Path) -> str:
    try:
        argv = (entry / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [os.path.basename(argv[0].decode(errors="replace"))] + [
        a.decode(errors="replace") for a in argv[1:3] if a
    ]
    return " ".join(" ".join(words).split())[:60]  # one line, whatever the arguments hold
