"""Instruction files (AGENTS.md, .cursorrules, ADRs ...) as memories: one per section or bullet.

A file is re-read whole on every change and compared, piece by piece, with what was stored from
it last time (table file_sources): unchanged pieces keep their memory, removed or edited ones are
retired, new ones are remembered. Every piece goes through `store.remember`, so through the trust
layer: a rules file may come from a cloned repo, and hidden Unicode in rules files is a known
backdoor. Pieces are not anchored with `files=`: an anchor hashes the whole file, so any edit
would mark every untouched piece stale although this module already keeps them current.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

from mcp_memory.errors import InvalidInput
from mcp_memory.models import Actor
from mcp_memory.progress import Progress, tell
from mcp_memory.records import content_hash
from mcp_memory.storage.driver import Connection
from mcp_memory.store import MemoryStore

log = logging.getLogger("mcp_memory")

# Relative POSIX patterns, matched case-sensitively; "**" spans zero or more folders.
INSTRUCTION_FILES: tuple[str, ...] = (
    "**/AGENTS.md",
    "**/CLAUDE.md",
    ".cursorrules",
    ".cursor/rules/**/*.mdc",
    ".github/copilot-instructions.md",
    "docs/adr/*.md",
)
IGNORED_DIRS = frozenset({
    ".git", ".hg", ".svn", "node_modules", ".venv", "venv", "build", "dist", "__pycache__",
    ".tox", ".mypy_cache", ".pytest_cache", ".ruff_cache",
})  # fmt: skip
WATCHER = Actor(agent="file-watcher", client_name="mcp-memory-watch")


def watcher_for(project: str) -> Actor:
    """One writer identity per project: a backdoored rules file in one cloned repo sinks the
    trust of that repo's file watcher only, not the instruction files of every project."""
    return Actor(
        agent=f"{WATCHER.agent}:{project}" if project else WATCHER.agent,
        client_name=WATCHER.client_name,
    )


MAX_FILE_BYTES = 1 << 20
TAG = "instruction-file"

_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_BULLET = re.compile(r"^( *)(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$)")
_FENCE = re.compile(r"^ *(`{3,}|~{3,})")
_BREAK = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")


# ---- which files ---------------------------------------------------------------------------


def _match(parts: Sequence[str], pattern: Sequence[str]) -> bool:
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_match(parts[i:], rest) for i in range(len(parts) + 1))
    return bool(parts) and fnmatchcase(parts[0], head) and _match(parts[1:], rest)


def is_instruction_file(rel: str) -> bool:
    """Relative POSIX path -> watched? Ignored folders win, so vendored copies never count."""
    parts = rel.split("/")
    if any(p in IGNORED_DIRS for p in parts[:-1]):
        return False
    return any(_match(parts, pattern.split("/")) for pattern in INSTRUCTION_FILES)


def relative(root: Path, path: str | Path) -> str | None:
    """Path under root as relative POSIX text (the key in file_sources), None when outside."""
    try:
        rel = Path(os.path.abspath(path)).relative_to(os.path.abspath(root))
    except ValueError:
        return None
    return rel.as_posix() if rel.parts else None


def find_instruction_files(root: Path) -> list[str]:
    found: list[str] = []
    for folder, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_DIRS)
        for name in filenames:
            rel = relative(root, Path(folder) / name)
            if rel and is_instruction_file(rel):
                found.append(rel)
    return sorted(found)


# ---- pieces --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """One memory's worth of a file: a bullet or paragraph, prefixed by its heading trail."""

    content: str
    line: int

    @property
    def digest(self) -> str:
        return content_hash(self.content)


@dataclass
class _Heading:
    level: int
    text: str
    line: int
    used: bool = False


