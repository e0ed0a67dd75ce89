"""The end-to-end scenario `make demo` runs: check a manifest and generate every document from it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from privet.manifest.diagnostics import ManifestUnreadable, Severity
from privet.manifest.fides import export_fides_text
from privet.manifest.lint import lint
from privet.manifest.model import Manifest
from privet.reports.diff import diff_manifests
from privet.reports.disclosures import render_disclosures
from privet.reports.graph import graph_svg
from privet.reports.notice import render_notice
from privet.reports.ropa import ropa_csv, ropa_xlsx
from privet.workspace.files import write_atomic
from privet.workspace.manifest_files import load_manifest

Document = tuple[str, str, Callable[[Manifest], str | bytes]]

DOCUMENTS: list[Document] = [
    ("notice.html", "privacy notice (HTML)", lambda m: render_notice(m, "html")),
    ("notice.md", "privacy notice (Markdown)", lambda m: render_notice(m, "md")),
    ("ropa.csv", "record of processing, GDPR Art. 30(1)", ropa_csv),
    ("ropa.xlsx", "record of processing (Excel)", ropa_xlsx),
    ("us-disclosures.html", "US state disclosures (HTML)", lambda m: render_disclosures(m, "html")),
    ("us-disclosures.json", "US state disclosures (JSON)", lambda m: render_disclosures(m, "json")),
    ("data-flow.svg", "data-flow graph", graph_svg),
    ("fides-datasets.yml", "datasets and systems as Fides YAML", export_fides_text),
]


class DemoFailed(Exception):
    pass


def run_demo(manifest_dir: Path, output: Path, console: Console) -> None:
    console.rule(f"privet demo: {manifest_dir}")
    started = time.perf_counter()
    try:
        loaded = load_manifest(manifest_dir)
    except ManifestUnreadable as exc:
        for d in exc.diagnostics:
            console.print(d.render(), markup=False)
        raise DemoFailed(f"{manifest_dir} could not be read") from None
    findings = lint(loaded)
    m = loaded.manifest
    errors = [f for f in findings if f.severity is Severity.ERROR]
    for f in findings:
        console.print(f.render(), markup=False)
    console.print(
        f"checked {len(loaded.index.files)} files: {len(m.activities)} activities, {len(m.product_families)} product "
        f"families, {len(m.recipients)} recipients, {len(m.datasets)} datasets, "
        f"{len(errors)} error(s) in {time.perf_counter() - started:.2f} s"
    )
    table = Table("file", "document", "size")
    for name, what, render in DOCUMENTS:
        path = output / name
        write_atomic(path, render(m))
        table.add_row(str(path), what, f"{path.stat().st_size:,} B")
    console.print(table)
    unchanged = diff_manifests(m, m)
    console.print(f"diff of the manifest against itself: {len(unchanged)} change(s), as it should be")
    console.print(f"[bold]documents written to {output}/[/bold]")
    if errors:
        raise DemoFailed(f"{manifest_dir} has {len(errors)} error(s); the documents above may be incomplete")
