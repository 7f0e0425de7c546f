"""Vector search: a Hamming pre-scan over sign bits, then exact cosine in SQL.

Measured on 2 cores with MiniLM and natural-language queries:
- brute-force float32 KNN in vec0 costs ~130 ms at 100k vectors;
- vec0's own bit[] KNN is fast, but its top-k cost grows steeply with k, and
  the depth it affords finds only 36-53% of the exact top 10 at 100k;
- a numpy scan of the same sign bits, kept per process (48 bytes a memory),
  takes ~1 ms at 10k, and rescoring a 1,000-candidate pool exactly with
  sqlite-vec's vec_distance_cosine recovers the exact top 10 (1.000 at 10k).
So `knn` scans cached codes, then rescores the pool from unit vectors cached
beside them as int8 with a scale per row (388 bytes a memory: 39 MB at 100k;
cosine error ~1e-3, float16 was 4x slower to widen). Rescoring in SQL cost
2.5-4 ms a search (every candidate's blob read and decoded); in numpy it is
~0.3 ms, and visibility is then checked only for the few best. The vec0
table stays the durable sqlite-vec index and the path for partitions too large
to cache.
The cache follows the database: other processes' commits show in
`pragma data_version`, appends are read incrementally by id, and anything
that rewrites old vectors bumps `meta.vectors_epoch` for a full reload.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mcp_memory.storage.driver import Connection

VEC_TABLE = "vec_memories"
FLOAT_TABLE = "memory_vectors"
COARSE_MIN = 60  # bit-index candidates rescored exactly (recall@10 vs exact: 0.997 at 10k)
COARSE_EXTRA = 20  # beyond n: top-k cost in vec0 grows faster than k (1.4 ms at 100, 9.5 at 400)
MAX_K = 4096  # vec0's limit for k
RESCORE_MIN = 300  # at least this many rescored: a project this small is searched exactly
RESCORE_POOL = 2000  # most Hamming candidates rescored exactly (recall@10 vs exact 0.95 at 1000)
RESCORE_SHARE = 10  # ...and at least a tenth of the project
# Beyond 200k vectors the most grows to one row in RESCORE_LARGE: a fixed 2,000 of 1M found
# 0.770 of the exact top 10 (benchmarks/sqlite_knn.py); 10,000 found 0.951, every miss a tie
# with the exact 10th distance, for 8 ms more per search (5,000: 0.926, 2 ms more).
RESCORE_LARGE = 100
MAX_CACHED = 2_000_000  # per project; beyond it (~96 MB of codes) fall back to vec0
EPOCH_KEY = "vectors_epoch"
LOAD_SLICE = 8192  # vectors read into the cache per query
HAMMING_SLICE = 65536  # rows per step of the Hamming scan


def exists(conn: Connection) -> bool:
    row = conn.execute("select 1 from sqlite_master where name = ?", (VEC_TABLE,)).fetchone()
    return row is not None


def create(conn: Connection, dim: int) -> None:
    """(Re)create the index for a model of `dim` dimensions; call inside a write transaction."""
    if dim % 8:
        raise ValueError(f"embedding dimension {dim} is not a multiple of 8")
    conn.execute(f"drop table if exists {VEC_TABLE}")
    conn.execute(f"delete from {FLOAT_TABLE}")
    bump_epoch(conn)
    index_for(conn).invalidate()
    conn.execute(
        f"""create virtual table {VEC_TABLE} using vec0(
            memory_id integer primary key, project text partition key,
            status text, kind text, embedding bit[{dim}])"""
    )


def _blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def put(
    conn: Connection, memory_id: int, project: str, status: str, kind: str, vector: np.ndarray
) -> None:
    blob = _blob(vector)
    index_for(conn).invalidate()
    newest = conn.execute(f"select max(memory_id) from {FLOAT_TABLE}").fetchone()[0]
    if newest is not None and memory_id <= newest:  # backfill/import/model change: not an append
        bump_epoch(conn)
    conn.execute(f"delete from {VEC_TABLE} where memory_id = ?", (memory_id,))
    conn.execute(
        f"insert into {VEC_TABLE}(memory_id, project, status, kind, embedding) "
        "values (?, ?, ?, ?, vec_quantize_binary(?))",
        (memory_id, project, status, kind, blob),
    )
    conn.execute(
        f"insert into {FLOAT_TABLE}(memory_id, embedding) values (?, ?) "
        "on conflict(memory_id) do update set embedding = excluded.embedding",
        (memory_id, blob),
    )


def set_status(conn: Connection, memory_id: int, status: str) -> None:
    if exists(conn):
        conn.execute(f"update {VEC_TABLE} set status = ? where memory_id = ?", (status, memory_id))


def bump_epoch(conn: Connection) -> None:
    conn.execute(
        "insert into meta(key, value) values (?, '1') on conflict(key) do update "
        "set value = cast(meta.value as integer) + 1",
        (EPOCH_KEY,),
    )
    index_for(conn).invalidate()  # our own commits do not change data_version


def sign_bits(matrix: np.ndarray) -> np.ndarray:
    """The same bits as sqlite-vec's vec_quantize_binary: 1 where a component is > 0."""
    return np.packbits(np.asarray(matrix) > 0, axis=-1)