class _Parser:
    """Line-based Markdown splitter: good enough for instruction files, never drops text.

    Every non-blank line of the file ends up in some piece (headings via the trail), so hidden
    characters anywhere in the file reach the detectors.
    """

    def __init__(self) -> None:
        self.pieces: list[Piece] = []
        self.trail: list[_Heading] = []
        self.body: list[str] = []
        self.kind: str | None = None  # "bullet" | "para" | None
        self.start = 0
        self.blank = False
        self.fence: str | None = None

    def feed(self, n: int, line: str) -> None:
        if self.fence is not None:
            self.body.append(line)
            stripped = line.strip()
            if stripped.startswith(self.fence) and not stripped.strip(self.fence[0]):
                self.fence = None
            return
        if not line.strip():
            self._on_blank()
        elif heading := _HEADING.match(line):
            self._on_heading(n, len(heading.group(1)), (heading.group(2) or "").strip())
        elif _BREAK.match(line):
            self._flush()
        elif fence := _FENCE.match(line):
            self._add(n, line, "para")
            self.fence = fence.group(1)
        elif bullet := _BULLET.match(line):
            self._on_bullet(n, line, len(bullet.group(1)))
        else:
            self._add(n, line, "para")

    def finish(self) -> list[Piece]:
        self._flush()
        while self.trail:
            self._close(self.trail.pop())
        return sorted(self.pieces, key=lambda p: p.line)

    def _indent(self, line: str) -> int:
        return len(line) - len(line.lstrip(" "))

    def _continues(self, line: str) -> bool:
        if self.kind == "para":
            return True
        return self.kind == "bullet" and (not self.blank or self._indent(line) >= 2)

    def _add(self, n: int, line: str, kind: str) -> None:
        if not self._continues(line):
            self._flush()
            self.kind, self.start = kind, n
        self._append(line)

    def _append(self, line: str) -> None:
        """A blank line inside a bullet is kept once the bullet is known to go on."""
        if self.blank:
            self.body.append("")
        self.body.append(line)
        self.blank = False

    def _on_bullet(self, n: int, line: str, indent: int) -> None:
        if indent >= 2 and self._continues(line):
            self._append(line)
            return
        self._flush()
        self.kind, self.start, self.blank = "bullet", n, False
        self.body.append(_BULLET.sub("", line, count=1))

    def _on_blank(self) -> None:
        if self.kind == "bullet":
            self.blank = True
        else:
            self._flush()

    def _on_heading(self, n: int, level: int, text: str) -> None:
        self._flush()
        while self.trail and self.trail[-1].level >= level:
            self._close(self.trail.pop())
        self.trail.append(_Heading(level, text, n))

    def _prefix(self, trail: Iterable[_Heading]) -> str:
        return " > ".join(h.text for h in trail if h.text)

    def _flush(self) -> None:
        body = "\n".join(self.body).strip("\n")
        if body.strip():
            prefix = self._prefix(self.trail)
            self.pieces.append(Piece(f"{prefix}: {body}" if prefix else body, self.start))
            for h in self.trail:
                h.used = True
        self.body, self.kind, self.blank = [], None, False

    def _close(self, heading: _Heading) -> None:
        """A heading with nothing under it is still text an agent reads: keep it as a piece."""
        if heading.used:
            return
        text = self._prefix([*self.trail, heading])
        if text.strip():
            self.pieces.append(Piece(text, heading.line))
        for h in self.trail:
            h.used = True


def parse(text: str) -> list[Piece]:
    """Split on "\\n" only: U+2028 and friends stay inside a line, where the detectors see them."""
    parser = _Parser()
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for n, line in enumerate(lines, start=1):
        parser.feed(n, line)
    return parser.finish()


def read_pieces(path: Path) -> dict[str, Piece]:
    """Pieces by digest (first occurrence wins); a missing or unreadable file has none."""
    try:
        if not path.is_file():
            return {}
        if path.stat().st_size > MAX_FILE_BYTES:
            log.warning("mcp-memory watch: %s is over %d bytes; not ingested", path, MAX_FILE_BYTES)
            return {}
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError as exc:
        log.warning("mcp-memory watch: cannot read %s: %s", path, exc)
        return {}
    pieces: dict[str, Piece] = {}
    for piece in parse(text):
        pieces.setdefault(piece.digest, piece)
    return pieces


def kind_for(rel: str) -> str:
    return "decision" if rel.startswith("docs/adr/") else "instruction"


# ---- sync ----------------------------------------------------------------------------------


@dataclass
class SyncReport:
    path: str
    added: list[int] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)
    retired: list[int] = field(default_factory=list)
    quarantined: list[int] = field(default_factory=list)
    skipped: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.retired or self.quarantined or self.skipped)


def _known(store: MemoryStore, rel: str) -> dict[str, tuple[int, int]]:
    with store.lock:
        rows = store.conn.execute(
            "select piece_hash, memory_id, line from file_sources where project = ? and path = ?",
            (store.settings.project, rel),
        ).fetchall()
    return {r["piece_hash"]: (r["memory_id"], r["line"]) for r in rows}


def known_paths(store: MemoryStore) -> set[str]:
    with store.lock:
        rows = store.conn.execute(
            "select distinct path from file_sources where project = ?", (store.settings.project,)
        ).fetchall()
    return {r[0] for r in rows}


def _recorder(store: MemoryStore, rel: str, piece: Piece) -> Callable[[Connection, int], None]:
    """Path and line are provenance: they commit in the same transaction as the memory."""

    def record(conn: Connection, memory_id: int) -> None:
        conn.execute(
            "insert into file_sources(project, path, piece_hash, memory_id, line) "
            "values (?, ?, ?, ?, ?) on conflict(project, path, piece_hash) "
            "do update set memory_id = excluded.memory_id, line = excluded.line",
            (store.settings.project, rel, piece.digest, memory_id, piece.line),
        )

    return record


