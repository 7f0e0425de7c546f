"""The SQLite driver, and the entry points older callers use to reach a backend.

The stdlib sqlite3 on macOS and on these machines cannot load extensions, so
sqlean.py is the driver. sqlite-utils only knows pysqlite3, so we alias sqlean
under that name: a script that wraps our connection in sqlite_utils.Database
then catches the right OperationalError. (We do not import sqlite-utils here:
the store writes plain SQL and start-up time matters.)

Connection setup and the write transaction live in `backends.sqlite` now;
`connect` and `write_transaction` stay here so that migrations, audit and
scripts written against a bare connection keep working unchanged.
"""

from __future__ import annotations

import sys
import threading
from contextlib import AbstractContextManager
from pathlib import Path

try:
    import sqlean as sqlite3
except ImportError:  # pragma: no cover - sqlean.py is a hard dependency
    import sqlite3  # type: ignore[no-redef]

if sqlite3.__name__ == "sqlean":
    sys.modules.setdefault("pysqlite3", sqlite3)
    sys.modules.setdefault("pysqlite3.dbapi2", sqlite3.dbapi2)

from mcp_memory.config import is_postgres_url, redact_db_target  # noqa: E402
from mcp_memory.errors import UnsupportedTarget  # noqa: E402

POSTGRES_EXTRA = "PostgreSQL needs the postgres extra: pip install 'mcp-memory[postgres]'"

BUSY_TIMEOUT_MS = 10_000
BUSY_RETRIES = 5
Connection = sqlite3.Connection
OperationalError = sqlite3.OperationalError
IntegrityError = sqlite3.IntegrityError


def unsupported_target(target: str | Path) -> UnsupportedTarget:
    """The one wording for a PostgreSQL target this installation cannot open (no psycopg)."""
    return UnsupportedTarget(f"{POSTGRES_EXTRA}; cannot open {redact_db_target(target)}.")


def check_target(target: str | Path) -> None:
    """A PostgreSQL URL must never reach SQLite: it would create a file (and mkdir a
    `postgresql:` folder) named after it. `backends.open_backend` routes URLs to
    PostgreSQL; this guards SQLite's own connect."""
    if is_postgres_url(target):
        raise unsupported_target(target)


def connect(path: str | Path) -> Connection:
    """A bare connection on the backend `path` names, for callers that need no store."""
    from mcp_memory.storage import open_backend

    return open_backend(path).conn


def write_transaction(
    conn: Connection, lock: threading.RLock | None = None, *, retries: int = BUSY_RETRIES
) -> AbstractContextManager[Connection]:
    """The backend's write transaction over `conn` (BEGIN IMMEDIATE on SQLite)."""
    from mcp_memory.storage import backend_of

    return backend_of(conn).write_transaction(lock, retries=retries)
