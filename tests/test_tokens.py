"""Bearer tokens as the human handles them: issued once, stored as a hash, listed, revoked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mcp_memory import InvalidInput, InvalidToken, NotFound, Settings, TokenStore, audit, tokens
from mcp_memory.cli import app
from mcp_memory.server.auth import SCOPE_KEY, BearerTokenMiddleware
from tests.backend_helpers import target_bytes

from .conftest import DbTarget, run_in_processes

runner = CliRunner()


def run(*args: str) -> Any:
    return runner.invoke(app, list(args))


def tok(db: Path, *args: str) -> Any:
    """`mcp-memory agents token ARGS --db DB`, confirmed with --yes where the command asks."""
    yes = ("--yes",) if args and args[0] in ("create", "revoke") else ()
    return run("agents", "token", *args, *yes, "--db", str(db))


@pytest.fixture
def db(db_target: DbTarget) -> str | Path:
    return db_target("tokens")


@pytest.fixture
def store(db: Path) -> Iterator[TokenStore]:
    s = TokenStore.open(db)
    yield s
    s.close()


def _file_bytes(db: Path) -> bytes:
    """Everywhere the database may have put a byte (SQLite files, or PostgreSQL's)."""
    return target_bytes(db)


# ---- issuing ----------------------------------------------------------------------------


def test_a_new_token_is_printed_once_and_only_its_hash_is_stored(db: Path) -> None:
    created = tok(db, "create", "alice", "--note", "laptop")
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert secret.startswith("mcpm_") and len(secret) >= 45 and "\n" not in secret
    stored = _file_bytes(db)
    assert secret.encode() not in stored
    assert secret[len("mcpm_") + 8 :].encode() not in stored  # not even the part after the prefix
    assert tokens.token_hash(secret).encode() in stored
    listed = run("agents", "token", "list", "--db", str(db)).stdout
    shown = run("agents", "token", "list", "--json", "--db", str(db)).stdout
    for output in (listed, shown):
        assert secret not in output and tokens.token_hash(secret) not in output
    [row] = json.loads(shown)
    assert row["agent"] == "alice" and row["note"] == "laptop" and row["active"] is True
    assert row["prefix"] == secret[:13] and row["last_used_at"] is None
    assert "token" not in row and not any("hash" in key for key in row)


def test_create_json_gives_the_token_once_with_its_id_and_prefix(db: Path) -> None:
    out = json.loads(tok(db, "create", "bob", "--json").stdout)
    assert out["token"].startswith(out["prefix"]) and out["id"] == 1 and out["agent"] == "bob"
    again = json.loads(run("agents", "token", "list", "--json", "--db", str(db)).stdout)
    assert again[0]["id"] == 1 and "token" not in again[0]


def test_tokens_are_random_distinct_and_url_safe(store: TokenStore) -> None:
    secrets_ = [store.create(f"agent-{i}").secret for i in range(40)]
    assert len(set(secrets_)) == 40 and len({s[:13] for s in secrets_}) == 40
    for s in secrets_:
        assert tokens.check_secret(s) == s and len(s) == len("mcpm_") + 43


def test_creating_and_revoking_are_audited_as_the_human_without_the_secret(
    store: TokenStore,
) -> None:
    new = store.create("carol")
    store.revoke(str(new.info.id))
    made, revoked = audit.entries(store.conn)
    assert (made.actor, made.action, revoked.action) == ("user", "token_create", "token_revoke")
    assert made.data == {
        "token_id": new.info.id,
        "agent": "carol",
        "prefix": new.info.prefix,
        "interactive": True,
    }
    assert revoked.data["token_id"] == new.info.id and revoked.actor == "user"
    log = json.dumps([e.to_dict() for e in audit.entries(store.conn)])
    assert new.secret not in log and tokens.token_hash(new.secret) not in log
    assert audit.verify(store.conn).ok


@pytest.mark.parametrize(
    "name",
    ["", "   ", "x" * 129, "a\x00b", "two\nlines", "tab\tbed", "rtl\u202eoverride", " padded"],
)
def test_bad_agent_names_are_refused_and_nothing_is_written(db: Path, name: str) -> None:
    r = run("agents", "token", "create", "--yes", name, "--db", str(db))
    assert r.exit_code == 2, r.output
    assert "agent name" in r.output and "mcpm_" not in r.output
    s = TokenStore.open(db)
    assert s.list_tokens() == [] and audit.entries(s.conn) == []
    s.close()


def test_an_oversized_or_invisible_note_is_refused(db: Path) -> None:
    assert tok(db, "create", "a", "--note", "n" * 501).exit_code == 2
    assert tok(db, "create", "a", "--note", "x\u200by").exit_code == 2
    assert tok(db, "list", "--json").stdout.strip() == "[]"


def test_a_token_for_user_is_allowed_but_flagged_as_not_the_human(db: Path) -> None:
    r = run("agents", "token", "create", "--yes", "user", "--db", str(db))
    assert r.exit_code == 0 and "mcp:user" in r.stderr


# ---- revoking ---------------------------------------------------------------------------


def test_revoke_accepts_an_id_a_prefix_or_the_full_token_and_is_idempotent(
    store: TokenStore,
) -> None:
    a, b, c = (store.create(n) for n in ("a", "b", "c"))
    assert store.revoke(str(a.info.id)) == (store.find(str(a.info.id)), True)
    assert store.revoke(b.info.prefix[:9])[0].id == b.info.id
    assert store.revoke(c.secret)[0].id == c.info.id
    info, changed = store.revoke(f"#{a.info.id}")
    assert info.revoked_at is not None and changed is False
    assert [e.action for e in audit.entries(store.conn)].count("token_revoke") == 3


def test_revoking_by_agent_revokes_only_that_agents_active_tokens(db: Path) -> None:
    for name in ("dev", "dev", "ops"):
        run("agents", "token", "create", "--yes", name, "--db", str(db))
    out = json.loads(tok(db, "revoke", "--agent", "dev", "--json").stdout)
    assert [r["id"] for r in out] == [1, 2] and all(r["changed"] for r in out)
    rows = json.loads(run("agents", "token", "list", "--active", "--json", "--db", str(db)).stdout)
    assert [r["agent"] for r in rows] == ["ops"]
    again = run("agents", "token", "revoke", "--yes", "--agent", "dev", "--db", str(db))
    assert again.exit_code == 0 and "no active tokens" in again.stdout


@pytest.mark.parametrize(
    ("ref", "code"),
    [
        ("", 2),
        ("mcpm_", 2),  # too short to be a prefix
        ("mcpm_a", 2),
        ("mcpm_\x00abcd", 2),
        ("x" * 10_000, 2),
        ("alice", 2),  # a name is not a token reference (use --agent)
        ("999", 1),
        ("mcpm_zzzzzzzz", 1),
        ("mcpm_" + "z" * 43, 1),
    ],
)
def test_bad_revoke_references_give_clear_errors(db: Path, ref: str, code: int) -> None:
    run("agents", "token", "create", "--yes", "alice", "--db", str(db))
    r = run("agents", "token", "revoke", "--yes", ref, "--db", str(db))
    assert r.exit_code == code, r.output
    assert r.stderr.startswith("Error: ") and len(r.stderr) < 300
    assert json.loads(run("agents", "token", "list", "--json", "--db", str(db)).stdout)[0]["active"]


def test_revoke_needs_exactly_one_of_a_reference_or_agent(db: Path) -> None:
    assert run("agents", "token", "revoke", "--db", str(db)).exit_code == 2
    assert run("agents", "token", "revoke", "1", "--agent", "a", "--db", str(db)).exit_code == 2


def test_an_ambiguous_prefix_is_refused_with_the_candidate_ids(
    store: TokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed = iter(["mcpm_SAMEPREFaaaa" + "a" * 30, "mcpm_SAMEPREFbbbb" + "b" * 30])
    monkeypatch.setattr(tokens, "generate_secret", lambda: next(fixed))
    store.create("one")
    store.create("two")
    with pytest.raises(InvalidInput, match="ids 1, 2"):
        store.revoke("mcpm_SAMEPREF")
    assert store.active_count() == 2


# ---- authenticating ---------------------------------------------------------------------


def test_authentication_reads_the_database_each_time_so_another_process_can_revoke(
    db: Path,
) -> None:
    server_side, cli_side = TokenStore.open(db), TokenStore.open(db)
    new = cli_side.create("alice")
    assert server_side.authenticate(new.secret).agent == "alice"
    cli_side.revoke(new.info.prefix)
    with pytest.raises(InvalidToken, match="revoked"):
        server_side.authenticate(new.secret)
    server_side.close()
    cli_side.close()


def test_unknown_and_malformed_tokens_are_refused_with_a_reason(store: TokenStore) -> None:
    real = store.create("alice").secret
    cases = {
        "": "invalid_request",
        "mcpm_" + "A" * 43: "invalid_token",
        real + "x": "invalid_token",
        real[:-1]: "invalid_token",
        "ghp_" + "A" * 36: "invalid_token",
        real[:20] + "\x00" + real[21:]: "invalid_request",
        real + " ": "invalid_request",
        "m" * 300: "invalid_request",
    }
    for value, code in cases.items():
        with pytest.raises(InvalidToken) as caught:
            store.authenticate(value)
        assert caught.value.code == code, value


def test_last_used_is_recorded_at_most_once_a_minute(store: TokenStore) -> None:
    new = store.create("alice")
    store.authenticate(new.secret, now=1_000.0)
    store.authenticate(new.secret, now=1_030.0)
    assert store.find("1").last_used_at == 1_000.0
    store.authenticate(new.secret, now=1_061.0)
    assert store.find("1").last_used_at == 1_061.0


@pytest.mark.parametrize(
    ("header", "result"),
    [
        (None, None),
        ("Bearer mcpm_abc", "mcpm_abc"),
        ("bearer   mcpm_abc", "mcpm_abc"),
        ("BEARER mcpm_abc  ", "mcpm_abc"),
        (b"Bearer mcpm_abc", "mcpm_abc"),
        ("", "invalid_request"),
        ("Bearer", "invalid_request"),
        ("Bearer ", "invalid_request"),
        ("Basic dXNlcjpwYXNz", "invalid_request"),
        ("Token mcpm_abc", "invalid_request"),
        ("Bearer mcpm_a b", "invalid_request"),
        ("Bearer mcpm_a\x00b", "invalid_request"),
        (b"Bearer mcpm_\xff\xfe", "invalid_request"),
        ("Bearer abc", "invalid_token"),
    ],
)
def test_the_authorization_header_must_be_exactly_bearer_and_a_token(
    header: str | bytes | None, result: str | None
) -> None:
    if result is None or result.startswith("mcpm_"):
        assert tokens.parse_authorization(header) == result
        return
    with pytest.raises(InvalidToken) as caught:
        tokens.parse_authorization(header)
    assert caught.value.code == result


def test_require_token_comes_from_the_environment_and_fails_closed() -> None:
    def flag(value: str) -> bool:
        return Settings.from_env({"MCP_MEMORY_REQUIRE_TOKEN": value}).require_token

    assert Settings.from_env({}).require_token is False
    assert flag("1") and flag("true") and flag("YES") and flag("on") and flag("please")
    assert not flag("0") and not flag("false") and not flag("no") and not flag("off")
    assert not flag("")


# ---- the middleware, driven as raw ASGI (bytes no HTTP client would send) -----------------


async def _asgi(
    store: TokenStore, headers: list[tuple[bytes, bytes]], *, required: bool
) -> tuple[int, dict[bytes, bytes], dict[str, Any], list[dict[str, Any]]]:
    reached: list[dict[str, Any]] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    scope = {"type": "http", "method": "POST", "path": "/mcp", "headers": headers}
    await BearerTokenMiddleware(inner, store, required=required)(scope, receive, send)
    start, body = sent
    body_json = json.loads(body["body"]) if start["status"] != 200 else {}
    return start["status"], dict(start["headers"]), body_json, reached


@pytest.mark.anyio
@pytest.mark.parametrize(
    "headers",
    [
        [],
        [(b"authorization", b"")],
        [(b"authorization", b"Bearer")],
        [(b"authorization", b"Bearer ")],
        [(b"authorization", b"Bearer mcpm_\x00abc")],
        [(b"authorization", b"Bearer " + b"A" * 100_000)],
        [(b"authorization", b"Basic YWxpY2U6cHc=")],
        [(b"authorization", b"Bearer mcpm_" + b"Z" * 43)],
    ],
)
async def test_refused_requests_get_401_with_a_bearer_challenge_and_never_reach_the_app(
    store: TokenStore, headers: list[tuple[bytes, bytes]]
) -> None:
    status, sent_headers, body, reached = await _asgi(store, headers, required=True)
    assert status == 401 and reached == []
    assert sent_headers[b"www-authenticate"].startswith(b'Bearer realm="mcp-memory"')
    assert sent_headers[b"content-type"] == b"application/json"
    assert body["error"] in ("invalid_request", "invalid_token") and body["error_description"]
    assert len(json.dumps(body)) < 300  # a 100 KB header is not echoed back


@pytest.mark.anyio
async def test_two_authorization_headers_are_refused_even_if_one_is_valid(
    store: TokenStore,
) -> None:
    good = store.create("alice").secret.encode()
    headers = [(b"authorization", b"Bearer " + good), (b"authorization", b"Bearer mcpm_x")]
    status, _, body, reached = await _asgi(store, headers, required=False)
    assert status == 401 and reached == [] and "several" in body["error_description"]


@pytest.mark.anyio
async def test_a_valid_token_reaches_the_app_with_its_identity_attached(
    store: TokenStore,
) -> None:
    new = store.create("alice")
    headers = [(b"authorization", b"Bearer " + new.secret.encode())]
    status, _, _, [scope] = await _asgi(store, headers, required=True)
    assert status == 200 and scope[SCOPE_KEY].agent == "alice"
    assert scope["user"].access_token.subject == "alice"
    assert new.secret not in repr(scope["user"].access_token)


@pytest.mark.anyio
async def test_optional_mode_passes_tokenless_requests_but_not_bad_tokens(
    store: TokenStore,
) -> None:
    status, _, _, [scope] = await _asgi(store, [], required=False)
    assert status == 200 and SCOPE_KEY not in scope and "user" not in scope
    bad = [(b"authorization", b"Bearer mcpm_" + b"Q" * 43)]
    status, _, _, reached = await _asgi(store, bad, required=False)
    assert status == 401 and reached == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    "relay",
    [
        b"x-forwarded-for",
        b"X-Forwarded-For",
        b"forwarded",
        b"x-real-ip",
        b"via",
        b"Via",
        b"x-forwarded-host",
        b"x-forwarded-proto",
        b"x-forwarded-port",
        b"x-forwarded-server",
        b"x-forwarded-prefix",
        b"true-client-ip",
    ],
)
async def test_optional_mode_refuses_tokenless_requests_relayed_by_a_proxy(
    store: TokenStore, relay: bytes
) -> None:
    status, _, body, reached = await _asgi(store, [(relay, b"203.0.113.9")], required=False)
    assert status == 401 and reached == [] and "proxy" in body["error_description"]
    good = store.create("alice").secret.encode()
    headers = [(relay, b"203.0.113.9"), (b"authorization", b"Bearer " + good)]
    status, _, _, [scope] = await _asgi(store, headers, required=False)
    assert status == 200 and scope[SCOPE_KEY].agent == "alice"


@pytest.mark.sqlite_only
def test_a_locked_database_never_makes_authentication_wait_or_retry(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server_side, other = TokenStore.open(db), TokenStore.open(db)
    new = other.create("alice")

    def no_waiting(seconds: float) -> None:
        raise AssertionError(f"authentication slept {seconds} s waiting for the write lock")

    monkeypatch.setattr("mcp_memory.storage.sqlite.connection.time.sleep", no_waiting)
    other.conn.execute("begin immediate")  # someone else's long write holds the lock
    try:
        for _ in range(3):
            assert server_side.authenticate(new.secret).agent == "alice"
        assert server_side.conn.execute("pragma busy_timeout").fetchone()[0] >= 5000
    finally:
        other.conn.execute("rollback")
    server_side.close()
    other.close()


def test_agent_filters_match_names_in_any_unicode_normal_form(store: TokenStore) -> None:
    composed, decomposed = "zo\u00e9", "zoe\u0301"
    store.create(decomposed)
    assert [t.agent for t in store.list_tokens(agent=decomposed)] == [composed]
    assert [t.agent for t in store.revoke_agent(decomposed)] == [composed]
    assert store.list_tokens(agent=composed, active_only=True) == []


# ---- several processes at once ----------------------------------------------------------

CREATORS = 4
EACH = 10


def _creator(db: str, n: int, out: Any) -> None:
    from mcp_memory import TokenStore

    store = TokenStore.open(db)
    made, errors = [], []
    for i in range(EACH):
        try:
            made.append(store.create(f"proc-{n}-{i}").secret)
        except Exception as exc:  # the test reports every failure
            errors.append(repr(exc))
    store.close()
    out.put((made, errors))


def test_tokens_created_from_several_processes_at_once_are_all_kept_and_audited(
    db: Path,
) -> None:
    TokenStore.open(db).close()
    reports = run_in_processes(_creator, [(str(db), n) for n in range(CREATORS)])
    assert all(not errors for _, errors in reports), reports
    secrets_ = [s for made, _ in reports for s in made]
    store = TokenStore.open(db)
    rows = store.list_tokens()
    assert len(rows) == len(set(secrets_)) == CREATORS * EACH
    assert [r.id for r in rows] == list(range(1, CREATORS * EACH + 1))
    assert all(store.authenticate(s).active for s in secrets_)
    assert audit.verify(store.conn).ok
    assert len(audit.entries(store.conn, action="token_create")) == CREATORS * EACH
    with pytest.raises(NotFound):
        store.find(str(CREATORS * EACH + 1))
    store.close()


def test_require_token_on_stdio_is_a_usage_error() -> None:
    r = run("serve", "--transport", "stdio", "--require-token")
    assert r.exit_code == 2 and "--require-token" in r.output


def test_doctor_counts_active_tokens(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MCP_MEMORY_MODEL_DIR", str(tmp_path / "no-model"))  # no model wait
    tok(db, "create", "a")
    tok(db, "create", "b")
    tok(db, "revoke", "1")
    report = json.loads(run("doctor", "--json", "--db", str(db)).stdout)
    assert report["http_tokens"] == 1
    assert {"m008_agent_tokens", "pg001_baseline"} & set(report["migrations"])


@pytest.mark.sqlite_only
def test_a_locked_database_does_not_fail_a_valid_token(db: Path) -> None:
    server_side, other = TokenStore.open(db), TokenStore.open(db)
    new = other.create("alice")
    other.conn.execute("begin immediate")  # someone else's long write holds the lock
    try:
        assert server_side.authenticate(new.secret).agent == "alice"
    finally:
        other.conn.execute("rollback")
    assert server_side.conn.execute("pragma busy_timeout").fetchone()[0] >= 5000
    assert other.find("1").last_used_at is None  # recorded next time, not waited for
    server_side.close()
    other.close()
