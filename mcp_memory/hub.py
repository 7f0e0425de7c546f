"""Whether the model hub can be reached, asked once and remembered for an hour.

fastembed, asked to download behind a firewall, retries three times with sleeps of 3, 9 and
27 s: ~40 s before it gives up, on every server start. A TCP connect with a short timeout
answers the same question in milliseconds (or 1.5 s at worst), and a failure is written to
a stamp file in the cache folder so that the next processes within the hour do not even
try. Offline is then a mode, not a recurring error: keyword-only recall, one notice line.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_ENDPOINT = "https://huggingface.co"
PROBE_TIMEOUT_S = 1.5
OFFLINE_TTL_S = 3600.0
STAMP = "hub-unreachable"
_TRUE = {"1", "true", "yes", "on"}


def reachable(cache_dir: Path) -> bool:
    """Whether a download could work now. False without a probe when HF_HUB_OFFLINE is set
    or a probe failed less than an hour ago (the stamp file); a success clears the stamp."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE:
        return False
    stamp = Path(cache_dir) / STAMP
    if failed_recently(stamp):
        return False
    host, port = probe_target()
    ok = connect(host, port, PROBE_TIMEOUT_S)
    try:
        if ok:
            stamp.unlink(missing_ok=True)
        else:
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.write_text(f"{time.time():.0f} {host}:{port}\n", encoding="utf-8")
    except OSError:  # a read-only cache only costs the probe next time
        pass
    return ok


def failed_recently(stamp: Path, ttl: float = OFFLINE_TTL_S) -> bool:
    try:
        return time.time() - stamp.stat().st_mtime < ttl
    except OSError:
        return False


def probe_target() -> tuple[str, int]:
    """The first hop of a download: the HTTPS proxy if one is set, else the hub (HF_ENDPOINT
    for a mirror)."""
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        proxy = os.environ.get(name)
        if proxy:
            parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
            if parts.hostname:
                return parts.hostname, parts.port or 8080
    parts = urlsplit(os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT)
    return parts.hostname or "huggingface.co", parts.port or (80 if parts.scheme == "http" else 443)


def connect(host: str, port: int, timeout: float) -> bool:
    """A TCP handshake, nothing sent: DNS failure, refusal and silence all say offline."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError:
        return False
    return True