def _ingest(store: MemoryStore, rel: str, piece: Piece, actor: Actor, report: SyncReport) -> None:
    where = f"{rel}:{piece.line}"
    try:
        result = store.remember(
            piece.content,
            actor=actor,
            kind=kind_for(rel),
            tags=[TAG],
            source="file",
            in_transaction=_recorder(store, rel, piece),
        )
    except InvalidInput as exc:  # includes SecretRejected: nothing was stored
        log.warning("mcp-memory watch: %s not stored: %s", where, exc)
        report.skipped += 1
        return
    if result.id is None:
        log.warning("mcp-memory watch: %s rejected (%s)", where, ", ".join(result.reasons))
        report.skipped += 1
        return
    if result.status == "quarantined":
        report.quarantined.append(result.id)
        log.warning(
            "mcp-memory watch: QUARANTINED %s (%s): memory #%d awaits review "
            "(mcp-memory quarantine show %d)",
            where,
            ", ".join(result.reasons),
            result.id,
            result.id,
        )
    elif result.status == "stored":
        report.added.append(result.id)
    else:
        report.kept.append(result.id)


def _move_lines(store: MemoryStore, rel: str, moved: list[tuple[int, str]]) -> None:
    if not moved:
        return
    with store.transaction() as conn:
        conn.executemany(
            "update file_sources set line = ? where project = ? and path = ? and piece_hash = ?",
            [(line, store.settings.project, rel, digest) for line, digest in moved],
        )


_GONE = "delete from file_sources where project = ? and path = ? and piece_hash = ?"
_ORPHANS = """select id from memories where id in {ids}
              and agent = ? and status in ('active', 'quarantined')
              and not exists (select 1 from file_sources f where f.memory_id = memories.id)"""


def _retire_gone(store: MemoryStore, rel: str, gone: dict[str, int], actor: Actor) -> list[int]:
    """Drop the gone rows and retire the watcher's active memories no file points at any more,
    in ONE transaction: a crash between the two would leave active memories that no
    file_sources row leads back to, which no later sync would ever find again.

    A quarantined piece the file no longer holds leaves review too (approving it would store
    a line nobody wrote any more), but it is forgotten, not erased: the text stays, and the
    audit entry records that it was quarantined, so an attacker who edits the line back out
    does not erase the evidence.
    """
    project = store.settings.project
    reason = f"no longer in {rel}"
    with store.transaction() as conn:
        conn.executemany(_GONE, [(project, rel, digest) for digest in gone])
        ids, param = store.backend.id_list(sorted(set(gone.values())))
        rows = conn.execute(_ORPHANS.format(ids=ids), (param, actor.agent))
        orphans = [r[0] for r in rows.fetchall()]
        for memory_id in orphans:
            store.forget_in(conn, memory_id, actor=actor, reason=reason)
    return orphans


def sync_file(
    store: MemoryStore, root: Path, rel: str, *, actor: Actor | None = None
) -> SyncReport:
    """Make the store match the file as it is now (missing file: retire everything from it)."""
    actor = actor or watcher_for(store.settings.project)
    pieces = read_pieces(root / rel) if is_instruction_file(rel) else {}
    known = _known(store, rel)
    report = SyncReport(rel)
    moved: list[tuple[int, str]] = []
    for digest, piece in pieces.items():
        if digest in known:
            report.kept.append(known[digest][0])
            if known[digest][1] != piece.line:
                moved.append((piece.line, digest))
        else:
            _ingest(store, rel, piece, actor, report)
    _move_lines(store, rel, moved)
    gone = {d: memory_id for d, (memory_id, _) in known.items() if d not in pieces}
    if gone:
        report.retired += _retire_gone(store, rel, gone, actor)
    _log(report)
    return report


def _log(r: SyncReport) -> None:
    if r.changed:
        log.info(
            "mcp-memory watch: %s: %d new, %d kept, %d retired, %d quarantined, %d skipped",
            *(r.path, len(r.added), len(r.kept), len(r.retired), len(r.quarantined), r.skipped),
        )


def sync_paths(
    store: MemoryStore,
    root: Path,
    paths: Iterable[str],
    *,
    actor: Actor | None = None,
    progress: Progress | None = None,
) -> list[SyncReport]:
    """Files that exist first, vanished ones last: in a rename the new path claims the memory
    (same text, same project -> `duplicate`, same id) before the old path lets go of it.
    `progress(done, total)` hears each file synced."""
    ordered = sorted(set(paths), key=lambda rel: (not (root / rel).is_file(), rel))
    reports: list[SyncReport] = []
    tell(progress, 0, len(ordered))
    for rel in ordered:
        reports.append(sync_file(store, root, rel, actor=actor))
        tell(progress, len(reports), len(ordered))
    return reports


def sync_all(
    store: MemoryStore,
    root: Path,
    *,
    actor: Actor | None = None,
    progress: Progress | None = None,
) -> list[SyncReport]:
    """Full reconcile: every instruction file on disk, plus every path stored from before
    (deleted or renamed while nobody was watching)."""
    paths = set(find_instruction_files(root)) | known_paths(store)
    return sync_paths(store, root, paths, actor=actor, progress=progress)
