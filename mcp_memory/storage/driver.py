"""The SQLite driver: sqlean, its connection and error types, and the busy settings.

The stdlib sqlite3 on macOS and on these machines cannot load extensions, so
sqlean.py is the driver. Everything that names the driver imports it from here,
and this module imports nothing of ours, so any module of the package may use it
without joining an import cycle.
"""

from __future__ import annotations

try:
    import sqlean as sqlite3
except ImportError:  # pragma: no cover - sqlean.py is a hard dependency
    import sqlite3  # type: ignore[no-redef]

BUSY_TIMEOUT_MS = 10_000
BUSY_RETRIES = 5
Connection = sqlite3.Connection
OperationalError = sqlite3.OperationalError
IntegrityError = sqlite3.IntegrityError

__all__ = [
    "BUSY_RETRIES",
    "BUSY_TIMEOUT_MS",
    "Connection",
    "IntegrityError",
    "OperationalError",
    "sqlite3",
]
