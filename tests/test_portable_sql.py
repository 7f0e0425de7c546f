"""The upserts rewritten from SQLite-only forms (`insert or ...`, scalar `max(a, b)`,
`lastrowid`) into forms PostgreSQL also accepts must still do exactly what they did."""

from __future__ import annotations

from mcp_memory import MemoryStore
from mcp_memory.records import HIGH_WATER_KEY, next_id, note_high_water
from mcp_memory.storage import driver as db
from mcp_memory.storage.sqlite import vectors

from .conftest import AGENT


def _meta(conn: db.Connection, key: str) -> str | None:
    row = conn.execute("select value from meta where key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def test_the_id_high_water_mark_never_goes_down_when_a_lower_max_id_is_noted(
    store: MemoryStore,
) -> None:
    store.remember("a note with a small id", actor=AGENT)
    with store.transaction() as conn:
        conn.execute(
            "insert into meta(key, value) values (?, '500') "
            "on conflict(key) do update set value = excluded.value",
            (HIGH_WATER_KEY,),
        )
        note_high_water(conn)
        assert _meta(conn, HIGH_WATER_KEY) == "500"
        assert next_id(conn) == 501


def test_the_id_high_water_mark_rises_to_the_largest_id_in_use(store: MemoryStore) -> None:
    ids = [store.remember(f"note number {i} about rollouts", actor=AGENT).id for i in range(3)]
    with store.transaction() as conn:
        conn.execute(
            "insert into meta(key, value) values (?, '1') "
            "on conflict(key) do update set value = excluded.value",
            (HIGH_WATER_KEY,),
        )
        note_high_water(conn)
        assert _meta(conn, HIGH_WATER_KEY) == str(max(ids))


def test_bumping_the_vector_epoch_counts_up_from_one(store: MemoryStore) -> None:
    with store.transaction() as conn:
        before = int(_meta(conn, vectors.EPOCH_KEY) or 0)
        vectors.bump_epoch(conn)
        vectors.bump_epoch(conn)
        assert _meta(conn, vectors.EPOCH_KEY) == str(before + 2)


def test_linking_the_same_pair_twice_keeps_one_link_and_the_first_author(
    store: MemoryStore,
) -> None:
    a = store.remember("the deploy script lives in ops/deploy.sh", actor=AGENT).id
    b = store.remember("ops/deploy.sh needs the VPN to be up", actor=AGENT).id
    store.link(a, b, "related", actor=AGENT)
    store.link(a, b, "related", actor=AGENT)
    rows = store.conn.execute(
        "select count(*) from links where source_id = ? and target_id = ?", (a, b)
    ).fetchone()
    assert rows[0] == 1


def test_a_new_memory_gets_the_id_the_insert_returned(store: MemoryStore) -> None:
    first = store.remember("first note about the cache warmup", actor=AGENT).id
    second = store.remember("second note about the cache eviction", actor=AGENT).id
    assert second == first + 1
    assert store.get(second).content == "second note about the cache eviction"