@dataclass(frozen=True)
class Snapshot:
    """One project's cached rows at one moment, all of the same length."""

    ids: np.ndarray
    codes: np.ndarray
    units: np.ndarray
    scale: np.ndarray


class _Codes:
    """One project's cached rows. Appends go into spare capacity that doubles when full,
    so a write copies nothing (re-concatenating was a 38 MB copy per write at 100k).
    Rows are never changed in place, so snapshots handed out earlier stay valid."""

    # Codes are scanned one 64-bit word at a time across every row (`hamming`), so each word
    # is a contiguous column; the other buffers are read a row at a time.
    ORDER = {"codes": "F"}

    def __init__(self) -> None:
        self.size = 0
        self.scanned = 0  # every vector id up to here has been looked at for this project
        self.current = False
        self._buffers: dict[str, np.ndarray] = {}

    def snapshot(self) -> Snapshot:
        if not self._buffers:
            return Snapshot(
                ids=np.zeros(0, dtype=np.int64),
                codes=np.zeros((0, 0), dtype=np.uint8),
                units=np.zeros((0, 0), dtype=np.int8),
                scale=np.zeros(0, dtype=np.float32),
            )
        return Snapshot(**{name: b[: self.size] for name, b in self._buffers.items()})

    def append(self, **columns: np.ndarray) -> None:
        rows = len(columns["ids"])
        for name, values in columns.items():
            buffer = self._buffers.get(name)
            if buffer is None or len(buffer) < self.size + rows:
                grown = np.empty(
                    (max(2 * self.size, self.size + rows, 64), *values.shape[1:]),
                    values.dtype,
                    order=self.ORDER.get(name, "C"),
                )
                if buffer is not None:
                    grown[: self.size] = buffer[: self.size]
                self._buffers[name] = buffer = grown
            buffer[self.size : self.size + rows] = values
        self.size += rows


