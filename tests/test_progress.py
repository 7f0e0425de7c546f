"""Long operations report `progress(done, total)` (issue 18): the library calls it with done
rising to total, and the CLI draws it on stderr, only for a person at a terminal, never on
stdout (which may be an export or JSON being piped)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mcp_memory import FakeEmbedder, MemoryStore, Settings, erasure, ingest, quantize
from mcp_memory.cli import _progress, app
from mcp_memory.portability import export_lines, import_lines
from mcp_memory.watch import Watcher

from .conftest import AGENT, MODEL_DIR, DbTarget, needs_model

runner = CliRunner()
NOTES = [
    "The web app is built with pnpm, not npm",
    "Release tags are signed with the team key",
    "The staging database is reset every Sunday night",
    "Integration tests need docker compose up first",
    "Feature flags live in config/flags.yaml",
]


class Heard:
    """A progress callback that remembers every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def __call__(self, done: int, total: int) -> None:
        self.calls.append((done, total))


def assert_sensible(calls: list[tuple[int, int]], total: int) -> None:
    """Rising, never past its total, and ending exactly at the expected total."""
    assert calls, "progress was never reported"
    dones = [done for done, _ in calls]
    assert dones == sorted(dones)
    assert all(0 <= done <= of for done, of in calls), calls
    assert calls[-1] == (total, total), calls


def filled(store: MemoryStore, notes: list[str] = NOTES) -> list[int]:
    return [store.remember(note, actor=AGENT).id or 0 for note in notes]


def test_export_reports_each_memory_up_to_the_total(store: MemoryStore) -> None:
    filled(store)
    heard = Heard()
    lines = list(export_lines(store, heard))
    assert len(lines) == len(NOTES)
    assert heard.calls[0] == (0, len(NOTES))
    assert_sensible(heard.calls, len(NOTES))


def test_import_reports_two_steps_a_line_embedded_then_committed(
    store: MemoryStore, db_target: DbTarget, tmp_path: Path
) -> None:
    filled(store)
    lines = [json.dumps(line) for line in export_lines(store)]
    target = MemoryStore.open(
        settings=Settings(db_path=db_target("b"), project="proj"),
        embedder=FakeEmbedder(),
        root=tmp_path,
    )
    heard = Heard()
    report = import_lines(target, lines, progress=heard)
    target.close()
    assert report.counts()["imported"] == len(NOTES)
    assert heard.calls[0] == (0, 2 * len(NOTES))
    assert_sensible(heard.calls, 2 * len(NOTES))


def test_backfill_reports_each_batch_against_what_was_pending(
    db_target: DbTarget, tmp_path: Path
) -> None:
    settings = Settings(db_path=db_target(), project="proj")
    keyword_only = MemoryStore.open(settings=settings, embedder=None, root=tmp_path)
    filled(keyword_only)
    keyword_only.close()
    later = MemoryStore.open(settings=settings, embedder=FakeEmbedder(), root=tmp_path)
    heard = Heard()
    assert later.backfill(batch=2, progress=heard) == len(NOTES)
    later.close()
    assert heard.calls == [(0, 5), (2, 5), (4, 5), (5, 5)]


def test_erase_reports_the_delete_and_the_scrub(store: MemoryStore) -> None:
    filled(store)
    heard = Heard()
    plan = erasure.plan(store.conn, match="pnpm")
    erasure.execute(store.conn, store.lock, plan, actor="user", progress=heard)
    assert heard.calls == [(0, 2), (1, 2), (2, 2)]


