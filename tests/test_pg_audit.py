"""test_audit.py's storage tests, run unchanged on PostgreSQL.

Every test of test_audit.py that takes the `conn` fixture is collected here a second time,
with `conn` the PostgreSQL facade on a fresh migrated database and test_audit's
`write_transaction` pointing at PostgresBackend.write_transaction. The test bodies, their raw
SQL (tampering with rows) included, are the SQLite ones: a new audit test joins
automatically. The CLI tests (`db_env`) stay SQLite-only until the CLI can open a
PostgreSQL target. This module goes away when the `db_target` parametrisation of design doc
§2.4 step 3 lands and test_audit.py itself runs on both backends.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.pg_support")
from tests import test_audit as sqlite_suite  # noqa: E402
from tests.pg_support import needs_pg  # noqa: E402

pytest_plugins = ["tests.pg_support"]
pytestmark = [pytest.mark.postgres, needs_pg]

_REUSED = {
    name: fn
    for name, fn in vars(sqlite_suite).items()
    if name.startswith("test_") and callable(fn) and "conn" in inspect.signature(fn).parameters
}
globals().update(_REUSED)


@pytest.fixture
def conn(pg_backend: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The PostgreSQL facade, with test_audit's transaction helper taken from the backend."""

    def write_transaction(_conn: Any, *_args: Any, **_kwargs: Any) -> Any:
        return pg_backend.write_transaction()

    monkeypatch.setattr(sqlite_suite, "write_transaction", write_transaction)
    yield pg_backend.conn


def test_the_sqlite_audit_suite_is_reused_here() -> None:
    """Guards the name filter above: if test_audit's fixture were renamed, nothing would run."""
    assert len(_REUSED) >= 15
