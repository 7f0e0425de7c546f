"""Draw docs/img/*.png from the JSON the benchmarks saved (pip install -e ".[bench]").

python benchmarks/scale.py --model-dir ... --json benchmarks/results/scale.json
python benchmarks/locomo.py --save benchmarks/results/locomo.json
python benchmarks/plot.py
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks/results"
IMG = ROOT / "docs/img"
CATEGORIES = {
    "1": "multi-hop",
    "2": "temporal",
    "3": "open-domain",
    "4": "single-hop",
    "all": "all (1-4)",
}


def latency_plot(rows: list[dict]) -> Path:
    sizes = [r["memories"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for key, label in (
        ("recall_p50", "recall p50"),
        ("recall_p95", "recall p95"),
        ("remember_p50", "remember p50"),
        ("remember_p95", "remember p95"),
    ):
        ax.plot(
            sizes,
            [r[key] for r in rows],
            marker="o",
            label=label,
            linestyle="-" if "p50" in key else "--",
        )
    ax.set_xscale("log")
    ax.set_xlabel("memories in the project")
    ax.set_ylabel("milliseconds (query embedding included)")
    ax.set_title("mcp-memory latency vs corpus size (2 cores, MiniLM)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    out = IMG / "latency_vs_size.png"
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    return out


def locomo_plot(res: dict) -> Path:
    keys = [k for k in ("1", "2", "3", "4", "all") if k in res["recall"]]
    x = range(len(keys))
    fig, ax = plt.subplots(figsize=(6.4, 4))
    width = 0.38
    ax.bar(
        [i - width / 2 for i in x],
        [res["bm25"][k]["R@10"] for k in keys],
        width,
        label="FTS5 bm25 baseline",
    )
    ax.bar(
        [i + width / 2 for i in x],
        [res["recall"][k]["R@10"] for k in keys],
        width,
        label="mcp-memory recall",
    )
    ax.set_xticks(list(x), [CATEGORIES[k] for k in keys])
    ax.set_ylabel("recall@10 (evidence turns in top 10)")
    ax.set_ylim(0, 1)
    ax.set_title("LoCoMo turn retrieval, categories 1-4")
    ax.legend()
    ax.grid(True, axis="y", alpha=0.3)
    out = IMG / "locomo_recall_by_category.png"
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    return out


def main() -> None:
    IMG.mkdir(parents=True, exist_ok=True)
    scale, locomo = RESULTS / "scale.json", RESULTS / "locomo.json"
    if scale.exists():
        print("wrote", latency_plot(json.loads(scale.read_text())))
    if locomo.exists():
        print("wrote", locomo_plot(json.loads(locomo.read_text())))


if __name__ == "__main__":
    main()
