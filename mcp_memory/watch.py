"""Keep instruction files in memory as they change: a watchdog observer plus one sync worker.

Events only mark a file as due (per-file deadline, pushed back by every new event); a single
worker thread syncs files whose deadline passed. So a burst of saves is one sync, and because a
sync reads the file when it runs, after the burst, the last content always wins. An event that
lands during a sync simply makes the file due again. The observer starts before the initial full
sync, so an edit made during that scan is not lost either.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserverVFS

from mcp_memory import ingest
from mcp_memory.models import Actor
from mcp_memory.progress import Progress
from mcp_memory.store import MemoryStore

log = logging.getLogger("mcp_memory")

QUIET_S = 0.3
POLL_INTERVAL_S = 1.0
STOP_TIMEOUT_S = 5.0
_IGNORED_EVENTS = ("opened", "closed_no_write")


def _listdir(path: str | None) -> Iterator[os.DirEntry[str]]:
    """Polling walks the whole tree every interval: never descend into node_modules and co."""
    with os.scandir(path) as entries:
        kept = [
            e
            for e in entries
            if not (e.name in ingest.IGNORED_DIRS and e.is_dir(follow_symlinks=False))
        ]
    return iter(kept)


def make_observer(polling: bool, interval: float = POLL_INTERVAL_S) -> BaseObserver:
    if polling:
        return PollingObserverVFS(os.stat, _listdir, polling_interval=interval)
    return Observer()


class _Events(FileSystemEventHandler):
    """Turns raw events into "these files are due" or "rescan" (folders moved or vanished)."""

    def __init__(self, root: Path, notify: Callable[[set[str], bool], None]) -> None:
        self.root = root
        self.notify = notify

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in _IGNORED_EVENTS:
            return
        rels = {
            ingest.relative(self.root, os.fsdecode(p))
            for p in (event.src_path, event.dest_path)
            if p
        }
        rels.discard(None)
        if event.is_directory:
            if event.event_type != "modified" and any(self._relevant_dir(r) for r in rels):
                self.notify(set(), True)
            return
        due = {r for r in rels if r and ingest.is_instruction_file(r)}
        if due:
            self.notify(due, False)

    def _relevant_dir(self, rel: str | None) -> bool:
        return bool(rel) and not any(p in ingest.IGNORED_DIRS for p in rel.split("/"))


class Watcher:
    """Observer + debounced sync worker. `start()` then `stop()`; safe to stop from any thread."""

    def __init__(
        self,
        store: MemoryStore,
        root: Path,
        *,
        polling: bool = False,
        observer: BaseObserver | None = None,
        quiet: float = QUIET_S,
        actor: Actor | None = None,
        progress: Progress | None = None,
    ) -> None:
        """`progress(done, total)` hears the first full scan, file by file (a big tree's
        first scan embeds every piece of every instruction file)."""
        self.store, self.root, self.quiet = store, root.resolve(), quiet
        self.first_scan = progress
        self.actor = actor or ingest.watcher_for(store.settings.project)
        self.polling = polling
        self.observer = observer or make_observer(polling)
        self._injected = observer is not None
        self._cond = threading.Condition()
        self._due: dict[str, float] = {}
        self._rescan_at: float | None = None
        self._stopping = False
        self._worker = threading.Thread(target=self._run, name="mcp-memory-watch", daemon=True)
        self.syncs: Counter[str] = Counter()  # path -> completed syncs (observability, tests)
        self.rescans = 0

    # ---- lifecycle ---------------------------------------------------------------------

    def start(self) -> Watcher:
        self._start_observer()
        self._notify(set(), True, delay=0.0)  # the initial full sync, on the worker thread
        self._worker.start()
        log.info(
            "mcp-memory watch: watching %s (%s)",
            self.root,
            "polling" if self.polling else type(self.observer).__name__,
        )
        return self

    def _start_observer(self) -> None:
        """inotify can run out of watches on big trees: fall back to polling rather than die."""
        handler = _Events(self.root, self._notify)
        try:
            self.observer.schedule(handler, str(self.root), recursive=True)
            self.observer.start()
        except OSError as exc:
            if self._injected or self.polling:
                raise
            log.warning("mcp-memory watch: native watching failed (%s); polling instead", exc)
            self.polling, self.observer = True, make_observer(True)
            self.observer.schedule(handler, str(self.root), recursive=True)
            self.observer.start()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop the observer, let the worker sync what is already due, join both."""
        if self.observer.is_alive():
            self.observer.stop()
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self.observer.ident is not None:
            self.observer.join(timeout)
        if self._worker.ident is not None:
            self._worker.join(timeout)
        if self.is_alive():
            log.warning("mcp-memory watch: did not stop within %.1f s", timeout)

    def is_alive(self) -> bool:
        return self.observer.is_alive() or self._worker.is_alive()

    def __enter__(self) -> Watcher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def due(self) -> set[str]:
        """Files seen changing whose quiet period has not ended yet."""
        with self._cond:
            return set(self._due)

    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block until predicate() holds (checked after every sync); False on timeout."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    # ---- debouncing --------------------------------------------------------------------

    def _notify(self, paths: set[str], rescan: bool, delay: float | None = None) -> None:
        deadline = time.monotonic() + (self.quiet if delay is None else delay)
        with self._cond:
            for rel in paths:
                self._due[rel] = deadline
            if rescan:
                self._rescan_at = deadline
            self._cond.notify_all()

    def _next_batch(self) -> tuple[set[str], bool, bool]:
        """(paths, rescan, last): waits until something is due or stop() was called."""
        with self._cond:
            while True:
                if self._stopping:
                    batch, rescan = set(self._due), self._rescan_at is not None
                    self._due.clear()
                    self._rescan_at = None
                    return batch, rescan, True
                now = time.monotonic()
                # Once one path is due, every path seen changing goes with it: the two halves
                # of a rename can arrive as separate events (a polling walk that misses the old
                # name before the new one appears), and synced apart the old path would retire
                # the memory before the new one could claim it (sync_paths orders a batch).
                any_due = any(t <= now for t in self._due.values())
                batch = set(self._due) if any_due else set()
                rescan = self._rescan_at is not None and self._rescan_at <= now
                if batch or rescan:
                    for p in batch:
                        del self._due[p]
                    if rescan:
                        self._rescan_at = None
                    return batch, rescan, False
                self._cond.wait(self._wait_time(now))

    def _wait_time(self, now: float) -> float | None:
        deadlines = list(self._due.values())
        if self._rescan_at is not None:
            deadlines.append(self._rescan_at)
        return max(0.0, min(deadlines) - now) if deadlines else None

    # ---- worker ------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            batch, rescan, last = self._next_batch()
            if batch or rescan:
                self._sync(batch, rescan)
            if last:
                return

    def _sync(self, batch: set[str], rescan: bool) -> None:
        """One failed sync is logged, never fatal: the next event or restart re-syncs the file."""
        try:
            if rescan:
                progress, self.first_scan = self.first_scan, None
                reports = ingest.sync_all(
                    self.store, self.root, actor=self.actor, progress=progress
                )
            else:
                reports = ingest.sync_paths(self.store, self.root, batch, actor=self.actor)
        except Exception:
            log.exception("mcp-memory watch: sync of %s failed", sorted(batch) or "all files")
            reports = []
        with self._cond:
            self.rescans += int(rescan)
            self.syncs.update(r.path for r in reports)
            self._cond.notify_all()


def watch(store: MemoryStore, root: Path, *, polling: bool = False) -> Watcher:
    """Start watching root (initial full sync runs in the background); call `.stop()` to end."""
    return Watcher(store, root, polling=polling).start()
