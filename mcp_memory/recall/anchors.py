"""Code anchors: a memory about a file records the file's hash so we can tell when it rots."""

from __future__ import annotations

import hashlib
from pathlib import Path

MISSING = "missing"


def file_hash(path: Path) -> str:
    try:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 16), b""):
                digest.update(block)
        return "sha256:" + digest.hexdigest()
    except OSError:
        return MISSING


def anchor(paths: list[str], root: Path) -> list[dict[str, str]]:
    return [{"path": p, "sha256": file_hash(root / p)} for p in paths]


def is_stale(anchors: list[dict[str, str]], root: Path) -> bool:
    """Stale when any anchored file changed or vanished since the memory was written."""
    return any(file_hash(root / a["path"]) != a.get("sha256") for a in anchors)