def test_a_full_sync_of_instruction_files_reports_each_file(
    store: MemoryStore, tmp_path: Path
) -> None:
    for rel in ("AGENTS.md", "CLAUDE.md", "docs/adr/001-db.md"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(f"# Rules\n\n- {rel} says: run the linter first\n")
    heard = Heard()
    reports = ingest.sync_all(store, tmp_path, progress=heard)
    assert len(reports) == 3
    assert_sensible(heard.calls, 3)


def test_the_watchers_first_scan_reports_progress_and_later_syncs_do_not(
    store: MemoryStore, tmp_path: Path
) -> None:
    from watchdog.observers.polling import PollingObserver

    (tmp_path / "AGENTS.md").write_text("# Rules\n\n- Keep functions short\n")
    heard = Heard()
    watcher = Watcher(store, tmp_path, observer=PollingObserver(timeout=0.1), progress=heard)
    watcher.start()
    try:
        assert watcher.wait_until(lambda: watcher.rescans >= 1, 10.0)
        assert_sensible(heard.calls, 1)
        (tmp_path / "CLAUDE.md").write_text("# More\n\n- Prefer small commits\n")
        assert watcher.wait_until(lambda: watcher.syncs["CLAUDE.md"] >= 1, 10.0)
    finally:
        watcher.stop()
    assert heard.calls[-1] == (1, 1)  # the first scan only


@needs_model
@pytest.mark.slow
def test_making_the_int8_copy_is_heard_while_it_is_made_and_not_when_reused(
    tmp_path: Path,
) -> None:
    heard = Heard()
    with quantize.listening(heard):
        quantize.int8_copy(MODEL_DIR, tmp_path)
        assert heard.calls == [(0, 1), (1, 1)]
        quantize.int8_copy(MODEL_DIR, tmp_path)  # cached: nothing to wait for
    assert heard.calls == [(0, 1), (1, 1)]


# ---- the CLI's bars ------------------------------------------------------------------------


def database(tmp_path: Path) -> Path:
    path = tmp_path / "memory.db"
    store = MemoryStore.open(settings=Settings(db_path=path, project="proj"), embedder=None)
    filled(store)
    store.close()
    return path


def run(*args: str) -> Any:
    return runner.invoke(app, list(args))


def test_export_to_a_pipe_shows_no_bar_at_all(tmp_path: Path) -> None:
    result = run("export", "--db", str(database(tmp_path)))
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["content"] for line in result.stdout.splitlines()] == NOTES
    assert result.stderr == ""


def test_on_a_terminal_the_export_bar_goes_to_stderr_and_stdout_stays_json_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_progress, "stderr_is_tty", lambda: True)
    result = run("export", "--db", str(database(tmp_path)))
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["content"] for line in result.stdout.splitlines()] == NOTES
    assert "exporting" in result.stderr


def test_quiet_and_json_keep_the_bar_away_even_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_progress, "stderr_is_tty", lambda: True)
    db = database(tmp_path)
    quiet = run("export", "--quiet", "--db", str(db))
    assert quiet.exit_code == 0 and quiet.stderr == "", quiet.output
    dump = tmp_path / "dump.jsonl"
    dump.write_text(quiet.stdout)
    imported = run("import", str(dump), "--yes", "--json", "--db", str(tmp_path / "b.db"))
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.stdout)["counts"]["imported"] == len(NOTES)
    assert "importing" not in imported.stderr


def test_on_a_terminal_import_and_erase_draw_their_bars_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_progress, "stderr_is_tty", lambda: True)
    dump = tmp_path / "dump.jsonl"
    dump.write_text(run("export", "--quiet", "--db", str(database(tmp_path))).stdout)
    target = str(tmp_path / "b.db")
    imported = run("import", str(dump), "--yes", "--db", target)
    assert imported.exit_code == 0, imported.output
    assert "importing" in imported.stderr and "importing" not in imported.stdout
    assert imported.stdout.startswith("imported 5 memories")
    erased = run("erase", "--match", "pnpm", "--yes", "--json", "--db", target)
    assert erased.exit_code == 0 and json.loads(erased.stdout)["erased_ids"], erased.output
    assert "erasing" not in erased.stderr  # --json: no bar
    erased = run("erase", "--match", "docker", "--yes", "--db", target)
    assert erased.exit_code == 0, erased.output
    assert "erasing (VACUUM" in erased.stderr and "erasing" not in erased.stdout


@needs_model
@pytest.mark.slow
def test_a_command_that_makes_the_int8_copy_shows_it_on_stderr_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MCP_MEMORY_CACHE_DIR", str(tmp_path / "fresh-cache"))
    monkeypatch.setattr(_progress, "stderr_is_tty", lambda: True)
    result = run("remember", NOTES[0], "--json", "--db", str(tmp_path / "m.db"))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "stored"
    assert "making an int8 copy of the embedding model" in result.stderr


def test_watch_on_a_terminal_shows_the_first_scan_and_returns_once_it_is_done(
    store: MemoryStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mcp_memory.cli import watch as cli_watch

    monkeypatch.setattr(_progress, "stderr_is_tty", lambda: True)
    (tmp_path / "AGENTS.md").write_text("# Rules\n\n- Keep functions short\n")
    watcher = cli_watch._first_scan(store, tmp_path, polling=True)
    try:
        assert watcher.rescans == 1  # returned after the scan, not before
    finally:
        watcher.stop()
    out = capsys.readouterr()
    assert "first scan of instruction files" in out.err and out.out == ""
