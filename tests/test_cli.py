"""The human's CLI: output, --json, exit codes (0 ok, 1 failed, 2 bad usage)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mcp_memory import MemoryStore
from mcp_memory.cli import app

from .conftest import needs_model

runner = CliRunner()


def run(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=input)


def test_remember_recall_forget_link_from_the_cli_as_the_user(tmp_path: Path) -> None:
    r = run("remember", "Releases are cut from the release/* branches", "--tag", "git", "--json")
    assert r.exit_code == 0, r.output
    first = json.loads(r.stdout)
    assert first["status"] == "stored"
    second = json.loads(run("remember", "Hotfixes go to main first", "--json").stdout)
    found = json.loads(run("recall", "release branches", "--json").stdout)
    hit = found["results"][0]
    assert hit["id"] == first["id"] and hit["agent"] == "user" and hit["source"] == "user"
    linked = json.loads(
        run("link", str(second["id"]), str(first["id"]), "--relation", "related", "--json").stdout
    )
    assert linked["relation"] == "related"
    assert json.loads(run("forget", str(first["id"]), "--json").stdout)["status"] == "forgotten"
    plain = run("recall", "release branches")
    assert plain.exit_code == 0 and "Releases are cut" not in plain.stdout


def test_remember_reads_standard_input_with_a_dash() -> None:
    r = run("remember", "-", "--json", input="Piped note about tox environments\n")
    assert r.exit_code == 0 and json.loads(r.stdout)["status"] == "stored"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("remember", ""), 2),
        (("remember", "x" * 20_000), 2),
        (("remember", "ok", "--kind", "NOT OK"), 2),
        (("recall", ""), 2),
        (("recall", "q", "-k", "0"), 2),
        (("forget", "999"), 1),
        (("forget", "abc"), 2),
        (("link", "1", "2", "--relation", "nope"), 2),
        (("serve", "--transport", "carrier-pigeon"), 2),
    ],
)
def test_bad_cli_input_exits_with_the_documented_code(args: tuple[str, ...], code: int) -> None:
    MemoryStore.open(embedder=None).close()  # the database exists: only the input is wrong
    r = run(*args)
    assert r.exit_code == code, r.output


def test_export_writes_one_json_line_per_memory_with_provenance(tmp_path: Path) -> None:
    run("remember", "Exported memory one")
    run("remember", "Exported memory two")
    out = tmp_path / "dump.jsonl"
    assert run("export", "--out", str(out)).exit_code == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["content"] for line in lines] == ["Exported memory one", "Exported memory two"]
    assert all(
        line["agent"] == "user" and line["content_hash"].startswith("sha256:") for line in lines
    )


@pytest.mark.sqlite_only
def test_doctor_reports_driver_vector_index_model_and_counts() -> None:
    run("remember", "Doctor should count me")
    r = run("doctor", "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["ok"] is True and report["fts5"] is True
    assert report["sqlite_vec"].startswith("v") and "sqlean" in report["driver"]
    assert report["memories"] == {"active": 1}
    assert report["mode"] in ("hybrid", "keyword-only") and report["model"]


def test_doctor_says_keyword_only_when_no_model_can_load(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MCP_MEMORY_MODEL_DIR", str(tmp_path / "no-model-here"))
    report = json.loads(run("doctor", "--json").stdout)
    assert report["mode"] == "keyword-only" and "keyword-only" in report["model"]


@needs_model
def test_doctor_names_the_int8_model_copy_and_where_it_lives(model_cache: Path) -> None:
    report = json.loads(run("doctor", "--json").stdout)
    assert report["model_copy"] == f"int8, in {model_cache}"
    assert report["model"].startswith("loaded (sentence-transformers/all-MiniLM-L6-v2:int8")


@needs_model
def test_doctor_says_when_the_float_model_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCP_MEMORY_QUANTIZE", "0")
    report = json.loads(run("doctor", "--json").stdout)
    assert report["model_copy"].startswith("off")
    assert report["model"].startswith("loaded (sentence-transformers/all-MiniLM-L6-v2,")


# ---- --db and --json on the admin commands (erase, backup, audit log, audit verify) ----------

AUDIT_KEYS = {"seq", "ts", "actor", "action", "memory_id", "data", "prev_hash", "hash"}


@pytest.fixture
def other_db(tmp_path: Path) -> Path:
    """A database named only by --db: $MCP_MEMORY_DB (env.db) must stay untouched."""
    db = tmp_path / "other.db"
    r = run("remember", "Zebra quartz deploy key rotates on Fridays", "--db", str(db), "--json")
    assert r.exit_code == 0, r.output
    return db


def test_audit_log_and_verify_read_the_database_named_by_db(other_db: Path, tmp_path: Path) -> None:
    log = run("audit", "log", "--db", str(other_db), "--json")
    assert log.exit_code == 0, log.output
    (entry,) = json.loads(log.stdout)
    assert set(entry) == AUDIT_KEYS and (entry["actor"], entry["action"]) == ("user", "remember")
    verify = run("audit", "verify", "--db", str(other_db), "--json")
    assert verify.exit_code == 0, verify.output
    result = json.loads(verify.stdout)
    assert (result["ok"], result["checked"], result["first_bad_entry"]) == (True, 1, None)
    assert result["head_hash"] == entry["hash"]
    assert not (tmp_path / "env.db").exists()


def test_backup_and_erase_act_on_the_database_named_by_db(other_db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    backup = run("backup", str(copy), "--db", str(other_db), "--json")
    assert backup.exit_code == 0, backup.output
    info = json.loads(backup.stdout)
    assert info["dest"] == str(copy.resolve()) and info["sha256"].startswith("sha256:")
    assert copy.exists()
    plan = run("erase", "--match", "zebra", "--dry-run", "--db", str(other_db), "--json")
    assert plan.exit_code == 0, plan.output
    shown = json.loads(plan.stdout)
    assert shown["dry_run"] is True and shown["ids"] == [m["id"] for m in shown["memories"]]
    erased = run("erase", "--match", "zebra", "--yes", "--db", str(other_db), "--json")
    assert erased.exit_code == 0, erased.output
    assert json.loads(erased.stdout)["erased_ids"] == shown["ids"]
    actions = [
        e["action"] for e in json.loads(run("audit", "log", "--db", str(other_db), "--json").stdout)
    ]
    assert actions == ["remember", "backup", "erase"]
    kept = json.loads(run("audit", "log", "--db", str(copy), "--json").stdout)
    assert [e["action"] for e in kept] == ["remember"]  # the copy was taken before the erase
    assert not (tmp_path / "env.db").exists()


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("backup", "{db}"), 1),  # the file exists: a failed operation, as documented
        (("erase", "--id", "999", "--yes"), 1),
        (("erase", "--match", "zebra", "--agent", "user"), 2),
        (("audit", "log", "--since", "someday"), 2),
        (("audit", "log", "--action", "nope"), 2),
    ],
)
def test_admin_commands_with_db_exit_with_the_documented_code(
    other_db: Path, args: tuple[str, ...], code: int
) -> None:
    r = run(*(a.format(db=other_db) for a in args), "--db", str(other_db))
    assert r.exit_code == code, r.output
    assert r.stderr.startswith("Error: ") and len(r.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    "args", [("audit", "log"), ("audit", "verify"), ("erase", "--id", "1", "--yes")]
)
def test_an_unopenable_db_is_a_failed_operation_with_one_line(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    r = run(*args, "--db", str(tmp_path))  # a folder, not a database file
    assert r.exit_code == 1, r.output
    assert r.stderr.startswith(f"Error: cannot open the database {tmp_path}: it is a folder")


def test_a_recall_that_finds_nothing_here_names_the_projects_that_match_and_all_projects_finds_it(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "scoped.db")
    for project, text in [("alpha", "Flaky tox runs"), ("beta", "tox needs py311")]:
        assert run("remember", text, "--project", project, "--db", db).exit_code == 0
    here = run("recall", "tox", "--project", "gamma", "--db", db)
    assert here.exit_code == 0, here.output
    assert "No memories matched." in here.stdout
    assert "2 matches in other projects: 'alpha' (1), 'beta' (1)" in here.stdout
    assert "--project 'alpha' or --all-projects" in here.stdout
    everywhere = json.loads(run("recall", "tox", "--all-projects", "--db", db, "--json").stdout)
    assert {hit["content"] for hit in everywhere["results"]} == {
        "Flaky tox runs",
        "tox needs py311",
    }
    nowhere = run("recall", "kubernetes", "--project", "gamma", "--db", db)
    assert "other projects" not in nowhere.stdout


def _help_rows(*args: str) -> list[str]:
    r = run(*args, "--help")
    assert r.exit_code == 0, r.output
    return [line for line in r.stdout.splitlines() if "--" in line]


@pytest.mark.parametrize("command", [(), ("recall",), ("serve",), ("erase",), ("audit", "log")])
def test_help_shows_flags_without_a_type_and_values_as_click_tools_do(
    command: tuple[str, ...],
) -> None:
    rows = _help_rows(*command)
    assert rows and not any("<" in row and ">" in row for row in rows), rows
    help_row = next(row for row in rows if "--help" in row)
    assert "BOOLEAN" not in help_row


def test_option_values_read_as_text_and_integer() -> None:
    rows = _help_rows("recall")
    assert any("--limit" in row and "INTEGER" in row for row in rows), rows
    assert any("--project" in row and "TEXT" in row for row in rows), rows


def test_version_is_an_option_and_a_command() -> None:
    option, command = run("--version"), run("version")
    assert option.exit_code == command.exit_code == 0
    assert option.stdout == command.stdout and option.stdout.strip()


def test_top_level_help_groups_the_commands_and_states_the_exit_codes() -> None:
    out = run("--help").stdout
    for panel in ("Memories", "Review and trust", "Data", "Setup and server"):
        assert panel in out
    assert "Exit codes: 0 success; 1" in " ".join(out.split())
