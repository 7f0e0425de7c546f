"""The vector index: exact below the rescoring pool, and in step with other writers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mcp_memory import Actor, FakeEmbedder, MemoryStore, Settings
from mcp_memory import storage as db
from mcp_memory.storage.sqlite import migrations, vectors

pytestmark = pytest.mark.sqlite_only  # vec0 tables, pragma data_version and bare SQLite connections

DIM = 384


def _store_with_vectors(path: Path, matrix: np.ndarray) -> db.Connection:
    conn = db.connect(path)
    migrations.migrate(conn)
    with db.write_transaction(conn):
        vectors.create(conn, DIM)
        for i, vec in enumerate(matrix, start=1):
            _add(conn, i, vec)
    return conn


def _add(conn: db.Connection, memory_id: int, vector: np.ndarray) -> None:
    """A memory of project p with its vector; call inside a write transaction."""
    conn.execute(
        "insert into memories(id, project, content, agent, source, content_hash, "
        "created_at, updated_at) values (?, 'p', 'x', 'a', 'agent', ?, 0, 0)",
        (memory_id, f"h{memory_id}"),
    )
    vectors.put(conn, memory_id, "p", "active", "note", vector)


def _unit(rows: int, seed: int) -> np.ndarray:
    m = np.random.default_rng(seed).normal(size=(rows, DIM)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


QUANTIZATION_TOLERANCE = 2e-3  # int8 rows: cosine within ~1e-3 of float32


def test_knn_matches_exact_search_up_to_quantization_when_the_project_fits_the_pool(
    tmp_path: Path,
) -> None:
    matrix = _unit(vectors.RESCORE_MIN - 20, seed=1)
    conn = _store_with_vectors(tmp_path / "v.db", matrix)
    for q in _unit(5, seed=2):
        exact = 1.0 - matrix @ q
        got = vectors.knn(conn, q, "p", 10)
        assert len(got) == 10
        for distance, mid in got:
            assert abs(distance - exact[mid - 1]) < QUANTIZATION_TOLERANCE
        tenth = np.sort(exact)[9]
        for missed in set((np.argsort(exact)[:10] + 1).tolist()) - {m for _, m in got}:
            assert exact[missed - 1] > tenth - QUANTIZATION_TOLERANCE  # a near tie, no more


def test_knn_finds_the_clear_winner_among_many_vectors(tmp_path: Path) -> None:
    matrix = _unit(3000, seed=8)
    target = matrix[1234] + 0.05 * _unit(1, seed=9)[0]
    conn = _store_with_vectors(tmp_path / "v.db", matrix)
    assert vectors.knn(conn, target, "p", 3)[0][1] == 1235


def test_a_zero_vector_is_never_a_neighbour(tmp_path: Path) -> None:
    matrix = _unit(20, seed=10)
    matrix[4] = 0.0
    conn = _store_with_vectors(tmp_path / "v.db", matrix)
    assert 5 not in [m for _, m in vectors.knn(conn, _unit(1, seed=11)[0], "p", 20)]
    assert vectors.knn(conn, np.zeros(DIM, dtype=np.float32), "p", 5) == []


def test_the_code_index_sees_commits_from_another_connection(tmp_path: Path) -> None:
    matrix = _unit(50, seed=3)
    reader = _store_with_vectors(tmp_path / "v.db", matrix)
    probe = _unit(1, seed=4)[0]
    assert 51 not in [m for _, m in vectors.knn(reader, probe, "p", 5)]
    writer = db.connect(tmp_path / "v.db")
    with db.write_transaction(writer):
        writer.execute(
            "insert into memories(id, project, content, agent, source, content_hash, "
            "created_at, updated_at) values (51, 'p', 'x', 'a', 'agent', 'h51', 0, 0)"
        )
        vectors.put(writer, 51, "p", "active", "note", probe)
    assert vectors.knn(reader, probe, "p", 1)[0][1] == 51


def test_rewritten_old_vectors_force_a_full_reload(tmp_path: Path) -> None:
    matrix = _unit(30, seed=5)
    reader = _store_with_vectors(tmp_path / "v.db", matrix)
    target = _unit(1, seed=6)[0]
    assert vectors.knn(reader, target, "p", 1)[0][1] != 7
    writer = db.connect(tmp_path / "v.db")
    with db.write_transaction(writer):
        writer.execute("delete from memory_vectors where memory_id = 7")
        vectors.put(writer, 7, "p", "active", "note", target)  # an old id: not an append
    assert vectors.knn(reader, target, "p", 1)[0][1] == 7


def test_hidden_memories_never_come_back_from_vector_search(tmp_path: Path) -> None:
    store = MemoryStore.open(
        settings=Settings(db_path=tmp_path / "s.db", project="p"),
        embedder=FakeEmbedder(),
        root=tmp_path,
    )
    agent = Actor(agent="a", client_name="c")
    keep = store.remember("alpha beta gamma delta", actor=agent).id
    gone = store.remember("alpha beta gamma epsilon", actor=agent).id
    store.forget(gone, actor=agent)
    vec = store.loader.current().embed(["alpha beta gamma"])[0]
    assert [m for _, m in vectors.knn(store.conn, vec, "p", 5)] == [keep]


def test_cosines_agree_with_sql_for_cached_and_uncached_ids(tmp_path: Path) -> None:
    matrix = _unit(40, seed=12)
    conn = _store_with_vectors(tmp_path / "v.db", matrix)
    q = _unit(1, seed=13)[0]
    cached = vectors.cosines(conn, q, [3, 17, 40, 999], ["p"])
    from_sql = vectors.cosines(conn, q, [3, 17, 40, 999], [])  # no project: all from SQL
    assert set(cached) == set(from_sql) == {3, 17, 40}
    for mid in (3, 17, 40):
        assert abs(cached[mid] - float(matrix[mid - 1] @ q)) < QUANTIZATION_TOLERANCE
        assert abs(from_sql[mid] - float(matrix[mid - 1] @ q)) < 1e-5


def test_appends_to_the_cache_keep_earlier_snapshots_intact(tmp_path: Path) -> None:
    matrix = _unit(70, seed=14)
    conn = _store_with_vectors(tmp_path / "v.db", matrix[:60])
    before = vectors.index_for(conn).codes_for("p")
    with db.write_transaction(conn):
        for i, vec in enumerate(matrix[60:], start=61):
            conn.execute(
                "insert into memories(id, project, content, agent, source, content_hash, "
                "created_at, updated_at) values (?, 'p', 'x', 'a', 'agent', ?, 0, 0)",
                (i, f"h{i}"),
            )
            vectors.put(conn, i, "p", "active", "note", vec)
            after = vectors.index_for(conn).codes_for("p")  # one append at a time
            assert len(after.ids) == len(after.codes) == len(after.units) == len(after.scale) == i
    assert before.ids.tolist() == list(range(1, 61))
    assert after.ids.tolist() == list(range(1, 71))
    assert vectors.knn(conn, matrix[65], "p", 1)[0][1] == 66


def test_the_cache_loads_a_project_larger_than_one_slice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vectors, "LOAD_SLICE", 16)
    matrix = _unit(50, seed=15)
    conn = _store_with_vectors(tmp_path / "v.db", matrix)
    assert vectors.index_for(conn).codes_for("p").ids.tolist() == list(range(1, 51))
    assert vectors.knn(conn, matrix[47], "p", 1)[0][1] == 48


def test_a_preloaded_cache_serves_search_and_then_reads_only_what_was_appended(
    tmp_path: Path,
) -> None:
    matrix = _unit(41, seed=21)
    conn = _store_with_vectors(tmp_path / "v.db", matrix[:40])
    reader = db.connect(tmp_path / "v.db")
    index = vectors.index_for(conn)
    assert index.preload("p", reader)
    assert index.projects["p"].size == 40  # filled without any search on `conn`
    with db.write_transaction(reader):  # another process appends one more
        _add(reader, 41, matrix[40])
    assert vectors.knn(conn, matrix[40], "p", 1)[0][1] == 41
    assert index.codes_for("p").ids.tolist() == list(range(1, 42))
    assert not index.preload("p", reader)  # already loaded: nothing to install


def test_a_preload_overtaken_by_a_rewrite_of_old_vectors_is_discarded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    matrix = _unit(30, seed=22)
    conn = _store_with_vectors(tmp_path / "v.db", matrix)
    writer = db.connect(tmp_path / "v.db")
    real = vectors.load_into

    def load_then_rewrite(c: db.Connection, project: str, entry: object) -> None:
        real(c, project, entry)  # type: ignore[arg-type]
        with db.write_transaction(writer):  # meanwhile: memory 7 gets a new vector
            vectors.put(writer, 7, "p", "active", "note", matrix[0])

    monkeypatch.setattr(vectors, "load_into", load_then_rewrite)
    assert not vectors.index_for(conn).preload("p", writer)
    monkeypatch.setattr(vectors, "load_into", real)
    found = {m for _, m in vectors.knn(conn, matrix[0], "p", 2)}
    assert found == {1, 7}  # the search read the rewritten vector, not the stale preload


def test_warming_a_store_fills_the_cache_of_its_own_connection(tmp_path: Path) -> None:
    store = MemoryStore.open(
        settings=Settings(db_path=tmp_path / "w.db", project="p"), embedder=FakeEmbedder()
    )
    try:
        for i in range(5):
            store.remember(f"Note {i} about the deploy pipeline", actor=Actor(agent="a"))
        vectors.index_for(store.conn).projects.clear()
        assert store.warm() == 2  # "p", and the global one: no vectors, but looked through
        assert vectors.index_for(store.conn).projects["p"].size == 5
    finally:
        store.close()


def test_warming_an_in_memory_store_is_a_no_op() -> None:
    store = MemoryStore.open(settings=Settings(db_path=":memory:"), embedder=FakeEmbedder())
    try:
        store.remember("A note", actor=Actor(agent="a"))
        assert store.warm() == 0
    finally:
        store.close()


def test_a_search_during_a_preload_waits_for_it_instead_of_reading_every_vector_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    matrix = _unit(20, seed=23)
    conn = _store_with_vectors(tmp_path / "v.db", matrix)
    reader = db.connect(tmp_path / "v.db")
    index = vectors.index_for(conn)
    full_loads: list[int] = []
    loading, release, searched = threading.Event(), threading.Event(), threading.Event()
    real = vectors.load_into

    def slow_load(c: db.Connection, project: str, entry: vectors._Codes) -> None:
        if entry.scanned == 0:
            full_loads.append(1)
        if c is reader:
            loading.set()
            assert release.wait(10)
        real(c, project, entry)

    class Watched(dict):  # type: ignore[type-arg]
        def get(self, key, default=None):  # type: ignore[no-untyped-def]
            found = super().get(key, default)
            searched.set()  # the search has looked for a preload in flight
            return found

    index._preloading = Watched()
    monkeypatch.setattr(vectors, "load_into", slow_load)
    warm = threading.Thread(target=index.preload, args=("p", reader))
    warm.start()
    assert loading.wait(10)
    result: list[list[tuple[float, int]]] = []
    search = threading.Thread(target=lambda: result.append(vectors.knn(conn, matrix[4], "p", 1)))
    search.start()
    assert searched.wait(10)
    release.set()
    warm.join(10)
    search.join(10)
    assert result[0][0][1] == 5
    assert full_loads == [1]  # the preload's; the search read only what was appended


@pytest.mark.parametrize("dim", [384, 72, 8])
def test_hamming_counts_the_differing_sign_bits_of_every_row(dim: int) -> None:
    rng = np.random.default_rng(dim)
    rows, query = rng.normal(size=(300, dim)), rng.normal(size=dim)
    codes = vectors.code_words(vectors.sign_bits(rows))
    expected = ((rows > 0) != (query > 0)).sum(axis=1)
    got = vectors.hamming(np.asfortranarray(codes), vectors.sign_bits(query))
    assert got.tolist() == expected.tolist()


def test_the_cache_keeps_code_words_in_columns_across_growth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vectors, "HAMMING_SLICE", 7)  # several slices, a ragged last one
    matrix = _unit(150, seed=24)
    conn = _store_with_vectors(tmp_path / "v.db", matrix[:70])
    first = vectors.index_for(conn).codes_for("p")
    with db.write_transaction(conn):
        for i in range(71, 151):
            _add(conn, i, matrix[i - 1])
    codes = vectors.index_for(conn).codes_for("p").codes
    assert codes.shape == (150, 6) and codes.dtype == np.uint64
    assert codes[:, 0].strides == (8,)  # each word is one contiguous column
    assert (first.codes == vectors.code_words(vectors.sign_bits(matrix[:70]))).all()
    assert (codes == vectors.code_words(vectors.sign_bits(matrix))).all()
    assert vectors.knn(conn, matrix[120], "p", 1)[0][1] == 121


@pytest.mark.parametrize(
    ("size", "n", "pool"),
    [
        (250, 10, 300),  # small: every vector is rescored (the pool exceeds the project)
        (10_000, 100, 1_000),  # a tenth of the project
        (100_000, 100, 2_000),  # capped
        (1_000_000, 100, 10_000),  # the cap grows with the project beyond 200k
        (300_000, 100, 3_000),
    ],
)
def test_the_rescoring_pool_grows_with_the_project_beyond_the_fixed_cap(
    size: int, n: int, pool: int
) -> None:
    assert vectors.rescore_pool(size, n) == pool


def test_a_project_without_new_vectors_does_not_rescan_the_table_after_each_write(
    tmp_path: Path,
) -> None:
    matrix = _unit(60, seed=25)
    conn = _store_with_vectors(tmp_path / "v.db", matrix[:50])
    assert vectors.knn(conn, matrix[0], "", 5) == []  # the global project: nothing in it
    assert vectors.knn(conn, matrix[0], "p", 1)[0][1] == 1
    assert vectors.index_for(conn).projects[""].scanned == 50
    scans: list[str] = []
    conn.set_trace_callback(lambda sql: scans.append(sql) if "memory_vectors v" in sql else None)
    with db.write_transaction(conn):
        _add(conn, 51, matrix[50])
    assert vectors.knn(conn, matrix[0], "", 5) == []
    assert vectors.knn(conn, matrix[50], "p", 1)[0][1] == 51
    conn.set_trace_callback(None)
    assert len(scans) == 2 and all("memory_id > 50" in sql for sql in scans), scans


def test_a_load_that_fails_partway_resumes_without_duplicating_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vectors, "LOAD_SLICE", 16)
    matrix = _unit(40, seed=26)
    conn = _store_with_vectors(tmp_path / "v.db", matrix)
    real, calls = vectors.quantize, []

    def fails_on_the_second_slice(units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        calls.append(1)
        if len(calls) == 2:
            raise MemoryError("second slice")
        return real(units)

    monkeypatch.setattr(vectors, "quantize", fails_on_the_second_slice)
    with pytest.raises(MemoryError):
        vectors.index_for(conn).codes_for("p")
    assert vectors.index_for(conn).codes_for("p").ids.tolist() == list(range(1, 41))
    assert [m for _, m in vectors.knn(conn, matrix[3], "p", 3)][0] == 4
