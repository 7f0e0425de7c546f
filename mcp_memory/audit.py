"""Append-only, hash-chained audit log: the human's record of who did what.

Each entry's hash covers its own fields plus the previous entry's hash, so an
edited, deleted or reordered row breaks the chain from that point on. The head
(last seq, hash, count) is mirrored into `meta` in the same transaction, which
is what lets `verify` notice a truncated tail: without it, dropping the last
rows leaves a chain that is still internally consistent.

Entries carry ids and content hashes, never memory text. That is a rule, not a
habit: erasure must be able to delete every copy of a memory's text without
rewriting (and so breaking) the log. `append` refuses data keys that look like
text to make the rule hard to break by accident.

The chain detects tampering by anyone who does not also recompute every later
hash and the meta head; someone with full write access to the file can forge a
consistent history. Anchor the head hash outside the database (print it from
`audit verify`) to close that gap.

Actions (the vocabulary; writers should use these names):

- ``remember``    a memory was stored (memory_id, content_hash, status)
- ``forget``      a memory was marked forgotten
- ``link``        two memories were linked (source, target, relation)
- ``quarantine``  a write was held for review (memory_id, reasons)
- ``approve``     the human released a quarantined memory
- ``reject``      the human rejected a quarantined memory
- ``trust``       the human raised an agent's trust
- ``distrust``    the human lowered an agent's trust
- ``erase``       memories were erased for real (ids, content hashes)
- ``import``      memories were imported from a file
- ``backup``      a backup copy of the database was written
- ``token_create``  the human issued an HTTP bearer token (token_id, agent, display prefix)
- ``token_revoke``  the human revoked one (token_id, agent, display prefix)
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from mcp_memory.errors import InvalidInput

if TYPE_CHECKING:  # `audit.ACTIONS` names CLI options: no storage stack for `--help`
    from mcp_memory.storage.driver import Connection

ACTIONS = (
    "remember",
    "forget",
    "link",
    "quarantine",
    "approve",
    "reject",
    "trust",
    "distrust",
    "erase",
    "import",
    "backup",
    "token_create",
    "token_revoke",
)
GENESIS_HASH = "sha256:" + "0" * 64
HEAD_KEY = "audit_head"
FORBIDDEN_DATA_KEYS = frozenset({"content", "text"})
_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    ts: str
    actor: str
    action: str
    memory_id: int | None
    data: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": self.ts,
            "actor": self.actor,
            "action": self.action,
            "memory_id": self.memory_id,
            "data": self.data,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str = ""
    head_hash: str = GENESIS_HASH
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
            "head_hash": self.head_hash,
        }


def canonical_json(value: Any) -> str:
    """One byte-exact encoding, so the same entry always hashes the same anywhere."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def entry_hash(
    *,
    seq: int,
    ts: str,
    actor: str,
    action: str,
    memory_id: int | None,
    data: Mapping[str, Any],
    prev_hash: str,
) -> str:
    body = {
        "seq": seq,
        "ts": ts,
        "actor": actor,
        "action": action,
        "memory_id": memory_id,
        "data": data,
        "prev_hash": prev_hash,
    }
    return "sha256:" + hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def utc_now_iso() -> str:
    return format_ts(datetime.now(timezone.utc))


