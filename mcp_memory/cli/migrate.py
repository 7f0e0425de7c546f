"""`migrate-to`: copy this machine's SQLite memory into a team's PostgreSQL database."""

from __future__ import annotations

from typing import Annotated

import typer

from mcp_memory.cli._common import (
    EXIT_USAGE,
    DbOption,
    JsonOption,
    fail,
    handled,
    print_json,
    settings_for,
)
from mcp_memory.cli._progress import bar
from mcp_memory.config import is_postgres_url


def migrate_to_command(
    url: Annotated[str, typer.Argument(help="Target: postgresql://user:password@host:5432/dbname")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Copy the SQLite memory (--db, else MCP_MEMORY_DB) into an empty PostgreSQL database.

    Everything moves with its ids and provenance: memories, vectors, links, reviews,
    agents and their trust, tokens, and the audit log verbatim, so `audit verify` still
    passes on the copy. It is one transaction, checked table by table (row counts and
    SHA-256 digests) before it commits; a failed check leaves the target empty. The
    SQLite file is left as it was: it still holds everything, so erase or keep it
    deliberately."""
    if not is_postgres_url(url):
        fail(f"not a PostgreSQL URL: {url!r} (expected postgresql://...)", EXIT_USAGE)
    try:  # the backend, not copy.py: only the backend imports psycopg at module level
        import mcp_memory.storage.postgres.backend  # noqa: F401
    except ImportError:  # psycopg is the `postgres` extra
        from mcp_memory.storage.target import unsupported_target

        fail(str(unsupported_target(url)), EXIT_USAGE)
    from mcp_memory.storage.postgres.copy import copy_to_postgres

    source = settings_for(db).db_path
    with handled(), bar("copying to PostgreSQL", quiet=json_out) as progress:
        report = copy_to_postgres(source, url, progress=progress)
    if json_out:
        print_json(report.as_dict())
        return
    typer.echo(f"copied {source} -> {report.target} in {report.seconds:.1f} s, verified:")
    for table, n in report.rows.items():
        typer.echo(f"  {table:14s} {n:>9,} rows")
    typer.echo(f"  {'vectors':14s} {report.vectors:>9,}")
    typer.echo(f"audit head {report.audit_head} (same as the source)")
    typer.echo(
        f"The SQLite file {source} still holds every memory: keep it as a backup or erase it."
    )
