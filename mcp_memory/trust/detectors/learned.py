"""A learned detector: a small classifier over the MiniLM vector the store already computes.

The rules catch the loud phrasings and the exemplar check catches close paraphrases of a few
dozen lines; neither generalizes to a kind of poison nobody here wrote. This classifier was
trained on a broad corpus (public prompt-injection and jailbreak collections, generated
coding-agent poisons across ten families, instruction files, commit messages and docs as the
benign side: docs/data-card.md) by benchmarks/train_detector.py, with the int8 model the product
ships, and is measured leave-one-source-out and leave-one-family-out (docs/security.md).

Inference is one small matrix product plus hashing the note's words and a dozen regular
expressions over its first 4,000 characters (tens of microseconds).
The weights are package data, loaded once on first use; a missing or damaged file turns the
detector off with one log line and never blocks a write.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcp_memory.trust.detectors.base import Signal, make_safe

log = logging.getLogger("mcp_memory")

FAMILY = "learned"
WEIGHTS = Path(__file__).with_name("learned.npz")
FEATURE_VERSION = 3
BUCKETS = 1024  # hashed word unigrams and bigrams: the words MiniLM blurs (never, instead, off)
_WORD = re.compile(r"[a-z0-9_.$|<>/-]+")
# Classes of meaning, each a set of synonyms, so a word the corpus never paired with a label
# still lands in the class its synonyms taught ("bypass" where training said "disable").
_CLASSES = {
    name: re.compile(pattern)
    for name, pattern in {
        "standing": r"\b(?:from now on|going forward|always|every (?:time|session|repo)|in every|"
        r"by default|as a rule|whenever|for all (?:future|"
        r"agents)|henceforth|until told otherwise)\b",
        "weaken": r"\b(?:disabl\w*|turn(?:ed|ing)? off|switch(?:ed)? off|skip\w*|bypass\w*|"
        r"ignor\w*|disregard\w*|remov\w*|drop\w*|strip\w*|delet\w*|no need|unnecessary|"
        r"not needed|optional|pointless|redundant|overkill|without|allow(?:ed)? (?:all|any)|"
        r"no longer|obsolete|outdated|void|deprecated|-k\b|"
        r"--insecure|--no-verify|=\s*(?:false|0|none))",
        "control": r"\b(?:auth\w*|tls|ssl|certificat\w*|verif\w*|csrf|cors|token\w*|password\w*|"
        r"secret\w*|credential\w*|signatur\w*|signing|hooks?|review\w*|2fa|mfa|firewall|"
        r"sandbox\w*|permission\w*|scan\w*|lockfile|checksum\w*|integrity|hash\w*|"
        r"validation|rate limit\w*|protection|confirm\w*|encrypt\w*|branch protection)\b",
        "send": r"\b(?:send\w*|sent|post\w*|upload\w*|e-?mail\w*|forward\w*|share\w*|"
        r"paste\w*|transmit\w*|exfiltrat\w*|leak\w*|push\w* .{0,20}remote|attach\w*)\b",
        "sensitive": r"(?:\.env\b|\.ssh|id_rsa|\.aws|credentials|api[_ -]?keys?|tokens?\b|"
        r"passwords?|secrets?|cookies?|kubeconfig|printenv|private key|transcript|chat history|"
        r"conversation|customer (?:list|data)|invoice|payout|iban)",
        "outside": r"(?:https?://|[a-z0-9-]\.(?:io|net|com|org|xyz|dev|sh|cc|app|run|co|cloud|site|"
        r"top|ru|cn)\b|\d\.\d{1,3}\.\d{1,3}\.\d|@[a-z0-9-]+\.)",
        "shell": r"(?:\|\s*(?:sudo\s+)?(?:ba|z|da)?sh\b|\|\s*python\d?\b|<\(\s*(?:curl|wget)|"
        r"\biex\b|\beval\b|\bsource\s*<|\bcurl\b|\bwget\b|\biwr\b)",
        "secrecy": r"\b(?:don'?t (?:tell|mention|inform|let)|do not (?:tell|"
        r"mention|inform|reveal|let)|"
        r"never (?:tell|mention|reveal)|without (?:telling|asking|informing)|quietly|secretly|"
        r"hide|hidden|conceal\w*|keep (?:this|it) (?:from|"
        r"out|quiet|secret)|out of the (?:log|summary|"
        r"changelog|commit)|pretend|say (?:that|only)|report that)\b",
        "override": r"\b(?:instructions?|system prompt|agents\.md|claude\.md|rules? files?|"
        r"guidelines?|\.cursorrules|previous|prior|above|operator|policy|supersed\w*|"
        r"overrid\w*|precedence|authority|outrank\w*|take priority)\b",
        "addressee": r"\b(?:you|your|assistant|agents?|ai|model|chatgpt|llm|bot)\b",
        "excuse": r"\b(?:internal\w*|anyway|slow\w*|annoying|noise|waste|faster|quicker|trust me|"
        r"signed off|approved|vetted|agreed|private|just|hassle|busywork|flaky|blocks?)\b",
        "source": r"\b(?:fork\w*|mirror\w*|registry|index(?:-url)?|extra-index-url|trusted-host|"
        r"goproxy|tarball|drop-in|patched|replacement|cdn|instead of)\b",
        "destroy": r"(?:rm -rf|drop (?:the )?(?:database|table)|truncat\w*|wip\w*|destroy|"
        r"force[- ]push|--force|reset --hard|clean -fdx|delete namespace|revok\w*)",
        "takeover": r"\b(?:transfer\w*|invit\w*|grant\w*|owner|admin\w*|payout|refund|"
        r"wire|bank account|calendar)\b",
    }.items()
}
MEANING_SCALE = 1.0  # on the scale of the unit-length vector and bag beside it
_PAIRS = (
    ("weaken", "control"), ("standing", "weaken"), ("send", "sensitive"), ("send", "outside"),
    ("shell", "outside"), ("source", "outside"), ("weaken", "override"), ("secrecy", "addressee"),
    ("excuse", "weaken"), ("standing", "destroy"), ("takeover", "outside"),
    ("override", "addressee"),
)  # fmt: skip
# At the threshold a note is just held from a fresh known client (its bar is 0.53); a little
# over it, from any agent short of a trusted one (the bar never exceeds 0.65).
SEVERITY_AT_THRESHOLD = 0.56
SEVERITY_FLOOR = 0.2  # a borderline score is a weak signal: it counts only with other evidence
SEVERITY_MAX = 0.95
# The probability at which the classifier alone holds a note. Its trained threshold (0.2% of
# benign training rows) held 1.2% of ordinary notes from another generator
# (benchmarks/coding_notes.py: "The webhooks migration locked writes in billing ..." at 0.99),
# so out of its training distribution it must be surer: at 0.95 it held 0.45% of those notes
# and 0 of 996 cursor rules, and kept 75 of the 94 CyberSecEval attacks it held alone. Below
# it a score is a weaker signal that adds to other evidence.
HOLD_ALONE = 0.95


@dataclass(frozen=True)
class Model:
    w1: np.ndarray  # (n_features, hidden)
    b1: np.ndarray  # (hidden,)
    w2: np.ndarray  # (hidden,)
    b2: float
    threshold: float  # probability at which a note is held for a known client
    floor: float  # probability below which no signal is raised
    model_name: str  # embedding model the weights were trained on (without the :int8 suffix)


_model: Model | None = None
_loaded = False
_lock = threading.Lock()


def features(text: str, vector: np.ndarray) -> np.ndarray:
    """The classifier's input: the unit-length sentence vector, the note's log length and a
    hashed bag of its words and word pairs (unit length). Shared with the training script so
    both sides compute exactly the same thing."""
    v = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(v))
    v = v / norm if norm > 0 and math.isfinite(norm) else np.zeros_like(v)
    size = math.log1p(len(text)) / 8.0
    return np.concatenate([v, np.array([size], dtype=np.float32), lexical(text), meaning(text)])


def meaning(text: str) -> np.ndarray:
    """One 0/1 feature per class of meaning present and per telling pair of classes (a weakening
    verb near a security control, a send verb with a secret or an outside host, ...)."""
    head = text[:4000].lower()
    found = {name: pat.search(head) is not None for name, pat in _CLASSES.items()}
    pairs = [found[a] and found[b] for a, b in _PAIRS]
    return np.array([*found.values(), *pairs], dtype=np.float32) * MEANING_SCALE


def lexical(text: str) -> np.ndarray:
    bag = np.zeros(BUCKETS, dtype=np.float32)
    words = _WORD.findall(text[:4000].lower())
    for gram in words + [a + " " + b for a, b in zip(words, words[1:], strict=False)]:
        bag[zlib.crc32(gram.encode()) % BUCKETS] = 1.0
    n = float(np.linalg.norm(bag))
    return bag / n if n else bag


def load(path: Path = WEIGHTS) -> Model | None:
    """The model in `path`, or None (logged once by the caller) when it cannot be read."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["feature_version"]) != FEATURE_VERSION:
                raise ValueError(f"feature version {int(data['feature_version'])}")
            return Model(
                w1=np.asarray(data["w1"], dtype=np.float32),
                b1=np.asarray(data["b1"], dtype=np.float32),
                w2=np.asarray(data["w2"], dtype=np.float32),
                b2=float(np.asarray(data["b2"]).reshape(-1)[0]),
                threshold=float(data["threshold"]),
                floor=float(data["floor"]),
                model_name=str(data["model_name"]),
            )
    except Exception as exc:  # noqa: BLE001 - a bad file turns the detector off, never the store
        log.warning(
            "mcp-memory: learned detector disabled, its weights in %s do not load (%s: %s)",
            path,
            type(exc).__name__,
            str(exc)[:200],
        )
        return None


