"""`mcp-memory install CLIENT` gives the client a token, and Claude Code rules to ask first.

The token is what proves the client's name to the server (issue 16); these tests check the
file gets one that authenticates as the client's agent, that re-running does not pile up
tokens, that a dry run creates none, and that a failed write leaves no credential behind.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mcp_memory import TokenStore, audit, install
from mcp_memory.cli import app
from mcp_memory.client_token import PENDING_TOKEN, TOKEN_ENV

from .conftest import DbTarget

runner = CliRunner()


@pytest.fixture
def db(db_target: DbTarget, monkeypatch: pytest.MonkeyPatch) -> str | Path:
    target = db_target("tokens")
    monkeypatch.setenv("MCP_MEMORY_DB", str(target))
    return target


@pytest.fixture(autouse=True)
def _home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_CONFIG_HOME", "CODEX_HOME", "APPDATA"):
        monkeypatch.delenv(var, raising=False)
    project = tmp_path / "proj"
    project.mkdir()
    monkeypatch.chdir(project)
    return home


def run(*args: str) -> Any:
    return runner.invoke(app, ["install", *args])


def entry_of(client: str, scope: str | None = None) -> dict[str, Any]:
    c = install.client(client)
    path = install.config_path(c, scope or c.default_scope, Path.cwd())  # type: ignore[arg-type]
    return install.parse(path.read_text(), c.fmt)[c.section][install.SERVER_NAME]


def tokens_of(db: str | Path, agent: str) -> list[Any]:
    store = TokenStore.open(db)
    try:
        return store.list_tokens(agent=agent)
    finally:
        store.close()


def authenticates_as(db: str | Path, secret: str) -> str:
    store = TokenStore.open(db)
    try:
        return store.authenticate(secret).agent
    finally:
        store.close()


@pytest.mark.parametrize("client", list(install.CLIENTS))
def test_install_writes_a_token_that_proves_the_clients_name(db: str | Path, client: str) -> None:
    out = run(client)
    assert out.exit_code == 0, out.output
    secret = entry_of(client)["env"][TOKEN_ENV]
    assert authenticates_as(db, secret) == client
    assert secret not in out.stdout  # the secret goes to the file, not the terminal


def test_installing_again_keeps_the_working_token_and_creates_no_other(db: str | Path) -> None:
    assert run("cursor").exit_code == 0
    first = entry_of("cursor")["env"][TOKEN_ENV]
    again = run("cursor")
    assert again.exit_code == 0 and "nothing changed" in again.stdout
    assert entry_of("cursor")["env"][TOKEN_ENV] == first
    assert [t.active for t in tokens_of(db, "cursor")] == [True]


def test_a_dry_run_creates_no_token_and_no_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = tmp_path / "fresh.db"
    monkeypatch.setenv("MCP_MEMORY_DB", str(fresh))
    out = run("codex", "--dry-run")
    assert out.exit_code == 0, out.output
    assert PENDING_TOKEN in out.stdout and not fresh.exists()


def test_a_dry_run_after_install_shows_the_kept_token_and_creates_none(db: str | Path) -> None:
    assert run("windsurf").exit_code == 0
    out = run("windsurf", "--dry-run")
    assert "already up to date" in out.stderr and PENDING_TOKEN not in out.stdout
    assert len(tokens_of(db, "windsurf")) == 1


def test_after_a_revoke_install_issues_a_new_token_in_place(db: str | Path) -> None:
    assert run("zed").exit_code == 0
    old = entry_of("zed")["env"][TOKEN_ENV]
    revoked = runner.invoke(app, ["agents", "token", "revoke", "--agent", "zed", "--yes"])
    assert revoked.exit_code == 0, revoked.output
    assert run("zed").exit_code == 0
    new = entry_of("zed")["env"][TOKEN_ENV]
    assert new != old and authenticates_as(db, new) == "zed"
    assert [t.active for t in tokens_of(db, "zed")] == [False, True]


def test_a_replaced_install_token_is_revoked_but_other_tokens_of_the_agent_are_not(
    db: str | Path,
) -> None:
    by_hand = runner.invoke(app, ["agents", "token", "create", "cursor", "--yes"])
    assert by_hand.exit_code == 0
    assert run("cursor").exit_code == 0
    path = Path.cwd() / ".cursor" / "mcp.json"
    path.write_text(path.read_text().replace(entry_of("cursor")["env"][TOKEN_ENV], "edited"))
    out = run("cursor")
    assert out.exit_code == 0 and "revoked token 2" in out.stderr
    assert [(t.id, t.active) for t in tokens_of(db, "cursor")] == [(1, True), (2, False), (3, True)]


def test_user_and_project_configs_each_keep_their_own_token(db: str | Path) -> None:
    assert run("claude-code").exit_code == 0
    assert run("claude-code", "--scope", "user").exit_code == 0
    project, user = entry_of("claude-code"), entry_of("claude-code", "user")
    assert project["env"][TOKEN_ENV] != user["env"][TOKEN_ENV]
    assert [t.active for t in tokens_of(db, "claude-code")] == [True, True]


def test_a_failed_write_takes_back_the_token_it_created(
    db: str | Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(_plan: object) -> None:
        raise PermissionError("read-only file system")

    monkeypatch.setattr(install, "apply", refuse)
    out = run("cursor")
    assert out.exit_code == 1 and "read-only" in out.stderr
    assert [t.active for t in tokens_of(db, "cursor")] == [False]


def test_the_token_install_creates_is_audited_with_whether_a_person_ran_it(
    db: str | Path,
) -> None:
    assert run("vscode").exit_code == 0
    store = TokenStore.open(db)
    try:
        (entry,) = audit.entries(store.conn, action="token_create")
    finally:
        store.close()
    assert entry.data["agent"] == "vscode" and entry.data["interactive"] is False


def test_a_project_config_with_a_token_warns_to_keep_it_out_of_git(db: str | Path) -> None:
    out = run("cursor")
    assert "version control" in out.stderr
    assert (Path.cwd() / ".cursor" / "mcp.json").stat().st_mode & 0o077 == 0


# ---- Claude Code asks before the human's commands -------------------------------------------


def _settings(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


@pytest.mark.usefixtures("db")
def test_install_claude_code_makes_its_agent_ask_before_the_humans_commands() -> None:
    assert run("claude-code").exit_code == 0
    ask = _settings(Path.cwd() / ".claude" / "settings.json")["permissions"]["ask"]
    for command in ("quarantine approve", "quarantine reject", "agents trust", "agents distrust"):
        assert f"Bash(mcp-memory {command}:*)" in ask
    for command in ("agents token create", "agents token revoke", "erase", "import"):
        assert f"Bash(mcp-memory {command}:*)" in ask


@pytest.mark.usefixtures("db")
def test_the_permission_rules_merge_into_existing_settings_once(_home: Path) -> None:
    path = _home / ".claude" / "settings.json"
    path.parent.mkdir()
    mine = {
        "model": "opus",
        "permissions": {"allow": ["Bash(npm test)"], "ask": ["Bash(git push:*)"]},
    }
    path.write_text(json.dumps(mine, indent=2))
    assert run("claude-code", "--scope", "user").exit_code == 0
    assert run("claude-code", "--scope", "user").exit_code == 0
    after = _settings(path)
    assert after["model"] == "opus" and after["permissions"]["allow"] == ["Bash(npm test)"]
    ask = after["permissions"]["ask"]
    assert ask[0] == "Bash(git push:*)" and len(ask) == len(set(ask)) == 1 + len(install.ASK_RULES)


@pytest.mark.usefixtures("db")
def test_a_settings_file_with_a_broken_permissions_list_is_refused_before_any_token() -> None:
    path = Path.cwd() / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text('{"permissions": {"ask": "Bash(*)"}}')
    out = run("claude-code")
    assert out.exit_code == 1 and "permissions.ask" in out.stderr
    assert not (Path.cwd() / ".mcp.json").exists()


@pytest.mark.usefixtures("db")
def test_clients_without_a_permission_system_get_no_settings_file() -> None:
    assert run("cursor").exit_code == 0
    assert not (Path.cwd() / ".claude").exists()


REPO = Path(__file__).resolve().parent.parent


def test_the_claude_code_readme_shows_exactly_the_rules_install_writes() -> None:
    text = (REPO / "integrations/claude-code/README.md").read_text()
    block = text.split("```json\n", 1)[1].split("```", 1)[0]
    assert json.loads(block)["permissions"]["ask"] == list(install.ASK_RULES)


@pytest.mark.parametrize("client", list(install.CLIENTS))
def test_every_client_readme_says_how_to_make_the_agent_ask_first(client: str) -> None:
    text = (REPO / "integrations" / client / "README.md").read_text()
    assert "## Ask before the human's commands" in text and "MCP_MEMORY_TOKEN" in text


# ---- HTTP entries (`install --url`) -----------------------------------------------------------

URL = "https://memory.example.com/mcp"
HTTP_CLIENTS = [name for name, c in install.CLIENTS.items() if c.http is not None]


@pytest.mark.parametrize("client", HTTP_CLIENTS)
def test_an_http_entry_carries_the_token_in_its_authorization_header(
    db: str | Path, client: str
) -> None:
    out = run(client, "--url", URL)
    assert out.exit_code == 0, out.output
    c, entry = install.client(client), entry_of(client)
    assert entry[c.url_key] == URL and "command" not in entry and "env" not in entry
    scheme, secret = entry[c.headers_key]["Authorization"].split(" ")
    assert scheme == "Bearer" and authenticates_as(db, secret) == client
    assert run(client, "--url", URL).exit_code == 0  # again: the same token, no second one
    assert len(tokens_of(db, client)) == 1


def test_codex_gets_http_headers_which_it_reads_not_headers(db: str | Path) -> None:
    assert run("codex", "--url", URL).exit_code == 0
    entry = entry_of("codex")
    assert set(entry) == {"url", "http_headers"}


@pytest.mark.parametrize(
    "url", ["http://memory.example.com/mcp", "ftp://localhost/mcp", "memory.example.com"]
)
def test_a_url_that_would_leak_the_token_is_refused_before_any_token(
    db: str | Path, url: str
) -> None:
    out = run("cursor", "--url", url)
    assert out.exit_code == 1 and "--url" in out.stderr
    assert tokens_of(db, "cursor") == [] and not (Path.cwd() / ".cursor").exists()


def test_plain_http_to_this_machine_is_allowed(db: str | Path) -> None:
    assert run("cursor", "--url", "http://127.0.0.1:8765/mcp").exit_code == 0


def test_claude_desktop_refuses_an_http_entry_and_makes_no_token(db: str | Path) -> None:
    out = run("claude-desktop", "--url", URL)
    assert out.exit_code == 1 and "without --url" in out.stderr
    assert tokens_of(db, "claude-desktop") == []
