"""Where a URL points: official installers, well-known hosts and their look-alikes.

Two short, documented lists (docs/security.md, "Rule detectors") carry the knowledge; everything
else is judged by shape. Matching is on the parsed host (and a path prefix for installers served
from a shared host), never on a substring of the whole URL: ``https://evil.example/?sh.rustup.rs``
or ``https://sh.rustup.rs.evil.example`` is not rustup.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

# Official installers whose own docs say "curl ... | sh". (host, path prefix or "").
INSTALLERS: tuple[tuple[str, str], ...] = (
    ("sh.rustup.rs", ""), ("static.rust-lang.org", "/rustup"), ("astral.sh", ""),
    ("get.docker.com", ""), ("test.docker.com", ""),
    ("raw.githubusercontent.com", "/homebrew/install/"),
    ("raw.githubusercontent.com", "/nvm-sh/nvm/"),
    ("bun.sh", "/install"), ("deno.land", "/install"), ("deno.land", "/x/install"),
    ("install.python-poetry.org", ""), ("get.pnpm.io", ""), ("pyenv.run", ""), ("mise.run", ""),
    ("starship.rs", "/install"), ("get.helm.sh", ""), ("raw.githubusercontent.com", "/helm/helm/"),
    ("sdk.cloud.google.com", ""), ("install.determinate.systems", ""),
    ("nixos.org", "/nix/install"),
    ("fly.io", "/install.sh"), ("get.volta.sh", ""), ("foundry.paradigm.xyz", ""),
    ("tailscale.com", "/install.sh"), ("ollama.com", "/install.sh"), ("deb.nodesource.com", ""),
    ("rpm.nodesource.com", ""), ("sh.vector.dev", ""), ("get.k3s.io", ""), ("cli.github.com", ""),
    ("get.sdkman.io", ""), ("opencode.ai", "/install"), ("claude.ai", "/install.sh"),
)  # fmt: skip

# Registrable domains of hosts that coding notes legitimately point at. A host that imitates one
# of these (same brand with an affix, one or two letters off, or the whole name used as a
# subdomain of another domain) is a look-alike.
WELL_KNOWN: tuple[str, ...] = (
    "pypi.org", "pythonhosted.org", "python.org", "pypa.io", "npmjs.org", "npmjs.com",
    "yarnpkg.com", "github.com", "githubusercontent.com", "githubassets.com", "github.io",
    "gitlab.com", "gitlab.io", "bitbucket.org", "crates.io", "rust-lang.org", "rustup.rs",
    "rubygems.org",
    "golang.org", "go.dev", "nuget.org", "maven.org", "apache.org", "docker.com", "docker.io",
    "ghcr.io", "quay.io", "anaconda.org", "anaconda.com", "conda-forge.org", "pytorch.org",
    "huggingface.co", "nodejs.org", "deno.land", "jsdelivr.net", "unpkg.com", "cloudflare.com",
    "amazonaws.com", "googleapis.com", "microsoft.com", "visualstudio.com", "brew.sh",
    "sourceforge.net", "kernel.org", "debian.org", "ubuntu.com", "astral.sh", "pnpm.io",
    "readthedocs.io", "stackoverflow.com", "openai.com", "anthropic.com", "gradle.org",
    "jetbrains.com", "hashicorp.com", "kubernetes.io", "helm.sh",
)  # fmt: skip
_WELL_KNOWN_SET = frozenset(WELL_KNOWN)
# Brand labels long and distinctive enough that another domain containing them is imitation.
_BRANDS = tuple(
    sorted(
        {d.split(".")[0] for d in WELL_KNOWN if len(d.split(".")[0]) >= 5}
        | {"pypi", "npmjs"}
        - {"microsoft", "cloudflare", "amazonaws", "googleapis", "kernel", "apache", "debian"},
        key=len,
        reverse=True,
    )
)
_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "ac", "gov", "edu"})
LOCAL_HOSTS = re.compile(
    r"^(?:localhost|127\.\d+\.\d+\.\d+|0\.0\.0\.0|\[?::1\]?|host\.docker\.internal)$"
)
PRIVATE_HOSTS = re.compile(
    r"(?:\.internal|\.corp|\.local|\.lan|\.intranet|\.svc|\.cluster\.local|\.home\.arpa)$|"
    r"^(?:10\.|192\.168\.|172\.(?:1[6-9]|2\d|3[01])\.)"
)
# A host named anywhere in prose, with or without a scheme (TLDs limited to avoid file names).
HOST_IN_TEXT = re.compile(
    r"(?<![\w@.-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:com|org|net|io|dev|app|co|sh|"
    r"xyz|info|cc|me|cloud|site|online|top|ru|cn|tk|ml|ga|cf|gq|biz|us|uk|de|ai|so|to|pw|ws|su|"
    r"lol|icu|click|link|live|pro|rs|land|run|tech|store|space|website|download|zip|mov))"
    r"(?![\w-])",
    re.IGNORECASE,
)


def host_of(url: str) -> str:
    """Lower-case host of a URL ('' when it has none or cannot be parsed)."""
    try:
        return (urlsplit(url if "://" in url else "https://" + url).hostname or "").lower()
    except ValueError:
        return ""


def registrable(host: str) -> str:
    """The registrable domain, approximated without a public-suffix list (a.b.co.uk -> b.co.uk)."""
    labels = host.strip(".").split(".")
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def is_installer(url: str) -> bool:
    """True for an official installer: exact host (or its subdomain) and the path prefix."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host, path = (parts.hostname or "").lower(), parts.path.lower()
    return any(
        (host == h or host.endswith("." + h)) and path.startswith(prefix)
        for h, prefix in INSTALLERS
    )


