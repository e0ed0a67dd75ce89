"""Apply a bulk enforcement plan to a Parquet or CSV file, streaming in batches, writing the result atomically."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from privet.engines.subject_index import SubjectIndex
from privet.policy.bulk import BulkPlan

BATCH_ROWS = 1 << 20


class EnforceError(ValueError):
    pass


@dataclass
class Summary:
    rows_in: int = 0
    rows_out: int = 0
    rows_dropped: Counter[str] = field(default_factory=Counter)  # rule -> rows
    cells_nulled: dict[str, Counter[str]] = field(default_factory=dict)  # column -> rule -> cells
    columns_dropped: dict[str, str] = field(default_factory=dict)  # column -> rule that dropped it

    def merge(self, other: Summary) -> None:
        self.rows_in += other.rows_in
        self.rows_out += other.rows_out
        self.rows_dropped.update(other.rows_dropped)
        for column, counts in other.cells_nulled.items():
            self.cells_nulled.setdefault(column, Counter()).update(counts)

    def as_json(self) -> dict[str, object]:
        return {
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "rows_dropped": dict(sorted(self.rows_dropped.items())),
            "cells_nulled": {c: dict(sorted(v.items())) for c, v in sorted(self.cells_nulled.items())},
            "columns_dropped": dict(sorted(self.columns_dropped.items())),
        }


@dataclass
class _Compiled:
    row_rules: list[str]
    masks: dict[str, np.ndarray]  # partially allowed column -> bool per profile
    col_rules: dict[str, list[str]]
    keep: list[str]  # output columns in input order
    schema: pa.Schema  # of the output
    # Profiles renumbered so that the allowed ones come first: a row is kept when its code is below `allowed`,
    # one comparison instead of a second lookup per row.
    profile_of: np.ndarray  # code -> profile
    code_of: np.ndarray  # profile -> code
    allowed: int
    _dense_codes: np.ndarray | None = None

    def dense_codes(self, index: SubjectIndex) -> np.ndarray:
        """The subject index's dense table in codes instead of profiles, built once per enforcement."""
        if self._dense_codes is None:
            assert index.dense is not None
            self._dense_codes = self.code_of[index.dense]
        return self._dense_codes


@dataclass
class _Selection:
    """Which rows of a batch survive, and which of their cells are nulled."""

    positions: pa.Array | None  # rows kept, in order; None when every row is
    kept: int
    validity: dict[str, pa.Array]  # column -> per kept row, may the cell be shown (only columns with a cell nulled)


def _check_index(plan: BulkPlan, index: SubjectIndex) -> None:
    known = len(plan.rows)
    highest = int(index.profiles.max(initial=0)) if len(index.profiles) else 0
    if max(highest, index.unknown) >= known:
        raise EnforceError("the subject index has profiles the plan does not know: build the index first, then plan")


def _compile(plan: BulkPlan, schema: pa.Schema) -> _Compiled:
    names = schema.names
    if plan.subject_column not in names:
        raise EnforceError(
            f"the input has no column {plan.subject_column!r} for the subject; columns: {', '.join(names)}"
        )
    planned = {c.name for c in plan.columns}
    missing = sorted(planned - set(names))
    if missing:
        raise EnforceError(f"the input lacks the mapped column(s) {', '.join(missing)}")
    unmapped = [n for n in names if n not in planned and n != plan.subject_column and n not in plan.passthrough]
    if unmapped:
        raise EnforceError(
            f"column(s) {', '.join(unmapped)} have no data category; map them (--map COLUMN=CATEGORY) or declare "
            "them free of personal data (--passthrough COLUMN)"
        )
    dropped = {c.name for c in plan.columns if c.drop}
    keep = [n for n in names if n not in dropped]
    rows = np.array(plan.rows, dtype=bool)
    profile_of = np.concatenate([np.flatnonzero(rows), np.flatnonzero(~rows)])
    code_of = np.empty(len(rows), dtype=np.uint8 if len(rows) <= 256 else np.int32)
    code_of[profile_of] = np.arange(len(rows))
    masks = {c.name: np.array(c.allowed, dtype=bool) for c in plan.columns if not c.drop and not c.keep_all}
    # A column declared without nulls gets some when cells are nulled.
    fields = [schema.field(n).with_nullable(True) if n in masks else schema.field(n) for n in keep]
    return _Compiled(
        row_rules=[d.rule.value for d in plan.row_decisions],
        masks=masks,
        col_rules={c.name: [d.rule.value for d in c.decisions] for c in plan.columns},
        keep=keep,
        schema=pa.schema(fields, metadata=schema.metadata),
        profile_of=profile_of,
        code_of=code_of,
        allowed=int(rows.sum()),
    )


