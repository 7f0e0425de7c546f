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

from .errors import InvalidToken, StorageError
from .tokens import TokenInfo, TokenStore, parse_authorization

log = logging.getLogger("mcp_memory")
SCOPE_KEY = "mcp_memory.token"
REALM = "mcp-memory"
# A loopback server without --require-token trusts local processes to name themselves. A
# request relayed by a reverse proxy is not local, whatever its socket says: it needs a token.
_PROXY_HEADERS = frozenset({b"forwarded", b"x-forwarded-for", b"x-real-ip"})
PROXIED_WITHOUT_TOKEN = (
    "this request came through a proxy: send `Authorization: Bearer <token>` "
    "(and start the server with --require-token behind a proxy)"
)


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

    def __init__(self, app: ASGIApp, tokens: TokenStore, *, required: bool) -> None:
        self.app = app
        self.tokens = tokens
        self.required = required

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan (and anything else) is not a client request
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", [])
        values = [v for k, v in headers if k.lower() == b"authorization"]
        if not values:
            if self.required:
                await _deny(send, None, "this server requires `Authorization: Bearer <token>`")
            elif any(k.lower() in _PROXY_HEADERS for k, _ in headers):
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
            await self.app(scope, receive, send)
        finally:
            auth_context_var.reset(reset)


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
