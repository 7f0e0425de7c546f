"""The human's interface (typer): `app`, with every command registered from its module.

Thin: each command is a few lines over the library. The modules define commands and never
import this package back; shared options and exit codes live in cli/_common.py.
"""

from __future__ import annotations

import typer

from mcp_memory.cli import admin, embed, memories, migrate, review, serve, setup, tokens, watch

app = typer.Typer(
    help="Shared, poisoning-resistant memory for coding agents (MCP server + review CLI).",
    no_args_is_help=True,
    add_completion=False,
)

# Registration order is the order `mcp-memory --help` lists them in.
app.command("serve")(serve.serve)
app.command("remember")(memories.remember)
app.command("recall")(memories.recall)
app.command("forget")(memories.forget)
app.command("link")(memories.link)
app.command("export")(admin.export_command)
app.command("doctor")(setup.doctor)
app.command("embed")(embed.embed_command)
app.command("version")(setup.version)
review.agents_app.add_typer(tokens.token_app, name="token")
app.add_typer(review.quarantine_app, name="quarantine")
app.add_typer(review.agents_app, name="agents")
app.add_typer(admin.audit_app, name="audit")
app.command("erase")(admin.erase_command)
app.command("backup")(admin.backup_command)
app.command("import")(admin.import_command)
app.command("watch")(watch.watch_command)
app.command("install")(setup.install_command)
app.command("context")(setup.context_command)
app.command("migrate-to")(migrate.migrate_to_command)

__all__ = ["app"]