def _distance(a: str, b: str, cap: int = 3) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance, stopping early past cap."""
    if abs(len(a) - len(b)) > cap:
        return cap + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


@lru_cache(maxsize=4096)
def lookalike(host: str) -> str | None:
    """The well-known domain this host imitates, or None (well-known hosts are not look-alikes)."""
    host = host.lower().strip(".")
    if not host or LOCAL_HOSTS.match(host) or PRIVATE_HOSTS.search(host):
        return None
    reg = registrable(host)
    if reg in _WELL_KNOWN_SET:
        return None
    labels = host.split(".")
    for known in WELL_KNOWN:
        if host.startswith(known + ".") or f".{known}." in f".{host}":
            return known  # files.pythonhosted.org.evil.example
        if known.replace(".", "-") in labels:
            return known  # ghcr-io.mirror.example, pypi-org.example
    label = reg.split(".")[0]
    same_name = [d for d in WELL_KNOWN if d.split(".")[0] == label and len(label) >= 5]
    if same_name:
        return same_name[0]  # pythonhosted.co, npmjs.net: the name under another TLD
    for brand in _BRANDS:
        if brand in label and label != brand:
            return next(d for d in WELL_KNOWN if d.startswith(brand + "."))  # pypi-mirror.org
    for known in WELL_KNOWN:
        limit = 2 if len(known) >= 11 else 1
        if len(known) >= 7 and 0 < _distance(reg, known, limit) <= limit:
            return known  # pythonhosted.co, githab.com, npmjs.corn
    return None


def host_risk(url: str) -> tuple[float, str]:
    """How hostile a URL looks as a source of code, as (0..1, reason)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return 0.6, "a malformed URL"
    if LOCAL_HOSTS.match(host):
        return 0.0, "localhost"
    if is_installer(url):
        return 0.1, "a well-known installer"
    if PRIVATE_HOSTS.search(host):
        return 0.15, "an internal host"
    imitated = lookalike(host)
    if imitated:
        return 0.9, f"a look-alike of {imitated}"
    if _OFFICIAL_REGISTRIES.search(host):
        return 0.05, "an official registry"
    if _HOSTED_REGISTRIES.search(host):
        return 0.3, "a hosted private registry"
    if re.match(r"^\d{1,3}(?:\.\d{1,3}){3}$", host):
        return 0.9, "a bare IP address"
    if parts.scheme == "http":
        return 0.75, "plain http"
    return 0.5, "an unknown host"


_OFFICIAL_REGISTRIES = re.compile(
    r"(?:^|\.)(?:pypi\.org|pythonhosted\.org|registry\.npmjs\.org|registry\.yarnpkg\.com|"
    r"npm\.pkg\.github\.com|proxy\.golang\.org|sum\.golang\.org|rubygems\.org|crates\.io|"
    r"download\.pytorch\.org|conda\.anaconda\.org|pypi\.nvidia\.com)$"
)
# Per-organisation registries sold as a service: a company mirror lives here, but so can anyone's.
_HOSTED_REGISTRIES = re.compile(
    r"(?:\.jfrog\.io|pkgs\.dev\.azure\.com|\.codeartifact\.[\w-]+\.amazonaws\.com|"
    r"\.pkg\.dev|\.cloudsmith\.io|\.fury\.io|pkgs\.github\.com|\.gitlab\.com)$"
)
