"""The vector index: exact below the rescoring pool, and in step with other writers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mcp_memory import Actor, FakeEmbedder, MemoryStore, Settings, db, migrations, vectors

DIM = 384


def _store_with_vectors(path: Path, matrix: np.ndarray) -> db.Connection:
    conn = db.connect(path)
    migrations.migrate(conn)
    with db.write_transaction(conn):
        vectors.create(conn, DIM)
        for i, vec in enumerate(matrix, start=1):
            conn.execute(
                "insert into memories(id, project, content, agent, source, content_hash, "
                "created_at, updated_at) values (?, 'p', 'x', 'a', 'agent', ?, 0, 0)",
                (i, f"h{i}"),
            )
            vectors.put(conn, i, "p", "active", "note", vec)
    return conn


def _unit(rows: int, seed: int) -> np.ndarray:
    m = np.random.default_rng(seed).normal(size=(rows, DIM)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_knn_is_exact_when_the_project_fits_the_rescoring_pool(tmp_path: Path) -> None:
    matrix = _unit(vectors.RESCORE_MIN - 20, seed=1)
    conn = _store_with_vectors(tmp_path / "v.db", matrix)
    for q in _unit(5, seed=2):
        exact = (np.argsort(-(matrix @ q))[:10] + 1).tolist()
        got = [mid for _, mid in vectors.knn(conn, q, "p", 10)]
        assert got == exact


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


def test_sign_bit_similarities_track_exact_cosine(tmp_path: Path) -> None:
    matrix = _unit(200, seed=5)
    matrix[1] = matrix[0] + 0.3 * matrix[1]  # one close pair, so not every value is near 0
    matrix[1] /= np.linalg.norm(matrix[1])
    conn = _store_with_vectors(tmp_path / "v.db", matrix)
    q = matrix[0]
    got = vectors.sign_similarities(conn, q, [1, 2, 3, 50, 150], ["p"])
    assert set(got) == {1, 2, 3, 50, 150}
    for mid, sim in got.items():
        assert abs(sim - float(matrix[mid - 1] @ q)) < 0.2
    assert got[1] > 0.9 and got[2] > 0.8 and max(got[3], got[50], got[150]) < 0.3


def test_sign_bit_similarities_leave_out_ids_not_in_the_projects_cache(tmp_path: Path) -> None:
    conn = _store_with_vectors(tmp_path / "v.db", _unit(20, seed=6))
    q = _unit(1, seed=7)[0]
    assert set(vectors.sign_similarities(conn, q, [3, 999], ["p"])) == {3}
    assert vectors.sign_similarities(conn, q, [3], ["other"]) == {}
    assert vectors.sign_similarities(conn, q, [], ["p"]) == {}
