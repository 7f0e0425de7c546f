"""`mcp-memory install CLIENT`: each client's documented file, merged without harm."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mcp_memory import install
from mcp_memory.cli.setup import install_command

OTHER = {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"]}


@pytest.fixture(autouse=True)
def _home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in ("XDG_CONFIG_HOME", "CODEX_HOME", "APPDATA"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    return home


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command("install")(install_command)
    app.command("noop", hidden=True)(lambda: None)  # two commands: subcommand names are kept
    return app


def run(*args: str) -> object:
    return CliRunner().invoke(cli(), ["install", *args])


def path_of(client: str, scope: str | None = None) -> Path:
    c = install.client(client)
    return install.config_path(c, scope or c.default_scope, Path.cwd())  # type: ignore[arg-type]


def existing_config(client: str) -> str:
    """A realistic file the user already has: another server and unrelated settings."""
    c = install.client(client)
    if c.fmt == "toml":
        return (
            'model = "o4-mini"  # my default\n\n[mcp_servers.memory]\ncommand = "npx"\n'
            'args = ["-y", "@modelcontextprotocol/server-memory"]\n'
        )
    doc = {"theme": "dark", c.section: {"memory": OTHER}}
    return json.dumps(doc, indent=2) + "\n"


def servers(client: str, path: Path) -> dict[str, dict]:
    c = install.client(client)
    return install.parse(path.read_text(), c.fmt)[c.section]


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".*.bak"))


@pytest.mark.parametrize("client", list(install.CLIENTS))
def test_install_adds_our_server_next_to_the_ones_already_configured(client: str) -> None:
    path = path_of(client)
    path.parent.mkdir(parents=True, exist_ok=True)
    before = existing_config(client)
    path.write_text(before)

    result = run(client)

    assert result.exit_code == 0, result.output
    found = servers(client, path)
    assert found["memory"]["command"] == "npx"
    ours = found[install.SERVER_NAME]
    assert ours["env"]["MCP_MEMORY_AGENT"] == client
    assert Path(ours["command"]).is_absolute() and ours["args"][-1] == "serve"
    assert [b.read_text() for b in backups(path)] == [before]


@pytest.mark.parametrize("client", list(install.CLIENTS))
def test_installing_twice_changes_nothing_the_second_time(client: str) -> None:
    assert run(client).exit_code == 0
    path = path_of(client)
    first = path.read_text()

    again = run(client)

    assert again.exit_code == 0 and "nothing changed" in again.output
    assert path.read_text() == first
    assert backups(path) == []  # created fresh, then untouched: nothing to back up


def test_the_documented_locations_and_sections_are_used(_home: Path, tmp_path: Path) -> None:
    expected = {
        ("claude-code", "project"): (tmp_path / ".mcp.json", "mcpServers"),
        ("claude-code", "user"): (_home / ".claude.json", "mcpServers"),
        ("cursor", "project"): (tmp_path / ".cursor/mcp.json", "mcpServers"),
        ("cursor", "user"): (_home / ".cursor/mcp.json", "mcpServers"),
        ("vscode", "project"): (tmp_path / ".vscode/mcp.json", "servers"),
        ("codex", "user"): (_home / ".codex/config.toml", "mcp_servers"),
        ("windsurf", "user"): (_home / ".codeium/windsurf/mcp_config.json", "mcpServers"),
        ("zed", "user"): (_home / ".config/zed/settings.json", "context_servers"),
    }
    for (client, scope), (path, section) in expected.items():
        assert path_of(client, scope) == path
        assert install.client(client).section == section


def test_vscode_and_claude_code_entries_declare_the_stdio_transport() -> None:
    run("vscode")
    run("claude-code")
    assert servers("vscode", path_of("vscode"))[install.SERVER_NAME]["type"] == "stdio"
    assert servers("claude-code", path_of("claude-code"))[install.SERVER_NAME]["type"] == "stdio"


def test_user_scope_keeps_every_unrelated_key_of_claude_json(_home: Path) -> None:
    path = _home / ".claude.json"
    doc = {
        "numStartups": 41,
        "projects": {"/x": {"allowedTools": []}},
        "mcpServers": {"memory": OTHER},
    }
    path.write_text(json.dumps(doc, indent=2))

    assert run("claude-code", "--scope", "user").exit_code == 0

    after = json.loads(path.read_text())
    assert after["numStartups"] == 41 and after["projects"] == doc["projects"]
    assert set(after["mcpServers"]) == {"memory", install.SERVER_NAME}


@pytest.mark.parametrize(
    "client, text",
    [
        ("cursor", '{"mcpServers": {"memory": {"command": "npx",}}'),
        ("claude-code", '{"mcpServers": {"memory": {}}} trailing'),
        ("codex", '[mcp_servers.memory\ncommand = "npx"\n'),
        ("zed", '{"context_servers": {/* unterminated'),
    ],
)
def test_a_file_that_cannot_be_parsed_is_refused_and_left_untouched(client: str, text: str) -> None:
    path = path_of(client)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)

    result = run(client)

    assert result.exit_code == 1
    assert "not valid" in result.output and "nothing was changed" in result.output
    assert path.read_text() == text and backups(path) == []


def test_a_servers_section_that_is_not_an_object_is_refused() -> None:
    path = path_of("cursor")
    path.parent.mkdir(parents=True)
    path.write_text('{"mcpServers": ["memory"]}')

    result = run("cursor")

    assert result.exit_code == 1 and path.read_text() == '{"mcpServers": ["memory"]}'


def test_dry_run_prints_the_new_file_and_writes_nothing() -> None:
    path = path_of("cursor")
    path.parent.mkdir(parents=True)
    path.write_text(existing_config("cursor"))

    result = run("cursor", "--dry-run")

    assert result.exit_code == 0
    printed = json.loads(result.stdout)
    assert set(printed["mcpServers"]) == {"memory", install.SERVER_NAME}
    assert path.read_text() == existing_config("cursor") and backups(path) == []


def test_dry_run_on_a_missing_file_does_not_create_it() -> None:
    result = run("windsurf", "--dry-run")
    assert result.exit_code == 0 and not path_of("windsurf").exists()


def test_an_unknown_client_exits_2_and_lists_the_supported_ones() -> None:
    result = run("notepad")
    assert result.exit_code == 2
    assert all(name in result.output for name in install.CLIENTS)


def test_a_client_without_project_config_refuses_project_scope_and_defaults_to_user() -> None:
    refused = run("claude-desktop", "--scope", "project")
    assert refused.exit_code == 1 and "--scope user" in refused.output
    assert run("claude-desktop").exit_code == 0
    assert path_of("claude-desktop", "user").is_file()


def test_zed_settings_keep_their_comments_and_trailing_commas() -> None:
    path = path_of("zed")
    path.parent.mkdir(parents=True)
    text = (
        "// Zed settings\n//\n// For information on how to configure Zed, see the docs.\n{\n"
        '  "theme": "One Dark", // keep me\n  "context_servers": {\n'
        '    "memory": {"command": "npx", "args": ["-y", "m"],}, /* and me */\n  },\n}\n'
    )
    path.write_text(text)

    assert run("zed").exit_code == 0

    after = path.read_text()
    assert "// keep me" in after and "/* and me */" in after and after.startswith("// Zed settings")
    assert set(servers("zed", path)) == {"memory", install.SERVER_NAME}


def test_codex_config_keeps_comments_and_other_tables(_home: Path) -> None:
    path = _home / ".codex/config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(existing_config("codex") + '\n[profiles.fast]\nmodel = "o3"\n')

    assert run("codex").exit_code == 0

    doc = install.parse(path.read_text(), "toml")
    assert "# my default" in path.read_text()
    assert doc["model"] == "o4-mini" and doc["profiles"] == {"fast": {"model": "o3"}}
    assert doc["mcp_servers"]["memory"]["command"] == "npx"
    env = doc["mcp_servers"][install.SERVER_NAME]["env"]
    assert env["MCP_MEMORY_AGENT"] == "codex"
    assert env["MCP_MEMORY_DB"] == os.environ["MCP_MEMORY_DB"]  # the CLI's store is shared


def test_codex_reinstall_replaces_only_our_own_table(_home: Path) -> None:
    path = _home / ".codex/config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(
        existing_config("codex") + '\n[mcp_servers.mcp-memory]\ncommand = "/old/mcp-memory"\n'
        'args = ["serve"]\n\n[mcp_servers.mcp-memory.env]\nMCP_MEMORY_AGENT = "codex"\n'
        "\n[tui]\nnotifications = true\n"
    )

    assert run("codex").exit_code == 0

    doc = install.parse(path.read_text(), "toml")
    assert doc["mcp_servers"][install.SERVER_NAME]["command"] != "/old/mcp-memory"
    assert (
        doc["tui"] == {"notifications": True} and doc["mcp_servers"]["memory"]["command"] == "npx"
    )
    assert path.read_text().count("[mcp_servers.mcp-memory]") == 1


def test_an_outdated_entry_of_ours_is_replaced_in_place() -> None:
    path = path_of("cursor")
    path.parent.mkdir(parents=True)
    stale = {
        "mcpServers": {
            install.SERVER_NAME: {"command": "/gone/mcp-memory", "args": ["serve"]},
            "memory": OTHER,
        }
    }
    path.write_text(json.dumps(stale, indent=2))

    assert run("cursor").exit_code == 0

    found = servers("cursor", path)
    assert list(found) == [install.SERVER_NAME, "memory"]
    assert found[install.SERVER_NAME]["command"] != "/gone/mcp-memory"


def test_the_file_keeps_its_permissions(_home: Path) -> None:
    path = _home / ".claude.json"
    path.write_text('{"oauthAccount": {}}')
    path.chmod(0o600)

    assert run("claude-code", "--scope", "user").exit_code == 0

    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_without_the_executable_on_path_the_module_is_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(install.shutil, "which", lambda _: None)
    command = install.server_command()
    assert command[1:] == ["-m", "mcp_memory", "serve"] and Path(command[0]).is_absolute()


def test_with_the_executable_on_path_its_absolute_path_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(install.shutil, "which", lambda _: "/opt/bin/mcp-memory")
    assert install.server_command() == ["/opt/bin/mcp-memory", "serve"]


def test_only_the_database_and_model_settings_are_passed_on_to_the_server() -> None:
    entry = install.server_entry(
        install.client("cursor"),
        ["/x", "serve"],
        {"MCP_MEMORY_DB": "/d.db", "OPENAI_API_KEY": "sk-x", "HOME": "/h"},
    )
    assert entry["env"] == {"MCP_MEMORY_AGENT": "cursor", "MCP_MEMORY_DB": "/d.db"}


REPO = Path(__file__).resolve().parent.parent
SHIPPED = {
    "claude-code": ".mcp.json",
    "cursor": "mcp.json",
    "vscode": "mcp.json",
    "codex": "config.toml",
    "windsurf": "mcp_config.json",
    "zed": "settings.json",
    "claude-desktop": "claude_desktop_config.json",
    "cline": "cline_mcp_settings.json",
}


@pytest.mark.parametrize("client", list(install.CLIENTS))
def test_each_shipped_config_names_its_client_as_the_agent(client: str) -> None:
    c = install.client(client)
    folder = REPO / "integrations" / client
    entry = install.parse((folder / SHIPPED[client]).read_text(), c.fmt)[c.section][
        install.SERVER_NAME
    ]
    assert entry["env"]["MCP_MEMORY_AGENT"] == client and entry["args"] == ["serve"]
    assert f"mcp-memory install {client}" in (folder / "README.md").read_text()


def test_the_shipped_session_start_hook_runs_the_context_command() -> None:
    hooks = REPO / "integrations/claude-code/hooks"
    (group,) = json.loads((hooks / "settings.json").read_text())["hooks"]["SessionStart"]
    assert group["hooks"][0]["type"] == "command"
    assert "mcp-memory context --hook" in (hooks / "session-start.sh").read_text()


def test_a_symlinked_config_stays_a_symlink(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mcp_memory import install

    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "mcp.json"
    real.write_text('{"mcpServers": {"other": {"command": "other-server"}}}')
    project = tmp_path / "proj"
    (project / ".cursor").mkdir(parents=True)
    link = project / ".cursor" / "mcp.json"
    link.symlink_to(real)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    plan = install.plan("cursor", "project", project_dir=project)
    install.apply(plan)
    assert link.is_symlink()
    text = real.read_text()
    assert "mcp-memory" in text and "other-server" in text
