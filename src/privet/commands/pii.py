"""privet scan and privet redact: proposing data categories from sampled columns, and replacing found PII.

`scan` samples every collection of a connected system (SQL or files), runs the column classifier on the columns
the manifest does not describe or describes without categories, and writes a manifest patch to review. The patch
carries evidence counts and shares, never a sampled value. Binary columns are skipped with the reason; text
longer than MAX_SAMPLE_CHARS is cut to that length before detection, and the patch says how often.

`redact` replaces what the detectors find in plain text, in chosen fields of JSON lines, or in chosen columns
of a CSV file. Keyed operators (hash, pseudonymise) take their key from PRIVET_PSEUDONYM_KEY or the workspace.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from privet.commands.common import JsonOption, WorkspaceOption, err, fail, out, print_json, workspace
from privet.workspace.deid import DeidError, pseudonymiser

if TYPE_CHECKING:
    from privet.deid.detection import Detector
    from privet.deid.pii_columns import Proposal
    from privet.deid.redact import Operator
    from privet.fulfilment.ports import Column, Connector
    from privet.workspace.runtime import Runtime

DEFAULT_SAMPLE = 1000
MAX_SAMPLE_CHARS = 4096  # of one sampled value: enough for any identifier, and a megabyte blob stays cheap
OWN_COLUMNS = ("privet_restricted",)  # privet's own bookkeeping, not personal data


@dataclass
class ColumnScan:
    column: str
    status: str  # "proposed", "nothing found", "skipped"
    reason: str = ""
    proposals: list[Proposal] = field(default_factory=list)
    truncated: int = 0


@dataclass
class CollectionScan:
    table: str
    dataset: str
    collection: str
    known: bool  # the manifest describes the collection
    rows: int = 0
    columns: list[ColumnScan] = field(default_factory=list)
    error: str | None = None


def _live_tables(connector: Connector) -> list[str]:
    from privet.connectors.files import FilesConnector
    from privet.connectors.sql import SqlConnector
    from privet.fulfilment.ports import ConnectorError

    if isinstance(connector, SqlConnector):
        import sqlalchemy as sa
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return sorted(sa.inspect(connector.engine).get_table_names(schema=connector.schema))
        except SQLAlchemyError as exc:
            raise ConnectorError(f"{connector.name}: listing tables failed: {type(exc).__name__}") from exc
    if isinstance(connector, FilesConnector):
        if not connector.root.is_dir():
            raise ConnectorError(f"{connector.name}: {connector.root} is not a folder")
        suffix = f".{connector.format}"
        names = {
            p.name if p.is_dir() else p.name.removesuffix(suffix)
            for p in connector.root.iterdir()
            if p.name[0] not in "._" and (p.is_dir() or p.name.endswith(suffix))
        }
        return sorted(names)
    raise ConnectorError(f"{connector.name}: scan samples SQL databases and Parquet/CSV folders only")


def _sample(connector: Connector, table: str, columns: Sequence[str], limit: int) -> list[dict[str, Any]]:
    from privet.connectors.files import FilesConnector
    from privet.connectors.sql import SqlConnector
    from privet.fulfilment.ports import ConnectorError

    if isinstance(connector, SqlConnector):
        import sqlalchemy as sa
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with connector.engine.connect() as conn:
                reflected = sa.Table(table, sa.MetaData(), schema=connector.schema, autoload_with=conn)
                query = sa.select(*(reflected.columns[c] for c in columns)).limit(limit)
                return [dict(r._mapping) for r in conn.execute(query)]
        except SQLAlchemyError as exc:
            raise ConnectorError(f"{connector.name}: sampling {table} failed: {type(exc).__name__}") from exc
    if isinstance(connector, FilesConnector):
        import duckdb

        files = connector._files(table) or []  # the connector's own layout, so both agree on what a collection is
        if not files:
            return []
        reader = "read_parquet" if connector.format == "parquet" else "read_csv"
        wanted = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
        try:
            result = duckdb.connect().execute(
                f"SELECT {wanted} FROM {reader}(?) LIMIT {int(limit)}", [[str(f) for f in files]]
            )
            return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]
        except duckdb.Error as exc:
            raise ConnectorError(f"{connector.name}: sampling {table} failed: {type(exc).__name__}") from exc
    raise ConnectorError(f"{connector.name}: scan samples SQL databases and Parquet/CSV folders only")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        raise TypeError("binary")
    return value if isinstance(value, str) else str(value)


def scan_column(name: str, column: Column | None, values: Iterable[Any]) -> ColumnScan:
    """Proposals for one column from its name and sampled values; binary columns are skipped, long text cut."""
    from privet.deid.pii_columns import classify_column
    from privet.fulfilment.ports import ColumnType

    if column is not None and column.type is ColumnType.BINARY:
        return ColumnScan(name, "skipped", "binary column: its content cannot be read as text")
    sample: list[str] = []
    truncated = 0
    for value in values:
        try:
            text = _text(value)
        except TypeError:
            return ColumnScan(name, "skipped", "binary values: their content cannot be read as text")
        if text is None:
            continue
        if len(text) > MAX_SAMPLE_CHARS:
            text, truncated = text[:MAX_SAMPLE_CHARS], truncated + 1
        sample.append(text)
    proposals = classify_column(name, sample)
    note = (
        f"{truncated} value(s) longer than {MAX_SAMPLE_CHARS:,} characters were cut before detection"
        if truncated
        else ""
    )
    status = "proposed" if proposals else "nothing found"
    return ColumnScan(name, status, note, proposals, truncated)


def scan_system(rt: Runtime, system: str, sample: int) -> list[CollectionScan]:
    from privet.connectors.registry import connector_for
    from privet.deid.manifest_profiles import column_categories

    known: dict[str, tuple[str, str]] = {}  # table -> (dataset, collection)
    for key, ds in rt.manifest.datasets.items():
        if ds.system == system:
            known.update({name: (key, name) for name in ds.collections})
    home = next((k for k, ds in rt.manifest.datasets.items() if ds.system == system), f"{system}_data")
    connector = connector_for(system, rt.settings.systems[system])
    scans: list[CollectionScan] = []
    try:
        for table in _live_tables(connector):
            dataset, collection = known.get(table, (home, table))
            scan = CollectionScan(table, dataset, collection, table in known)
            scans.append(scan)
            fields = rt.manifest.datasets[dataset].collections[collection].fields if scan.known else {}
            described = column_categories(fields)
            live = connector.describe(table) or {}
            wanted = [c for c in live if c not in OWN_COLUMNS and not described.get(c)]
            if not wanted:
                continue
            rows = _sample(connector, table, wanted, sample)
            scan.rows = len(rows)
            scan.columns = [scan_column(c, live.get(c), (r[c] for r in rows)) for c in wanted]
    finally:
        connector.close()
    return scans


def _confidence(p: Proposal) -> float | None:
    return round(p.share, 2) if p.share is not None else None


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def _key(name: str) -> str:
    return name if _PLAIN.fullmatch(name) and name not in ("true", "false", "null", "yes", "no") else json.dumps(name)


def render_patch(system: str, sample: int, scans: Sequence[CollectionScan]) -> str:
    """The manifest patch as YAML, with the evidence for each proposal as comments."""
    lines = [
        f"# privet scan --system {system}: up to {sample:,} rows sampled per collection.",
        "# Proposals to review, not decisions: merge what is right into the manifest's datasets (sampled values are",
        "# never shown). A field with `categories: []` holds nothing privet recognised; say what it holds.",
    ]
    body: dict[str, list[str]] = {}
    for scan in scans:
        block: list[str] = []
        if scan.error:
            lines.append(f"# {scan.table}: not scanned: {scan.error}")
            continue
        for col in scan.columns:
            if col.status == "skipped":
                block.append(f"          # {_key(col.column)}: skipped ({col.reason})")
                continue
            if col.status == "nothing found" and scan.known:
                why = f"; {col.reason}" if col.reason else ""
                block.append(f"          # {_key(col.column)}: nothing recognised in {scan.rows:,} sampled row(s){why}")
                continue
            cats = ", ".join(_key(p.category) for p in col.proposals)
            block.append(f"          {_key(col.column)}:")
            for p in col.proposals:
                conf = _confidence(p)
                level = f"confidence {conf:.2f}" if conf is not None else "name only"
                block.append(f"            # {p.category}: {level}; {p.reason}")
            if col.reason:
                block.append(f"            # {col.reason}")
            block.append(f"            categories: [{cats}]")
            block.append("            inferred: true")
        if not block:
            continue
        header = [f"      {_key(scan.collection)}:"]
        if not scan.known:
            header.append(f"        # not in the manifest: {scan.rows:,} row(s) sampled")
        header.append("        fields:")
        body.setdefault(scan.dataset, []).extend(header + block)
    if not body:
        lines.append("# nothing to propose: every sampled column is described with categories")
        return "\n".join(lines) + "\n"
    lines.append("datasets:")
    for dataset, block in body.items():
        lines.append(f"  {_key(dataset)}:")
        if dataset not in {s.dataset for s in scans if s.known}:
            lines.append(f"    system: {_key(system)}")
        lines.append("    collections:")
        lines.extend(block)
    return "\n".join(lines) + "\n"


def _scan_json(scans: Sequence[CollectionScan]) -> list[dict[str, Any]]:
    return [
        {
            "table": s.table,
            "dataset": s.dataset,
            "collection": s.collection,
            "known": s.known,
            "rows": s.rows,
            "error": s.error,
            "columns": [
                {
                    "column": c.column,
                    "status": c.status,
                    "reason": c.reason,
                    "truncated": c.truncated,
                    "proposals": [
                        {
                            "category": p.category,
                            "entity": p.entity,
                            "confidence": _confidence(p),
                            "matched": p.matched,
                            "sampled": p.sampled,
                            "from_name": p.from_name,
                            "evidence": p.reason,
                        }
                        for p in c.proposals
                    ],
                }
                for c in s.columns
            ],
        }
        for s in scans
    ]


def scan(
    system: Annotated[str, typer.Option("--system", help="A system of the manifest, configured in privet.toml.")],
    sample: Annotated[int, typer.Option("--sample", min=1, help="Rows sampled per collection.")] = DEFAULT_SAMPLE,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the patch (YAML) here.")] = None,
    ws: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Propose data categories for the columns of a system the manifest leaves undescribed, as a patch to review."""
    from privet.fulfilment.ports import ConnectorError
    from privet.manifest.suggest import did_you_mean
    from privet.workspace.files import write_atomic

    with workspace(ws) as rt:
        if system not in rt.manifest.systems:
            fail(f"--system {system}: no such system in the manifest{did_you_mean(system, rt.manifest.systems)}")
        if system not in rt.settings.systems:
            fail(f"--system {system}: no connection; configure [systems.{system}] in privet.toml")
        try:
            scans = scan_system(rt, system, sample)
        except ConnectorError as exc:
            fail(str(exc))
    patch = render_patch(system, sample, scans)
    if output is not None:
        write_atomic(output, patch)
    if as_json:
        print_json({"system": system, "sample": sample, "collections": _scan_json(scans)})
    elif output is None:
        out.print(patch, markup=False, end="")
    else:
        proposed = sum(1 for s in scans for c in s.columns if c.status == "proposed")
        unknown = sum(1 for s in scans if not s.known)
        out.print(
            f"wrote {output}: {proposed} column(s) with proposals, {unknown} collection(s) the manifest does not know",
            markup=False,
        )


