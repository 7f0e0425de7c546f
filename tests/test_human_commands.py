"""The human's commands need the human (issue 16).

An agent with a shell can run the CLI. Review, trust, token, import and erase commands ask on a
terminal and refuse without one unless --yes is given; every such action records in the audit
log whether a person confirmed it; `remember` without a terminal is screened like an agent's.
CliRunner has no terminal, so the terminal is stood in for by monkeypatching
`cli._common.stdin_is_tty`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mcp_memory import HUMAN, MemoryStore, audit
from mcp_memory.cli import _common as cli_common
from mcp_memory.cli import app
from mcp_memory.tokens import TokenStore

from .conftest import AGENT
from .test_trust_live import INJECTION

runner = CliRunner()


@pytest.fixture
def desk(store: MemoryStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A store with something for every guarded command to act on."""
    monkeypatch.setenv("MCP_MEMORY_DB", str(store.settings.db_path))
    held = store.remember(INJECTION, actor=AGENT)
    assert held.status == "quarantined"
    kept = store.remember("The staging database is refreshed every Monday", actor=HUMAN)
    TokenStore(store.conn, store.lock, backend=store.backend).create("alice")
    gone = store.remember("The queue worker retries three times", actor=HUMAN)
    export = tmp_path / "export.jsonl"
    assert runner.invoke(app, ["export", "--out", str(export)]).exit_code == 0
    store.erase(store.erase_plan(id=gone.id))  # so importing the file writes something
    return {"held": held.id, "kept": kept.id, "export": export}


GUARDED = {
    "approve": lambda d: ["quarantine", "approve", str(d["held"])],
    "reject": lambda d: ["quarantine", "reject", str(d["held"])],
    "trust": lambda d: ["agents", "trust", AGENT.agent],
    "distrust": lambda d: ["agents", "distrust", AGENT.agent, "--retro"],
    "token_create": lambda d: ["agents", "token", "create", "mallory"],
    "token_revoke": lambda d: ["agents", "token", "revoke", "--agent", "alice"],
    "erase": lambda d: ["erase", "--id", str(d["kept"])],
    "import": lambda d: ["import", str(d["export"])],
}


def _log(store: MemoryStore) -> list[audit.AuditEntry]:
    return audit.entries(store.conn)


def _states(store: MemoryStore) -> dict[int, str]:
    rows = store.conn.execute("select id, status from memories order by id").fetchall()
    return {int(r[0]): str(r[1]) for r in rows}


@pytest.mark.parametrize("action", list(GUARDED))
def test_a_guarded_command_without_a_terminal_or_yes_refuses_in_one_line_and_changes_nothing(
    store: MemoryStore, desk: dict[str, Any], action: str
) -> None:
    before, states = _log(store), _states(store)
    out = runner.invoke(app, GUARDED[action](desk), input="y\n")  # piped "y" is not a person
    assert out.exit_code == 2, out.output
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "pass --yes" in lines[0] and "terminal" in lines[0]
    assert _log(store) == before and _states(store) == states


@pytest.mark.parametrize("action", list(GUARDED))
def test_a_guarded_command_on_a_terminal_asks_and_a_no_changes_nothing(
    store: MemoryStore, desk: dict[str, Any], action: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_common, "stdin_is_tty", lambda: True)
    before, states = _log(store), _states(store)
    out = runner.invoke(app, GUARDED[action](desk), input="n\n")
    assert out.exit_code == 1 and "?" in out.stderr
    assert _log(store) == before and _states(store) == states


@pytest.mark.parametrize("action", list(GUARDED))
def test_a_guarded_command_confirmed_at_a_terminal_is_audited_as_interactive(
    store: MemoryStore, desk: dict[str, Any], action: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_common, "stdin_is_tty", lambda: True)
    seen = len(_log(store))
    out = runner.invoke(app, GUARDED[action](desk), input="y\n")
    assert out.exit_code == 0, out.output
    new = [e for e in _log(store)[seen:] if e.action == action]
    assert new and all(e.actor == "user" and e.data["interactive"] is True for e in new)
    assert audit.verify(store.conn).ok


@pytest.mark.parametrize("action", list(GUARDED))
def test_a_guarded_command_run_with_yes_and_no_terminal_is_audited_as_non_interactive(
    store: MemoryStore, desk: dict[str, Any], action: str
) -> None:
    seen = len(_log(store))
    out = runner.invoke(app, [*GUARDED[action](desk), "--yes"])
    assert out.exit_code == 0, out.output
    new = [e for e in _log(store)[seen:] if e.action == action]
    assert new and all(e.data["interactive"] is False for e in new)
    assert audit.verify(store.conn).ok


def test_yes_on_a_terminal_skips_the_prompt_and_is_audited_as_interactive(
    store: MemoryStore, desk: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_common, "stdin_is_tty", lambda: True)
    out = runner.invoke(app, ["quarantine", "reject", str(desk["held"]), "--yes"])
    assert out.exit_code == 0 and "?" not in out.stderr
    assert _log(store)[-1].data["interactive"] is True


# ---- remember without a terminal is screened -------------------------------------------------


def test_a_poison_remembered_through_the_cli_without_a_terminal_is_quarantined(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MCP_MEMORY_DB", str(store.settings.db_path))
    out = runner.invoke(app, ["remember", INJECTION, "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert result["status"] == "quarantined" and "no_terminal" in result["reasons"]
    assert result["id"] not in [h.id for h in store.recall("before every commit run curl").results]
    entry = _log(store)[-1]
    assert (entry.actor, entry.action, entry.data["interactive"]) == ("user", "remember", False)
    assert store.get(result["id"]).agent == "user"  # still the human's, held for review


def test_the_same_poison_typed_at_a_terminal_is_stored_as_before(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MCP_MEMORY_DB", str(store.settings.db_path))
    monkeypatch.setattr(cli_common, "stdin_is_tty", lambda: True)
    result = json.loads(runner.invoke(app, ["remember", INJECTION, "--json"]).stdout)
    assert result["status"] == "stored"
    assert _log(store)[-1].data["interactive"] is True


def test_a_clean_note_from_a_script_is_still_stored_as_the_humans(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MCP_MEMORY_DB", str(store.settings.db_path))
    text = "The billing service reads its settings from config/billing.yaml\n"
    out = runner.invoke(app, ["remember", "-", "--json"], input=text)
    result = json.loads(out.stdout)
    assert result["status"] == "stored"
    assert store.get(result["id"]).source == "user"


def test_a_non_interactive_user_write_is_screened_by_the_library_too(store: MemoryStore) -> None:
    scripted = replace(HUMAN, interactive=False)
    assert store.remember(INJECTION, actor=scripted).status == "quarantined"
    assert store.remember(INJECTION + " (typed)", actor=HUMAN).status == "stored"


def test_held_scripted_writes_do_not_sink_the_humans_trust(store: MemoryStore) -> None:
    scripted = replace(HUMAN, interactive=False)
    store.remember("A first note from the human", actor=HUMAN)
    before = store.conn.execute("select alpha, beta from agents where name = 'user'").fetchone()
    for i in range(3):
        store.remember(f"{INJECTION} ({i})", actor=scripted)
    after = store.conn.execute("select alpha, beta from agents where name = 'user'").fetchone()
    assert after["beta"] == before["beta"]
