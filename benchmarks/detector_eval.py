"""How the learned detector generalizes: in-distribution, leave-one-source-out and -family-out.

Every figure here is measured on rows the model being measured was not fitted on, with a
threshold set on out-of-fold benign scores of its own training rows: the held-out group plays
no part in choosing anything.
"""

from __future__ import annotations

from collections import defaultdict

import detector_fit as fitting
import numpy as np

MIN_GROUP = 10  # groups smaller than this are too small to report on their own


def _rate(hits: np.ndarray) -> str:
    return f"{int(hits.sum()):5d}/{len(hits):<5d} {hits.mean():7.1%}" if len(hits) else "  -"


def in_distribution(
    x: np.ndarray, y: np.ndarray, rows: list[dict], sample: np.ndarray | None
) -> dict[str, float]:
    """5-fold out-of-fold scores, one threshold (from the benign out-of-fold scores)."""
    oof = fitting.out_of_fold(x, y, sample, k=5)
    thr = fitting.threshold_for(oof[y == 0])
    print(f"\nin-distribution (5-fold, threshold {thr:.3f} from out-of-fold benign scores)")
    out: dict[str, float] = {}
    for label, key, what in ((1, "family", "caught"), (0, "source", "flagged")):
        groups: dict[str, list[int]] = defaultdict(list)
        for i, r in enumerate(rows):
            if r["label"] == label:
                groups[r[key]].append(i)
        for g in sorted(groups):
            hits = oof[groups[g]] >= thr
            out[f"{key}:{g}"] = float(hits.mean())
            print(f"  {'attack' if label else 'benign'} {key} {g:28} {what} {_rate(hits)}")
    return out


def leave_one_out(
    x: np.ndarray,
    y: np.ndarray,
    rows: list[dict],
    key: str,
    label: int,
    sample: np.ndarray | None = None,
) -> dict[str, float]:
    """For each group of `key` among rows with `label`: fit without it, measure on it.

    Attack groups report the share caught; benign groups the share flagged (false positives)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        if r["label"] == label:
            groups[r[key]].append(i)
    kind = "attack" if label else "benign"
    what = "caught" if label else "flagged"
    print(f"\nleave-one-{key}-out ({kind} {key}s; fit without the group, measure on it)")
    out: dict[str, float] = {}
    for g in sorted(groups):
        held = np.array(groups[g])
        if len(held) < MIN_GROUP:
            continue
        keep = np.setdiff1d(np.arange(len(y)), held)
        w, thr = fitting.fit_with_threshold(
            x[keep], y[keep], None if sample is None else sample[keep]
        )
        p = fitting.prob(w, x[held])
        hits = p >= thr
        out[g] = float(hits.mean())
        gate = with_rules([rows[i]["text"] for i in held], p, thr)
        print(f"  {g:30} {what} {_rate(hits)}  (threshold {thr:.3f}); with the rules {_rate(gate)}")
    return out


def with_rules(texts: list[str], p: np.ndarray, thr: float) -> np.ndarray:
    """Not stored by the gate for a fresh known client: the rules' signals plus the learned
    signal at probability `p` (the held-out model's, with its own threshold). The exemplar
    check is left out: its exemplars were not held out."""
    from mcp_memory.trust import beta
    from mcp_memory.trust.detectors import Signal, learned, scan

    floor = thr - 0.5 * (thr - 0.5)
    none = np.zeros(1, dtype=np.float32)
    m = learned.Model(none, none, none, 0.0, thr, floor, "")
    fresh = beta.new_agent("bench", 0.0, known_client=True).score
    out = []
    for text, prob in zip(texts, p, strict=True):
        signals = scan(text)
        sev = learned.severity(m, float(prob))
        signals += [Signal("learned", sev, "", "")] if sev > 0 else []
        out.append(beta.decide(signals, agent_trust=fresh, source="agent").status != "stored")
    return np.array(out)


def on_set(name: str, p: np.ndarray, thr: float, attack: bool, rows: list[dict]) -> float:
    """Detection (attack set) or false-positive rate (benign set) of the classifier alone."""
    hits = p >= thr
    what = "caught" if attack else "flagged"
    print(f"  {name:46} learned alone {what} {_rate(hits)}")
    if attack:
        per: dict[str, list[bool]] = defaultdict(list)
        for r, h in zip(rows, hits, strict=True):
            per[r.get("category", "?")].append(bool(h))
        for cat, v in sorted(per.items()):
            print(f"      {cat:42} {_rate(np.array(v))}")
    return float(hits.mean())