class CodeIndex:
    """One connection's cache of sign-bit codes per project."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.lock = threading.Lock()
        self.projects: dict[str, _Codes] = {}
        self.data_version: int | None = None
        self.epoch: str | None = None
        self._preloading: dict[str, threading.Event] = {}

    def codes_for(self, project: str) -> Snapshot:
        with self.lock:
            pending = None if project in self.projects else self._preloading.get(project)
        if pending is not None:  # a warm-up is reading this project: wait, do not read it twice
            pending.wait()
        with self.lock:
            self._notice_changes()
            entry = self.projects.setdefault(project, _Codes())
            if not entry.current:
                load_into(self.conn, project, entry)
            return entry.snapshot()

    def _notice_changes(self) -> None:
        version = self.conn.execute("pragma data_version").fetchone()[0]
        if version == self.data_version:
            return
        epoch_value = _epoch(self.conn)
        if epoch_value != self.epoch:
            self.projects.clear()
        else:
            for entry in self.projects.values():
                entry.current = False
        self.data_version, self.epoch = version, epoch_value

    def preload(self, project: str, reader: Connection) -> bool:
        """Fill the project's cache from `reader` (a connection of its own) without holding
        the lock: a server warms it in the background instead of making its first vector
        search read every vector (first recall 13 s at 1M) while other tool calls wait. Installed
        only if nothing rewrote old vectors meanwhile (the epoch); appends made during the
        load are read by the next search, as usual. False if it was not needed or stale."""
        with self.lock:
            if project in self.projects:  # a search got there first
                return False
            done = self._preloading.setdefault(project, threading.Event())
        try:
            epoch = _epoch(reader)
            entry = _Codes()
            load_into(reader, project, entry)
            return self._install(project, entry, epoch)
        finally:
            with self.lock:
                self._preloading.pop(project, None)
            done.set()

    def _install(self, project: str, entry: _Codes, epoch: str | None) -> bool:
        with self.lock:
            self._notice_changes()
            loaded = self.projects.get(project)
            if self.epoch != epoch or entry.scanned <= (loaded.scanned if loaded else 0):
                return False
            entry.current = False  # the next search reads what was appended since
            self.projects[project] = entry
            return True

    def invalidate(self) -> None:
        """Our own commits do not change data_version: writers call this."""
        with self.lock:
            self.data_version = None


def _epoch(conn: Connection) -> str | None:
    row = conn.execute("select value from meta where key = ?", (EPOCH_KEY,)).fetchone()
    return row[0] if row else None


def load_into(conn: Connection, project: str, entry: _Codes) -> None:
    """Append the project's vectors with ids past the entry's watermark, in slices: a cold
    start at 100k would otherwise hold every float blob three times over (rows, joined bytes,
    array) at once, ~450 MB.

    The watermark is the newest vector id *looked at*, not the newest one found: a project
    with few or no vectors (the global one, usually) would otherwise rescan the whole table
    after every write (0.36 s per recall at 1M memories)."""
    top = conn.execute(f"select max(memory_id) from {FLOAT_TABLE}").fetchone()[0] or 0
    after = entry.scanned
    while after < top:
        rows = conn.execute(
            f"""select v.memory_id, v.embedding from {FLOAT_TABLE} v
                join memories m on m.id = v.memory_id
                where v.memory_id > ? and v.memory_id <= ? and +m.project = ?
                order by v.memory_id limit ?""",
            (after, top, project, LOAD_SLICE),
        ).fetchall()
        if rows:
            floats = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
            floats = floats.reshape(len(rows), -1)
            bits, (units, scale) = sign_bits(floats), quantize(unit_rows(floats))
            new_ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            entry.append(ids=new_ids, codes=code_words(bits), units=units, scale=scale)
            entry.scanned = after = rows[-1][0]  # a load that fails later resumes here
        if len(rows) < LOAD_SLICE:
            break
    entry.scanned = max(entry.scanned, top)
    entry.current = True


_INDEXES: dict[int, CodeIndex] = {}
_INDEXES_LOCK = threading.Lock()


def index_for(conn: Connection) -> CodeIndex:
    with _INDEXES_LOCK:
        found = _INDEXES.get(id(conn))
        if found is None or found.conn is not conn:
            found = _INDEXES[id(conn)] = CodeIndex(conn)
        return found


def knn(
    conn: Connection, vector: np.ndarray, project: str, n: int, kinds: Sequence[str] = ()
) -> list[tuple[float, int]]:
    """(cosine distance, memory id) of the n nearest visible memories in one project."""
    entry = index_for(conn).codes_for(project)
    if len(entry.ids) > MAX_CACHED:
        return knn_vec0(conn, vector, project, n, kinds)
    query = unit_query(vector)
    if not len(entry.ids) or not query.any():
        return []
    pool = rescore_pool(len(entry.ids), n)
    if len(entry.ids) > pool:
        rows = np.argpartition(hamming(entry.codes, sign_bits(query)), pool)[:pool]
    else:
        rows = np.arange(len(entry.ids))
    scale = entry.scale[rows]
    cosine = np.einsum("ij,j->i", entry.units[rows].astype(np.float32), query) * scale
    usable = scale > 0  # a zero vector has no direction
    rows, distance = rows[usable], 1.0 - cosine[usable]
    order = np.argsort(distance, kind="stable")
    return visible_best(conn, entry.ids[rows[order]], distance[order], n, project, kinds)


def rescore_pool(size: int, n: int) -> int:
    """How many of a project's `size` vectors, nearest by Hamming distance, are rescored
    exactly when `n` neighbours are asked for (all of them when the project is this small)."""
    most = max(RESCORE_POOL, size // RESCORE_LARGE)
    return min(most, max(RESCORE_MIN, n * 4, size // RESCORE_SHARE))


def cosines(
    conn: Connection, vector: np.ndarray, ids: Sequence[int], projects: Sequence[str]
) -> dict[int, float]:
    """Cosine similarity of `vector` to the vectors of `ids` (those cached in `projects`;
    the rest from SQL): context scoring asks this for a few hundred ids a recall."""
    query = unit_query(vector)
    out: dict[int, float] = {}
    if not query.any():
        return out
    wanted = np.asarray(sorted(set(ids)), dtype=np.int64)
    for project in projects:
        entry = index_for(conn).codes_for(project)
        if not len(wanted) or not len(entry.ids) or len(entry.ids) > MAX_CACHED:
            continue
        at = np.minimum(np.searchsorted(entry.ids, wanted), len(entry.ids) - 1)
        found = (entry.ids[at] == wanted) & (entry.scale[at] > 0)
        rows = at[found]
        cos = np.einsum("ij,j->i", entry.units[rows].astype(np.float32), query)
        out.update(zip(wanted[found].tolist(), (cos * entry.scale[rows]).tolist(), strict=True))
        wanted = wanted[~found]
    if len(wanted):
        out.update(_sql_cosines(conn, query, wanted.tolist()))
    return out


def _sql_cosines(conn: Connection, query: np.ndarray, ids: list[int]) -> dict[int, float]:
    rows = conn.execute(
        f"""select memory_id, vec_distance_cosine(embedding, ?) from {FLOAT_TABLE}
            where memory_id in ({",".join("?" * len(ids))})""",
        [_blob(query), *ids],
    )
    return {r[0]: 1.0 - float(r[1]) for r in rows if r[1] is not None}


def unit_query(vector: np.ndarray) -> np.ndarray:
    """The query as a float32 unit vector (all zeros if it has no direction)."""
    return unit_rows(np.asarray(vector, dtype=np.float32)[None, :])[0]


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero), so a dot product is the cosine."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def quantize(units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 rows and the float scale that restores them (0 for a zero row)."""
    scale = (np.abs(units).max(axis=1) / 127.0).astype(np.float32)
    safe = np.where(scale > 0, scale, 1.0)[:, None]
    return np.round(units / safe).astype(np.int8), scale


