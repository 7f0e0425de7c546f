"""Consistent copies of a live database through SQLite's online backup API.

Copying the file (or the file plus -wal) while agents are writing can capture
a torn state; the backup API copies pages from one read snapshot instead. We
copy in a single step (pages=-1): a stepwise copy restarts whenever another
connection writes, which on a busy server may never finish. In WAL mode the
single step holds only a read lock, so writers keep going.
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import Any

from . import audit
from .db import Connection, sqlite3, write_transaction
from .errors import InvalidInput, StorageError


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
    dest = Path(dest_path).expanduser().resolve()
    _check_dest(conn, dest, overwrite)
    started = time.perf_counter()
    pages = _copy(conn, dest)
    integrity = _integrity(dest)
    info: dict[str, Any] = {
        "dest": str(dest),
        "bytes": dest.stat().st_size,
        "pages": pages,
        "sha256": _sha256(dest),
        "integrity": integrity,
        "seconds": round(time.perf_counter() - started, 3),
    }
    if integrity != "ok":
        raise StorageError(f"backup at {dest} failed its integrity check: {integrity}")
    with write_transaction(conn, lock):
        info["audit_hash"] = audit.append(
            conn, actor=actor, action="backup", data=_audit_data(info)
        )
    return info


def _audit_data(info: dict[str, Any]) -> dict[str, Any]:
    return {key: info[key] for key in ("dest", "bytes", "pages", "sha256")}


def _check_dest(conn: Connection, dest: Path, overwrite: bool) -> None:
    source = conn.execute("select file from pragma_database_list where name = 'main'").fetchone()
    if source and source[0] and Path(source[0]).resolve() == dest:
        raise InvalidInput("the backup file cannot be the database itself")
    if dest.exists() and not overwrite:
        raise InvalidInput(f"{dest} already exists; choose a new file")
    if dest.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{dest}{suffix}").unlink(missing_ok=True)
    dest.parent.mkdir(parents=True, exist_ok=True)


def _copy(conn: Connection, dest: Path) -> int:
    target = sqlite3.connect(str(dest), isolation_level=None)
    try:
        conn.backup(target, pages=-1)
        pages = int(target.execute("pragma page_count").fetchone()[0])
        target.execute("pragma journal_mode=delete")
    except sqlite3.Error as exc:
        target.close()
        dest.unlink(missing_ok=True)
        raise StorageError(f"backup to {dest} failed: {exc}") from exc
    target.close()
    return pages


def _integrity(dest: Path) -> str:
    """quick_check reads every page: catches a copy the disk mangled."""
    check = sqlite3.connect(str(dest))
    try:
        rows = check.execute("pragma quick_check").fetchall()
    finally:
        check.close()
    return "; ".join(str(row[0]) for row in rows)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()
