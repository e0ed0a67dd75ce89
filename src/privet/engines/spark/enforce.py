"""A bulk enforcement plan carried out on Spark: rows joined to their subject's profile, filtered and masked.

The plan (`privet.policy.bulk.BulkPlan`) decides each (profile, column) once; here each event is joined to its
subject's profile (an unknown or empty identifier takes the unknown subject's profile), rows whose profile may
not be used are filtered out, and columns allowed for some profiles only are nulled for the others. The output
equals `privet.engines.enforce` on the same data: same rows, same columns in the same order, same values.

The counts of the summary come from aggregates over the same rows (per rule, never per row), observed while the
output is written, so writing and counting read the input once.
"""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from privet.engines.enforce import EnforceError, Summary, _check_index, _compile, _note_dropped_columns
from privet.engines.spark.frames import col
from privet.engines.subject_index import SubjectIndex
from privet.policy.bulk import BulkPlan

KEY, PROFILE = "__privet_key", "__privet_profile"
Subjects = SubjectIndex | DataFrame  # the index, or a DataFrame of (key, profile) with one row per key


def subject_profiles(spark: SparkSession, index: SubjectIndex) -> DataFrame:
    """The index as a DataFrame (key, profile): built once, reused for every events file."""
    return spark.createDataFrame(pa.table({"key": index.keys, "profile": pa.array(index.profiles, pa.int32())}))


def _profiles(plan: BulkPlan, subjects: Subjects, events: DataFrame) -> tuple[DataFrame, int]:
    if isinstance(subjects, SubjectIndex):
        _check_index(plan, subjects)
        # The index fits the driver's memory, so it fits every executor's: each joins locally, no shuffle.
        return F.broadcast(subject_profiles(events.sparkSession, subjects)), subjects.unknown
    missing = [c for c in ("key", "profile") if c not in subjects.columns]
    if missing:
        raise EnforceError(f"the subjects DataFrame needs the columns key and profile; it lacks {', '.join(missing)}")
    figures = subjects.agg(F.count(F.lit(1)), F.count_distinct("key"), F.max("profile")).first()
    rows, keys, highest = figures if figures is not None else (0, 0, None)
    if highest is not None and highest >= len(plan.rows):
        raise EnforceError("the subject index has profiles the plan does not know: build the index first, then plan")
    if rows != keys:
        raise EnforceError(f"the subjects DataFrame has {rows - keys} repeated or empty key(s): give one profile per "
                           "key")  # fmt: skip
    return subjects.select("key", "profile"), plan.unknown_profile


def _profiled(
    plan: BulkPlan, subjects: Subjects, events: DataFrame, lookup: tuple[DataFrame, int] | None = None
) -> tuple[DataFrame, list[str]]:
    """The events with a profile column, and the output columns in input order (checked as the local engine does)."""
    compiled = _compile(plan, pa.schema([(name, pa.null()) for name in events.columns]))
    profiles, unknown = lookup if lookup is not None else _profiles(plan, subjects, events)
    key_type = profiles.schema["key"].dataType
    subject = col(plan.subject_column)
    if events.schema[plan.subject_column].dataType != key_type:  # as the index casts a column of another type
        subject = subject.try_cast(key_type)
    named = profiles.select(F.col("key").alias(KEY), F.col("profile").alias(PROFILE))
    joined = events.join(named, subject == F.col(KEY), "left").drop(KEY)
    profiled = joined.withColumn(PROFILE, F.coalesce(F.col(PROFILE), F.lit(unknown)))
    return profiled, compiled.keep


def _allowed(profiles: Sequence[bool]) -> list[int]:
    return [p for p, ok in enumerate(profiles) if ok]


def _output(plan: BulkPlan, profiled: DataFrame, keep: list[str]) -> DataFrame:
    partial = {c.name: c for c in plan.columns if not c.drop and not c.keep_all}
    kept = profiled.filter(F.col(PROFILE).isin(_allowed(plan.rows)))
    types = profiled.schema
    out: list[Column] = []
    for name in keep:
        if name in partial:
            null = F.lit(None).cast(types[name].dataType)
            allowed = F.col(PROFILE).isin(_allowed(partial[name].allowed))
            out.append(F.when(allowed, col(name)).otherwise(null).alias(name))
        else:
            out.append(col(name))
    return kept.select(*out)


