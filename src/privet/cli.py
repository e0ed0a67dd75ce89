"""The privet command line."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from privet.commands import consent as consent_commands
from privet.commands import crypto as crypto_commands
from privet.commands import deid as deid_commands
from privet.commands import pii as pii_commands
from privet.commands import requests as request_commands
from privet.commands import retention as retention_commands
from privet.commands import serve as serve_commands
from privet.commands import staff as staff_commands
from privet.manifest.diagnostics import Diagnostic, ManifestUnreadable, Severity
from privet.manifest.lint import lint
from privet.manifest.loader import LoadedManifest
from privet.workspace.files import write_atomic
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


class NoticeFormat(StrEnum):
    HTML = "html"
    MD = "md"


class RopaFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


class DisclosuresFormat(StrEnum):
    HTML = "html"
    MD = "md"
    JSON = "json"


class DiffFormat(StrEnum):
    TEXT = "text"
    MD = "md"
    JSON = "json"


OutputFile = Annotated[Path, typer.Option("--output", "-o", help="Where to write; the file is replaced whole.")]


def _emit(path: Path, data: str | bytes, what: str) -> None:
    write_atomic(path, data)
    out.print(f"wrote {what} to {path}")


@app.command()
def notice(
    directory: ManifestDir,
    output: OutputFile,
    output_format: Annotated[NoticeFormat, typer.Option("--format")] = NoticeFormat.HTML,
) -> None:
    """Generate the privacy notice."""
    from privet.reports.notice import render_notice

    _emit(output, render_notice(_load_or_exit(directory).manifest, output_format.value), "the notice")


@app.command()
def ropa(
    directory: ManifestDir,
    output: OutputFile,
    output_format: Annotated[RopaFormat, typer.Option("--format")] = RopaFormat.CSV,
) -> None:
    """Generate the GDPR Art. 30(1) record of processing activities."""
    from privet.reports.ropa import ropa_csv, ropa_xlsx

    m = _load_or_exit(directory).manifest
    _emit(output, ropa_csv(m) if output_format is RopaFormat.CSV else ropa_xlsx(m), "the record of processing")


@app.command()
def disclosures(
    directory: ManifestDir,
    output: OutputFile,
    output_format: Annotated[DisclosuresFormat, typer.Option("--format")] = DisclosuresFormat.HTML,
) -> None:
    """Generate the US state disclosure tables."""
    from privet.reports.disclosures import render_disclosures

    m = _load_or_exit(directory).manifest
    _emit(output, render_disclosures(m, output_format.value), "the US state disclosures")


@app.command()
def graph(
    directory: ManifestDir,
    output: OutputFile,
    dot: Annotated[bool, typer.Option(help="Write Graphviz DOT instead of SVG.")] = False,
) -> None:
    """Draw the data flow: sources, systems, recipients, countries."""
    from privet.reports.graph import graph_dot, graph_svg

    m = _load_or_exit(directory).manifest
    _emit(output, graph_dot(m) if dot else graph_svg(m), "the data-flow graph")


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(help="The manifest before.")],
    new: Annotated[Path, typer.Argument(help="The manifest after.")],
    output_format: Annotated[DiffFormat, typer.Option("--format")] = DiffFormat.TEXT,
    fail_on_material: Annotated[bool, typer.Option(help="Exit 1 when a change is material.")] = False,
) -> None:
    """List the changes between two manifests, each classed material or not, with the reason."""
    from privet.reports.diff import diff_manifests, render_diff

    changes = diff_manifests(_load_or_exit(old).manifest, _load_or_exit(new).manifest)
    out.print(render_diff(changes, output_format.value), markup=False)
    if fail_on_material and any(c.material for c in changes):
        raise typer.Exit(EXIT_FINDINGS)


@app.command("import-fides")
def import_fides(
    source: Annotated[Path, typer.Argument(help="A Fides dataset or system YAML file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The manifest folder to write into.")],
    force: Annotated[bool, typer.Option(help="Replace an earlier import of the same file.")] = False,
) -> None:
    """Turn Fides dataset and system YAML into manifest entries."""
    from privet.manifest.fides import FidesFormatError, import_fides_text

    try:
        result = import_fides_text(source.read_text("utf-8"), str(source))
    except (OSError, UnicodeDecodeError) as exc:
        err.print(f"{source}: cannot read the file: {exc}", markup=False)
        raise typer.Exit(EXIT_UNREADABLE) from None
    except FidesFormatError as exc:
        err.print(f"not a Fides file: {exc}", markup=False)
        raise typer.Exit(EXIT_UNREADABLE) from None
    target = output / f"fides-{source.stem}.yml"
    if target.exists() and not force:
        err.print(f"{target} exists; pass --force to replace it", markup=False)
        raise typer.Exit(EXIT_UNREADABLE)
    _emit(target, result.to_yaml(), "the manifest entries")
    for warning in result.warnings:
        err.print(f"warning: {warning}", markup=False)


@app.command("export-fides")
def export_fides(directory: ManifestDir, output: OutputFile) -> None:
    """Write the manifest's datasets and systems as Fides YAML."""
    from privet.manifest.fides import export_fides_text

    _emit(output, export_fides_text(_load_or_exit(directory).manifest), "the Fides YAML")


