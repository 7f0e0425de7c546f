"""Import phases 1 and 2: read, validate and screen every line before anything is written.

A file is an unauthenticated copy of someone's memory, so each line gets the checks a
`remember` would (plus the schema and its content_hash) and the store's trust gate, as
the importer (SCREEN_AS) rather than as whoever the line claims wrote it. What the line
says about its writer is kept as a claim (Incoming.claimed), never as the identity, and
its dates must be ones an honest export could hold. The policy is in
mcp_memory.portability's docstring.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

from mcp_memory import validation
from mcp_memory.config import SOURCES
from mcp_memory.errors import InvalidInput, SecretRejected
from mcp_memory.models import Actor, Verdict
from mcp_memory.portability.report import MAX_MESSAGE_CHARS, ImportReport, LineError, shorten
from mcp_memory.records import content_hash
from mcp_memory.store import MemoryStore
from mcp_memory.trust import fields

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"  # also ./schemas at the repo root
MAX_LINE_BYTES = 512 * 1024  # 16 KiB of content fully \u-escaped plus 50 long paths still fits
SCREEN_AS = Actor(agent="import", client_name="mcp-memory-import")
SCREEN_SOURCE = "file"
# Clock skew between the exporting machine and this one: a date up to this far ahead is
# taken as "now"; further ahead, no honest export wrote it (a date in the future sorts
# first in every "recent" list and never ages), so the line is refused.
MAX_CLOCK_SKEW_S = 600
# No memory this tool exported predates it; an older date is a corrupted or crafted line
# (epoch 0, year 1), refused so that ordering and age arithmetic only see real dates.
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc).timestamp()
CLAIM_LIMITS = {"agent": 128, "client_name": 128, "client_version": 64, "session_id": 128}


class LineProblem(Exception):
    """One line cannot be imported; the message is shown to the human with its line number."""


# ---- phase 1: read and validate ------------------------------------------------------------


@dataclass
class Incoming:
    """A validated line, normalised the way `remember` would store it."""

    line: int
    id: int
    text: str
    kind: str
    tags: list[str]
    project: str
    status: str
    claimed: dict[str, Any]  # who the file says wrote it: kept as a claim (imported_from)
    digest: str
    trust: float
    risk: float
    reasons: list[str]
    files: list[dict[str, str]]
    supersedes: int | None
    superseded_by: int | None
    created_at: float
    updated_at: float
    links: list[tuple[int, str, str]]


@lru_cache(maxsize=1)
def line_validator() -> Draft202012Validator:
    """Built once: schemas/ holds the contract, the importer checks lines against it.

    The files carry no `$id`: each is known by its path, so the relative `$ref`s between
    them resolve the same here as in any standard tool given the file."""
    registry: Registry = Registry()
    for path in sorted(SCHEMA_DIR.rglob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        uri = path.relative_to(SCHEMA_DIR).as_posix()
        registry = registry.with_resource(uri, Resource.from_contents(schema))
    root = json.loads((SCHEMA_DIR / "export-line.json").read_text(encoding="utf-8"))
    return Draft202012Validator(root, registry=registry)


def read_lines(fh: IO[bytes]) -> Iterator[bytes]:
    """Binary lines, each cut at MAX_LINE_BYTES + 1: one huge line must not fill memory."""
    while True:
        chunk = fh.readline(MAX_LINE_BYTES + 1)
        if not chunk:
            return
        if len(chunk) > MAX_LINE_BYTES and not chunk.endswith(b"\n"):
            while (rest := fh.readline(1 << 16)) and not rest.endswith(b"\n"):
                pass
        yield chunk


def _decode(raw: str | bytes, number: int) -> str:
    if isinstance(raw, bytes):
        if len(raw.rstrip(b"\r\n")) > MAX_LINE_BYTES:
            raise LineProblem(f"line is longer than {MAX_LINE_BYTES} bytes")
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LineProblem(f"not valid UTF-8 (byte {exc.start + 1})") from exc
    elif len(raw) > MAX_LINE_BYTES:
        raise LineProblem(f"line is longer than {MAX_LINE_BYTES} characters")
    return raw.lstrip("\ufeff") if number == 1 else raw


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _load_json(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise LineProblem(f"not valid JSON: {exc.msg} at column {exc.colno}") from exc
    except ValueError as exc:
        raise LineProblem(f"not valid JSON: {exc}") from exc


def _schema_problem(error: ValidationError) -> str:
    """jsonschema quotes the whole value; a 16 KB content would bury the reason."""
    where = "/".join(str(p) for p in error.absolute_path) or "line"
    message = f"{where}: {error.message}"
    if len(message) > MAX_MESSAGE_CHARS:
        message = f"{where}: fails {error.validator} {json.dumps(error.validator_value)[:80]}"
    return shorten(message)


def _timestamp(value: str, name: str, now: float) -> float:
    """A date an honest export could hold: a little clock skew is forgiven (taken as now),
    the future and the implausibly old are refused rather than clamped, because either
    means the line was not written by an export and the human should see which one."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise LineProblem(f"{name}: not an ISO date-time: {value[:40]!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    stamp = moment.timestamp()
    if stamp > now + MAX_CLOCK_SKEW_S:
        raise LineProblem(f"{name}: {value[:40]} is in the future")
    if stamp < EARLIEST:
        raise LineProblem(f"{name}: {value[:40]} is before 2000, not a date an export holds")
    return min(stamp, now)


def _claimed(obj: dict[str, Any]) -> dict[str, Any]:
    """Who the line says wrote it, cleaned like any identity string (PostgreSQL text holds
    no NUL). A line that was itself imported carries the first file's claim: that one is
    kept, not the importer's name it was stored under."""
    first = obj.get("imported_from")
    raw = first if isinstance(first, dict) else obj
    claim: dict[str, Any] = {
        name: validation.identity_text(raw.get(name, ""), limit)
        for name, limit in CLAIM_LIMITS.items()
    }
    claim["agent"] = claim["agent"] or "unknown"
    claim["source"] = raw["source"] if raw.get("source") in SOURCES else SCREEN_SOURCE
    if isinstance(raw.get("id"), int):
        claim["id"] = raw["id"]
    return claim


def _incoming(obj: dict[str, Any], number: int, now: float) -> Incoming:
    """The same checks `remember` applies, so an import cannot store what a write could not."""
    try:
        text = validation.content(obj["content"])
        tags = validation.tags(obj["tags"])
        kind = validation.kind(obj["kind"])
        project = validation.project(obj["project"])
        validation.files([a["path"] for a in obj["files"]])
    except InvalidInput as exc:
        raise LineProblem(shorten(str(exc))) from exc
    digest = content_hash(text)
    if digest != obj["content_hash"]:
        raise LineProblem("content_hash does not match content (edited or corrupted line)")
    return Incoming(
        line=number,
        id=obj["id"],
        text=text,
        kind=kind,
        tags=tags,
        project=project,
        status=obj["status"],
        claimed=_claimed(obj),
        digest=digest,
        trust=float(obj["trust"]),
        risk=float(obj["risk"]),
        reasons=list(obj["reasons"]),
        files=list(obj["files"]),
        supersedes=obj["supersedes"],
        superseded_by=obj["superseded_by"],
        created_at=_timestamp(obj["created_at"], "created_at", now),
        updated_at=_timestamp(obj["updated_at"], "updated_at", now),
        links=[(link["target_id"], link["relation"], link["agent"]) for link in obj["links"]],
    )


def parse_line(raw: str | bytes, number: int, now: float | None = None) -> Incoming | None:
    """A validated line, or None for a blank one; raises LineProblem with the reason.
    `now` is the moment dates are judged against (the start of the import)."""
    text = _decode(raw, number)
    if not text.strip():
        return None
    obj = _load_json(text)
    error = best_match(line_validator().iter_errors(obj))
    if error is not None:
        raise LineProblem(_schema_problem(error))
    return _incoming(obj, number, time.time() if now is None else now)


def parse_all(
    lines: Iterable[str | bytes], report: ImportReport, now: float | None = None
) -> list[Incoming]:
    found: list[Incoming] = []
    first_seen: dict[int, int] = {}
    now = time.time() if now is None else now
    for number, raw in enumerate(lines, start=1):
        try:
            item = parse_line(raw, number, now)
        except LineProblem as exc:
            report.lines += 1
            report.errors.append(LineError(number, str(exc)))
            continue
        if item is None:
            continue
        report.lines += 1
        if item.id in first_seen:
            report.errors.append(
                LineError(number, f"id {item.id} already used on line {first_seen[item.id]}")
            )
            continue
        first_seen[item.id] = number
        found.append(item)
    return found


# ---- phase 2: embed and screen -------------------------------------------------------------


@dataclass
class Screened:
    item: Incoming
    verdict: Verdict
    vector: Any = None


def _embed(
    store: MemoryStore, items: list[Incoming], tick: Callable[[], None]
) -> tuple[list[Any], str | None]:
    """Forgotten memories get no vector (backfill skips them too); the rest do if a model is up.

    One text per call, as `remember` embeds: in a batch the model pads texts to the longest,
    which moves an int8 model's vectors enough (cosine ~0.98) to flip the semantic detector,
    so a batched import would not be screened as the same text written by an agent."""
    emb = store.embedder()
    out: list[Any] = []
    for item in items:
        out.append(None if emb is None or item.status == "forgotten" else emb.embed([item.text])[0])
        tick()
    return out, emb.name if emb is not None else None


def screen_all(
    store: MemoryStore,
    items: list[Incoming],
    report: ImportReport,
    tick: Callable[[], None] = lambda: None,
) -> tuple[list[Screened], str | None]:
    """Before any write: embedding is slow and the gate only reads, so no lock is held.
    `tick` hears each line embedded (the slow part)."""
    vecs, model = _embed(store, items, tick)
    kept: list[Screened] = []
    for item, vec in zip(items, vecs, strict=True):
        try:
            text = fields.compose(item.text, item.kind, item.tags, [f["path"] for f in item.files])
            verdict = store.screen(store, text, vec, SCREEN_AS, SCREEN_SOURCE, item.project)
        except SecretRejected as exc:
            report.errors.append(LineError(item.line, shorten(f"rejected: {exc}")))
            continue
        if verdict.status == "rejected":
            reasons = ", ".join(verdict.reasons) or "trust gate"
            report.errors.append(LineError(item.line, f"rejected by the trust gate ({reasons})"))
            continue
        kept.append(Screened(item, verdict, vec))
    return kept, model
