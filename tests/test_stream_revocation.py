"""A revoked token's open event stream is closed, not left running until the client leaves.

Every POST is checked against the database, so a revoke stops tool calls at once; the
long-lived GET stream is the one request that could outlive it. Driven as raw ASGI with a
stand-in app that streams until it is stopped, so the only thing that can end the stream
is the middleware.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from mcp_memory import StorageError, TokenStore
from mcp_memory.server.auth import BearerTokenMiddleware

from .conftest import DbTarget

RECHECK = 0.01  # seconds between re-reads of the token in these tests


@pytest.fixture
def store(db_target: DbTarget) -> Iterator[TokenStore]:
    s = TokenStore.open(db_target("tokens"))
    yield s
    s.close()


class Stream:
    """A stand-in MCP app: answers any request with a stream that never ends by itself."""

    def __init__(self, *, start: bool = True) -> None:
        self.start = start
        self.reached = anyio.Event()
        self.sent: list[dict[str, Any]] = []

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        if self.start:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send(
                {"type": "http.response.body", "body": b"event: ping\n\n", "more_body": True}
            )
        self.reached.set()
        await anyio.sleep_forever()

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)


async def _open(
    store: TokenStore, secret: str, app: Stream, method: str = "GET", recheck: float = RECHECK
) -> None:
    async def receive() -> dict[str, Any]:
        await anyio.sleep_forever()
        return {}

    headers = [(b"authorization", b"Bearer " + secret.encode())]
    scope = {"type": "http", "method": method, "path": "/mcp", "headers": headers}
    middleware = BearerTokenMiddleware(app.app, store, required=True, recheck_every=recheck)
    await middleware(scope, receive, app.send)


@pytest.mark.anyio
async def test_revoking_a_token_ends_its_open_event_stream_as_valid_http(
    store: TokenStore,
) -> None:
    secret = store.create("alice").secret
    stream = Stream()
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_open, store, secret, stream)
            await stream.reached.wait()
            store.revoke(secret)
    assert stream.sent[0]["status"] == 200
    assert stream.sent[1]["body"] == b"event: ping\n\n"
    assert stream.sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


@pytest.mark.anyio
async def test_a_stream_revoked_before_it_answered_gets_a_401(store: TokenStore) -> None:
    secret = store.create("alice").secret
    stream = Stream(start=False)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_open, store, secret, stream)
            await stream.reached.wait()
            store.revoke(secret)
    assert [m["type"] for m in stream.sent] == ["http.response.start", "http.response.body"]
    assert stream.sent[0]["status"] == 401
    assert b"revoked" in stream.sent[1]["body"]


@pytest.mark.anyio
async def test_revoking_another_agents_token_leaves_this_stream_open(store: TokenStore) -> None:
    mine, theirs = store.create("alice").secret, store.create("bob").secret
    stream = Stream()
    rechecked = anyio.Event()
    checks = 0
    real = store.is_active

    def counting(token_id: int) -> bool:  # runs in a worker thread
        nonlocal checks
        checks += 1
        if checks == 5:
            anyio.from_thread.run_sync(rechecked.set)
        return real(token_id)

    store.is_active = counting  # type: ignore[method-assign]
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_open, store, mine, stream)
            await stream.reached.wait()
            store.revoke(theirs)
            await rechecked.wait()  # several re-reads after bob's revoke
            assert stream.sent[-1].get("more_body") is True  # still streaming
            store.revoke(mine)
    assert stream.sent[-1]["more_body"] is False


@pytest.mark.anyio
@pytest.mark.parametrize(
    "error",
    [StorageError("database busy"), sqlite3.OperationalError("disk I/O error")],
    ids=["storage-error", "raw-driver-error"],
)
async def test_a_database_that_cannot_answer_the_recheck_does_not_cut_the_stream(
    store: TokenStore, error: Exception
) -> None:
    secret = store.create("alice").secret
    stream = Stream()
    failures = 0

    def flaky(token_id: int) -> bool:
        nonlocal failures
        if failures < 3:
            failures += 1
            raise error
        return False  # then it answers: revoked

    store.is_active = flaky  # type: ignore[method-assign]
    with anyio.fail_after(10):
        await _open(store, secret, stream)
    assert failures == 3
    assert stream.sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


@pytest.mark.anyio
async def test_a_running_post_finishes_after_its_token_is_revoked(store: TokenStore) -> None:
    secret = store.create("alice").secret
    stream = Stream()
    stream_closed, running = anyio.Event(), anyio.Event()
    sent: list[dict[str, Any]] = []

    async def tool_call(scope: Any, receive: Any, send: Any) -> None:
        running.set()
        await stream_closed.wait()  # the revoke has already cut the same token's stream
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b'{"result": {}}'})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def open_stream() -> None:
        await _open(store, secret, stream)
        stream_closed.set()

    headers = [(b"authorization", b"Bearer " + secret.encode())]
    scope = {"type": "http", "method": "POST", "path": "/mcp", "headers": headers}
    middleware = BearerTokenMiddleware(tool_call, store, required=True, recheck_every=RECHECK)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(open_stream)
            await stream.reached.wait()
            tasks.start_soon(middleware, scope, receive, send)
            await running.wait()
            store.revoke(secret)
    assert stream.sent[-1]["more_body"] is False
    assert sent[0]["status"] == 200 and sent[1]["body"] == b'{"result": {}}'


def test_is_active_reads_the_revoke_of_another_connection(tmp_path: Path) -> None:
    one, two = TokenStore.open(tmp_path / "t.db"), TokenStore.open(tmp_path / "t.db")
    try:
        token = one.create("alice")
        assert two.is_active(token.info.id)
        one.revoke(token.secret)
        assert not two.is_active(token.info.id)
        assert not two.is_active(10_000)  # no such token
    finally:
        one.close()
        two.close()


@pytest.mark.anyio
async def test_an_error_in_the_app_reaches_the_server_as_itself(store: TokenStore) -> None:
    secret = store.create("alice").secret

    async def broken_app(scope: Any, receive: Any, send: Any) -> None:
        raise ValueError("bug in the app")

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    headers = [(b"authorization", b"Bearer " + secret.encode())]
    scope = {"type": "http", "method": "GET", "path": "/mcp", "headers": headers}
    middleware = BearerTokenMiddleware(broken_app, store, required=True, recheck_every=RECHECK)
    with pytest.raises(ValueError, match="bug in the app"):
        await middleware(scope, receive, send)
