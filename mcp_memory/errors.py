"""Named exceptions: callers (server, CLI) turn these into ToolErrors and exit codes."""

from __future__ import annotations


class MemoryStoreError(Exception):
    """Base of every error the library raises on purpose."""


class InvalidInput(MemoryStoreError):
    """The caller sent something we refuse to store or search; nothing was written."""


class NotFound(MemoryStoreError):
    """An id named a memory that does not exist (or is not visible to the caller)."""


class PermissionDenied(MemoryStoreError):
    """The caller's identity or trust does not allow the operation."""


class SecretRejected(InvalidInput):
    """The content looks like it carries a credential; it was not stored anywhere."""


class StorageError(MemoryStoreError):
    """The database could not be opened or written (driver, extension, lock)."""
