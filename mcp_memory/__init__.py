"""mcp-memory: shared, provenance-tracked, poisoning-resistant memory for coding agents.

The public names are loaded on first use (PEP 562): every `mcp-memory` command imports this
package first, and `--help` or `forget` must not pay for numpy, pydantic and the store.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Settings": "mcp_memory.config",
    "Embedder": "mcp_memory.embeddings",
    "FakeEmbedder": "mcp_memory.embeddings",
    "FastEmbedder": "mcp_memory.embeddings",
    "ModelLoader": "mcp_memory.embeddings",
    "InvalidInput": "mcp_memory.errors",
    "InvalidToken": "mcp_memory.errors",
    "MemoryStoreError": "mcp_memory.errors",
    "NotFound": "mcp_memory.errors",
    "PermissionDenied": "mcp_memory.errors",
    "SecretRejected": "mcp_memory.errors",
    "StorageError": "mcp_memory.errors",
    "UnsupportedTarget": "mcp_memory.errors",
    "HUMAN": "mcp_memory.models",
    "Actor": "mcp_memory.models",
    "ForgetResult": "mcp_memory.models",
    "LinkResult": "mcp_memory.models",
    "MemoryRecord": "mcp_memory.models",
    "RecallHit": "mcp_memory.models",
    "RecallResult": "mcp_memory.models",
    "RememberResult": "mcp_memory.models",
    "MemoryStore": "mcp_memory.store",
    "NewToken": "mcp_memory.tokens",
    "TokenInfo": "mcp_memory.tokens",
    "TokenStore": "mcp_memory.tokens",
}

__all__ = [
    "Actor",
    "Embedder",
    "FakeEmbedder",
    "FastEmbedder",
    "ForgetResult",
    "HUMAN",
    "InvalidInput",
    "InvalidToken",
    "LinkResult",
    "MemoryRecord",
    "MemoryStore",
    "MemoryStoreError",
    "ModelLoader",
    "NewToken",
    "NotFound",
    "PermissionDenied",
    "RecallHit",
    "RecallResult",
    "RememberResult",
    "SecretRejected",
    "Settings",
    "StorageError",
    "TokenInfo",
    "TokenStore",
    "UnsupportedTarget",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mcp_memory' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:  # what static checkers and IDEs see
    from mcp_memory.config import Settings
    from mcp_memory.embeddings import Embedder, FakeEmbedder, FastEmbedder, ModelLoader
    from mcp_memory.errors import (
        InvalidInput,
        InvalidToken,
        MemoryStoreError,
        NotFound,
        PermissionDenied,
        SecretRejected,
        StorageError,
        UnsupportedTarget,
    )
    from mcp_memory.models import (
        HUMAN,
        Actor,
        ForgetResult,
        LinkResult,
        MemoryRecord,
        RecallHit,
        RecallResult,
        RememberResult,
    )
    from mcp_memory.store import MemoryStore
    from mcp_memory.tokens import NewToken, TokenInfo, TokenStore
