"""`python -m mcp_memory`: the same CLI as the `mcp-memory` script."""

from mcp_memory.cli import app

if __name__ == "__main__":
    app()
