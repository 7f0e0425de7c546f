"""Vector search on PostgreSQL: exact for small projects, filtered HNSW for large ones."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

pytest.importorskip("psycopg", reason="the postgres extra (or dev) is not installed")

from mcp_memory import records  # noqa: E402
from mcp_memory.errors import InvalidInput  # noqa: E402
from mcp_memory.storage.postgres import vectors as pg_vectors  # noqa: E402
from tests.pg_support import needs_pg  # noqa: E402

pytest_plugins = ["tests.pg_support"]
pytestmark = needs_pg

DIM = 16


def _unit(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    m = rng.standard_normal((n, dim)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def _fill(backend: Any, vectors: np.ndarray, project: str = "proj", **cols: str) -> list[int]:
    """Memories with these vectors, in one write transaction; their ids."""
    now = time.time()
    ids = []
    with backend.write_transaction() as conn:
        if not pg_vectors.exists(conn):
            pg_vectors.create(conn, DIM)
        for vec in vectors:
            values = {
                "id": records.next_id(conn),
                "content": "v",
                "project": project,
                "agent": "alice",
                "source": "agent",
                "content_hash": "sha256:v",
                "created_at": now,
                "updated_at": now,
                "kind": cols.get("kind", "note"),
            }
            mid = backend.insert_memory(conn, values)
            pg_vectors.put(conn, mid, project, cols.get("status", "active"), values["kind"], vec)
            ids.append(mid)
    return ids


def _exact_top(vectors: np.ndarray, ids: list[int], query: np.ndarray, n: int) -> list[int]:
    order = np.argsort(-(vectors @ query), kind="stable")[:n]
    return [ids[i] for i in order]


def test_a_small_project_is_searched_exactly(pg_backend: Any) -> None:
    rng = np.random.default_rng(1)
    vecs = _unit(rng, 200)
    ids = _fill(pg_backend, vecs)
    q = _unit(rng, 1)[0]
    hits = pg_vectors.knn(pg_backend.conn, q, "proj", 10)
    assert [m for _, m in hits] == _exact_top(vecs, ids, q, 10)
    best = int(np.argmax(vecs @ q))
    assert hits[0][1] == ids[best]
    assert hits[0][0] == pytest.approx(1 - float(vecs[best] @ q), abs=1e-5)
    assert [d for d, _ in hits] == sorted(d for d, _ in hits)


def test_a_large_project_beside_a_larger_one_gets_full_hnsw_results(
    pg_backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The filtered-HNSW trap: the small project is 5% of the graph; without iterative scans
    it came back with a fraction of the rows asked for. At test size the planner would read
    the project through its (project, status) index instead, so the test takes that index
    away and turns off sequential scans: the graph is what answers."""
    monkeypatch.setattr(pg_vectors, "EXACT_MAX", 0)  # the HNSW path at test size
    rng = np.random.default_rng(2)
    _fill(pg_backend, _unit(rng, 1900), project="big")
    small = _unit(rng, 100)
    ids = _fill(pg_backend, small, project="small")
    recalls = []
    with pg_backend.write_transaction() as conn:
        conn.execute("drop index memory_vectors_scope")
        conn.execute("select set_config('enable_seqscan', 'off', true)")
        plan = conn.execute(
            "explain select memory_id from memory_vectors where project = 'small' "
            "order by embedding <=> ?::vector limit 10",
            (pg_vectors.literal(small[0]),),
        ).fetchall()
        assert "memory_vectors_hnsw" in " ".join(r[0] for r in plan)
        for q in _unit(rng, 10):
            hits = pg_vectors.knn(conn, q, "small", 10)
            assert len(hits) == 10 and {m for _, m in hits} <= set(ids)
            recalls.append(len({m for _, m in hits} & set(_exact_top(small, ids, q, 10))) / 10)
    assert np.mean(recalls) >= 0.9


def test_forgotten_and_other_kinds_are_not_returned(pg_backend: Any) -> None:
    rng = np.random.default_rng(3)
    vecs = _unit(rng, 3)
    note, forgotten = _fill(pg_backend, vecs[:2])
    (decision,) = _fill(pg_backend, vecs[2:], kind="decision")
    with pg_backend.write_transaction() as conn:
        pg_vectors.set_status(conn, forgotten, "forgotten")
    q = vecs[1]  # nearest to the forgotten one
    assert {m for _, m in pg_vectors.knn(pg_backend.conn, q, "proj", 5)} == {note, decision}
    assert [m for _, m in pg_vectors.knn(pg_backend.conn, q, "proj", 5, ["decision"])] == [decision]
    assert pg_vectors.knn(pg_backend.conn, q, "other", 5) == []


