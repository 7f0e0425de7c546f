"""Health report for `mcp-memory doctor`: what works, what is degraded, and why."""

from __future__ import annotations

import sys

from mcp_memory.config import Settings, redact_db_target
from mcp_memory.store import MemoryStore
from mcp_memory.tokens import TokenStore

MODEL_WAIT_S = 30.0


def diagnose(settings: Settings) -> dict[str, object]:
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
    store = MemoryStore.open(settings=settings, embedder=True, allow_download=False)
    try:
        report.update(store.backend.describe())
        report["migrations"] = [
            r[0] for r in store.conn.execute("select name from schema_migrations order by name")
        ]
        store.loader.wait(MODEL_WAIT_S)
        report["model"] = store.loader.status
        report["vector_index"] = store.backend.vector_index_exists(store.conn)
        report.update(store.stats())
        report["http_tokens"] = TokenStore(
            store.conn, store.lock, backend=store.backend
        ).active_count()
        report["mode"] = "hybrid" if store.loader.current() else "keyword-only"
    finally:
        store.close()
    report["ok"] = _engine_ok(report)
    return report


def _engine_ok(report: dict[str, object]) -> bool:
    """SQLite needs FTS5 and sqlite-vec; PostgreSQL needs pgvector (full text is built in)."""
    if report.get("kind") == "postgresql":
        return bool(report.get("pgvector"))
    return bool(report.get("fts5")) and bool(report.get("sqlite_vec"))
