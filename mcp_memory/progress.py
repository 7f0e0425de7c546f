"""How a long library operation says how far it got, without knowing who is listening.

The library draws nothing (core imports neither rich nor typer, and a server's stderr is
for real problems): an operation that can take more than a moment takes an optional
`progress(done, total)` callback, calls it with `done` rising to `total`, and the CLI turns
those calls into a bar on stderr. Units are the operation's own (lines, memories, rows,
steps); only the ratio and the final `done == total` matter to a listener.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int], None]


def tell(progress: Progress | None, done: int, total: int) -> None:
    """Call `progress`, if any, keeping `done` within `total` (a count taken at the start
    can be passed by rows written meanwhile: the bar then ends full, not beyond)."""
    if progress is not None:
        total = max(total, done)
        progress(done, total)
