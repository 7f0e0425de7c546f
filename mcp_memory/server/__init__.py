"""The MCP front door over MemoryStore; nothing in the library imports it.

app.py builds the server (create_server: lifespan, store, embedding thread), tools.py holds
the four tools, resources.py the resources and prompt (over mcp_memory.context), state.py who
is calling, auth.py the bearer-token middleware, http.py running it over stdio or HTTP,
stdio.py and wire.py answering the JSON-RPC the SDK would drop or misread.
The submodules import each other, never this package, so these re-exports add no cycle.
"""

from mcp_memory.server.app import create_server
from mcp_memory.server.http import configure_logging, run

__all__ = ["configure_logging", "create_server", "run"]
