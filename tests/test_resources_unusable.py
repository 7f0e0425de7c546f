"""Resources and prompts on an unusable database (issue 18): like the tools, they answer
with an error naming the cause (not the SDK's bare "Error reading resource"), log one line
rather than a traceback, and work again once the file is fixed, without a restart."""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from mcp_memory import HUMAN, MemoryStore, Settings
from mcp_memory.server.app import create_server

pytestmark = pytest.mark.anyio
NOTE = "The release build runs make dist from the repository root"
READS = ["memory://recent", "memory://recent.json", "memory://1"]


def good_database(path: Path) -> Path:
    store = MemoryStore.open(settings=Settings(db_path=path, project="proj"), embedder=None)
    store.remember(NOTE, actor=HUMAN, project="proj")
    store.close()
    return path


def server_settings(db: Path) -> Settings:
    return replace(Settings.from_env(), db_path=db, project="proj")


async def test_resources_and_the_prompt_name_a_corrupt_database_and_recover(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = good_database(tmp_path / "good.db")
    db = tmp_path / "memory.db"
    db.write_bytes(os.urandom(16 * 1024))
    cause = f"the database {db} is unusable (file is not a database)"
    async with Client(create_server(server_settings(db))) as client:
        for uri in READS:
            with pytest.raises(MCPError, match="is unusable") as raised:
                await client.read_resource(uri)
            assert cause in raised.value.error.message, uri
        with pytest.raises(MCPError, match="is unusable") as raised:
            await client.get_prompt("prime_session", {})
        assert cause in raised.value.error.message
        assert "Traceback" not in caplog.text
        shutil.copyfile(good, db)  # the human restores a backup; no restart
        recent = await client.read_resource("memory://recent")
        assert NOTE in recent.contents[0].text
        one = await client.read_resource("memory://1")
        assert NOTE in one.contents[0].text
        primed = await client.get_prompt("prime_session", {})
        assert NOTE in primed.messages[0].content.text


async def test_resources_on_a_read_only_database_still_read(tmp_path: Path) -> None:
    db = good_database(tmp_path / "memory.db")
    settings = replace(server_settings(db), db_path=Path(f"file:{db}?mode=ro"))
    async with Client(create_server(settings)) as client:
        recent = await client.read_resource("memory://recent")
        assert NOTE in recent.contents[0].text


async def test_a_missing_memory_is_still_resource_not_found(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = good_database(tmp_path / "memory.db")
    with caplog.at_level(logging.WARNING):
        async with Client(create_server(server_settings(db))) as client:
            with pytest.raises(MCPError, match="42"):
                await client.read_resource("memory://42")
