"""Export lines: one memory with its provenance and outgoing links (schemas/export-line.json)."""

from __future__ import annotations

from .models import MemoryRecord
from .store import MemoryStore

EXPORT_VERSION = 1


def export_line(store: MemoryStore, record: MemoryRecord) -> dict[str, object]:
    with store.lock:
        links = store.conn.execute(
            "select target_id, relation, agent from links where source_id = ? order by target_id",
            (record.id,),
        ).fetchall()
    line = record.model_dump(mode="json")
    line["links"] = [{"target_id": r[0], "relation": r[1], "agent": r[2]} for r in links]
    line["export_version"] = EXPORT_VERSION
    return line
