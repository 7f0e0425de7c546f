"""Where else a query matches: a recall that finds nothing in its project says so, with
where to look, instead of a bare "no memories" that reads as "nothing is known"."""

from __future__ import annotations

from dataclasses import replace

from mcp_memory.recall.hybrid import keyword_scores
from mcp_memory.recall.query import Scope
from mcp_memory.storage.driver import Connection

MAX_PROJECTS = 50  # projects looked into; a store with more is searched with --all-projects


def all_projects(conn: Connection) -> list[str]:
    """Every project with a visible memory, the global scope first."""
    rows = conn.execute(
        "select distinct project from memories where status = 'active' order by project"
    ).fetchall()
    return [str(row[0]) for row in rows]


def matches_elsewhere(conn: Connection, text: str, scope: Scope) -> dict[str, int]:
    """Keyword matches per project outside `scope`, most first. Keywords only: a vector search
    always has a nearest neighbour, so only a shared word says another project knows this."""
    counts: dict[str, int] = {}
    others = [p for p in all_projects(conn) if p not in scope.projects][:MAX_PROJECTS]
    for project in others:
        found = len(keyword_scores(conn, text, replace(scope, projects=[project])))
        if found:
            counts[project] = found
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def hint(conn: Connection, text: str, project: str) -> str | None:
    """The line a recall with no results prints: how many matches other projects hold, and
    the options that show them. None when no other project matches either."""
    counts = matches_elsewhere(conn, text, Scope(projects=list(dict.fromkeys([project, ""]))))
    if not counts:
        return None
    total = sum(counts.values())
    where = ", ".join(f"{name!r} ({n})" for name, n in list(counts.items())[:5])
    more = f" and {len(counts) - 5} more" if len(counts) > 5 else ""
    first = next(iter(counts))
    return (
        f"{total} {'match' if total == 1 else 'matches'} in other projects: {where}{more}. "
        f"See them with --project {first!r} or --all-projects."
    )
