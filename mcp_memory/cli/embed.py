"""`embed`: give vectors to the memories stored while no model could be had.

Offline, or before a server's model finished loading, memories are stored and found by
keywords. A running server fills their vectors in once its model loads; this command does
it from the CLI, for a machine that runs no server or has just been given a model folder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mcp_memory.cli._common import DbOption, JsonOption, fail, handled, print_json, settings_for
from mcp_memory.cli._progress import bar, model_copy_status
from mcp_memory.render import plural

if TYPE_CHECKING:
    from mcp_memory.store import MemoryStore

BatchOption = Annotated[
    int, typer.Option("--batch", min=1, max=1024, help="Memories embedded per transaction")
]


def embed_command(
    db: DbOption = None, batch: BatchOption = 64, json_out: JsonOption = False
) -> None:
    """Fill in missing vectors (memories stored offline), then screen those memories again.

    Uses MCP_MEMORY_MODEL_DIR, else fastembed's cache, else downloads the model when the hub
    can be reached. Exit 1 when no model can be had."""
    from mcp_memory.embeddings import ModelLoader
    from mcp_memory.store import MemoryStore

    settings = settings_for(db)
    with model_copy_status(quiet=json_out):
        loader = ModelLoader.for_settings(settings, allow_download=True).start()
        with handled():
            store = MemoryStore.open(settings=settings, embedder=loader)
        ready = loader.wait()
    try:
        if ready is None:
            fail(f"no embedding model, nothing embedded ({loader.error})")
        model = store.embedder()  # a new model re-embeds everything: count after this
        total = store.vectors.pending()
        held_before = _quarantined(store)
        with handled():
            filled = _fill(store, total, batch, quiet=json_out)
        result = {
            "model": model.name if model else None,
            "embedded": filled,
            "left": store.vectors.pending(),
            "quarantined": _quarantined(store) - held_before,
        }
    finally:
        store.close()
    if json_out:
        print_json(result)
        return
    typer.echo(f"Embedded {plural(filled, 'memory', 'memories')} with {result['model']}.")
    if result["quarantined"]:
        typer.echo(
            f"Held for review after a second screening: "
            f"{plural(result['quarantined'], 'memory', 'memories')} (mcp-memory quarantine list)"
        )


def _fill(store: MemoryStore, total: int, batch: int, *, quiet: bool) -> int:
    with bar("embedding", quiet=quiet or not total) as progress:
        return store.backfill(batch, progress=progress)


def _quarantined(store: MemoryStore) -> int:
    counts = store.stats()["memories"]
    return int(counts.get("quarantined", 0)) if isinstance(counts, dict) else 0
