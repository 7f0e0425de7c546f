#!/bin/sh
# Claude Code SessionStart hook: start each session with the project's recent,
# trusted memories (fenced as data) and the rules for using the memory tools.
# A memory problem must never block a session, so every failure exits 0 silently.
cd "${CLAUDE_PROJECT_DIR:-.}" 2>/dev/null || exit 0
command -v mcp-memory >/dev/null 2>&1 || exit 0
mcp-memory context --hook --limit "${MCP_MEMORY_CONTEXT_LIMIT:-10}" 2>/dev/null || exit 0
