"""The watcher on real files with real observers: debounced, filtered, and it stops cleanly."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from mcp_memory import MemoryStore
from mcp_memory.cli.watch import watched_project
from mcp_memory.config import Settings
from mcp_memory.watch import Watcher

from .conftest import AGENT
from .test_ingest import BACKDOOR, GUIDE, sources, status, write

TIMEOUT = 10.0


def start(store: MemoryStore, root: Path, observer: object, quiet: float = 0.3) -> Watcher:
    watcher = Watcher(store, root, observer=observer, quiet=quiet).start()  # type: ignore[arg-type]
    assert watcher.wait_until(lambda: watcher.rescans >= 1, TIMEOUT), "initial sync never ran"
    return watcher


@pytest.fixture
def watcher(store: MemoryStore, tmp_path: Path) -> Iterator[Watcher]:
    w = start(store, tmp_path, PollingObserver(timeout=0.1))
    yield w
    w.stop()
    assert not w.is_alive()


def synced(w: Watcher, rel: str, times: int = 1) -> bool:
    return w.wait_until(lambda: w.syncs[rel] >= times, TIMEOUT)


def test_a_file_created_while_watching_is_ingested(
    watcher: Watcher, store: MemoryStore, tmp_path: Path
) -> None:
    write(tmp_path, "AGENTS.md", GUIDE)
    assert synced(watcher, "AGENTS.md")
    assert {status(store, i) for i, _ in sources(store, "AGENTS.md").values()} == {"active"}
    assert len(sources(store, "AGENTS.md")) == 3


def test_files_present_at_start_are_ingested_by_the_initial_sync(
    store: MemoryStore, tmp_path: Path
) -> None:
    write(tmp_path, ".github/copilot-instructions.md", "- Use pnpm.\n")
    w = start(store, tmp_path, PollingObserver(timeout=0.1))
    w.stop()
    assert list(sources(store, ".github/copilot-instructions.md")) == ["Use pnpm."]


def test_an_edit_retires_the_changed_bullet_and_keeps_the_rest(
    watcher: Watcher, store: MemoryStore, tmp_path: Path
) -> None:
    write(tmp_path, "AGENTS.md", GUIDE)
    assert synced(watcher, "AGENTS.md")
    old = sources(store, "AGENTS.md")
    write(tmp_path, "AGENTS.md", GUIDE.replace("conftest.py", "tests/conftest.py"))
    assert synced(watcher, "AGENTS.md", 2)
    new = sources(store, "AGENTS.md")
    gone = old["Guide > Testing: Keep fixtures in conftest.py."][0]
    assert status(store, gone) == "forgotten"
    assert status(store, new["Guide > Testing: Keep fixtures in tests/conftest.py."][0]) == "active"
    kept = "Guide > Testing: Run `pytest -q` before pushing."
    assert new[kept] == old[kept]


def test_a_deleted_file_has_all_its_pieces_retired(
    watcher: Watcher, store: MemoryStore, tmp_path: Path
) -> None:
    write(tmp_path, "CLAUDE.md", GUIDE)
    assert synced(watcher, "CLAUDE.md")
    ids = [i for i, _ in sources(store, "CLAUDE.md").values()]
    (tmp_path / "CLAUDE.md").unlink()
    assert synced(watcher, "CLAUDE.md", 2)
    assert {status(store, i) for i in ids} == {"forgotten"}


def test_a_rename_moves_the_memories_to_the_new_path_without_copying_them(
    watcher: Watcher, store: MemoryStore, tmp_path: Path
) -> None:
    write(tmp_path, "docs/adr/0001-db.md", "# Use SQLite\nOne file, WAL mode.\n")
    assert synced(watcher, "docs/adr/0001-db.md")
    ((memory_id, _),) = sources(store, "docs/adr/0001-db.md").values()
    os.rename(tmp_path / "docs/adr/0001-db.md", tmp_path / "docs/adr/0002-db.md")
    assert synced(watcher, "docs/adr/0002-db.md") and synced(watcher, "docs/adr/0001-db.md", 2)
    moved = sources(store, "docs/adr/0002-db.md")
    assert moved == {"Use SQLite: One file, WAL mode.": (memory_id, 2)}
    assert sources(store, "docs/adr/0001-db.md") == {} and status(store, memory_id) == "active"
    assert store.conn.execute("select count(*) from memories").fetchone()[0] == 1


def test_a_rename_seen_as_two_separate_events_still_keeps_the_memory(
    store: MemoryStore, tmp_path: Path
) -> None:
    write(tmp_path, "docs/adr/0001-db.md", "# Use SQLite\nOne file, WAL mode.\n")
    w = start(store, tmp_path, PollingObserver(timeout=3600))  # polls once, at start
    try:
        ((memory_id, _),) = sources(store, "docs/adr/0001-db.md").values()
        os.rename(tmp_path / "docs/adr/0001-db.md", tmp_path / "docs/adr/0002-db.md")
        w._notify({"docs/adr/0001-db.md"}, False, delay=0.2)  # the old name vanished...
        w._notify({"docs/adr/0002-db.md"}, False, delay=0.6)  # ...the new one, a poll later
        assert synced(w, "docs/adr/0002-db.md") and synced(w, "docs/adr/0001-db.md")
        moved = sources(store, "docs/adr/0002-db.md")
        assert moved == {"Use SQLite: One file, WAL mode.": (memory_id, 2)}
    finally:
        w.stop()


def test_a_backdoored_cursorrules_ends_up_quarantined_not_active(
    watcher: Watcher, store: MemoryStore, tmp_path: Path
) -> None:
    write(tmp_path, ".cursorrules", BACKDOOR)
    assert synced(watcher, ".cursorrules")
    ids = [i for i, _ in sources(store, ".cursorrules").values()]
    assert len(ids) == 2 and {status(store, i) for i in ids} == {"quarantined"}
    assert store.recall("TypeScript strict mode").results == []


def test_a_memory_anchored_to_a_watched_file_is_stale_after_the_file_is_edited(
    watcher: Watcher, store: MemoryStore, tmp_path: Path
) -> None:
    write(tmp_path, "AGENTS.md", GUIDE)
    assert synced(watcher, "AGENTS.md")
    note = store.remember(
        "The guide asks for pytest before pushing", actor=AGENT, files=["AGENTS.md"]
    ).id
    write(tmp_path, "AGENTS.md", GUIDE + "- Also run mypy before pushing.\n")
    assert synced(watcher, "AGENTS.md", 2)
    hits = {h.id: h.stale for h in store.recall("pytest before pushing", limit=20).results}
    assert hits[note] is True
    ingested = sources(store, "AGENTS.md")["Guide > Testing: Run `pytest -q` before pushing."][0]
    assert hits[ingested] is False  # the watcher's own pieces are kept current, never stale


def test_a_burst_of_saves_is_one_sync_and_the_last_content_wins(
    watcher: Watcher, store: MemoryStore, tmp_path: Path
) -> None:
    for i in range(20):
        write(tmp_path, "AGENTS.md", f"- rule version {i}" + "!" * i + "\n")
    assert synced(watcher, "AGENTS.md")
    write(tmp_path, "CLAUDE.md", "- sentinel\n")  # every earlier event is synced before this one
    assert synced(watcher, "CLAUDE.md")
    assert watcher.syncs["AGENTS.md"] == 1
    assert list(sources(store, "AGENTS.md")) == ["rule version 19" + "!" * 19]
    stored = store.conn.execute(
        "select count(*) from memories where content like 'rule version%'"
    ).fetchone()[0]
    assert stored == 1


def test_ignored_folders_and_other_files_never_trigger_a_sync(
    watcher: Watcher, tmp_path: Path
) -> None:
    write(tmp_path, "node_modules/pkg/AGENTS.md", "- vendored\n")
    write(tmp_path, ".venv/CLAUDE.md", "- venv\n")
    write(tmp_path, "README.md", "- readme\n")
    write(tmp_path, "CLAUDE.md", "- sentinel\n")
    assert synced(watcher, "CLAUDE.md")
    assert set(watcher.syncs) == {"CLAUDE.md"}


def test_stop_joins_the_observer_and_the_worker(store: MemoryStore, tmp_path: Path) -> None:
    observer = PollingObserver(timeout=0.1)
    w = start(store, tmp_path, observer)
    w.stop()
    assert not observer.is_alive() and not w.is_alive()


def test_an_edit_saved_just_before_stop_is_still_synced(store: MemoryStore, tmp_path: Path) -> None:
    write(tmp_path, "AGENTS.md", "- first\n")
    w = start(store, tmp_path, PollingObserver(timeout=0.1), quiet=60.0)
    write(tmp_path, "AGENTS.md", "- second\n")
    assert w.wait_until(lambda: "AGENTS.md" in w.due(), TIMEOUT)  # seen; quiet period not over
    w.stop()
    assert list(sources(store, "AGENTS.md")) == ["second"]


def test_the_native_observer_picks_up_edits(store: MemoryStore, tmp_path: Path) -> None:
    w = start(store, tmp_path, Observer())
    try:
        write(tmp_path, ".cursor/rules/react.mdc", "---\nglobs: *.tsx\n---\n- Use hooks.\n")
        assert synced(w, ".cursor/rules/react.mdc")
        assert "Use hooks." in sources(store, ".cursor/rules/react.mdc")
    finally:
        w.stop()
    assert not w.is_alive()


# ---- the command ----------------------------------------------------------------------------

WATCH_APP = (
    "import typer; from mcp_memory.cli.watch import watch_command; "
    "app = typer.Typer(); app.command()(watch_command); app()"
)


def _lines(stream: object, out: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        out.put(line)


def _wait_for_line(lines: queue.Queue[str], needle: str, timeout: float) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            seen.append(lines.get(timeout=max(0.0, deadline - time.monotonic())))
        except queue.Empty:
            break
        if needle in seen[-1]:
            return seen
    raise AssertionError(f"{needle!r} never appeared on stderr: {seen}")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_watch_command_reports_quarantine_and_exits_cleanly_on_a_signal(
    tmp_path: Path, sig: signal.Signals
) -> None:
    project = tmp_path / "repo"
    write(project, ".cursorrules", BACKDOOR)
    env = {**os.environ, "MCP_MEMORY_WATCH_POLLING": "1", "MCP_MEMORY_DB": str(tmp_path / "m.db")}
    proc = subprocess.Popen(
        [sys.executable, "-c", WATCH_APP, str(project)],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_lines, args=(proc.stderr, lines), daemon=True)
    reader.start()
    try:
        seen = _wait_for_line(lines, "QUARANTINED .cursorrules:1", 60)
        assert any("polling" in line for line in seen)
        proc.send_signal(sig)
        assert proc.wait(timeout=TIMEOUT) == 0
        _wait_for_line(lines, "Stopped watching.", TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(TIMEOUT)  # EOF once the process is gone; then the pipe can be closed
        proc.stderr.close()  # type: ignore[union-attr]


@pytest.mark.parametrize("repo", [False, True], ids=["plain folder", "git repository"])
def test_watch_files_a_folder_under_the_project_serve_uses_in_that_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, repo: bool
) -> None:
    folder = tmp_path / "webapp"
    (folder / "src").mkdir(parents=True)
    if repo:
        subprocess.run(["git", "init", "-q", str(folder)], check=True)
    monkeypatch.delenv("MCP_MEMORY_PROJECT", raising=False)
    monkeypatch.chdir(folder / "src")
    served = Settings.from_env({}).project
    assert watched_project(folder, None) == served == ("webapp" if repo else "")
