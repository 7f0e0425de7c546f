"""`export` and `import`: memories with their provenance as JSON Lines, out and back in.

Both can take minutes on a big memory (import embeds and screens every line), so both show
a bar on stderr when a person is watching; stdout stays the export itself.
"""

from __future__ import annotations

import json
import sys
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mcp_memory.cli._common import (
    EXIT_FAILED,
    DbOption,
    YesOption,
    confirm_or_yes,
    handled,
    open_store,
    print_error,
    print_json,
)
from mcp_memory.cli._progress import bar
from mcp_memory.render import plural

if TYPE_CHECKING:
    from mcp_memory.portability import ImportReport

MAX_ERRORS_SHOWN = 50
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar on stderr.")]


def export_command(
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (default stdout)")
    ] = None,
    quiet: QuietOption = False,
    db: DbOption = None,
) -> None:
    """Write every memory with its provenance as JSON Lines (schemas/export-line.json)."""
    # Imported here: jsonschema would otherwise load on every command's startup.
    from mcp_memory.portability import export_lines

    with handled(), closing(open_store(db)) as store, bar("exporting", quiet=quiet) as progress:
        lines = (
            json.dumps(line, ensure_ascii=False, sort_keys=True)
            for line in export_lines(store, progress)
        )
        if out is None:
            for line in lines:
                sys.stdout.write(line + "\n")
            return
        tmp = out.with_name(out.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for line in lines:
                fh.write(line + "\n")
        tmp.replace(out)
    typer.echo(f"Exported to {out}", err=True)


def import_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="JSON Lines file written by `mcp-memory export`.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    db: DbOption = None,
    skip_bad: Annotated[
        bool,
        typer.Option(
            "--skip-bad", help="Import the good lines even if some are bad (they are listed)."
        ),
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the import report as JSON.")
    ] = False,
    quiet: QuietOption = False,
    yes: YesOption = False,
) -> None:
    """Import memories from an export file, screened like any other write.

    Every line is checked first; one bad line (malformed, edited, a secret) stops the import.

    --skip-bad imports the good lines and lists the bad ones.

    Imported text is screened as untrusted input and may be quarantined for review.

    Ids are kept when all are free, else remapped with their links; duplicates are skipped.
    """
    # Imported here: jsonschema would otherwise load on every command's startup.
    from mcp_memory.portability import import_lines, read_lines

    actor = confirm_or_yes(f"Import the memories in {file}", yes)
    with (
        handled(),
        closing(open_store(db, embed=True, create=True)) as store,
        file.open("rb") as fh,
        bar("importing", quiet=quiet or json_out) as progress,
    ):
        lines = read_lines(fh)
        report = import_lines(store, lines, actor=actor, skip_bad=skip_bad, progress=progress)
    if json_out:
        print_json(report.to_dict())
    else:
        _show_import(report, skip_bad)
    if report.errors and not skip_bad:
        raise typer.Exit(EXIT_FAILED)


def _show_import(report: ImportReport, skip_bad: bool) -> None:
    for error in report.errors[:MAX_ERRORS_SHOWN]:
        typer.echo(f"line {error.line}: {error.message}", err=True)
    if len(report.errors) > MAX_ERRORS_SHOWN:
        typer.echo(f"... and {len(report.errors) - MAX_ERRORS_SHOWN} more (see --json)", err=True)
    for note in report.notes:
        typer.echo(f"note: {note}", err=True)
    counts = report.counts()
    if not report.committed:
        good = plural(report.lines - counts["bad"], "good line")
        print_error(
            f"nothing imported: {counts['bad']} of {plural(report.lines, 'line')} "
            f"{'is' if counts['bad'] == 1 else 'are'} bad; fix them or rerun with "
            f"--skip-bad to import the {good}"
        )
        return
    bad = counts["bad"]
    skipped = f", {plural(bad, 'bad line')} skipped" if skip_bad and bad else ""
    typer.echo(
        f"imported {plural(counts['imported'], 'memory', 'memories')} "
        f"({counts['quarantined']} quarantined for review), "
        f"{plural(counts['duplicate'], 'duplicate')} skipped{skipped}; ids {report.id_policy}"
    )
    if counts["quarantined"]:
        typer.echo("review them with: mcp-memory quarantine list")
