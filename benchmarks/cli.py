"""Wall time of CLI commands as a person runs them, beside other Python CLIs (issue 17).

    python benchmarks/cli.py --model-dir ../shared/models/all-MiniLM-L6-v2-onnx --runs 9

Each measurement is a fresh process: `mcp-memory --help`, `recall` and `remember` against
a database of a few hundred notes, with the model on disk (its int8 copy made and described
by an untimed warm-up run), next to `sqlite-utils --help` and `llm --help` (pip install
sqlite-utils llm; they are not dependencies). Runs are interleaved round-robin, so load
from other processes falls on every command alike; the load average is printed with the
table, and CPU time (user+sys of the child) beside the wall time, which load does not inflate.
Bytecode caching is on for the children (PYTHONDONTWRITEBYTECODE is dropped): an installed
package has its .pyc files, and compiling our modules from source adds ~0.3 s of CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
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


def commands(mcp: str, counter: list[int]) -> dict[str, object]:
    """Label -> argv, or a callable giving a fresh argv per run (remember stores new text)."""

    def remember() -> list[str]:
        counter[0] += 1
        return [mcp, "remember", f"Benchmark note {counter[0]}: the cache tier is Redis 7"]

    found: dict[str, object] = {
        "mcp-memory --help": [mcp, "--help"],
        "mcp-memory recall": [mcp, "recall", "which database do we use", "--project", "bench"],
        "mcp-memory remember": remember,
    }
    for name in ("sqlite-utils", "llm"):
        path = tool(name)
        if path:
            found[f"{name} --help"] = [path, "--help"]
    return found


def measure(cmds: dict[str, object], env: dict[str, str], runs: int) -> dict[str, dict]:
    walls: dict[str, list[float]] = {k: [] for k in cmds}
    cpus: dict[str, list[float]] = {k: [] for k in cmds}
    for cmd in cmds.values():  # warm-up: OS file cache, model copy, .pyc files
        run_once(cmd() if callable(cmd) else cmd, env)  # type: ignore[arg-type]
    for _ in range(runs):
        for label, cmd in cmds.items():
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


def report(results: dict[str, dict], load: tuple[float, float]) -> None:
    base = results.get("sqlite-utils --help", {}).get("p50_s")
    print(f"\nload average (1 min) at start / end: {load[0]:.2f} / {load[1]:.2f}")
    print(f"{'command':22} {'runs':>4} {'p50 s':>7} {'min s':>7} {'max s':>7} {'CPU p50':>8} "
          f"{'x sqlite-utils':>14}")  # fmt: skip
    for label, r in results.items():
        ratio = f"{r['p50_s'] / base:.2f}" if base else "-"
        print(f"{label:22} {r['runs']:>4} {r['p50_s']:>7.3f} {r['min_s']:>7.3f} "
              f"{r['max_s']:>7.3f} {r['cpu_p50_s']:>8.3f} {ratio:>14}")  # fmt: skip
    for name in ("sqlite-utils --help", "llm --help"):
        if name not in results:
            print(f"{name}: not installed (pip install {name.split()[0]})")
    help_s, recall_s = results["mcp-memory --help"]["p50_s"], results["mcp-memory recall"]["p50_s"]
    if base:
        ok = help_s <= TARGET_HELP_RATIO * base
        print(f"target --help <= {TARGET_HELP_RATIO:.0f}x sqlite-utils --help: "
              f"{help_s / base:.2f}x {'met' if ok else 'MISSED'}")  # fmt: skip
    ok = recall_s <= TARGET_RECALL_S
    print(f"target recall p50 <= {TARGET_RECALL_S} s: {recall_s:.3f} s {'met' if ok else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, default=os.environ.get("MCP_MEMORY_MODEL_DIR"))
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--notes", type=int, default=300, help="memories in the database")
    parser.add_argument("--out", type=Path, help="also write the results as JSON")
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
        }
        seed(Path(env["MCP_MEMORY_DB"]), env, args.notes)
        start_load = os.getloadavg()[0]
        results = measure(commands(mcp, [0]), env, args.runs)
        report(results, (start_load, os.getloadavg()[0]))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
