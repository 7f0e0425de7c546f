"""N agents, each its own `mcp-memory serve` process over stdio, writing one database.

    python benchmarks/concurrency.py --model-dir ../shared/models/all-MiniLM-L6-v2-onnx \
        --agents 1 4 8 16

Prints throughput (acknowledged writes per second), tool errors, and lost writes
(acknowledged ids missing from the database afterwards).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters
from mcp.types import Implementation

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mcp_memory import MemoryStore, Settings  # noqa: E402

TOPICS = ["cache", "queue", "schema", "router", "logger", "billing", "search", "auth", "mailer"]


def note(agent: int, i: int) -> str:
    topic = TOPICS[(agent + i) % len(TOPICS)]
    return (
        f"Agent {agent} learned that the {topic} module {i} reads config/{topic}_{agent}_{i}.yaml"
    )


async def agent(n: int, db: Path, model_dir: str | None, writes: int, out: dict) -> None:
    env = {
        **os.environ,
        "MCP_MEMORY_DB": str(db),
        "MCP_MEMORY_AGENT": f"agent-{n}",
        "MCP_MEMORY_PROJECT": "bench",
    }
    if model_dir:
        env["MCP_MEMORY_MODEL_DIR"] = model_dir
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "mcp_memory", "serve"], env=env
    )
    async with Client(params, client_info=Implementation(name=f"agent-{n}", version="1")) as c:
        for i in range(writes):
            r = await c.call_tool("remember", {"content": note(n, i)})
            if r.is_error:
                out["errors"].append(r.content[0].text[:200])
            else:
                out["acked"].append(r.structured_content["id"])
            if i % 10 == 0:
                q = await c.call_tool(
                    "recall", {"query": f"{TOPICS[i % len(TOPICS)]} module config"}
                )
                if q.is_error:
                    out["errors"].append(q.content[0].text[:200])


async def run(n_agents: int, model_dir: str | None, writes: int) -> dict[str, object]:
    db = Path(tempfile.mkdtemp()) / "concurrency.db"
    MemoryStore.open(settings=Settings(db_path=db, project="bench"), embedder=None).close()
    out: dict[str, list] = {"acked": [], "errors": []}
    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for n in range(n_agents):
            tg.start_soon(agent, n, db, model_dir, writes, out)
    elapsed = time.perf_counter() - start
    store = MemoryStore.open(settings=Settings(db_path=db, project="bench"), embedder=None)
    present = {r[0] for r in store.conn.execute("select id from memories")}
    statuses = dict(store.conn.execute("select status, count(*) from memories group by status"))
    store.close()
    lost = [i for i in out["acked"] if i not in present]
    return {
        "agents": n_agents,
        "acked": len(out["acked"]),
        "errors": len(out["errors"]),
        "lost": len(lost),
        "seconds": elapsed,
        "writes_per_s": len(out["acked"]) / elapsed,
        "statuses": statuses,
        "first_error": out["errors"][:1],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", default=None)
    ap.add_argument("--agents", type=int, nargs="+", default=[1, 4, 8, 16])
    ap.add_argument("--writes", type=int, default=50, help="remember calls per agent")
    args = ap.parse_args()
    print(
        f"{'agents':>6} {'acked':>6} {'errors':>6} {'lost':>5} {'seconds':>8} {'writes/s':>9}"
        "  statuses"
    )
    for n in args.agents:
        r = anyio.run(run, n, args.model_dir, args.writes)
        print(
            f"{r['agents']:>6} {r['acked']:>6} {r['errors']:>6} {r['lost']:>5} "
            f"{r['seconds']:>8.1f} {r['writes_per_s']:>9.1f}  {r['statuses']}",
            flush=True,
        )
        if r["first_error"]:
            print("   first error:", r["first_error"][0])


if __name__ == "__main__":
    main()