def test_cosines_are_read_for_the_ids_asked(pg_backend: Any) -> None:
    rng = np.random.default_rng(4)
    vecs = _unit(rng, 5)
    ids = _fill(pg_backend, vecs)
    sims = pg_vectors.cosines(pg_backend.conn, vecs[0], ids[:3] + [999])
    assert set(sims) == set(ids[:3])
    assert sims[ids[0]] == pytest.approx(1.0, abs=1e-5)
    assert sims[ids[2]] == pytest.approx(float(vecs[0] @ vecs[2]), abs=1e-5)
    assert pg_vectors.cosines(pg_backend.conn, vecs[0], []) == {}


def test_a_new_model_dimension_replaces_the_table(pg_backend: Any) -> None:
    _fill(pg_backend, _unit(np.random.default_rng(5), 3))
    assert pg_vectors.dimension(pg_backend.conn) == DIM
    with pg_backend.write_transaction() as conn:
        pg_vectors.create(conn, 8)
    assert pg_vectors.dimension(pg_backend.conn) == 8
    assert pg_backend.conn.execute("select count(*) from memory_vectors").fetchone()[0] == 0


def test_a_vector_with_nan_is_refused_and_nothing_is_written(pg_backend: Any) -> None:
    (mid,) = _fill(pg_backend, _unit(np.random.default_rng(6), 1))
    bad = np.full(DIM, np.nan, dtype=np.float32)
    with pytest.raises(InvalidInput, match="NaN"), pg_backend.write_transaction() as conn:
        pg_vectors.put(conn, mid, "proj", "active", "note", bad)
    row = pg_backend.conn.execute(
        "select embedding::text from memory_vectors where memory_id = ?", (mid,)
    ).fetchone()
    assert "NaN" not in row[0]


def test_knn_inside_a_write_transaction_uses_that_transaction(
    pg_backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg_vectors, "EXACT_MAX", 0)
    rng = np.random.default_rng(7)
    vecs = _unit(rng, 20)
    ids = _fill(pg_backend, vecs)
    with pg_backend.write_transaction() as conn:
        (fresh,) = _fill_in(conn, pg_backend, vecs[:1])  # not committed yet
        hits = pg_vectors.knn(conn, vecs[0], "proj", 2)
    assert {m for _, m in hits} == {ids[0], fresh}


def _fill_in(conn: Any, backend: Any, vectors: np.ndarray) -> list[int]:
    now = time.time()
    out = []
    for vec in vectors:
        values = {
            "id": records.next_id(conn),
            "content": "v",
            "project": "proj",
            "agent": "alice",
            "source": "agent",
            "content_hash": "sha256:v",
            "created_at": now,
            "updated_at": now,
        }
        mid = backend.insert_memory(conn, values)
        pg_vectors.put(conn, mid, "proj", "active", "note", vec)
        out.append(mid)
    return out


def test_the_hnsw_query_is_never_a_prepared_statement(
    pg_backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A prepared statement gets a cached generic plan, which estimates `project = $1` for
    an average project: for one far above average it sorted the whole project through the
    (project, status) index instead of walking the graph."""
    monkeypatch.setattr(pg_vectors, "EXACT_MAX", 0)  # the HNSW path at test size
    rng = np.random.default_rng(7)
    _fill(pg_backend, _unit(rng, 50))
    with pg_backend.write_transaction() as conn:
        for q in _unit(rng, 8):  # psycopg prepares a statement on its 5th execution
            assert len(pg_vectors.knn(conn, q, "proj", 5)) == 5
        prepared = conn.execute(
            "select count(*) from pg_prepared_statements where statement like '%<=>%'"
        ).fetchone()[0]
    assert prepared == 0


def test_exact_search_up_to_exact_max_rows_and_hnsw_beyond(
    pg_backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg_vectors, "EXACT_MAX", 3)
    paths: list[str] = []
    monkeypatch.setattr(pg_vectors, "_exact", lambda *a: paths.append("exact") or [])
    monkeypatch.setattr(pg_vectors, "_approximate", lambda *a: paths.append("hnsw") or [])
    rng = np.random.default_rng(8)
    _fill(pg_backend, _unit(rng, 3))
    _fill(pg_backend, _unit(rng, 2), status="forgotten")
    pg_vectors.knn(pg_backend.conn, _unit(rng, 1)[0], "proj", 5)
    _fill(pg_backend, _unit(rng, 1))
    pg_vectors.knn(pg_backend.conn, _unit(rng, 1)[0], "proj", 5)
    assert paths == ["exact", "hnsw"]


def test_ef_search_grows_with_the_rows_asked_within_pgvectors_bounds() -> None:
    assert pg_vectors.ef_search(1) == 100
    assert pg_vectors.ef_search(100) == 800  # recall@10 0.88 at 200, 1.00 at 800 (100k)
    assert pg_vectors.ef_search(5000) == 1000  # pgvector's maximum


def test_a_status_change_before_any_model_made_the_table_is_a_no_op(pg_backend: Any) -> None:
    assert not pg_vectors.exists(pg_backend.conn)
    with pg_backend.write_transaction() as conn:
        pg_vectors.set_status(conn, 1, "active")  # a keyword-only server approving a write
    assert not pg_vectors.exists(pg_backend.conn)
