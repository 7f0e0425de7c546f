"""Bars on stderr for the long operations: the library reports `progress(done, total)`
(mcp_memory/progress.py), this turns it into a rich bar.

Only for a person watching: never when stderr is not a terminal (a pipe, a log file, an
agent's shell tool) nor with --json/--quiet, and never on stdout, which may be an export
or JSON being piped somewhere.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from mcp_memory.progress import Progress


def stderr_is_tty() -> bool:
    """One place, so tests can stand in a terminal by monkeypatching it."""
    try:
        return bool(sys.stderr and sys.stderr.isatty())
    except (AttributeError, ValueError):  # closed or replaced stderr
        return False


@contextmanager
def bar(label: str, *, quiet: bool = False) -> Iterator[Progress | None]:
    """A `progress(done, total)` drawing a bar while the block runs, or None (no bar)."""
    if quiet or not stderr_is_tty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import (
        Progress as RichProgress,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    console = Console(file=sys.stderr, force_terminal=True)
    # rich's default sends what the block writes to stdout through the bar's console, that
    # is, to stderr: an export piped to a file would come out empty.
    shown = RichProgress(
        *columns, console=console, transient=True, redirect_stdout=False, redirect_stderr=False
    )
    with shown:
        task = shown.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            shown.update(task, completed=done, total=total)

        yield update


@contextmanager
def model_copy_status(*, quiet: bool = False) -> Iterator[None]:
    """While the block runs, a one-off int8 copy of the model (quantize.py, ~3 s, once per
    machine) shows a spinner instead of leaving the command silent. The copy is made on the
    model loader's thread, so this listens to quantize's build events rather than a call."""
    from mcp_memory import quantize

    if quiet or not stderr_is_tty():
        yield
        return
    from rich.console import Console
    from rich.live import Live
    from rich.spinner import Spinner

    status = Live(
        Spinner("dots", "making an int8 copy of the embedding model (once)"),
        console=Console(file=sys.stderr, force_terminal=True),
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
    )
    guard = threading.Lock()

    def listen(done: int, total: int) -> None:
        with guard:
            if done < total:
                status.start()
            else:
                status.stop()

    with quantize.listening(listen):
        try:
            yield
        finally:
            listen(1, 1)
