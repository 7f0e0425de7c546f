"""Wall time of CLI commands as a person runs them, beside other Python CLIs (issue 17).

    python benchmarks/cli.py --model-dir ../shared/models/all-MiniLM-L6-v2-onnx --runs 9

Each measurement is a fresh process: `mcp-memory --help`, `recall` and `remember` against
a database of a few hundred notes, with the model on disk (its int8 copy made and described
by an untimed warm-up run), next to `sqlite-utils --help` and `llm --help` (pip install
sqlite-utils llm; they are not dependencies). `recall` and `remember` run both ways: loading
the model themselves ("own model", MCP_MEMORY_SHARE_MODEL=0) and with a `mcp-memory serve`
over stdio running beside them that lends its loaded model ("server's model", see
mcp_memory/embed_socket.py); `--no-server` leaves the second out. Runs are interleaved
round-robin, so load from other processes falls on every command alike; the load average is
printed with the table, and CPU time (user+sys of the child) beside the wall time, which load
inflates far less. Bytecode caching is on for the children (PYTHONDONTWRITEBYTECODE is
dropped): an installed package has its .pyc files, and compiling our modules from source adds
~0.3 s of CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_HELP_RATIO = 2.0  # `mcp-memory --help` within 2x of `sqlite-utils --help`
TARGET_RECALL_S = 0.8  # CLI recall p50 with the model on disk
NOTES = [
    "We run PostgreSQL 16 in production; the replica is read-only.",
    "Deploys go through the release/* branches, never straight from main.",
    "Use pytest -x -q for quick failures; the slow marker needs the model.",
    "The orders service retries three times before failing.",
    "Alembic manages the database migrations; run them before deploying.",
    "The auth gateway logs to stderr with structured JSON.",
]


def tool(name: str) -> str | None:
    """The venv's copy first: the one this interpreter's project would run."""
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name)


def seed(db: Path, env: dict[str, str], count: int) -> None:
    """A few hundred notes through the real store, with the real model (untimed)."""
    from mcp_memory import HUMAN, MemoryStore, Settings
    from mcp_memory.store import allow_all

    settings = Settings.from_env(env)
    store = MemoryStore.open(db, settings=settings, screen=allow_all)
    store.loader.wait()
    try:
        for i in range(count):
            store.remember(f"{NOTES[i % len(NOTES)]} (note {i})", actor=HUMAN, project="bench")
    finally:
        store.close()


Command = tuple[object, dict[str, str]]  # argv, or a callable giving a fresh argv; its env


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, child CPU seconds) of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def commands(mcp: str, env: dict[str, str], server: bool) -> dict[str, Command]:
    """Label -> (argv or a callable giving a fresh argv per run, env)."""
    counter = [0]

    def remember() -> list[str]:  # new text each run: a duplicate would skip the embedding
        counter[0] += 1
        return [mcp, "remember", f"Benchmark note {counter[0]}: the cache tier is Redis 7"]

    own = {**env, "MCP_MEMORY_SHARE_MODEL": "0"}
    recall = [mcp, "recall", "which database do we use", "--project", "bench"]
    found: dict[str, Command] = {
        "mcp-memory --help": ([mcp, "--help"], own),
        "recall (own model)": (recall, own),
        "remember (own model)": (remember, own),
    }
    if server:
        found["recall (server's model)"] = (recall, env)
        found["remember (server's model)"] = (remember, env)
    for name in ("sqlite-utils", "llm"):
        path = tool(name)
        if path:
            found[f"{name} --help"] = ([path, "--help"], own)
    return found


def measure(cmds: dict[str, Command], runs: int) -> dict[str, dict]:
    walls: dict[str, list[float]] = {k: [] for k in cmds}
    cpus: dict[str, list[float]] = {k: [] for k in cmds}
    for cmd, env in cmds.values():  # warm-up: OS file cache, model copy, .pyc files
        run_once(cmd() if callable(cmd) else cmd, env)  # type: ignore[arg-type]
    for _ in range(runs):
        for label, (cmd, env) in cmds.items():
            wall, cpu = run_once(cmd() if callable(cmd) else cmd, env)  # type: ignore[arg-type]
            walls[label].append(wall)
            cpus[label].append(cpu)
    return {
        k: {
            "p50_s": statistics.median(walls[k]),
            "min_s": min(walls[k]),
            "max_s": max(walls[k]),
            "cpu_p50_s": statistics.median(cpus[k]),
            "runs": len(walls[k]),
        }
        for k in cmds
    }


@contextmanager
def lending_server(mcp: str, env: dict[str, str]) -> Iterator[None]:
    """`mcp-memory serve` over stdio (its stdin held open, as a client would), until it says
    it lends its model; stopped by closing its stdin, as a client does."""
    server = subprocess.Popen(
        [mcp, "serve"], env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in server.stderr or ():
            lines.put(line)
        lines.put("")

    threading.Thread(target=pump, daemon=True).start()
    try:
        while "lending the model" not in (line := lines.get(timeout=120)):
            if not line:
                raise SystemExit("the server exited before lending its model")
        yield
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=60)


def report(results: dict[str, dict], load: tuple[float, float]) -> None:
    base = results.get("sqlite-utils --help", {}).get("p50_s")
    print(f"\nload average (1 min) at start / end: {load[0]:.2f} / {load[1]:.2f}")
    print(f"{'command':26} {'runs':>4} {'p50 s':>7} {'min s':>7} {'max s':>7} {'CPU p50':>8} "
          f"{'x sqlite-utils':>14}")  # fmt: skip
    for label, r in results.items():
        ratio = f"{r['p50_s'] / base:.2f}" if base else "-"
        print(f"{label:26} {r['runs']:>4} {r['p50_s']:>7.3f} {r['min_s']:>7.3f} "
              f"{r['max_s']:>7.3f} {r['cpu_p50_s']:>8.3f} {ratio:>14}")  # fmt: skip
    for name in ("sqlite-utils --help", "llm --help"):
        if name not in results:
            print(f"{name}: not installed (pip install {name.split()[0]})")
    help_s = results["mcp-memory --help"]["p50_s"]
    if base:
        ok = help_s <= TARGET_HELP_RATIO * base
        print(f"target --help <= {TARGET_HELP_RATIO:.0f}x sqlite-utils --help: "
              f"{help_s / base:.2f}x {'met' if ok else 'MISSED'}")  # fmt: skip
    for label in ("recall (own model)", "recall (server's model)"):
        if label in results:
            took = results[label]["p50_s"]
            verdict = "met" if took <= TARGET_RECALL_S else "MISSED"
            print(f"target {label} p50 <= {TARGET_RECALL_S} s: {took:.3f} s {verdict}")


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, default=os.environ.get("MCP_MEMORY_MODEL_DIR"))
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--notes", type=int, default=300, help="memories in the database")
    parser.add_argument("--out", type=Path, help="also write the results as JSON")
    parser.add_argument(
        "--no-server", action="store_true", help="only the commands that load the model"
    )
    args = parser.parse_args()
    if not args.model_dir or not (Path(args.model_dir) / "model.onnx").is_file():
        raise SystemExit("--model-dir (or MCP_MEMORY_MODEL_DIR) must name a folder with model.onnx")
    mcp = tool("mcp-memory")
    if mcp is None:
        raise SystemExit("mcp-memory is not installed in this environment (pip install -e .)")
    with tempfile.TemporaryDirectory(prefix="cli-bench-") as tmp:
        env = {
            **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "MCP_MEMORY_DB": str(Path(tmp) / "bench.db"),
            "MCP_MEMORY_CACHE_DIR": str(Path(tmp) / "cache"),
            "MCP_MEMORY_MODEL_DIR": str(Path(args.model_dir).resolve()),
            "MCP_MEMORY_PROJECT": "bench",
            "MCP_MEMORY_SHARE_MODEL": "1",
        }
        seed(Path(env["MCP_MEMORY_DB"]), env, args.notes)
        with lending_server(mcp, env) if not args.no_server else _nothing():
            start_load = os.getloadavg()[0]
            results = measure(commands(mcp, env, not args.no_server), args.runs)
            report(results, (start_load, os.getloadavg()[0]))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
