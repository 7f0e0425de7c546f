"""Keeps the vector index in step with whichever model the loader has ready.

The model loads lazily (or never, keyword-only), so rows can exist before their vectors
and the index can belong to an older model. This is the one place that notices: it
(re)creates the index for the loaded model, puts one row's vector, and fills in the rows
written while no model was loaded. The store owns one and delegates to it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from mcp_memory.embeddings import Embedder, ModelLoader
from mcp_memory.progress import Progress, tell
from mcp_memory.storage import Backend
from mcp_memory.storage import driver as db


class VectorSync:
    def __init__(
        self, conn: db.Connection, backend: Backend, lock: threading.RLock, loader: ModelLoader
    ) -> None:
        self.conn = conn
        self.backend = backend
        self.lock = lock
        self.loader = loader
        self._model: str | None = None  # the model the index was last checked against

    def embedder(self) -> Embedder | None:
        """The loaded embedder, once its vector table matches it; None means keyword-only."""
        emb = self.loader.current()
        if emb is not None and self._model != emb.name:
            self._ensure_index(emb)
        return emb

    def embed(self, text: str) -> tuple[np.ndarray | None, str | None]:
        """One text's vector and the model that made it, or (None, None) without a model.
        A model still loading is waited for (bounded): see ModelLoader.settle."""
        self.loader.settle()
        emb = self.embedder()
        if emb is None:
            return None, None
        return emb.embed([text])[0], emb.name

    def _ensure_index(self, emb: Embedder) -> None:
        """Create the vector index for this model; a different model drops it and re-embeds.
        Checked without the write lock first: a recall must not wait on another writer."""
        with self.lock:
            if self._index_matches(self.conn, emb):
                self._model = emb.name
                return
        with self.backend.write_transaction(self.lock) as conn:
            if not self._index_matches(conn, emb):
                self.backend.create_vector_index(conn, emb.dim)
                conn.execute("update memories set embedding_model = null")
                for key, value in (("embedding_model", emb.name), ("embedding_dim", str(emb.dim))):
                    conn.execute(
                        "insert into meta(key, value) values (?, ?) "
                        "on conflict(key) do update set value = excluded.value",
                        (key, value),
                    )
        self._model = emb.name

    def _index_matches(self, conn: db.Connection, emb: Embedder) -> bool:
        rows = conn.execute("select key, value from meta where key like 'embedding_%'").fetchall()
        meta = dict(rows)
        same = meta.get("embedding_model") == emb.name and meta.get("embedding_dim") == str(emb.dim)
        return same and self.backend.vector_index_exists(conn)

    def put(self, conn: db.Connection, memory_id: int, vector: np.ndarray, model: str) -> None:
        """Inside the caller's write transaction; a row that already has this model's
        vector (or is gone) is left alone."""
        row = conn.execute(
            "select project, status, kind, embedding_model from memories where id = ?", (memory_id,)
        ).fetchone()
        if row is None or row["embedding_model"] == model:
            return
        self.backend.put_vector(conn, memory_id, row["project"], row["status"], row["kind"], vector)
        conn.execute("update memories set embedding_model = ? where id = ?", (model, memory_id))

    def pending(self) -> int:
        """How many memories `backfill` has yet to embed."""
        with self.lock:
            row = self.conn.execute(
                "select count(*) from memories where embedding_model is null "
                "and status != 'forgotten'"
            ).fetchone()
        return int(row[0])

    def backfill(
        self,
        batch: int = 64,
        should_stop: Callable[[], bool] = lambda: False,
        progress: Progress | None = None,
    ) -> int:
        """Embed memories written while no model was loaded, a batch per transaction so
        writers get the lock in between. Returns how many were filled; `progress(done,
        total)` hears each batch, total being what was pending when it started."""
        emb = self.embedder()
        if emb is None:
            return 0
        done, total = 0, self.pending() if progress is not None else 0
        tell(progress, 0, total)
        while not should_stop():
            with self.lock:
                rows = self.conn.execute(
                    "select id, content from memories where embedding_model is null "
                    "and status != 'forgotten' order by id limit ?",
                    (batch,),
                ).fetchall()
            if not rows:
                return done
            vectors = emb.embed([r["content"] for r in rows])
            with self.backend.write_transaction(self.lock) as conn:
                for row, vec in zip(rows, vectors, strict=True):
                    self.put(conn, row["id"], vec, emb.name)
            done += len(rows)
            tell(progress, done, total)
        return done