def enforce(plan: BulkPlan, subjects: Subjects, events: DataFrame) -> DataFrame:
    """The filtered and masked events, lazily (nothing runs until the result is written or collected)."""
    profiled, keep = _profiled(plan, subjects, events)
    return _output(plan, profiled, keep)


def _counts(plan: BulkPlan) -> list[Column]:
    """Aggregates giving every figure of the summary: rows in and out, dropped rows per rule, nulled cells per
    column and rule. Few expressions (rules, not profiles), so they can be observed during a write."""
    profile = F.col(PROFILE)
    out = [F.count(F.lit(1)).alias("rows_in"), F.count_if(profile.isin(_allowed(plan.rows))).alias("rows_out")]
    dropped: dict[str, list[int]] = {}
    for p, (ok, decision) in enumerate(zip(plan.rows, plan.row_decisions, strict=True)):
        if not ok:
            dropped.setdefault(decision.rule.value, []).append(p)
    out += [F.count_if(profile.isin(ps)).alias(f"drop\x1f{rule}") for rule, ps in dropped.items()]
    for c in plan.columns:
        if c.drop or c.keep_all:
            continue
        nulled: dict[str, list[int]] = {}
        for p, (row_ok, ok, decision) in enumerate(zip(plan.rows, c.allowed, c.decisions, strict=True)):
            if row_ok and not ok:
                nulled.setdefault(decision.rule.value, []).append(p)
        out += [F.count_if(profile.isin(ps)).alias(f"null\x1f{c.name}\x1f{rule}") for rule, ps in nulled.items()]
    return out


def _summary(plan: BulkPlan, figures: dict[str, Any]) -> Summary:
    summary = Summary(rows_in=int(figures["rows_in"] or 0), rows_out=int(figures["rows_out"] or 0))
    _note_dropped_columns(plan, summary)
    for c in plan.columns:
        if not c.drop and not c.keep_all:
            summary.cells_nulled[c.name] = Counter()
    for name, value in figures.items():
        parts = name.split("\x1f")
        if parts[0] == "drop" and value:
            summary.rows_dropped[parts[1]] += int(value)
        elif parts[0] == "null" and value:
            summary.cells_nulled[parts[1]][parts[2]] += int(value)
    return summary


def summarise(plan: BulkPlan, subjects: Subjects, events: DataFrame) -> Summary:
    """What enforcing would remove, counted in one aggregation (nothing is written)."""
    profiled, _ = _profiled(plan, subjects, events)
    row = profiled.agg(*_counts(plan)).first()
    assert row is not None
    return _summary(plan, row.asDict())


def enforce_parquet(
    spark: SparkSession, plan: BulkPlan, subjects: Subjects, source: str | Path, target: str | Path
) -> Summary:
    """Read Parquet (a file or a folder), enforce, write a Parquet folder at `target`: whole, or not at all."""
    target = Path(target)
    if target.exists():
        raise EnforceError(f"{target} exists already; Spark writes a new folder: remove it or choose another")
    events = spark.read.parquet(str(source))
    index_folder = target.with_name(f".{target.name}.{uuid.uuid4().hex}.index")
    try:
        if isinstance(subjects, SubjectIndex):
            # Beside the output, where every executor can read: a Parquet file reaches Spark many times faster
            # than rows handed over from Python, and is read in parallel.
            _check_index(plan, subjects)
            index_folder.mkdir(parents=True)
            keys = pa.table({"key": subjects.keys, "profile": pa.array(subjects.profiles, pa.int32())})
            pq.write_table(keys, index_folder / "index.parquet")
            lookup = (F.broadcast(spark.read.parquet(str(index_folder))), subjects.unknown)
        else:
            lookup = _profiles(plan, subjects, events)
        profiled, keep = _profiled(plan, subjects, events, lookup)
        observation = Observation("privet_enforce")
        output = _output(plan, profiled.observe(observation, *_counts(plan)), keep)
        with _atomic_folder(target) as partial:
            output.write.parquet(str(partial))
    finally:
        shutil.rmtree(index_folder, ignore_errors=True)
    return _summary(plan, observation.get)


@contextlib.contextmanager
def _atomic_folder(target: Path) -> Iterator[Path]:
    """A hidden sibling folder to write into, renamed to `target` when the block succeeds, removed when it fails."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
    try:
        yield partial
        partial.replace(target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
