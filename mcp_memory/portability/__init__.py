"""Export and import lines: one memory with its provenance and outgoing links per line.

The line format is schemas/export-line.json. Import is the riskier half: a file is
an unauthenticated copy of someone's memory, so it is handled as untrusted input.

Import policy (what `mcp-memory import` promises):

- Every line is validated first (UTF-8, size, JSON, the schema, the same input checks
  as `remember`, content_hash against the content) and screened by the store's trust
  gate. A line with a credential is a bad line. If any line is bad nothing is written,
  unless skip_bad is set: then the good lines are imported and the bad ones reported.
- Import is a write, and the importer is its writer. Every line is screened as the
  importer (SCREEN_AS, agent "import") with source "file", like a `remember` from an
  agent, and is stored as that: agent "import", source "file", one session id per
  import run. What the line says about its writer (agent, source, client, session, id)
  is a claim, kept as claimed in the row's `imported_from` (JSON; export passes the first
  claim on) and the audit entry, and never becomes the identity: a line that claims
  agent and source "user" is not the human's, and a line naming a trusted agent borrows
  neither its trust nor its right to forget or supersede.
- A file can only make a memory more cautious, never less: the stored trust is the
  lower of the file's and the importer's ("import"'s standing: the human's policy,
  set with `agents trust|distrust import`), risk the higher, reasons the union, and a
  line the gate quarantines is quarantined even if the file says active.
- Dates must be ones an export could hold: created_at and updated_at more than
  MAX_CLOCK_SKEW_S ahead of now (or before 2000) make the line bad; a date within the
  skew is taken as now. Refused, not clamped: a future date is never an honest export's,
  so the human sees the line rather than a silently rewritten one.
- Ids: if none of the file's ids is taken, they are kept (a round trip into an empty
  database is exact). If any is taken, every imported memory gets a new id and links
  and supersedes are rewritten through the id map; nothing existing is overwritten.
- Content already present (same hash and project, any status) is skipped as a
  duplicate. Re-importing a file is a no-op.
- Links and supersedes are made only between memories this import created. A link to a
  memory not in the file, or to or from a duplicate line (a memory that was already
  here), is dropped with a note: otherwise repeating a trusted memory's text would let
  a file link a poison to it.
- Each line commits alone: the memory, its vector, its links and its `import` audit
  entry in one transaction. A link whose target comes later in the file is committed
  with the target.
- Trust events are not recorded for the named agents: a file's attribution is a claim,
  and letting it move an agent's trust would let a crafted file frame an agent.

Export is here; import runs in three phases: check (read, validate, screen),
commit (one transaction per line), both adding to a report.ImportReport.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from mcp_memory.models import HUMAN, Actor, MemoryRecord
from mcp_memory.portability.check import parse_all, read_lines, screen_all
from mcp_memory.portability.commit import commit_all
from mcp_memory.portability.report import ImportReport
from mcp_memory.progress import Progress, tell
from mcp_memory.store import MemoryStore

__all__ = [
    "EXPORT_VERSION",
    "ImportReport",
    "export_line",
    "export_lines",
    "import_lines",
    "read_lines",
]

EXPORT_VERSION = 1


def export_line(store: MemoryStore, record: MemoryRecord) -> dict[str, object]:
    """The record with its outgoing links: a line must stand alone to be imported elsewhere."""
    with store.lock:
        links = store.conn.execute(
            "select target_id, relation, agent from links where source_id = ? order by target_id",
            (record.id,),
        ).fetchall()
        claim = store.conn.execute(
            "select imported_from from memories where id = ?", (record.id,)
        ).fetchone()
    line = record.model_dump(mode="json")
    if claim is not None and claim[0]:  # an imported memory passes on the first file's claim
        line["imported_from"] = json.loads(claim[0])
    line["links"] = [{"target_id": r[0], "relation": r[1], "agent": r[2]} for r in links]
    line["export_version"] = EXPORT_VERSION
    return line


def export_lines(
    store: MemoryStore, progress: Progress | None = None
) -> Iterator[dict[str, object]]:
    """Every memory's line, in id order; `progress(done, total)` hears each one."""
    with store.lock:
        total = int(store.conn.execute("select count(*) from memories").fetchone()[0])
    tell(progress, 0, total)
    for done, record in enumerate(store.iter_records(), start=1):
        yield export_line(store, record)
        tell(progress, done, total)


def import_lines(
    store: MemoryStore,
    lines: Iterable[str | bytes],
    *,
    actor: Actor = HUMAN,
    skip_bad: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Validate and screen every line, then import: all or nothing unless skip_bad.

    `actor` is who performs the import (the audit entries' actor), not whom screening
    trusts: every line is screened as SCREEN_AS with source "file" (see module doc).
    `progress(done, total)` counts two steps a line: embedded, then committed.
    """
    report = ImportReport()
    items = parse_all(lines, report)
    steps = [0, 2 * len(items)]

    def tick() -> None:
        steps[0] += 1
        tell(progress, steps[0], steps[1])

    tell(progress, 0, steps[1])
    screened, model = screen_all(store, items, report, tick)
    report.errors.sort(key=lambda e: e.line)
    if report.errors and not skip_bad:
        return report
    steps[0] = steps[1] - len(screened)  # lines refused by screening are not committed
    commit_all(store, screened, model, actor, report, tick)
    report.errors.sort(key=lambda e: e.line)
    return report