def format_ts(moment: datetime) -> str:
    """Fixed width with a Z suffix, so ISO strings sort and compare as text."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_since(value: str | float | int, *, now: datetime | None = None) -> datetime:
    """Accept what a human types: ISO date/time, unix seconds, or an age like 7d/24h/30m."""
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(float(value), timezone.utc)
    text = str(value).strip()
    relative = _RELATIVE.match(text)
    if relative:
        seconds = float(relative.group(1)) * _UNIT_SECONDS[relative.group(2)]
        return (now or datetime.now(timezone.utc)) - timedelta(seconds=seconds)
    try:
        return datetime.fromtimestamp(float(text), timezone.utc)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(
            f"cannot read time {text!r}: use ISO (2025-01-31, 2025-01-31T12:00Z), "
            "unix seconds, or an age such as 7d, 24h, 30m"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _check_data(data: Any, path: str = "data") -> None:
    if isinstance(data, Mapping):
        for key, value in data.items():
            if not isinstance(key, str):
                raise InvalidInput(f"audit {path} keys must be strings")
            if key.lower() in FORBIDDEN_DATA_KEYS:
                raise InvalidInput(
                    f"audit {path}.{key}: the audit log holds ids and hashes, never memory text"
                )
            _check_data(value, f"{path}.{key}")
    elif isinstance(data, (list, tuple)):
        for index, item in enumerate(data):
            _check_data(item, f"{path}[{index}]")


def _read_head(conn: Connection) -> tuple[int, str, int] | None:
    row = conn.execute("select value from meta where key = ?", (HEAD_KEY,)).fetchone()
    if row is None:
        return None
    try:
        head = json.loads(row[0])
        return int(head["seq"]), str(head["hash"]), int(head["count"])
    except (ValueError, KeyError, TypeError):
        return None


def _write_head(conn: Connection, seq: int, hash_: str, count: int) -> None:
    value = canonical_json({"seq": seq, "hash": hash_, "count": count})
    conn.execute(
        "insert into meta(key, value) values (?, ?) "
        "on conflict(key) do update set value = excluded.value",
        (HEAD_KEY, value),
    )


def _tail(conn: Connection) -> tuple[int, str, int]:
    """Where the next entry chains from: the recorded head wins over the table.

    If the tail rows were deleted, chaining from the recorded head (not from
    what is left) keeps the damage visible to `verify` instead of papering
    over it with a fresh, consistent continuation.
    """
    row = conn.execute("select seq, hash from audit_log order by seq desc limit 1").fetchone()
    table_seq, table_hash = (row[0], row[1]) if row else (0, GENESIS_HASH)
    head = _read_head(conn)
    if head is None:
        count = conn.execute("select count(*) from audit_log").fetchone()[0]
        return table_seq, table_hash, count
    head_seq, head_hash, head_count = head
    if head_seq >= table_seq:
        return head_seq, head_hash, head_count
    return table_seq, table_hash, head_count


def append(
    conn: Connection,
    *,
    actor: str,
    action: str,
    memory_id: int | None = None,
    data: Mapping[str, Any] | None = None,
) -> str:
    """Add one entry; must run inside the caller's write transaction (BEGIN IMMEDIATE).

    Running inside the caller's transaction is the point: the entry commits or
    rolls back together with the change it describes, and the write lock
    serialises appends across processes so two writers cannot fork the chain.
    """
    if not conn.in_transaction:
        raise RuntimeError("audit.append must run inside an open write transaction")
    if action not in ACTIONS:
        raise InvalidInput(f"unknown audit action {action!r}; expected one of {ACTIONS}")
    if not actor:
        raise InvalidInput("audit actor must not be empty")
    payload = dict(data or {})
    _check_data(payload)
    last_seq, prev_hash, count = _tail(conn)
    seq = last_seq + 1
    ts = utc_now_iso()
    hash_ = entry_hash(
        seq=seq,
        ts=ts,
        actor=actor,
        action=action,
        memory_id=memory_id,
        data=payload,
        prev_hash=prev_hash,
    )
    conn.execute(
        "insert into audit_log(seq, ts, actor, action, memory_id, data, prev_hash, hash) "
        "values (?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, ts, actor, action, memory_id, canonical_json(payload), prev_hash, hash_),
    )
    _write_head(conn, seq, hash_, count + 1)
    return hash_


def _to_entry(row: Any) -> AuditEntry:
    return AuditEntry(
        seq=row["seq"],
        ts=row["ts"],
        actor=row["actor"],
        action=row["action"],
        memory_id=row["memory_id"],
        data=_parse_data(row["data"]),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def _parse_data(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {"_unparseable": True}
    return value if isinstance(value, dict) else {"_value": value}


def entries(
    conn: Connection,
    *,
    agent: str | None = None,
    since: str | float | None = None,
    action: str | None = None,
    limit: int | None = None,
    memory_id: int | None = None,
) -> list[AuditEntry]:
    """Oldest first, because an audit trail reads as a story; `limit` keeps the newest."""
    clauses: list[str] = []
    params: list[Any] = []
    if agent is not None:
        clauses.append("actor = ?")
        params.append(agent)
    if since is not None:
        clauses.append("ts >= ?")
        params.append(format_ts(parse_since(since)))
    if action is not None:
        clauses.append("action = ?")
        params.append(action)
    if memory_id is not None:
        clauses.append("memory_id = ?")
        params.append(memory_id)
    where = f"where {' and '.join(clauses)}" if clauses else ""
    sql = f"select * from audit_log {where} order by seq desc"
    if limit is not None:
        sql += " limit ?"
        params.append(max(0, int(limit)))
    rows = conn.execute(sql, params).fetchall()
    return [_to_entry(row) for row in reversed(rows)]


def _row_problem(row: Any, expected_seq: int, expected_prev: str) -> str:
    if row["seq"] != expected_seq:
        return f"missing entry: expected seq {expected_seq}, found {row['seq']}"
    if row["prev_hash"] != expected_prev:
        return "prev_hash does not match the previous entry (deleted or reordered entry)"
    try:
        data = json.loads(row["data"])
    except ValueError:
        return "data is not valid JSON (edited)"
    recomputed = entry_hash(
        seq=row["seq"],
        ts=row["ts"],
        actor=row["actor"],
        action=row["action"],
        memory_id=row["memory_id"],
        data=data,
        prev_hash=row["prev_hash"],
    )
    if recomputed != row["hash"]:
        return "hash does not match the entry's fields (entry or hash edited)"
    return ""


def verify(conn: Connection) -> VerifyResult:
    """Walk the whole chain once; report the first entry that does not hold."""
    expected_prev = GENESIS_HASH
    checked = 0
    last_seq = 0
    cursor = conn.execute(
        "select seq, ts, actor, action, memory_id, data, prev_hash, hash "
        "from audit_log order by seq"
    )
    for row in cursor:
        problem = _row_problem(row, last_seq + 1, expected_prev)
        if problem:
            cursor.close()
            bad = min(row["seq"], last_seq + 1)
            return VerifyResult(False, checked, bad, problem, expected_prev)
        checked += 1
        last_seq = row["seq"]
        expected_prev = row["hash"]
    return _check_head(conn, checked, last_seq, expected_prev)


def _check_head(conn: Connection, checked: int, last_seq: int, last_hash: str) -> VerifyResult:
    head = _read_head(conn)
    if head is None:
        if checked:
            note = "no recorded head in meta: tail truncation cannot be ruled out"
            return VerifyResult(True, checked, None, "", last_hash, [note])
        return VerifyResult(True, 0, None, "", last_hash)
    head_seq, head_hash, head_count = head
    if head_seq > last_seq:
        problem = f"log ends at seq {last_seq} but the recorded head is seq {head_seq} (truncated)"
        return VerifyResult(False, checked, last_seq + 1, problem, last_hash)
    if head_seq != last_seq or head_hash != last_hash or head_count != checked:
        problem = "recorded head does not match the last entry (log or head edited)"
        return VerifyResult(False, checked, last_seq or None, problem, last_hash)
    return VerifyResult(True, checked, None, "", last_hash)