def model() -> Model | None:
    global _model, _loaded
    if not _loaded:
        with _lock:
            if not _loaded:
                _model = load()
                _loaded = True
    return _model


def probability(m: Model, text: str, vector: np.ndarray) -> float:
    x = features(text, vector)
    if x.shape[0] != m.w1.shape[0] or not np.all(np.isfinite(x)):
        return 0.0
    z = float(np.maximum(x @ m.w1 + m.b1, 0.0) @ m.w2) + m.b2
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def severity(m: Model, p: float) -> float:
    """0 below the floor, rising to SEVERITY_AT_THRESHOLD where the classifier holds alone (its
    threshold, or HOLD_ALONE if that is higher), then to the max."""
    hold = max(m.threshold, HOLD_ALONE)
    if p < m.floor:
        return 0.0
    if p < hold:
        span = max(hold - m.floor, 1e-6)
        return SEVERITY_FLOOR + (SEVERITY_AT_THRESHOLD - SEVERITY_FLOOR) * (p - m.floor) / span
    span = max(1.0 - hold, 1e-6)
    return SEVERITY_AT_THRESHOLD + (SEVERITY_MAX - SEVERITY_AT_THRESHOLD) * (p - hold) / span


def score(text: str, vector: np.ndarray | None, model_name: str | None = None) -> float | None:
    """The classifier's probability that the note is a poison, or None when it cannot judge:
    no weights, no vector, or a vector from another model than the one it was trained on."""
    m = model()
    if m is None or vector is None:
        return None
    if model_name is not None and model_name.split(":")[0] != m.model_name:
        return None
    try:
        return probability(m, str(text), np.asarray(vector, dtype=np.float32))
    except (ValueError, TypeError):
        return None


def signal_for(text: str, p: float | None) -> Signal | None:
    """The signal for a probability from `score`; None below the floor."""
    m = model()
    if m is None or p is None:
        return None
    sev = severity(m, p)
    if sev <= 0.0:
        return None
    detail = (
        f"A classifier trained on poisoned notes scores this {p:.2f} (holds at {m.threshold:.2f})."
    )
    return Signal(FAMILY, round(min(sev, SEVERITY_MAX), 3), make_safe(str(text))[:120], detail)


def check(text: str, vector: np.ndarray | None, model_name: str | None = None) -> Signal | None:
    """A signal when the note reads like a poison to the classifier; None when it does not or
    when it cannot judge (see `score`)."""
    return signal_for(text, score(text, vector, model_name))
