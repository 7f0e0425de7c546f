"""Tables that fit the terminal (80 columns included) without cutting a name.

rich, left alone, shrinks every column of a table too wide for the terminal and cuts what
does not fit with an ellipsis: an agent name or a project came out as `claude-co…`, which is
worse than useless in a review. Here each column says what it is: a name or id is shown whole
(never cut nor wrapped), free text wraps into the room left, and columns that matter less are
dropped, least important first, until the rest fits; the caption names what was dropped.
When names alone leave no room for the text, rows are printed as blocks, not as a table.
Cells are plain text: a memory or an agent name with `[brackets]` is never read as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

WRAP_MIN = 12  # free text narrower than this reads as a column of syllables


@dataclass(frozen=True)
class Column:
    header: str
    whole: bool = False  # a name or id: shown whole or not at all
    wrap: bool = False  # free text: wraps to the room left
    drop: int = 0  # 0 always shown; otherwise dropped to fit, the highest number first


def console(stderr: bool = False) -> Console:
    """Made per command, not at import: the width (COLUMNS, the terminal's) is read now."""
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def _natural(header: str, cells: Sequence[str]) -> int:
    lines = [header, *(line for cell in cells for line in cell.splitlines() or [""])]
    return max(cell_len(line) for line in lines)


def _minimum(column: Column, natural: int) -> int:
    return min(natural, max(WRAP_MIN, cell_len(column.header))) if column.wrap else natural


def fitted(
    title: str | None, columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int
) -> RenderableType:
    """A table of `rows` (one string per column) whose shown columns fit in `width`, or, when
    names are too long for any table to fit, one block per row."""
    naturals = [_natural(c.header, [row[i] for row in rows]) for i, c in enumerate(columns)]
    shown = list(range(len(columns)))

    def needed() -> int:  # cells, one space of padding each side, a border before each, one after
        return sum(_minimum(columns[i], naturals[i]) + 3 for i in shown) + 1

    droppable = sorted((c.drop, i) for i, c in enumerate(columns) if c.drop)
    while needed() > width and droppable:
        shown.remove(droppable.pop()[1])
    if needed() > width:  # long names leave text no room: one block per row instead
        return _records(title, columns, rows)
    hidden = [columns[i].header for i in range(len(columns)) if i not in shown]
    caption = f"not shown, for width: {', '.join(hidden)} (see --json)" if hidden else None
    table = Table(title=title, caption=caption)
    for i in shown:
        column = columns[i]
        if column.wrap:
            table.add_column(column.header, overflow="fold")
        else:  # names, and short values (numbers, times): never squeezed
            table.add_column(column.header, no_wrap=True, min_width=naturals[i])
    for row in rows:
        table.add_row(*(Text(row[i]) for i in shown))
    return table


def _records(title: str | None, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> Group:
    """Each row as a block: its names on the first line, then `header: value` lines, indented,
    wrapping at the terminal's width. Nothing is dropped: there is room for everything."""
    parts: list[RenderableType] = [Text(title, style="bold")] if title else []
    names = [i for i, c in enumerate(columns) if c.whole] or [0]
    for row in rows:
        parts.append(Text(""))
        parts.append(Text("  ".join(row[i] for i in names if row[i]), overflow="fold"))
        for i, column in enumerate(columns):
            if i not in names and row[i]:
                line = Text(f"{column.header}: {row[i]}", overflow="fold")
                parts.append(Padding(line, (0, 0, 0, 2)))
    return Group(*parts)


def print_table(
    title: str | None,
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    stderr: bool = False,
) -> None:
    out = console(stderr)
    out.print(fitted(title, columns, rows, out.width))
