"""The human's interface (typer): `app`, with every command registered from its module.

Thin: each command is a few lines over the library. The modules define commands and never
import this package back; shared options and exit codes live in cli/_common.py.
"""

from __future__ import annotations

from typing import Annotated

import typer

from mcp_memory.cli import (
    _help,
    admin,
    audit,
    embed,
    memories,
    migrate,
    review,
    serve,
    setup,
    tokens,
    transfer,
    watch,
)

_help.install()
app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        setup.version()
        raise typer.Exit()


HELP = (
    "Shared, poisoning-resistant memory for coding agents (MCP server + review CLI).\n\n"
    "Exit codes: 0 success; 1 the operation failed (not found, nothing to review, refused, "
    "database unusable); 2 bad usage (a wrong option or value, or a confirmation that needs "
    "a terminal)."
)


@app.callback(help=HELP)
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit"
        ),
    ] = False,
) -> None:
    """The exit codes are the contract of cli/_common.py, said where users look first."""


MEMORIES, REVIEW, DATA, SETUP = "Memories", "Review and trust", "Data", "Setup and server"
# Within a panel, registration order is the order `mcp-memory --help` lists them in.
app.command("remember", rich_help_panel=MEMORIES)(memories.remember)
app.command("recall", rich_help_panel=MEMORIES)(memories.recall)
app.command("forget", rich_help_panel=MEMORIES)(memories.forget)
app.command("link", rich_help_panel=MEMORIES)(memories.link)
review.agents_app.add_typer(tokens.token_app, name="token")
app.add_typer(review.quarantine_app, name="quarantine", rich_help_panel=REVIEW)
app.add_typer(review.agents_app, name="agents", rich_help_panel=REVIEW)
app.add_typer(audit.audit_app, name="audit", rich_help_panel=REVIEW)
app.command("export", rich_help_panel=DATA)(transfer.export_command)
app.command("import", rich_help_panel=DATA)(transfer.import_command)
app.command("backup", rich_help_panel=DATA)(admin.backup_command)
app.command("erase", rich_help_panel=DATA)(admin.erase_command)
app.command("embed", rich_help_panel=DATA)(embed.embed_command)
app.command("migrate-to", rich_help_panel=DATA)(migrate.migrate_to_command)
app.command("install", rich_help_panel=SETUP)(setup.install_command)
app.command("serve", rich_help_panel=SETUP)(serve.serve)
app.command("watch", rich_help_panel=SETUP)(watch.watch_command)
app.command("context", rich_help_panel=SETUP)(setup.context_command)
app.command("doctor", rich_help_panel=SETUP)(setup.doctor)
app.command("version", rich_help_panel=SETUP)(setup.version)

__all__ = ["app"]
