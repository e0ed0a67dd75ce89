"""The privet command line."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from privet.manifest.diagnostics import Diagnostic, ManifestUnreadable, Severity
from privet.manifest.lint import lint
from privet.manifest.loader import LoadedManifest
from privet.workspace.manifest_files import load_manifest

app = typer.Typer(
    name="privet",
    help="Privacy operations: the privacy notice as data, enforced.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_FINDINGS = 1
EXIT_UNREADABLE = 2


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


ManifestDir = Annotated[Path, typer.Argument(help="The manifest folder (or one YAML file).")]


def _load_or_exit(directory: Path) -> LoadedManifest:
    try:
        return load_manifest(directory)
    except ManifestUnreadable as exc:
        _print_diagnostics(exc.diagnostics, err)
        err.print(f"[red]{directory}: the manifest could not be read[/red] ({len(exc.diagnostics)} problem(s))")
        raise typer.Exit(EXIT_UNREADABLE) from None


def _print_diagnostics(diagnostics: list[Diagnostic], console: Console) -> None:
    for d in diagnostics:
        style = "red" if d.severity is Severity.ERROR else "yellow"
        console.print(f"[{style}]{d.render()}[/{style}]", markup=True, highlight=False)


@app.command()
def check(
    directory: ManifestDir,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="text for people, json for machines")] = (
        OutputFormat.TEXT
    ),
    strict: Annotated[bool, typer.Option(help="Count warnings as findings (exit 1).")] = False,
) -> None:
    """Validate a manifest: exit 0 when clean, 1 with findings, 2 when it cannot be read."""
    try:
        loaded = load_manifest(directory)
        findings = lint(loaded)
    except ManifestUnreadable as exc:
        if output_format is OutputFormat.JSON:
            out.print_json(json.dumps({"readable": False, "findings": [d.as_json() for d in exc.diagnostics]}))
        else:
            _print_diagnostics(exc.diagnostics, err)
            err.print(f"{directory}: the manifest could not be read ({len(exc.diagnostics)} problem(s))")
        raise typer.Exit(EXIT_UNREADABLE) from None
    failing = [f for f in findings if strict or f.severity is Severity.ERROR]
    if output_format is OutputFormat.JSON:
        out.print_json(json.dumps({"readable": True, "findings": [d.as_json() for d in findings]}))
    else:
        _print_diagnostics(findings, out)
        m = loaded.manifest
        summary = (
            f"{len(loaded.index.files)} files, {len(m.activities)} activities, {len(m.systems)} systems, "
            f"{len(m.datasets)} datasets: "
        )
        errors = sum(f.severity is Severity.ERROR for f in findings)
        warnings = len(findings) - errors
        out.print(summary + (f"{errors} error(s), {warnings} warning(s)" if findings else "clean"))
    if failing:
        raise typer.Exit(EXIT_FINDINGS)


def main() -> None:  # pragma: no cover
    app()
