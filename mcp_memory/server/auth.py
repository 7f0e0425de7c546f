"""Bearer-token authentication for `serve --transport http`, as ASGI middleware.

Why our own middleware and not the SDK's `MCPServer(token_verifier=..., auth=AuthSettings(...))`:

- The SDK's path is an OAuth resource server. `AuthSettings` requires an `issuer_url` (an
  authorization server we do not have: we would have to invent one), and its metadata
  options advertise OAuth flows that clients would then try to follow.
- It can only *require* a token. On loopback we want "optional": a request without a token
  keeps today's behaviour (the client names itself), while a request that does present one
  is held to it, so a mistyped or revoked token fails loudly instead of quietly writing
  under another name.
- It answers every failure with the same "Authentication required". A human wiring up a
  client deserves to know whether the header is missing, malformed, or the token revoked.

We still speak the SDK's language where it matters: an authenticated request carries an
`AuthenticatedUser` in `scope["user"]` (and in the SDK's auth context variable), so the
streamable-HTTP session manager binds each session to the token that opened it (another
token gets 404 for that session id) and `get_access_token()` works for any code that uses it.

Identity is read per HTTP request, not per MCP session: tools call `request_token()` on the
Starlette request the SDK attaches to each message, which is the request that carried that
very message. A contextvar would not do: in stateful sessions the tool handlers run in a task
spawned by the session's *first* request, so they would see that request's token forever.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import anyio
from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from starlette.authentication import AuthCredentials
from starlette.types import ASGIApp, Receive, Scope, Send

from mcp_memory.errors import InvalidToken, StorageError
from mcp_memory.tokens import TokenInfo, TokenStore, parse_authorization

log = logging.getLogger("mcp_memory")
SCOPE_KEY = "mcp_memory.token"
REALM = "mcp-memory"
# A loopback server without --require-token trusts local processes to name themselves. A
# request relayed by a reverse proxy is not local, whatever its socket says: it needs a token.
# Any one header a proxy adds is enough to tell: proxies differ in which they send (some only
# `Via`, or only `X-Forwarded-Host`), so every `X-Forwarded-*` counts, and the other common ones.
_PROXY_HEADERS = frozenset(
    {
        b"forwarded",
        b"via",
        b"x-real-ip",
        b"x-client-ip",
        b"true-client-ip",
        b"cf-connecting-ip",
        b"fastly-client-ip",
        b"x-cluster-client-ip",
        b"x-original-forwarded-for",
    }
)
_PROXY_PREFIX = b"x-forwarded-"
# How often a long-lived request (the server-to-client event stream) re-reads its token: a
# revoke committed by any process closes the stream within this many seconds.
RECHECK_EVERY_S = 1.0
FINISH_TIMEOUT_S = 5.0  # how long ending a revoked stream may wait on the client
PROXIED_WITHOUT_TOKEN = (
    "this request came through a proxy: send `Authorization: Bearer <token>` "
    "(and start the server with --require-token behind a proxy)"
)


def _is_proxy_header(name: bytes) -> bool:
    name = name.lower()
    return name in _PROXY_HEADERS or name.startswith(_PROXY_PREFIX)


def request_token(request: Any) -> TokenInfo | None:
    """The verified token of the HTTP request that carried this MCP message, if any."""
    scope = getattr(request, "scope", None)
    if not isinstance(scope, dict):
        return None
    found = scope.get(SCOPE_KEY)
    return found if isinstance(found, TokenInfo) else None


class BearerTokenMiddleware:
    """Checks `Authorization: Bearer mcpm_...` on every HTTP request before the MCP app sees it.

    required=True: no token, no service (401). required=False: requests without an
    Authorization header pass through unauthenticated; one that has the header must carry a
    valid token. Either way nothing reaches the MCP app for a refused request.
    """

    def __init__(
        self,
        app: ASGIApp,
        tokens: TokenStore,
        *,
        required: bool,
        recheck_every: float = RECHECK_EVERY_S,
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.required = required
        self.recheck_every = recheck_every

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan (and anything else) is not a client request
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", [])
        values = [v for k, v in headers if k.lower() == b"authorization"]
        if not values:
            if self.required:
                await _deny(send, None, "this server requires `Authorization: Bearer <token>`")
            elif any(_is_proxy_header(k) for k, _ in headers):
                await _deny(send, None, PROXIED_WITHOUT_TOKEN)
            else:
                await self.app(scope, receive, send)
            return
        try:
            if len(values) > 1:
                raise InvalidToken("several Authorization headers", code="invalid_request")
            secret = parse_authorization(values[0]) or ""
            info = await anyio.to_thread.run_sync(self.tokens.authenticate, secret)
        except InvalidToken as exc:
            log.debug("mcp-memory: refused HTTP request: %s", exc)
            await _deny(send, exc.code, str(exc))
            return
        except StorageError as exc:  # fail closed, but say it is our fault, not the client's
            log.error("mcp-memory: cannot check bearer token: %s", exc)
            await _respond(send, 503, {"error": "temporarily_unavailable"}, [])
            return
        user = AuthenticatedUser(
            AccessToken(
                token=info.prefix,  # never the secret: this object is passed around
                client_id=f"mcp-memory-token:{info.id}",
                scopes=[],
                subject=info.agent,
            )
        )
        scope = {**scope, "user": user, "auth": AuthCredentials([]), SCOPE_KEY: info}
        reset = auth_context_var.set(user)
        try:
            if scope.get("method") == "GET":  # the event stream: it may stay open for hours
                await self._stream_while_active(info, scope, receive, send)
            else:
                await self.app(scope, receive, send)
        finally:
            auth_context_var.reset(reset)

    async def _stream_while_active(
        self, info: TokenInfo, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Serve a GET, re-reading the token every `recheck_every` seconds, and end the
        response once the token is revoked. Every POST is checked anyway; only the stream
        would outlive a revoke. Short requests are not watched, so a tool call that was
        already running when the token was revoked still finishes (and commits whole)."""
        response = _ResponseState(send)
        revoked = False
        failed: Exception | None = None
        async with anyio.create_task_group() as tasks:

            async def watch() -> None:
                nonlocal revoked
                while not revoked:
                    await anyio.sleep(self.recheck_every)
                    revoked = not await anyio.to_thread.run_sync(self._still_active, info)
                tasks.cancel_scope.cancel()

            tasks.start_soon(watch)
            try:
                await self.app(scope, receive, response.send)
            except Exception as exc:  # raised below as itself, not in the task group's group
                failed = exc
            tasks.cancel_scope.cancel()
        if failed is not None:
            raise failed
        if revoked:
            log.info("mcp-memory: token %s revoked: closing its open stream", info.prefix)
            with anyio.move_on_after(FINISH_TIMEOUT_S):  # a client that stopped reading
                await response.finish()

    def _still_active(self, info: TokenInfo) -> bool:
        """False only when the token is known to be revoked: a database that cannot answer
        (busy, a driver error) does not cut a stream; every tool call is checked anyway."""
        try:
            return self.tokens.is_active(info.id)
        except Exception as exc:  # noqa: BLE001 - any failure to read means "not known revoked"
            log.warning("mcp-memory: cannot re-check token %s: %s", info.prefix, exc)
            return True


class _ResponseState:
    """Tracks how far a response got, so a stream cut short still ends as valid HTTP."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = self.done = False

    async def send(self, message: Any) -> None:
        await self._send(message)  # counted once sent: a send cut short by the revoke is not
        if message["type"] == "http.response.start":
            self.started = True
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self.done = True

    async def finish(self) -> None:
        if not self.started:
            await _deny(self._send, "invalid_token", "bearer token revoked")
        elif not self.done:
            await self._send({"type": "http.response.body", "body": b"", "more_body": False})


async def _deny(send: Send, code: str | None, description: str) -> None:
    """401 with a `WWW-Authenticate: Bearer` challenge (RFC 6750 section 3)."""
    challenge = f'Bearer realm="{REALM}"'
    if code is not None:  # no error code when the request had no credentials at all
        quoted = description.replace('"', "'")
        challenge += f', error="{code}", error_description="{quoted}"'
    body = {"error": code or "invalid_request", "error_description": description}
    await _respond(send, 401, body, [(b"www-authenticate", challenge.encode("latin-1", "replace"))])


async def _respond(
    send: Send, status: int, body: dict[str, str], headers: list[tuple[bytes, bytes]]
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"cache-control", b"no-store"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
