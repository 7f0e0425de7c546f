"""Help that reads like other click tools: `--json` is a flag with no type beside it, a value
shows as `TEXT`, `INTEGER` or `PATH`, and choices as `[stdio|http]`.

Typer 0.29 prints every parameter's Python type instead (`--json <bool>`, `--tag
<list[str]>`), which reads as if a flag took a value. It has no setting for this, so the one
method that renders the type column is replaced here, once, for this CLI.
"""

from __future__ import annotations

import click
import typer.core

_NAMES = {
    "str": "TEXT",
    "int": "INTEGER",
    "float": "FLOAT",
    "bool": "BOOLEAN",
    "path": "PATH",
    "file": "FILE",
    "directory": "DIRECTORY",
    "dir": "DIRECTORY",
    "datetime": "DATETIME",
}


def click_style(label: str) -> str:
    """`<list[str]>` -> `TEXT`, `<int>` -> `INTEGER`, `<stdio|http>` -> `[stdio|http]`."""
    bare = label.strip("<>").removesuffix("...")
    if bare.startswith("list[") and bare.endswith("]"):
        bare = bare[5:-1]
    if "|" in bare:
        return f"[{bare}]"
    if bare.endswith(" range"):
        bare = bare.removesuffix(" range")
    return _NAMES.get(bare.lower(), bare.upper())


def _option_type(self: typer.core.TyperOption, ctx: click.Context) -> str | None:
    if self.is_flag or self.count:
        return None
    if self.metavar is not None:
        return self.metavar
    return click_style(self.display_type(ctx))


def _argument_type(self: typer.core.TyperArgument, ctx: click.Context) -> str | None:
    if self.metavar is not None:
        return self.metavar
    return click_style(self.display_type(ctx))


def install() -> None:
    typer.core.TyperOption.display_type_rich = _option_type  # type: ignore[method-assign]
    typer.core.TyperArgument.display_type_rich = _argument_type  # type: ignore[method-assign]
