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
    rows: np.ndarray  # bool per profile
    row_rules: list[str]
    masks: dict[str, np.ndarray]  # partially allowed column -> bool per profile
    col_rules: dict[str, list[str]]
    keep: list[str]  # output columns in input order
    _lut: np.ndarray | None = None

    def allowed_lut(self, index: SubjectIndex) -> np.ndarray:
        """May each dense slot's subject be used: one gather per row instead of two."""
        if self._lut is None:
            assert index.dense is not None
            self._lut = self.rows[index.dense]
        return self._lut


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
    return _Compiled(
        rows=np.array(plan.rows, dtype=bool),
        row_rules=[d.rule.value for d in plan.row_decisions],
        masks={c.name: np.array(c.allowed, dtype=bool) for c in plan.columns if not c.drop and not c.keep_all},
        col_rules={c.name: [d.rule.value for d in c.decisions] for c in plan.columns},
        keep=[n for n in names if n not in dropped],
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


def apply_batch(plan: BulkPlan, compiled: _Compiled, index: SubjectIndex, batch: pa.RecordBatch | pa.Table,
                summary: Summary) -> pa.Table:  # fmt: skip
    """The plan applied to one batch. `summary` is only updated here, so batches may run on several threads
    as long as each has its own Summary (merged afterwards)."""
    subject = batch.column(plan.subject_column)
    chunk = subject.combine_chunks() if isinstance(subject, pa.ChunkedArray) else subject
    slots = index.slots(chunk)
    if slots is not None and index.dense is not None:
        profiles = np.take(index.dense, slots)
        row_ok = np.take(compiled.allowed_lut(index), slots)
    else:
        profiles = index.lookup(chunk)
        row_ok = compiled.rows[profiles]
    per_profile = np.bincount(profiles, minlength=len(compiled.rows))
    for p in np.flatnonzero(per_profile * ~compiled.rows):
        summary.rows_dropped[compiled.row_rules[p]] += int(per_profile[p])
    filtered = batch.filter(pa.array(row_ok)).select(compiled.keep)
    if compiled.masks:
        kept_profiles = profiles[row_ok]
        kept_counts = np.bincount(kept_profiles, minlength=len(compiled.rows))
        for name, mask in compiled.masks.items():
            per_rule = summary.cells_nulled.setdefault(name, Counter())
            for p in np.flatnonzero(kept_counts * ~mask):
                per_rule[compiled.col_rules[name][p]] += int(kept_counts[p])
            column = filtered.column(name)
            cleaned = pc.if_else(pa.array(mask[kept_profiles]), column, pa.nulls(len(column), column.type))
            filtered = filtered.set_column(filtered.schema.get_field_index(name), name, cleaned)
    summary.rows_in += batch.num_rows
    summary.rows_out += filtered.num_rows
    return pa.table(filtered) if isinstance(filtered, pa.RecordBatch) else filtered


def enforce_table(plan: BulkPlan, index: SubjectIndex, table: pa.Table, threads: int = 2) -> tuple[pa.Table, Summary]:
    """In memory: the filtered table and what was removed."""
    _check_index(plan, index)
    compiled = _compile(plan, table.schema)
    parts = table.to_batches(max_chunksize=BATCH_ROWS)
    return _parallel(plan, compiled, index, table.schema, len(parts), lambda i: parts[i], threads)


def enforce_parquet(plan: BulkPlan, index: SubjectIndex, source: Path, threads: int = 2) -> tuple[pa.Table, Summary]:
    """Read and enforce a Parquet file row group by row group on `threads` threads; the result in order."""
    _check_index(plan, index)
    pf = pq.ParquetFile(source)
    compiled = _compile(plan, pf.schema_arrow)

    def read(group: int) -> pa.Table:
        return pq.ParquetFile(source).read_row_group(group, use_threads=False)

    return _parallel(plan, compiled, index, pf.schema_arrow, pf.num_row_groups, read, threads)


def _parallel(plan: BulkPlan, compiled: _Compiled, index: SubjectIndex, schema: pa.Schema, parts: int,
              read: Callable[[int], pa.Table | pa.RecordBatch], threads: int) -> tuple[pa.Table, Summary]:  # fmt: skip
    """Each part read and enforced on a worker thread (NumPy and Arrow release the GIL); results in order."""
    if index.dense is not None:
        compiled.allowed_lut(index)  # built once, before the threads share it

    def one(i: int) -> tuple[pa.Table, Summary]:
        part = Summary()
        return apply_batch(plan, compiled, index, read(i), part), part

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(one, range(parts)))
    summary = Summary()
    _note_dropped_columns(plan, summary)
    for _, part in results:
        summary.merge(part)
    out_schema = pa.schema([schema.field(n) for n in compiled.keep])
    return (pa.concat_tables([t for t, _ in results]) if results else out_schema.empty_table()), summary


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
    out_schema = pa.schema([schema.field(n) for n in compiled.keep])
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
