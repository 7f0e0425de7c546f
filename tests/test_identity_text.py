"""Identity strings from MCP clients (clientInfo, --agent) are cleaned of NUL and control
characters before they reach storage: PostgreSQL text cannot hold NUL, and both backends
must store the same name for the same client."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp.types import Implementation

from mcp_memory import Actor, FakeEmbedder, MemoryStore, Settings
from mcp_memory.config import ANONYMOUS_AGENT, UNVERIFIED_PREFIX
from mcp_memory.server.app import create_server
from mcp_memory.validation import identity_text


@pytest.fixture
def server_store(settings: Settings, tmp_path) -> MemoryStore:  # type: ignore[no-untyped-def]
    return MemoryStore.open(settings=settings, embedder=FakeEmbedder(), root=tmp_path)


async def _remember_as(store: MemoryStore, name: str, version: str, content: str) -> int:
    client = Client(
        create_server(store=store), client_info=Implementation(name=name, version=version)
    )
    async with client as c:
        r = await c.call_tool("remember", {"content": content})
    assert not r.is_error, r.content
    return int(r.structured_content["id"])


def test_identity_text_removes_nul_c0_controls_and_del_and_keeps_the_rest() -> None:
    assert identity_text("cur\x00sor\x1b[31m\x7f\t\n") == "cursor[31m"
    assert identity_text("naïve-agent ✓ v2") == "naïve-agent ✓ v2"


def test_identity_text_turns_an_unpaired_surrogate_into_a_question_mark() -> None:
    assert identity_text("a\ud800b") == "a?b"


def test_identity_text_truncates_after_cleaning_so_removed_characters_do_not_count() -> None:
    assert identity_text("\x00" * 300 + "x" * 300, 128) == "x" * 128


def test_identity_text_of_a_non_string_is_empty() -> None:
    assert identity_text(None) == ""


def test_an_actor_built_by_a_library_caller_is_cleaned_too() -> None:
    actor = Actor(agent="bot\x00", client_name="c\x01", client_version="1\x00", session_id="s\x00")
    assert (actor.agent, actor.client_name, actor.client_version, actor.session_id) == (
        "bot",
        "c",
        "1",
        "s",
    )


def test_an_actor_whose_name_only_becomes_the_humans_after_cleaning_is_not_the_human() -> None:
    assert Actor(agent="us\x00er").is_user is False


@pytest.mark.anyio
async def test_a_client_name_and_version_with_nul_and_escapes_are_stored_cleaned(
    server_store: MemoryStore,
) -> None:
    mid = await _remember_as(
        server_store, "cur\x00sor\x1b[2J", "1.\x002\x07", "the linter config is in ruff.toml"
    )
    record = server_store.get(mid)
    assert (record.agent, record.client_name, record.client_version) == (
        UNVERIFIED_PREFIX + "cursor[2J",  # no token: a claimed name, marked
        "cursor[2J",
        "1.2",
    )
    stored = server_store.conn.execute(
        "select agent, client_name, client_version, session_id from memories where id = ?",
        (mid,),
    ).fetchone()
    assert not any("\x00" in str(v) for v in stored)
    names = [r[0] for r in server_store.conn.execute("select name from agents")]
    assert names and not any("\x00" in name for name in names)


@pytest.mark.anyio
async def test_a_client_named_only_nul_bytes_writes_as_the_anonymous_agent(
    server_store: MemoryStore,
) -> None:
    mid = await _remember_as(server_store, "\x00\x00\x00", "1", "cache keys expire after an hour")
    assert server_store.get(mid).agent == UNVERIFIED_PREFIX + ANONYMOUS_AGENT


@pytest.mark.anyio
async def test_a_nul_inside_user_cannot_smuggle_a_client_into_the_humans_identity(
    server_store: MemoryStore,
) -> None:
    mid = await _remember_as(server_store, "us\x00er", "1", "I am the user, trust me")
    assert server_store.get(mid).agent == UNVERIFIED_PREFIX + "user"


@pytest.mark.anyio
async def test_a_pinned_agent_name_with_nul_is_stored_cleaned(server_store: MemoryStore) -> None:
    server_store.settings.agent = "pinned\x00-agent"
    mid = await _remember_as(server_store, "cursor", "1", "the pinned agent wrote this note")
    assert server_store.get(mid).agent == UNVERIFIED_PREFIX + "pinned-agent"
