"""Paths, limits and environment: the one place that reads os.environ."""

from __future__ import annotations

import math
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from platformdirs import user_cache_dir, user_data_dir

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
MAX_CONTENT_BYTES = 16 * 1024
MAX_TAGS = 20
MAX_TAG_CHARS = 64
MAX_FILES = 50
MAX_PATH_CHARS = 1024
MAX_QUERY_CHARS = 10_000
MAX_RECALL_LIMIT = 100
MAX_PROJECT_CHARS = 200
SOURCES = ("user", "agent", "tool", "web", "file")
RELATIONS = ("related", "supports", "contradicts", "supersedes", "depends_on", "derived_from")
USER_AGENT = "user"
ANONYMOUS_AGENT = "anonymous"
# The stored name of a caller without a token: `unverified:NAME`. A prefix, so the mark is the
# first thing a reader sees (in listings, the audit log and the recall fence) and sorts these
# rows together; and a different string, so it is a different agents row: a claimed name can
# never take or move the trust of the verified agent it imitates. Token names cannot start
# with it (tokens.check_agent_name).
UNVERIFIED_PREFIX = "unverified:"
FALSE_WORDS = ("", "0", "false", "no", "off")
DEFAULT_BUSY_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class EnvVar:
    """One environment variable as the README documents it (see ENVIRONMENT)."""

    name: str
    meaning: str
    default: str


# The one list of the variables the package reads: the README's table is generated from it
# (cog), and tests/test_docs.py fails when the code reads a variable that is not here.
ENVIRONMENT: tuple[EnvVar, ...] = (
    EnvVar(
        "MCP_MEMORY_DB",
        "path of the SQLite database, or a `postgresql://` URL "
        "([docs/postgres.md](docs/postgres.md))",
        "the user data dir, e.g. `~/.local/share/mcp-memory/memory.db`",
    ),
    EnvVar(
        "MCP_MEMORY_MODEL",
        "fastembed name of the embedding model",
        f"`{DEFAULT_MODEL}`",
    ),
    EnvVar(
        "MCP_MEMORY_MODEL_DIR",
        "local folder with an ONNX embedding model",
        "unset: fastembed's normal download",
    ),
    EnvVar(
        "MCP_MEMORY_TOKEN",
        "a token from `agents token create NAME` (`install CLIENT` writes one into the "
        "client's config): `serve` over stdio runs as its agent, verified (over HTTP each "
        "request sends its own)",
        "unset: the caller is unverified",
    ),
    EnvVar(
        "MCP_MEMORY_AGENT",
        "the claimed name of a caller without a token, stored as `unverified:NAME`",
        "the client's `clientInfo.name`, else `anonymous`",
    ),
    EnvVar(
        "MCP_MEMORY_PROJECT",
        'default project scope (`""` = global)',
        "name of the working directory's git root; global outside a repository",
    ),
    EnvVar(
        "MCP_MEMORY_TRUSTED_AGENTS",
        "comma-separated verified agents (token holders) that start with a trusted prior",
        "none",
    ),
    EnvVar(
        "MCP_MEMORY_QUANTIZE",
        "embed with an int8 copy of the model (`0`/`false`/`no`/`off`: the float model)",
        "on",
    ),
    EnvVar(
        "MCP_MEMORY_CACHE_DIR",
        "where the int8 model copy is kept (safe to delete)",
        "the user cache dir, e.g. `~/.cache/mcp-memory`",
    ),
    EnvVar(
        "MCP_MEMORY_SHARE_MODEL",
        "a running `serve` lends its loaded model to CLI commands on the same machine over a "
        "private Unix socket, so `recall` and `remember` skip loading it "
        "(`0`/`false`/`no`/`off`: neither lend nor borrow)",
        "on",
    ),
    EnvVar(
        "MCP_MEMORY_REQUIRE_TOKEN",
        "HTTP: require a bearer token on loopback too (any value but `0`/`false`/`no`/`off`)",
        "off (always on beyond loopback)",
    ),
    EnvVar(
        "MCP_MEMORY_WATCH_POLLING",
        "`1`: `watch` and `serve --watch` poll the files instead of using inotify/FSEvents "
        "(network or container file systems)",
        "off",
    ),
    EnvVar(
        "MCP_MEMORY_BUSY_TIMEOUT",
        "seconds a write waits for another process's write lock before it fails with "
        "`database busy` (reads never wait)",
        f"`{DEFAULT_BUSY_TIMEOUT_S:g}`",
    ),
)


def busy_timeout_s(env: dict[str, str] | None = None) -> float:
    """How long a write waits for the write lock. Read at each connect rather than carried
    in Settings: every connection (store, tokens, audit, migrations) must honour it, and
    most are opened from a bare path. A value that is not a number >= 0 is ignored."""
    raw = (os.environ if env is None else env).get("MCP_MEMORY_BUSY_TIMEOUT", "")
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_BUSY_TIMEOUT_S
    return value if value >= 0 and math.isfinite(value) else DEFAULT_BUSY_TIMEOUT_S


