"""Helpers the CLI modules share: opening the store, printing, exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

import typer

from mcp_memory.config import Settings, db_target
from mcp_memory.errors import InvalidInput, MemoryStoreError
from mcp_memory.store import MemoryStore

EXIT_FAILED = 1
EXIT_USAGE = 2
MODEL_WAIT_S = 30.0


def settings_for(db: str | Path | None) -> Settings:
    """The environment's settings, with --db (a file path, or a URL kept as str) on top."""
    settings = Settings.from_env()
    return replace(settings, db_path=db_target(db)) if db else settings


def open_store(db: str | Path | None = None, *, embed: bool = False) -> MemoryStore:
    """CLI stores never download a model (that could stall a command for ~40 s offline)."""
    store = MemoryStore.open(settings=settings_for(db), embedder=True, allow_download=False)
    if embed:
        store.loader.wait(MODEL_WAIT_S)
    return store


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def handled() -> Iterator[None]:
    """Library errors become one clear line on stderr and the documented exit code."""
    try:
        yield
    except InvalidInput as exc:
        fail(str(exc), EXIT_USAGE)
    except MemoryStoreError as exc:
        fail(str(exc), EXIT_FAILED)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
