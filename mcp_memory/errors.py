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


class UnsupportedTarget(InvalidInput):
    """The database target names a backend this build cannot open (a PostgreSQL URL before
    issue 8 lands). A usage error, so the CLI exits 2 and nothing is created."""


class StorageError(MemoryStoreError):
    """The database could not be opened or written (driver, extension, lock)."""


class DatabaseUnusable(StorageError):
    """The database file cannot be read as a database: corrupt, truncated, not a database,
    or no file can be made where the path points. Nothing was written; `doctor` says more."""


class DatabaseReadOnly(StorageError):
    """A write was refused because the database is read-only (file mode, read-only mount,
    a `mode=ro` URI, a read-only PostgreSQL role). Reads still work."""


class DatabaseBusy(StorageError):
    """Another connection held the write lock longer than MCP_MEMORY_BUSY_TIMEOUT."""


class NoDatabase(StorageError):
    """A command that only reads was pointed at a path with no database: it does not
    create one, so a typo in --db cannot leave empty files behind."""


class InvalidToken(MemoryStoreError):
    """A bearer token was missing, malformed, unknown or revoked; the request was not served.

    `code` is the RFC 6750 error code the HTTP layer reports: ``invalid_request`` for a
    header that is not `Bearer <token>`, ``invalid_token`` for a token we do not accept.
    """

    def __init__(self, message: str, *, code: str = "invalid_token") -> None:
        super().__init__(message)
        self.code = code
