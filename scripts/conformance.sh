#!/usr/bin/env bash
# Run the official MCP conformance suite (@modelcontextprotocol/conformance) against
# `mcp-memory serve --transport http`, with scripts/conformance-baseline.yml listing the
# scenarios that do not apply to a memory server. See docs/conformance.md.
#
# Exit 0: every scenario passed or failed as the baseline expects. Exit 1: a regression,
# or a baseline entry that now passes (remove it). Extra arguments go to the suite, e.g.
#   scripts/conformance.sh --scenario prompts-list
#
# Needs Node >= 22 and npm. When the node on PATH is older, a Node 22 binary is installed
# from npm (package node-<os>-<arch>) into $MCP_CONFORMANCE_NODE_DIR (default:
# ~/.cache/mcp-memory/node22) and used for this run only.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SUITE_VERSION=${MCP_CONFORMANCE_VERSION:-0.1.16}
PORT=${MCP_CONFORMANCE_PORT:-18765}
BASELINE=${MCP_CONFORMANCE_BASELINE:-$ROOT/scripts/conformance-baseline.yml}
NODE_DIR=${MCP_CONFORMANCE_NODE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mcp-memory/node22}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcp-memory-conformance.XXXXXX")
SERVER_PID=

cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

node_major() {
    "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0
}

ensure_node22() {
    if command -v node >/dev/null && [ "$(node_major node)" -ge 22 ]; then
        return
    fi
    local os arch
    case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) os=unsupported ;; esac
    case "$(uname -m)" in x86_64 | amd64) arch=x64 ;; aarch64 | arm64) arch=arm64 ;; *) arch=unsupported ;; esac
    local package="node-$os-$arch"
    local bin="$NODE_DIR/node_modules/$package/bin"
    if [ ! -x "$bin/node" ] || [ "$(node_major "$bin/node")" -lt 22 ]; then
        if [ "$os" = unsupported ] || [ "$arch" = unsupported ]; then
            echo "conformance: needs Node >= 22; install it and put it on PATH" >&2
            exit 2
        fi
        echo "conformance: node on PATH is older than 22; installing $package@22 into $NODE_DIR" >&2
        mkdir -p "$NODE_DIR"
        npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error "$package@22" >&2
    fi
    export PATH="$bin:$PATH"
}

serve_command() {
    if [ -n "${MCP_MEMORY_BIN:-}" ]; then
        echo "$MCP_MEMORY_BIN"
    elif command -v mcp-memory >/dev/null; then
        echo mcp-memory
    else
        echo "python3 -m mcp_memory"
    fi
}

start_server() {
    local cmd
    cmd=$(serve_command)
    echo "conformance: starting \`$cmd serve --transport http --port $PORT\` on a fresh database" >&2
    MCP_MEMORY_DB="$WORK/memory.db" $cmd serve --transport http --port "$PORT" \
        >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        if curl -s -o /dev/null "http://127.0.0.1:$PORT/mcp"; then
            return
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "conformance: the server exited:" >&2
            cat "$WORK/server.log" >&2
            exit 2
        fi
        sleep 0.2
    done
    echo "conformance: the server did not answer on port $PORT within 60 s" >&2
    exit 2
}

ensure_node22
echo "conformance: node $(node --version), suite @modelcontextprotocol/conformance@$SUITE_VERSION" >&2
start_server
status=0
npx --yes "@modelcontextprotocol/conformance@$SUITE_VERSION" server \
    --url "http://127.0.0.1:$PORT/mcp" \
    --expected-failures "$BASELINE" \
    --output-dir "$WORK/results" "$@" || status=$?
if [ "$status" -ne 0 ] && [ -n "${MCP_CONFORMANCE_KEEP:-}" ]; then
    cp -r "$WORK/results" "$MCP_CONFORMANCE_KEEP" && cp "$WORK/server.log" "$MCP_CONFORMANCE_KEEP/"
fi
exit "$status"
