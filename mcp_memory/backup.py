"""Consistent copies of a live database, recorded in the audit log.

Copying the file (or the file plus -wal) while agents are writing can capture
a torn state, so the backend copies from one read snapshot instead (SQLite's
online backup API, see `backends.sqlite`). This module decides where the copy
may go, fingerprints it, and makes it part of the hash-chained history.
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import Any

from mcp_memory import audit
from mcp_memory.errors import DatabaseReadOnly, InvalidInput, StorageError
from mcp_memory.storage import Backend, backend_of, storage_error
from mcp_memory.storage.driver import Connection


def backup(
    conn: Connection,
    dest_path: str | Path,
    *,
    lock: threading.RLock | None = None,
    actor: str = "user",
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write a self-contained copy to dest_path and record it in the audit log.

    The audit entry is written after the copy succeeds, so it can carry the
    copy's sha256: anyone holding the file can later prove which backup it is.
    The erasure receipt lists these entries, because erasure cannot reach them.
    """
    backend = backend_of(conn)
    dest = Path(dest_path).expanduser().resolve()
    _check_dest(backend, dest, overwrite)
    started = time.perf_counter()
    copied = backend.backup(dest)
    integrity = copied["integrity"]
    info: dict[str, Any] = {
        "dest": str(dest),
        "bytes": dest.stat().st_size,
        "pages": copied["pages"],
        "sha256": _sha256(dest),
        "integrity": integrity,
        "seconds": round(time.perf_counter() - started, 3),
    }
    if integrity != "ok":
        raise StorageError(f"backup at {dest} failed its integrity check: {integrity}")
    try:
        with backend.write_transaction(lock):
            info["audit_hash"] = audit.append(
                conn, actor=actor, action="backup", data=_audit_data(info)
            )
    except Exception as exc:  # a read-only database can still be copied off, unrecorded
        if not isinstance(storage_error(exc), DatabaseReadOnly):
            raise
        info["audit_hash"] = None
        info["note"] = "not recorded in the audit log: the database is read-only"
    return info


def _audit_data(info: dict[str, Any]) -> dict[str, Any]:
    return {key: info[key] for key in ("dest", "bytes", "pages", "sha256")}


def _check_dest(backend: Backend, dest: Path, overwrite: bool) -> None:
    source = backend.database_file()
    if source and Path(source).resolve() == dest:
        raise InvalidInput("the backup file cannot be the database itself")
    if dest.exists() and not overwrite:
        raise InvalidInput(f"{dest} already exists; choose a new file")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()
