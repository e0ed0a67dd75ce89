"""privet deid: a de-identified copy of a table, made with a profile of the manifest, refused when k is not met.

TABLE is `dataset.collection` of a configured system (read whole through its connector), or a Parquet or CSV file;
for a file, `--collection` says which collection of the manifest describes it, else only the profile's bare column
rules apply. The pseudonymisation key comes from PRIVET_PSEUDONYM_KEY (hex) or is derived from the workspace's
secret key; never from the manifest.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from privet.commands.common import EXIT_FINDINGS, JsonOption, WorkspaceOption, fail, out, print_json, workspace
from privet.workspace.deid import (
    FILE_SUFFIXES,
    DeidError,
    deidentify,
    read_collection,
    read_table_file,
    typed,
    write_table_file,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from privet.deid.manifest_profiles import ResolvedProfile
    from privet.deid.profile import DeidReport
    from privet.workspace.runtime import Runtime



def print_plan(resolved: ResolvedProfile, notes: list[str]) -> None:
    for plan in resolved.columns:
        role = f" [{plan.role.value}]" if plan.role else ""
        out.print(f"  {plan.column:<28} {plan.action:<18} {plan.source}{role}", markup=False)
    for note in notes:
        out.print(f"  note: {note}", markup=False)


def print_report(report: DeidReport) -> None:
    k = report.after
    out.print(
        f"rows: {report.rows_in:,} in, {report.rows_out:,} out; suppressed {report.rows_suppressed:,} rows "
        f"({report.suppressed_share:.1%})",
        markup=False,
    )
    out.print(f"before suppression: {report.before.describe()}", markup=False)
    out.print(f"result: {k.describe()}", markup=False)
    smallest = "none (no rows)" if k.smallest_class is None else f"{k.smallest_class:,} rows"
    line = f"smallest class: {smallest}; rows at risk: {k.rows_at_risk:,} ({k.share_at_risk:.1%})"
    if k.l is not None:
        line += f"; least diverse class: {k.least_diverse} distinct {k.sensitive}"
    out.print(line, markup=False)


def print_at_risk(report: Any) -> None:
    for risky in report.at_risk:
        values = ", ".join(f"{c}={v}" for c, v in risky.as_json()["values"].items())
        out.print(f"  at risk: {risky.size} row(s) with {values}", markup=False)
    if not report.listed_all:
        out.print(f"  ... and {report.classes_at_risk - len(report.at_risk)} more class(es)", markup=False)


def _fields(rt: Runtime, collection: str, option: str) -> Mapping[str, Any]:
    from privet.manifest.suggest import did_you_mean

    dataset, _, name = collection.partition(".")
    ds = rt.manifest.datasets.get(dataset)
    if ds is None or name not in ds.collections:
        known = [f"{d}.{c}" for d, data in rt.manifest.datasets.items() for c in data.collections]
        raise DeidError(
            f"{option}{collection}: no such collection in the manifest's datasets"
            f"{did_you_mean(collection, known)}; write dataset.collection"
        )
    return ds.collections[name].fields


def _source(rt: Runtime, table: str, collection: str | None) -> tuple[pa.Table, str | None]:
    path = Path(table)
    if path.suffix.lower() in FILE_SUFFIXES or path.exists():
        if collection is None:
            return read_table_file(path), None
        fields = _fields(rt, collection, "--collection ")
        return typed(read_table_file(path), {n: f.data_type for n, f in fields.items()}, collection), collection
    if collection is not None:
        raise DeidError(f"--collection is for files; {table} is not a file, so it is read as the collection it names")
    _fields(rt, table, "")
    return read_collection(rt, table), table


def deid(
    table: Annotated[str, typer.Argument(help="dataset.collection of a configured system, or a .parquet/.csv file.")],
    profile: Annotated[str, typer.Option("--profile", "-p", help="A profile under deidentification.profiles.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Where to write (.parquet or .csv).")] = None,
    collection: Annotated[
        str | None, typer.Option("--collection", help="For a file: the dataset.collection that describes it.")
    ] = None,
    report_only: Annotated[bool, typer.Option("--report-only", help="Measure and report; write nothing.")] = False,
    ws: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """A de-identified copy of a table: refused (exit 1, nothing written) when the profile's k or l is not met."""
    from privet.deid.kanon import KAnonymityError
    from privet.deid.manifest_profiles import DeidConfigError
    from privet.deid.profile import DeidRefused, ProfileError

    if output is None and not report_only:
        fail("give -o OUT (.parquet or .csv), or --report-only")
    if output is not None and output.suffix.lower() not in FILE_SUFFIXES:
        fail(f"-o {output}: write a .parquet or .csv file")
    with workspace(ws) as rt:
        try:
            source, described_by = _source(rt, table, collection)
            export = deidentify(rt, source, profile, described_by)
        except DeidRefused as exc:
            if as_json:
                print_json({"refused": True, "message": str(exc), "report": exc.report.as_json()})
            else:
                out.print(str(exc), markup=False)
                print_at_risk(exc.report)
            fail("nothing was written", EXIT_FINDINGS)
        except (DeidError, DeidConfigError, ProfileError, KAnonymityError) as exc:
            fail(str(exc))
        if output is not None and not report_only:
            write_table_file(export.table, output)
        if as_json:
            print_json(
                {
                    "refused": False,
                    "output": None if report_only else str(output),
                    "columns": [vars(p) for p in export.resolved.columns],
                    "notes": export.notes,
                    "report": export.report.as_json(),
                }
            )
            return
        out.print(f"profile {profile} on {described_by or table}:", markup=False)
        print_plan(export.resolved, export.notes)
        print_report(export.report)
        if output is not None and not report_only:
            out.print(f"wrote {output}", markup=False)
