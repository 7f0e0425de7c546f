"""Which engine a DB target may reach: a PostgreSQL URL must never fall through to SQLite.

Apart from the driver module because it needs config and errors, which the driver must not
import; both the SQLite connection and `open_backend` use it.
"""

from __future__ import annotations

from pathlib import Path

from mcp_memory.config import is_postgres_url, redact_db_target
from mcp_memory.errors import UnsupportedTarget

POSTGRES_EXTRA = "PostgreSQL needs the postgres extra: pip install 'mcp-memory[postgres]'"


def unsupported_target(target: str | Path) -> UnsupportedTarget:
    """The one wording for a PostgreSQL target this installation cannot open (no psycopg)."""
    return UnsupportedTarget(f"{POSTGRES_EXTRA}; cannot open {redact_db_target(target)}.")


def check_target(target: str | Path) -> None:
    """A PostgreSQL URL must never reach SQLite: it would create a file (and mkdir a
    `postgresql:` folder) named after it. `open_backend` routes URLs to PostgreSQL; this
    guards SQLite's own connect."""
    if is_postgres_url(target):
        raise unsupported_target(target)