# -- redact -------------------------------------------------------------------------------------------------------


class OperatorName(StrEnum):
    MASK = "mask"
    REPLACE = "replace"
    HASH = "hash"
    PSEUDONYMISE = "pseudonymise"


class InputFormat(StrEnum):
    TEXT = "text"
    JSONL = "jsonl"
    CSV = "csv"


class RedactError(Exception):
    """The input or the options cannot be redacted as asked; the message names the place and the fix."""


def make_operator(name: OperatorName, secret_key: bytes | None) -> Operator:
    from privet.deid.redact import Hash, Mask, Pseudonymise, Replace

    if name is OperatorName.MASK:
        return Mask()
    if name is OperatorName.REPLACE:
        return Replace()
    keys = pseudonymiser(secret_key)
    if name is OperatorName.HASH:
        return Hash(key=keys.keys.active.secret)
    return Pseudonymise(lambda entity, value: keys.token(entity.lower(), value))


def detectors_for(entities: Sequence[str]) -> list[Detector[Any]]:
    from privet.deid.detectors import default_detectors

    available = default_detectors()
    if not entities:
        return list(available)
    known = sorted({d.entity for d in available})
    wanted = {e.strip().upper() for e in entities if e.strip()}
    unknown = sorted(wanted - set(known))
    if unknown:
        raise RedactError(f"--entities: unknown {', '.join(unknown)}; use some of {', '.join(known)}")
    return [d for d in available if d.entity in wanted]


