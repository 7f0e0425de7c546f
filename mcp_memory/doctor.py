"""Health report for `mcp-memory doctor`: what works, what is degraded, and why.

It must never crash on the database it is asked about: a corrupt, read-only, locked or
missing database is a finding (with what to do about it), and the rest of the report
(driver, model) is still made. It also never creates the database.
"""

from __future__ import annotations

import shlex
import sys
from typing import Any

from mcp_memory.config import Settings, is_postgres_url, redact_db_target
from mcp_memory.embeddings import ModelLoader
from mcp_memory.errors import DatabaseBusy, DatabaseReadOnly, NoDatabase, StorageError
from mcp_memory.render import plural
from mcp_memory.storage import open_backend, require_database, storage_error
from mcp_memory.storage.sqlite.failures import holders
from mcp_memory.storage.sqlite.repair import rebuild_derived
from mcp_memory.store import MemoryStore
from mcp_memory.tokens import TokenStore

MODEL_WAIT_S = 30.0


def recovery_command(path: str) -> str:
    """A shell pipeline that rebuilds a damaged SQLite file into PATH.recovered from every
    row SQLite can still read, with nothing but the stock `sqlite3` shell. `.dump` writes
    what it can and ends in ROLLBACK when it met damage; the sed turns that into COMMIT so
    the rows are kept. (`backup` is no help: it copies the damaged pages as they are.)"""
    source, target = shlex.quote(path), shlex.quote(f"{path}.recovered")
    return (
        f"sqlite3 {source} .dump | sed 's/^ROLLBACK; -- due to errors$/COMMIT;/' | sqlite3 {target}"
    )


def recovery_steps(path: str) -> str:
    """What to do with a damaged SQLite file, in the order that loses the least."""
    return (
        f"`{recovery_command(path)}` copies every row that can still be read into a new "
        "file (a sqlite3 whose `.recover` works digs deeper); `mcp-memory doctor "
        f"--rebuild-indexes --db {shlex.quote(path + '.recovered')}` rebuilds its indexes "
        "from those rows and checks it (`audit verify` names any audit entries lost); then "
        "point MCP_MEMORY_DB at it, or, with every server stopped, move it into place and "
        "delete the old file's -wal and -shm"
    )


def diagnose(settings: Settings, *, rebuild: bool = False) -> dict[str, object]:
    """`rebuild`: first rebuild the indexes derived from the memory rows (repair.py), the
    step after a salvage. The only way doctor writes; never without being asked."""
    report: dict[str, object] = {
        "python": sys.version.split()[0],
        "driver": None,  # the backend's describe() fills it in; keeps the printed order
        "db_path": redact_db_target(settings.db_path),  # never print a URL's password
        "model_dir": str(settings.model_dir)
        if settings.model_dir
        else "(fastembed cache/download)",
        "model_copy": f"int8, in {settings.cache_dir}"
        if settings.quantize
        else "off (MCP_MEMORY_QUANTIZE): float model",
        "project": settings.project or "(global)",
    }
    loader = ModelLoader(
        settings.model_name,
        settings.model_dir,
        False,
        quantize=settings.quantize,
        cache_dir=settings.cache_dir,
    ).start()
    database_ok = _database(settings, report, rebuild)
    loader.wait(MODEL_WAIT_S)
    report["model"] = loader.status
    report["mode"] = "hybrid" if loader.current() else "keyword-only"
    report["ok"] = database_ok and _engine_ok(report)
    return report


def _database(settings: Settings, report: dict[str, object], rebuild: bool) -> bool:
    """Fill in what the database says about itself; False when it cannot serve."""
    target = settings.db_path
    try:
        require_database(target)
        store = MemoryStore.open(settings=settings, embedder=None)
    except NoDatabase:
        _describe_engine(report)
        report["database"] = "none yet (the first `remember`, `import` or `serve` creates it)"
        return True
    except StorageError as exc:
        return _unusable(settings, report, exc)
    try:
        report.update(store.backend.describe())
        if rebuild:
            report["rebuilt"] = _rebuild(store)
        report["database"] = "ok"
        report.update(_checks(store))
        report.update(_counts(store))
    except Exception as exc:
        named = storage_error(exc, target)
        if named is None:
            raise
        return _unusable(settings, report, named)
    finally:
        store.close()
    return report.get("integrity", "ok") == "ok" and report.get("writable") == "yes"


def _rebuild(store: MemoryStore) -> str:
    if store.backend.kind != "sqlite":
        return "nothing to rebuild: PostgreSQL keeps its indexes itself"
    n = rebuild_derived(store.conn)
    return (
        f"keyword index and term counts over {plural(n, 'memory', 'memories')}; their vectors "
        "are embedded "
        "again by `mcp-memory embed` or the next `mcp-memory serve`"
    )


def _unusable(settings: Settings, report: dict[str, object], exc: StorageError) -> bool:
    if report.get("driver") is None and not is_postgres_url(settings.db_path):
        _describe_engine(report)
    report["database"] = f"cannot be used: {exc}"
    if not is_postgres_url(settings.db_path) and not isinstance(exc, DatabaseBusy):
        report["recover"] = recovery_steps(str(settings.db_path))
    return False


def _describe_engine(report: dict[str, object]) -> None:
    """Driver, FTS5 and sqlite-vec do not depend on the file: ask an in-memory database."""
    backend = open_backend(":memory:")
    try:
        report.update(backend.describe())
    finally:
        backend.close()


def _checks(store: MemoryStore) -> dict[str, Any]:
    """Every page readable (SQLite), and whether a write could happen now."""
    found: dict[str, Any] = {}
    if store.backend.kind == "sqlite":
        rows = store.conn.execute("pragma quick_check(5)").fetchall()
        found["integrity"] = "; ".join(str(r[0]) for r in rows)
        if found["integrity"] != "ok":
            found["recover"] = recovery_steps(store.backend.database_file())
    found["writable"] = _writable(store)
    return found


def _writable(store: MemoryStore) -> str:
    """A write that is rolled back: the only sure test (root ignores file modes, a mount
    or a `mode=ro` URI does not show in the file's permissions)."""
    try:
        with store.backend.short_lock_timeout(), store.transaction() as conn:
            conn.execute("update meta set value = value where key = ''")
            raise _RolledBack
    except _RolledBack:
        return "yes"
    except DatabaseBusy:
        where = store.backend.database_file() if store.backend.kind == "sqlite" else ""
        found = holders(where) if where else []
        return "not now: another process holds the write lock" + (
            f" ({', '.join(found)})" if found else ""
        )
    except Exception as exc:
        named = storage_error(exc, store.settings.db_path)
        if isinstance(named, DatabaseReadOnly):
            return f"no: {named}"
        raise


class _RolledBack(Exception):
    """Raised inside the probe's transaction so that it rolls back."""


def _counts(store: MemoryStore) -> dict[str, Any]:
    found: dict[str, Any] = {
        "migrations": [
            r[0] for r in store.conn.execute("select name from schema_migrations order by name")
        ],
        "vector_index": store.backend.vector_index_exists(store.conn),
    }
    found.update(store.stats())
    found["http_tokens"] = TokenStore(store.conn, store.lock, backend=store.backend).active_count()
    return found


def _engine_ok(report: dict[str, object]) -> bool:
    """SQLite needs FTS5 and sqlite-vec; PostgreSQL needs pgvector (full text is built in)."""
    if report.get("kind") == "postgresql":
        return bool(report.get("pgvector"))
    return bool(report.get("fts5")) and bool(report.get("sqlite_vec"))
