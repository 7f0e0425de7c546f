"""mcp-memory: shared, provenance-tracked, poisoning-resistant memory for coding agents."""

from __future__ import annotations

__version__ = "0.1.0"

from mcp_memory.config import Settings  # noqa: E402
from mcp_memory.embeddings import Embedder, FakeEmbedder, FastEmbedder, ModelLoader  # noqa: E402
from mcp_memory.errors import (  # noqa: E402
    InvalidInput,
    InvalidToken,
    MemoryStoreError,
    NotFound,
    PermissionDenied,
    SecretRejected,
    StorageError,
    UnsupportedTarget,
)
from mcp_memory.models import (  # noqa: E402
    HUMAN,
    Actor,
    ForgetResult,
    LinkResult,
    MemoryRecord,
    RecallHit,
    RecallResult,
    RememberResult,
)
from mcp_memory.store import MemoryStore  # noqa: E402
from mcp_memory.tokens import NewToken, TokenInfo, TokenStore  # noqa: E402

__all__ = [
    "HUMAN",
    "Actor",
    "Embedder",
    "FakeEmbedder",
    "FastEmbedder",
    "ForgetResult",
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
