"""A database target is a SQLite file path or a PostgreSQL URL. A URL must survive
configuration intact, never create a file named after it, and never print its password,
also when its server cannot be reached."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mcp_memory import MemoryStore, Settings, TokenStore
from mcp_memory.cli import app
from mcp_memory.cli._common import settings_for
from mcp_memory.config import db_target, is_postgres_url, redact_db_target
from mcp_memory.doctor import diagnose
from mcp_memory.errors import StorageError

URL = "postgresql://u@h/db"
SECRET_URL = "postgresql://mem:s3cr3t-pw@db.example:5432/memory?sslmode=require"
UNREACHABLE = "postgresql://mem:s3cr3t-pw@127.0.0.1:1/memory"  # refused at once, no DNS

runner = CliRunner()


def _files_under(root: Path) -> set[Path]:
    return set(root.rglob("*"))


@pytest.fixture
def in_empty_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cwd, so a file or folder created from a mangled URL would show up here."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


@pytest.mark.parametrize(
    "value",
    [
        "postgresql://u@h/db",
        "postgres://h/db",
        "POSTGRESQL://u:p@h/db",
        Path("postgresql://u@h/db"),
    ],
)
def test_postgresql_and_postgres_urls_are_recognised_even_after_path_mangled_them(
    value: str | Path,
) -> None:
    assert is_postgres_url(value)


@pytest.mark.parametrize("value", ["memory.db", "/var/lib/m.db", "./postgresql.db", ":memory:"])
def test_file_paths_are_not_postgres_urls(value: str) -> None:
    assert not is_postgres_url(value)
    assert db_target(value) == Path(value)


def test_a_url_in_the_environment_is_kept_as_the_exact_string() -> None:
    settings = Settings.from_env({"MCP_MEMORY_DB": SECRET_URL})
    assert settings.db_path == SECRET_URL and isinstance(settings.db_path, str)


def test_a_file_path_in_the_environment_is_still_an_expanded_path() -> None:
    settings = Settings.from_env({"MCP_MEMORY_DB": "~/m.db"})
    assert settings.db_path == Path("~/m.db").expanduser()


def test_a_url_given_with_db_on_the_cli_is_kept_as_the_exact_string() -> None:
    assert settings_for(URL).db_path == URL
    assert settings_for("some/file.db").db_path == Path("some/file.db")


def test_redaction_hides_a_password_in_the_authority_and_in_the_query() -> None:
    shown = redact_db_target(SECRET_URL + "&password=other-secret")
    assert "s3cr3t-pw" not in shown and "other-secret" not in shown
    assert shown.startswith("postgresql://mem:***@db.example:5432/memory?")
    assert "sslmode=require" in shown


def test_redaction_leaves_urls_without_a_password_and_file_paths_alone() -> None:
    assert redact_db_target(URL) == URL
    assert redact_db_target(Path("/tmp/x:y@z.db")) == "/tmp/x:y@z.db"


def test_the_library_opens_a_url_as_postgresql_and_an_unreachable_one_fails_clearly(
    in_empty_dir: Path,
) -> None:
    """MemoryStore and TokenStore open PostgreSQL targets (the CLI and the server do not yet);
    a server that is not there is a StorageError that never shows the password."""
    pytest.importorskip("psycopg")
    before = _files_under(in_empty_dir.parent)
    for open_ in (
        lambda: MemoryStore.open(UNREACHABLE, embedder=None),
        lambda: MemoryStore.open(settings=Settings(db_path=UNREACHABLE), embedder=None),
        lambda: TokenStore.open(UNREACHABLE),
    ):
        with pytest.raises(StorageError, match="cannot connect to postgresql://mem:") as caught:
            open_()
        assert "s3cr3t-pw" not in str(caught.value)
    assert _files_under(in_empty_dir.parent) == before


@pytest.mark.parametrize(
    "args",
    [
        ["doctor", "--json", "--db", UNREACHABLE],
        ["recall", "anything", "--db", UNREACHABLE],
        ["agents", "token", "list", "--db", UNREACHABLE],
        ["serve", "--db", UNREACHABLE],
    ],
)
def test_cli_commands_on_an_unreachable_server_exit_1_clearly_and_create_nothing(
    in_empty_dir: Path, args: list[str]
) -> None:
    pytest.importorskip("psycopg")
    before = _files_under(in_empty_dir.parent)
    r = runner.invoke(app, args)
    assert r.exit_code == 1, r.output
    assert "cannot connect to postgresql://mem:***@127.0.0.1:1/memory" in r.output
    assert "s3cr3t-pw" not in r.output
    assert _files_under(in_empty_dir.parent) == before


def test_without_the_driver_a_url_is_a_usage_error_naming_the_extra(
    in_empty_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "mcp_memory.storage.postgres.backend", None)  # import fails
    monkeypatch.setenv("MCP_MEMORY_DB", UNREACHABLE)
    r = runner.invoke(app, ["doctor"])
    assert r.exit_code == 2 and "pip install 'mcp-memory[postgres]'" in r.output
    assert "s3cr3t-pw" not in r.output
    assert not os.listdir(in_empty_dir)


def test_doctor_reports_a_file_path_unchanged_and_a_url_without_its_password(
    settings: Settings,
) -> None:
    report = diagnose(settings)
    assert report["db_path"] == redact_db_target(settings.db_path) and report["ok"] is True
    if isinstance(settings.db_path, Path):
        assert report["db_path"] == str(settings.db_path)


def test_a_socket_url_without_a_secret_prints_as_written() -> None:
    url = "postgresql://postgres@/mcp?host=/tmp/mcpm-pg-1/run&sslmode=disable"
    assert redact_db_target(url) == url
    shown = redact_db_target("postgresql://u:pw@/mcp?host=/tmp/run&password=pw2")
    assert "pw" not in shown.replace("postgresql", "") and "host=/tmp/run" in shown
