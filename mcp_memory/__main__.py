from mcp_memory.cli import app

app()