@dataclass
class Redactor:
    operator: Operator
    detectors: list[Detector[Any]]
    counts: dict[str, int] = field(default_factory=dict)

    def many(self, texts: Sequence[str]) -> list[str]:
        from privet.deid.detectors import detect_batch
        from privet.deid.redact import redact

        results = []
        for text, spans in zip(texts, detect_batch(texts, self.detectors), strict=True):
            done = redact(text, spans, self.operator)
            for r in done.replaced:
                self.counts[r.entity] = self.counts.get(r.entity, 0) + 1
            results.append(done.text)
        return results


def redact_text(text: str, redactor: Redactor) -> str:
    return redactor.many([text])[0]


def redact_jsonl(text: str, redactor: Redactor, columns: Sequence[str]) -> str:
    records: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RedactError(f"line {number}: not JSON ({exc.msg}); write one JSON object per line") from None
        if not isinstance(record, dict):
            raise RedactError(f"line {number}: a JSON {type(record).__name__}; write one JSON object per line")
        missing = [c for c in columns if c not in record]
        if missing and len(missing) == len(columns):
            raise RedactError(f"line {number}: no field {', '.join(missing)}; the record has {', '.join(record)}")
        records.append(record)
    _redact_fields(records, redactor, columns)
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def redact_csv(text: str, redactor: Redactor, columns: Sequence[str]) -> str:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    if not header:
        raise RedactError("the CSV input has no header row; the first line must name the columns")
    missing = [c for c in columns if c not in header]
    if missing:
        raise RedactError(f"--column {', '.join(missing)}: not in the CSV header ({', '.join(header)})")
    rows = [dict(r) for r in reader]
    _redact_fields(rows, redactor, columns)
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _redact_fields(records: list[dict[str, Any]], redactor: Redactor, columns: Sequence[str]) -> None:
    """Each chosen field's text values redacted column by column (all text fields when none is chosen)."""
    names = list(columns) or list(dict.fromkeys(k for r in records for k, v in r.items() if isinstance(v, str)))
    for name in names:
        where = [i for i, r in enumerate(records) if isinstance(r.get(name), str)]
        for i, new in zip(where, redactor.many([records[i][name] for i in where]), strict=True):
            records[i][name] = new