def _batches(path: Path, batch_rows: int) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        pf = pq.ParquetFile(path)
        return pf.schema_arrow, pf.iter_batches(batch_size=batch_rows)
    if suffix == ".csv":
        reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=64 << 20))
        return reader.schema, iter(reader)
    raise EnforceError(f"{path}: input must be .parquet or .csv")


def _codes(compiled: _Compiled, index: SubjectIndex, subject: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Each row's subject as a code (see `_Compiled`): one gather from the dense table for integer identifiers."""
    if isinstance(subject, pa.ChunkedArray):
        subject = subject.chunk(0) if subject.num_chunks == 1 else subject.combine_chunks()
    slots = index.slots(subject)
    if slots is not None:
        return np.take(compiled.dense_codes(index), slots)
    return np.take(compiled.code_of, index.lookup(subject))


def _select(compiled: _Compiled, codes: np.ndarray, summary: Summary) -> _Selection:
    """Count every row under its reason and decide what stays. `summary` is the caller's own (one per thread)."""
    allowed = compiled.allowed
    counts = np.bincount(codes, minlength=len(compiled.profile_of))
    for code in np.flatnonzero(counts[allowed:]) + allowed:
        summary.rows_dropped[compiled.row_rules[compiled.profile_of[code]]] += int(counts[code])
    kept = int(counts[:allowed].sum())
    positions = None if kept == len(codes) else np.flatnonzero(codes < allowed)
    if positions is not None and len(codes) < 1 << 31:
        positions = positions.astype(np.int32)  # half the index bytes for every column taken
    validity = {}
    for name, mask in compiled.masks.items():
        per_rule = summary.cells_nulled.setdefault(name, Counter())
        hidden = [c for c in np.flatnonzero(counts[:allowed]) if not mask[compiled.profile_of[c]]]
        for code in hidden:
            per_rule[compiled.col_rules[name][compiled.profile_of[code]]] += int(counts[code])
        if hidden:
            kept_codes = codes if positions is None else np.take(codes, positions)
            validity[name] = pa.array(np.take(mask[compiled.profile_of], kept_codes))
    summary.rows_in += len(codes)
    summary.rows_out += kept
    return _Selection(None if positions is None else pa.array(positions), kept, validity)


def _take(selection: _Selection, name: str, column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    # The positions come from flatnonzero over this batch, so they are in bounds: no check per column.
    kept = column if selection.positions is None else pc.take(column, selection.positions, boundscheck=False)
    validity = selection.validity.get(name)
    return kept if validity is None else pc.if_else(validity, kept, pa.nulls(len(kept), kept.type))


def apply_batch(plan: BulkPlan, compiled: _Compiled, index: SubjectIndex, batch: pa.RecordBatch | pa.Table,
                summary: Summary) -> pa.Table:  # fmt: skip
    """The plan applied to one batch. `summary` is only updated here, so batches may run on several threads
    as long as each has its own Summary (merged afterwards)."""
    selection = _select(compiled, _codes(compiled, index, batch.column(plan.subject_column)), summary)
    columns = [_take(selection, name, batch.column(name)) for name in compiled.keep]
    return pa.Table.from_arrays(columns, schema=compiled.schema)


def enforce_table(plan: BulkPlan, index: SubjectIndex, table: pa.Table, threads: int = 2) -> tuple[pa.Table, Summary]:
    """In memory: the filtered table and what was removed."""
    _check_index(plan, index)
    compiled = _compile(plan, table.schema)
    parts = table.to_batches(max_chunksize=BATCH_ROWS)

    def one(i: int, summary: Summary) -> pa.Table:
        return apply_batch(plan, compiled, index, parts[i], summary)

    return _parallel(plan, compiled, index, len(parts), one, threads)


def enforce_parquet(plan: BulkPlan, index: SubjectIndex, source: Path, threads: int = 2) -> tuple[pa.Table, Summary]:
    """Read and enforce a Parquet file row group by row group on `threads` threads; the result in order.

    Each row group's subject column is read and decided first; the other columns are decoded only when some
    row survives, and taken only when some row does not."""
    _check_index(plan, index)
    pf = pq.ParquetFile(source)
    compiled = _compile(plan, pf.schema_arrow)
    rest = [n for n in compiled.keep if n != plan.subject_column]

    def one(group: int, summary: Summary) -> pa.Table:
        reader = pq.ParquetFile(source, metadata=pf.metadata)
        subject = reader.read_row_group(group, columns=[plan.subject_column], use_threads=False).column(0)
        selection = _select(compiled, _codes(compiled, index, subject), summary)
        if not selection.kept:
            return compiled.schema.empty_table()
        read = reader.read_row_group(group, columns=rest, use_threads=False)
        columns = [subject if name == plan.subject_column else read.column(name) for name in compiled.keep]
        taken = [_take(selection, name, column) for name, column in zip(compiled.keep, columns, strict=True)]
        return pa.Table.from_arrays(taken, schema=compiled.schema)

    return _parallel(plan, compiled, index, pf.num_row_groups, one, threads)


def _parallel(plan: BulkPlan, compiled: _Compiled, index: SubjectIndex, parts: int,
              work: Callable[[int, Summary], pa.Table], threads: int) -> tuple[pa.Table, Summary]:  # fmt: skip
    """Each part enforced on a worker thread (NumPy and Arrow release the GIL), with its own Summary; results in
    order."""
    if index.dense is not None:
        compiled.dense_codes(index)  # built once, before the threads share it

    def one(i: int) -> tuple[pa.Table, Summary]:
        part = Summary()
        return work(i, part), part

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(one, range(parts)))
    summary = Summary()
    _note_dropped_columns(plan, summary)
    for _, part in results:
        summary.merge(part)
    return (pa.concat_tables([t for t, _ in results]) if results else compiled.schema.empty_table()), summary


def _note_dropped_columns(plan: BulkPlan, summary: Summary) -> None:
    for c in plan.columns:
        if c.drop:
            summary.columns_dropped[c.name] = Counter(d.rule.value for d in c.decisions).most_common(1)[0][0]


def enforce_file(plan: BulkPlan, index: SubjectIndex, source: Path, target: Path,
                 batch_rows: int = BATCH_ROWS) -> Summary:  # fmt: skip
    """Stream `source` to `target` (same format as its suffix). The target appears whole, or not at all."""
    _check_index(plan, index)
    schema, batches = _batches(source, batch_rows)
    compiled = _compile(plan, schema)
    out_schema = compiled.schema
    summary = Summary()
    _note_dropped_columns(plan, summary)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    suffix = target.suffix.lower()
    try:
        if suffix == ".parquet":
            with pq.ParquetWriter(partial, out_schema) as writer:
                for batch in batches:
                    writer.write_table(apply_batch(plan, compiled, index, batch, summary))
        elif suffix == ".csv":
            with pacsv.CSVWriter(partial, out_schema) as csv_writer:
                for batch in batches:
                    csv_writer.write_table(apply_batch(plan, compiled, index, batch, summary))
        else:
            raise EnforceError(f"{target}: output must be .parquet or .csv")
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return summary