def visible_best(
    conn: Connection,
    ids: np.ndarray,
    distance: np.ndarray,
    n: int,
    project: str,
    kinds: Sequence[str] = (),
) -> list[tuple[float, int]]:
    """The first n of `ids` (best first) still active in `project`: the cache holds every
    vector, so forgotten, quarantined and erased memories are dropped here, a batch at a
    time."""
    kind_sql = f" and +kind in ({','.join('?' * len(kinds))})" if kinds else ""
    out: list[tuple[float, int]] = []
    step = max(2 * n, 32)
    for lo in range(0, len(ids), step):
        batch = [int(i) for i in ids[lo : lo + step]]
        live = {
            r[0]
            for r in conn.execute(
                f"""select id from memories where id in ({",".join("?" * len(batch))})
                    and +status = 'active' and +project = ?{kind_sql}""",
                [*batch, project, *kinds],
            )
        }
        out += [
            (float(d), mid)
            for mid, d in zip(batch, distance[lo : lo + step], strict=True)
            if mid in live
        ]
        if len(out) >= n:
            break
    return out[:n]


def code_words(bits: np.ndarray) -> np.ndarray:
    """Sign bits as 64-bit words when the width allows (384 dimensions: 6 words), else bytes."""
    return bits.view(np.uint64) if bits.shape[-1] % 8 == 0 else bits


def hamming(codes: np.ndarray, query_bits: np.ndarray) -> np.ndarray:
    """Bit distance of every row of `codes` (code_words) to the query's sign bits.

    One word column at a time, a slice of rows at a time, so the temporaries stay in cache:
    at 1M memories this took 10 ms against 41 ms for XOR-and-sum over whole rows, which
    every recall and every write (the contradiction check) paid."""
    query = code_words(query_bits[None, :])[0]
    out = np.zeros(len(codes), dtype=np.int32)
    for lo in range(0, len(codes), HAMMING_SLICE):
        part = out[lo : lo + HAMMING_SLICE]
        for column, word in enumerate(query):
            part += np.bitwise_count(codes[lo : lo + HAMMING_SLICE, column] ^ word)
    return out


def knn_vec0(
    conn: Connection, vector: np.ndarray, project: str, n: int, kinds: Sequence[str] = ()
) -> list[tuple[float, int]]:
    """vec0's own KNN over the bit index, rescored: the path for uncached partitions."""
    blob = _blob(vector)
    kind_sql = f" and kind in ({','.join('?' * len(kinds))})" if kinds else ""
    coarse = conn.execute(
        f"""select memory_id from {VEC_TABLE} where embedding match vec_quantize_binary(?)
            and k = ? and project = ? and status = 'active'{kind_sql}""",
        [blob, min(max(COARSE_MIN, n + COARSE_EXTRA), MAX_K), project, *kinds],
    ).fetchall()
    if not coarse:
        return []
    ids = [r[0] for r in coarse]
    rows = conn.execute(
        f"""select memory_id, vec_distance_cosine(embedding, ?) as d from {FLOAT_TABLE}
            where memory_id in ({",".join("?" * len(ids))}) order by d limit ?""",
        [blob, *ids, n],
    )
    return [(r[1], r[0]) for r in rows if r[1] is not None]