def env_flag(value: str | None) -> bool:
    """Security switches fail closed: any value but an explicit no (0/false/no/off) is yes."""
    return value is not None and value.strip().lower() not in FALSE_WORDS


def default_db_path() -> Path:
    return Path(user_data_dir("mcp-memory", appauthor=False)) / "memory.db"


def default_cache_dir() -> Path:
    """Where derived files live (the int8 model copy): safe to delete, rebuilt on demand."""
    return Path(user_cache_dir("mcp-memory", appauthor=False))


DbTarget = str | Path
"""Where the data lives: a SQLite file path, or a PostgreSQL URL.
A URL stays a `str`: `Path('postgresql://u@h/db')` collapses the `//` into `postgresql:/u@h/db`."""

# `postgresql:/` (one slash) too: that is what a URL looks like after Path() has mangled it.
_POSTGRES_URL = re.compile(r"^postgres(?:ql)?:/", re.IGNORECASE)
_SECRET_PARAMS = {"password", "passfile", "sslpassword"}
REDACTED = "***"


def is_postgres_url(value: object) -> bool:
    """True for a postgresql:// or postgres:// URL (libpq's two schemes), whatever its type."""
    return isinstance(value, (str, Path)) and bool(_POSTGRES_URL.match(str(value)))


def db_target(value: str | Path) -> DbTarget:
    """Classify a --db / $MCP_MEMORY_DB value: a PostgreSQL URL is kept as the exact string,
    anything else is a file path."""
    if isinstance(value, str) and is_postgres_url(value):
        return value
    return Path(value)


def redact_db_target(value: DbTarget) -> str:
    """A printable form of a DB target: a URL's password (in the authority or as a
    `password=` query parameter) becomes ***, so doctor output and errors can be pasted
    into an issue. File paths are returned unchanged."""
    text = str(value)
    if not is_postgres_url(value):
        return text
    try:
        parts = urlsplit(text)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            if ":" in userinfo:
                netloc = f"{userinfo.split(':', 1)[0]}:{REDACTED}@{host}"
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query = parts.query  # kept as written (`host=/tmp/x`) unless it holds a secret
        if any(k.lower() in _SECRET_PARAMS for k, _ in pairs):
            query = urlencode(
                [(k, REDACTED if k.lower() in _SECRET_PARAMS else v) for k, v in pairs],
                safe="*/",
            )
        return urlunsplit(parts._replace(netloc=netloc, query=query))
    except ValueError:  # unparseable: show only the scheme rather than risk a secret
        return text.split(":", 1)[0] + "://" + REDACTED


def git_root_name(cwd: Path | None = None) -> str:
    """Project scope defaults to the git root's folder name so every agent in a repo agrees."""
    cwd = cwd or Path.cwd()
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return Path(out.stdout.strip()).name if out.returncode == 0 and out.stdout.strip() else ""


@dataclass
class Settings:
    # A file path, or a PostgreSQL URL kept as str (see db_target; not supported yet).
    db_path: DbTarget = field(default_factory=default_db_path)
    model_dir: Path | None = None
    model_name: str = DEFAULT_MODEL
    agent: str | None = None
    token: str | None = field(default=None, repr=False)  # a secret: never in a repr or log
    project: str = ""
    trusted_agents: frozenset[str] = frozenset()
    require_token: bool = False  # HTTP: demand a bearer token on loopback too
    quantize: bool = True  # embed with an int8 copy of the model (see quantize.py)
    cache_dir: Path = field(default_factory=default_cache_dir)
    share_model: bool = True  # lend/borrow a loaded model over a socket (embed_socket.py)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        model_dir = env.get("MCP_MEMORY_MODEL_DIR")
        project = env.get("MCP_MEMORY_PROJECT")
        trusted = env.get("MCP_MEMORY_TRUSTED_AGENTS", "")
        raw_db = env.get("MCP_MEMORY_DB")
        cache = env.get("MCP_MEMORY_CACHE_DIR")
        target = db_target(raw_db) if raw_db else default_db_path()
        return cls(
            db_path=target.expanduser() if isinstance(target, Path) else target,
            model_dir=Path(model_dir).expanduser() if model_dir else None,
            model_name=env.get("MCP_MEMORY_MODEL", DEFAULT_MODEL),
            agent=env.get("MCP_MEMORY_AGENT") or None,
            token=(env.get("MCP_MEMORY_TOKEN") or "").strip() or None,
            project=project if project is not None else git_root_name(),
            trusted_agents=frozenset(a.strip() for a in trusted.split(",") if a.strip()),
            require_token=env_flag(env.get("MCP_MEMORY_REQUIRE_TOKEN")),
            quantize=env.get("MCP_MEMORY_QUANTIZE") is None
            or env_flag(env.get("MCP_MEMORY_QUANTIZE")),
            cache_dir=Path(cache).expanduser() if cache else default_cache_dir(),
            share_model=env.get("MCP_MEMORY_SHARE_MODEL") is None
            or env_flag(env.get("MCP_MEMORY_SHARE_MODEL")),
        )