def _read_input(source: str) -> str:
    try:
        raw = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except FileNotFoundError:
        raise RedactError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise RedactError(f"{source}: a folder; give a file, or - for standard input") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RedactError(f"{source}: not UTF-8 text (byte {exc.start}); binary input cannot be redacted") from None


def _secret_key(ws: Path) -> bytes | None:
    """The workspace's secret when there is one; redact also works without a workspace (then the env key)."""
    from privet.workspace.settings import SETTINGS_FILE, SettingsError, load_settings

    if not (ws / SETTINGS_FILE).is_file():
        return None
    try:
        return load_settings(ws).secret_key
    except SettingsError as exc:
        fail(str(exc))


Handler = Callable[[str, Redactor, Sequence[str]], str]
_HANDLERS: Mapping[InputFormat, Handler] = {
    InputFormat.TEXT: lambda text, r, _: redact_text(text, r),
    InputFormat.JSONL: redact_jsonl,
    InputFormat.CSV: redact_csv,
}


def redact(
    source: Annotated[str, typer.Argument(help="The file to redact, or - for standard input.")] = "-",
    operator: Annotated[OperatorName, typer.Option("--operator", help="What replaces a found span.")] = (
        OperatorName.REPLACE
    ),
    entities: Annotated[
        str | None, typer.Option("--entities", help="Only these, comma-separated (EMAIL,PHONE,...); default all.")
    ] = None,
    input_format: Annotated[InputFormat, typer.Option("--format", help="text, jsonl or csv.")] = InputFormat.TEXT,
    column: Annotated[
        list[str] | None, typer.Option("--column", "-c", help="jsonl/csv: a field to redact (repeat); default all.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of standard output.")
    ] = None,
    ws: WorkspaceOption = Path(),
) -> None:
    """Replace the PII the detectors find (mask, replace, hash or pseudonymise); counts go to standard error."""
    from privet.workspace.files import write_atomic

    columns = list(column or [])
    if columns and input_format is InputFormat.TEXT:
        fail("--column is for --format jsonl or csv")
    try:
        chosen = detectors_for((entities or "").split(",") if entities else [])
        keyed = operator in (OperatorName.HASH, OperatorName.PSEUDONYMISE)
        redactor = Redactor(make_operator(operator, _secret_key(ws) if keyed else None), chosen)
        result = _HANDLERS[input_format](_read_input(source), redactor, columns)
    except (RedactError, DeidError) as exc:
        fail(str(exc))
    if output is not None:
        write_atomic(output, result)
    else:
        sys.stdout.write(result)
        sys.stdout.flush()
    total = sum(redactor.counts.values())
    detail = ", ".join(f"{e} {n}" for e, n in sorted(redactor.counts.items()))
    err.print(f"redacted {total} span(s)" + (f": {detail}" if detail else ""), markup=False)
