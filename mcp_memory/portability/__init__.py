"""Export and import lines: one memory with its provenance and outgoing links per line.

The line format is schemas/export-line.json. Import is the riskier half: a file is
an unauthenticated copy of someone's memory, so it is handled as untrusted input.

Import policy (what `mcp-memory import` promises):

- Every line is validated first (UTF-8, size, JSON, the schema, the same input checks
  as `remember`, content_hash against the content) and screened by the store's trust
  gate. A line with a credential is a bad line. If any line is bad nothing is written,
  unless skip_bad is set: then the good lines are imported and the bad ones reported.
- Screening does not believe the file. Every line is screened as the importer
  (SCREEN_AS, a client that announced itself but earned nothing) with source "file":
  a line that claims agent "user" is not waved through as the human. The original
  agent, client, session, source, created_at and content_hash are kept as provenance.
- A file can only make a memory more cautious, never less: the stored trust is the
  lower of the file's and the importer's, risk the higher, reasons the union, and a
  line the gate quarantines is quarantined even if the file says active.
- Ids: if none of the file's ids is taken, they are kept (a round trip into an empty
  database is exact). If any is taken, every imported memory gets a new id and links
  and supersedes are rewritten through the id map; nothing existing is overwritten.
- Content already present (same hash and project, any status) is skipped as a
  duplicate; its id stands in for the line's id in links. Re-importing a file is a no-op.
- Each line commits alone: the memory, its vector, its links and its `import` audit
  entry in one transaction. A link whose target comes later in the file is committed
  with the target; a link to a memory that is not in the file is dropped (with a note).
- Trust events are not recorded for the named agents: a file's attribution is a claim,
  and letting it move an agent's trust would let a crafted file frame an agent.

Export is here; import runs in three phases: check (read, validate, screen),
commit (one transaction per line), both adding to a report.ImportReport.
"""

from __future__ import annotations

from collections.abc import Iterable

from mcp_memory.models import HUMAN, Actor, MemoryRecord
from mcp_memory.portability.check import parse_all, read_lines, screen_all
from mcp_memory.portability.commit import commit_all
from mcp_memory.portability.report import ImportReport
from mcp_memory.store import MemoryStore

__all__ = ["EXPORT_VERSION", "ImportReport", "export_line", "import_lines", "read_lines"]

EXPORT_VERSION = 1


def export_line(store: MemoryStore, record: MemoryRecord) -> dict[str, object]:
    """The record with its outgoing links: a line must stand alone to be imported elsewhere."""
    with store.lock:
        links = store.conn.execute(
            "select target_id, relation, agent from links where source_id = ? order by target_id",
            (record.id,),
        ).fetchall()
    line = record.model_dump(mode="json")
    line["links"] = [{"target_id": r[0], "relation": r[1], "agent": r[2]} for r in links]
    line["export_version"] = EXPORT_VERSION
    return line


def import_lines(
    store: MemoryStore,
    lines: Iterable[str | bytes],
    *,
    actor: Actor = HUMAN,
    skip_bad: bool = False,
) -> ImportReport:
    """Validate and screen every line, then import: all or nothing unless skip_bad.

    `actor` is who performs the import (the audit entries' actor), not whom screening
    trusts: every line is screened as SCREEN_AS with source "file" (see module doc).
    """
    report = ImportReport()
    items = parse_all(lines, report)
    screened, model = screen_all(store, items, report)
    report.errors.sort(key=lambda e: e.line)
    if report.errors and not skip_bad:
        return report
    commit_all(store, screened, model, actor, report)
    report.errors.sort(key=lambda e: e.line)
    return report
