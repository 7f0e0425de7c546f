"""What an import did, line by line: the answer `mcp-memory import` prints and returns as JSON.

Every phase of an import (reading, screening, committing) adds to the same report, so the
human sees all bad lines of a file at once, each with its line number.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

MAX_MESSAGE_CHARS = 300


def shorten(text: str) -> str:
    """Messages quote untrusted input; a long one must not bury the others."""
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


@dataclass
class LineError:
    line: int
    message: str


@dataclass
class LineOutcome:
    line: int
    original_id: int
    id: int
    result: str  # imported | duplicate
    status: str  # the memory's status in this database
    reasons: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    lines: int = 0
    committed: bool = False
    id_policy: str = "kept"  # kept | remapped
    outcomes: list[LineOutcome] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def counts(self) -> dict[str, int]:
        counts = {"imported": 0, "duplicate": 0, "quarantined": 0, "bad": len(self.errors)}
        for outcome in self.outcomes:
            counts[outcome.result] += 1
            held = outcome.result == "imported" and outcome.status == "quarantined"
            counts["quarantined"] += int(held)
        return counts

    def id_map(self) -> dict[int, int]:
        return {o.original_id: o.id for o in self.outcomes}

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "committed": self.committed,
            "lines": self.lines,
            "id_policy": self.id_policy,
            "counts": self.counts(),
            "id_map": {str(k): v for k, v in self.id_map().items()},
            "outcomes": [asdict(o) for o in self.outcomes],
            "errors": [asdict(e) for e in self.errors],
            "notes": self.notes,
        }
