"""The audit log is append-only and tamper-evident, and never stores memory text."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
import typer
from typer.testing import CliRunner

from mcp_memory import audit
from mcp_memory.cli import admin as cli_admin
from mcp_memory.cli import audit as cli_audit
from mcp_memory.errors import InvalidInput
from mcp_memory.storage import Connection, open_backend, write_transaction

from .conftest import DbTarget


@pytest.fixture
def conn(db_target: DbTarget) -> Iterator[Connection]:
    backend = open_backend(db_target())
    backend.migrate()
    yield backend.conn
    backend.close()


def _log(conn: Connection, count: int, actor: str = "agent-a", action: str = "remember") -> None:
    for i in range(count):
        with write_transaction(conn):
            audit.append(
                conn, actor=actor, action=action, memory_id=i + 1, data={"content_hash": f"h{i}"}
            )


def _admin_app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(cli_audit.audit_app, name="audit")
    app.command("erase")(cli_admin.erase_command)
    return app


def test_a_fresh_chain_verifies_and_reports_how_many_entries_it_checked(conn: Connection) -> None:
    _log(conn, 5)
    result = audit.verify(conn)
    assert (result.ok, result.checked, result.first_bad_seq) == (True, 5, None)


def test_an_empty_log_verifies(conn: Connection) -> None:
    assert audit.verify(conn).ok


def test_the_first_entry_chains_from_the_genesis_hash(conn: Connection) -> None:
    _log(conn, 1)
    (first,) = audit.entries(conn)
    assert first.seq == 1
    assert first.prev_hash == "sha256:" + "0" * 64


def test_each_hash_is_sha256_of_the_canonical_json_of_the_entry(conn: Connection) -> None:
    with write_transaction(conn):
        audit.append(conn, actor="agent-ü", action="link", memory_id=7, data={"b": 1, "a": "é"})
    (entry,) = audit.entries(conn)
    body = {
        "seq": 1,
        "ts": entry.ts,
        "actor": "agent-ü",
        "action": "link",
        "memory_id": 7,
        "data": {"a": "é", "b": 1},
        "prev_hash": entry.prev_hash,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert entry.hash == "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_timestamps_are_iso_utc_with_microseconds(conn: Connection) -> None:
    _log(conn, 1)
    (entry,) = audit.entries(conn)
    parsed = datetime.strptime(entry.ts, "%Y-%m-%dT%H:%M:%S.%fZ")
    assert (
        abs(parsed.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)).total_seconds() < 60
    )


@pytest.mark.parametrize(
    "data", [{"content": "secret"}, {"Text": "secret"}, {"memory": {"content": "secret"}}]
)
def test_append_refuses_memory_text_in_its_data(conn: Connection, data: dict) -> None:
    with pytest.raises(InvalidInput), write_transaction(conn):
        audit.append(conn, actor="a", action="remember", data=data)
    assert audit.entries(conn) == []


def test_append_refuses_to_run_outside_a_write_transaction(conn: Connection) -> None:
    with pytest.raises(RuntimeError):
        audit.append(conn, actor="a", action="remember")


def test_append_refuses_an_action_outside_the_vocabulary(conn: Connection) -> None:
    with pytest.raises(InvalidInput), write_transaction(conn):
        audit.append(conn, actor="a", action="delete_everything")


def test_a_rolled_back_write_leaves_no_entry_and_the_chain_still_holds(conn: Connection) -> None:
    _log(conn, 2)
    with pytest.raises(ZeroDivisionError), write_transaction(conn):
        audit.append(conn, actor="a", action="forget", memory_id=1)
        _ = 1 / 0
    _log(conn, 1)
    assert [e.seq for e in audit.entries(conn)] == [1, 2, 3]
    assert audit.verify(conn).ok


def _tampered(conn: Connection, *statements: str) -> audit.VerifyResult:
    for sql in statements:
        conn.execute(sql)
    return audit.verify(conn)


def test_verify_catches_an_edited_data_field(conn: Connection) -> None:
    _log(conn, 5)
    result = _tampered(
        conn, """update audit_log set data = '{"content_hash":"forged"}' where seq = 3"""
    )
    assert (result.ok, result.first_bad_seq) == (False, 3)


def test_verify_catches_an_edited_actor(conn: Connection) -> None:
    _log(conn, 5)
    result = _tampered(conn, "update audit_log set actor = 'user' where seq = 2")
    assert (result.ok, result.first_bad_seq) == (False, 2)


def test_verify_catches_a_deleted_middle_entry(conn: Connection) -> None:
    _log(conn, 5)
    result = _tampered(conn, "delete from audit_log where seq = 3")
    assert (result.ok, result.first_bad_seq) == (False, 3)


def test_verify_catches_two_entries_swapped(conn: Connection) -> None:
    _log(conn, 5)
    result = _tampered(
        conn,
        "update audit_log set seq = 100 where seq = 3",
        "update audit_log set seq = 3 where seq = 4",
        "update audit_log set seq = 4 where seq = 100",
    )
    assert (result.ok, result.first_bad_seq) == (False, 3)


def test_verify_catches_a_dropped_last_entry(conn: Connection) -> None:
    _log(conn, 5)
    result = _tampered(conn, "delete from audit_log where seq = 5")
    assert (result.ok, result.first_bad_seq) == (False, 5)
    assert "truncated" in result.problem


def test_verify_catches_the_whole_log_being_emptied(conn: Connection) -> None:
    _log(conn, 3)
    result = _tampered(conn, "delete from audit_log")
    assert (result.ok, result.first_bad_seq) == (False, 1)


def test_verify_catches_an_altered_hash(conn: Connection) -> None:
    _log(conn, 5)
    result = _tampered(conn, f"update audit_log set hash = 'sha256:{'f' * 64}' where seq = 2")
    assert (result.ok, result.first_bad_seq) == (False, 2)


def test_verify_catches_an_edit_whose_hash_was_recomputed(conn: Connection) -> None:
    _log(conn, 5)
    row = conn.execute("select * from audit_log where seq = 3").fetchone()
    forged = audit.entry_hash(
        seq=3,
        ts=row["ts"],
        actor="user",
        action=row["action"],
        memory_id=row["memory_id"],
        data=json.loads(row["data"]),
        prev_hash=row["prev_hash"],
    )
    conn.execute("update audit_log set actor = 'user', hash = ? where seq = 3", (forged,))
    result = audit.verify(conn)
    assert (result.ok, result.first_bad_seq) == (False, 4)


def test_appending_after_a_truncation_does_not_hide_it(conn: Connection) -> None:
    _log(conn, 4)
    conn.execute("delete from audit_log where seq = 4")
    _log(conn, 2)
    result = audit.verify(conn)
    assert not result.ok
    assert result.first_bad_seq == 4


def test_entries_filter_by_agent_action_and_since(conn: Connection) -> None:
    _log(conn, 2, actor="agent-a")
    _log(conn, 1, actor="user", action="erase")
    assert [e.actor for e in audit.entries(conn, agent="user")] == ["user"]
    assert [e.action for e in audit.entries(conn, action="erase")] == ["erase"]
    assert len(audit.entries(conn, since="2000-01-01")) == 3
    assert audit.entries(conn, since="2999-01-01T00:00:00Z") == []
    assert len(audit.entries(conn, since=0)) == 3


def test_entries_limit_keeps_the_newest_in_chronological_order(conn: Connection) -> None:
    _log(conn, 5)
    assert [e.seq for e in audit.entries(conn, limit=2)] == [4, 5]


def test_entries_return_parsed_data(conn: Connection) -> None:
    _log(conn, 1)
    assert audit.entries(conn)[0].data == {"content_hash": "h0"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-31", datetime(2025, 1, 31, tzinfo=timezone.utc)),
        ("2025-01-31T12:00:00Z", datetime(2025, 1, 31, 12, tzinfo=timezone.utc)),
        ("1738281600", datetime(2025, 1, 31, tzinfo=timezone.utc)),
    ],
)
def test_since_accepts_iso_and_unix_times(text: str, expected: datetime) -> None:
    assert audit.parse_since(text) == expected


def test_since_accepts_an_age_relative_to_now() -> None:
    now = datetime(2025, 1, 31, tzinfo=timezone.utc)
    assert audit.parse_since("7d", now=now) == datetime(2025, 1, 24, tzinfo=timezone.utc)


def test_since_rejects_text_it_cannot_read() -> None:
    with pytest.raises(InvalidInput):
        audit.parse_since("last tuesday")


# ---- CLI -------------------------------------------------------------------------------------


@pytest.fixture
def db_env(db_target: DbTarget, monkeypatch: pytest.MonkeyPatch, conn: Connection) -> Connection:
    monkeypatch.setenv("MCP_MEMORY_DB", str(db_target()))  # the database `conn` opened
    monkeypatch.setenv("MCP_MEMORY_PROJECT", "p")
    return conn


def test_cli_audit_log_json_lists_entries_with_stable_keys(db_env: Connection) -> None:
    _log(db_env, 2)
    _log(db_env, 1, actor="user", action="erase")
    out = CliRunner().invoke(_admin_app(), ["audit", "log", "--json", "--agent", "agent-a"])
    assert out.exit_code == 0, out.output
    listed = json.loads(out.stdout)
    assert [e["seq"] for e in listed] == [1, 2]
    assert set(listed[0]) == {
        "seq",
        "ts",
        "actor",
        "action",
        "memory_id",
        "data",
        "prev_hash",
        "hash",
    }


def test_cli_audit_log_prints_a_table_for_humans(db_env: Connection) -> None:
    _log(db_env, 1, action="link")
    out = CliRunner().invoke(_admin_app(), ["audit", "log"])
    assert out.exit_code == 0
    assert "link" in out.stdout and "agent-a" in out.stdout


def test_cli_audit_log_with_an_unreadable_since_is_bad_usage(db_env: Connection) -> None:
    out = CliRunner().invoke(_admin_app(), ["audit", "log", "--since", "someday"])
    assert out.exit_code == 2


def test_cli_audit_verify_exits_zero_while_the_chain_holds(db_env: Connection) -> None:
    _log(db_env, 3)
    out = CliRunner().invoke(_admin_app(), ["audit", "verify"])
    assert out.exit_code == 0
    assert "3 entries" in out.stdout


def test_cli_audit_verify_exits_one_and_shows_the_first_bad_entry(db_env: Connection) -> None:
    _log(db_env, 3)
    db_env.execute("update audit_log set actor = 'mallory' where seq = 2")
    out = CliRunner().invoke(_admin_app(), ["audit", "verify", "--json"])
    assert out.exit_code == 1
    report = json.loads(out.stdout)
    assert report["first_bad_seq"] == 2
    assert report["first_bad_entry"]["actor"] == "mallory"