@app.command("lint-rules")
def lint_rules() -> None:
    """List every lint rule with its code and rationale."""
    from privet.manifest.lint import builtin_rules

    for r in builtin_rules():
        out.print(f"{r.code}  {r.name:<22} {r.rationale}", markup=False)


class TaxonomySection(StrEnum):
    CATEGORIES = "categories"
    PURPOSES = "purposes"
    SUBJECTS = "subjects"
    LEGAL_BASES = "legal_bases"
    SPECIAL_CONDITIONS = "special_conditions"


@app.command()
def taxonomy(section: Annotated[TaxonomySection, typer.Argument()] = TaxonomySection.CATEGORIES) -> None:
    """Show the default taxonomy: keys, names and flags."""
    from privet.taxonomy.defaults import default_taxonomy

    entries = getattr(default_taxonomy(), section.value)
    for key, entry in entries.items():
        flags = sorted(getattr(entry, "sensitive", ())) or sorted(getattr(entry, "tags", ()))
        out.print(f"{key:<55} {entry.name}" + (f"  [{', '.join(flags)}]" if flags else ""), markup=False)


@app.command()
def demo(
    manifest: Annotated[Path, typer.Option(help="The manifest to run on.")] = Path("examples/anker"),
    output: Annotated[Path, typer.Option("--output", "-o", help="Where the documents and the workspace go.")] = Path(
        "demo-output"
    ),
    serve: Annotated[bool, typer.Option(help="Serve the privacy center and console afterwards.")] = True,
    port: Annotated[int, typer.Option(help="Port to serve on (127.0.0.1).")] = 8000,
) -> None:
    """Run privet end to end on a manifest, then serve the privacy center and the console on 127.0.0.1."""
    import secrets

    from privet.workspace.demo import DemoFailed, run_demo

    try:
        ws = run_demo(manifest, output, out)
    except DemoFailed as exc:
        err.print(f"demo failed: {exc}", markup=False)
        raise typer.Exit(EXIT_FINDINGS) from None
    if not serve:
        return
    from privet.api.credentials import create_user
    from privet.store.staff import SqlStaff
    from privet.workspace.runtime import open_runtime

    password = secrets.token_urlsafe(12)
    rt = open_runtime(ws)
    try:
        create_user(SqlStaff(rt.db), "officer@example.com", password, "admin", rt.now(), "Demo privacy officer")
    finally:
        rt.close()
    out.print(f"privacy center: http://127.0.0.1:{port}/privacy", markup=False)
    out.print(
        f"staff console:  http://127.0.0.1:{port}/console  (sign in as officer@example.com / {password})", markup=False
    )
    out.print(f"API:            http://127.0.0.1:{port}/openapi.json   (Ctrl-C stops the server)", markup=False)
    serve_commands.serve(ws, "127.0.0.1", port, 1, False)


@app.command("init")
def init(
    directory: Annotated[Path, typer.Argument(help="The folder to make a workspace of.")],
    manifest: Annotated[Path | None, typer.Option(help="Start from this manifest folder (default: a starter).")] = None,
) -> None:
    """Create a workspace: a manifest folder, privet.toml with a fresh secret key, and the database."""
    from privet.workspace.runtime import init_workspace
    from privet.workspace.settings import SettingsError

    try:
        settings = init_workspace(directory, manifest)
    except SettingsError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(EXIT_UNREADABLE) from None
    except ManifestUnreadable as exc:
        _print_diagnostics(exc.diagnostics, err)
        raise typer.Exit(EXIT_UNREADABLE) from None
    out.print(f"workspace ready in {directory}: manifest {settings.manifest}, database {settings.database_url}")


app.add_typer(consent_commands.consent_app, name="consent")
app.add_typer(consent_commands.gpp_app, name="gpp")
app.command("decide")(consent_commands.decide)
app.command("enforce")(consent_commands.enforce)
app.add_typer(request_commands.requests_app, name="requests")
app.add_typer(request_commands.audit_app, name="audit")
app.add_typer(request_commands.fulfil_app, name="fulfil")
app.command("outbox")(request_commands.outbox)
app.command("metrics")(request_commands.metrics)
app.command("worker")(request_commands.worker)
app.command("serve")(serve_commands.serve)
app.add_typer(staff_commands.users_app, name="users")
app.add_typer(staff_commands.keys_app, name="keys")
app.add_typer(retention_commands.retention_app, name="retention")
app.add_typer(retention_commands.holds_app, name="holds")
app.add_typer(crypto_commands.crypto_app, name="crypto")
app.command("deid")(deid_commands.deid)
app.command("scan")(pii_commands.scan)
app.command("redact")(pii_commands.redact)


def main() -> None:  # pragma: no cover
    app()
