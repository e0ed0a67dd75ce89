"""An erasure plan carried out on Spark over Parquet lakes: find the person's rows, then write the erased tables.

Finding follows the plan's access steps as the executor's `collect` does: a step's rows are those whose field
holds one of the request's identities (a seed) or a value of the field it references in rows an earlier step
found (a semi-join). What happens to the rows of a collection is decided by `erasure_actions`, the same
function the executor uses, asked once per collection (its decision depends on the collection, the legal holds
and obligations, and the live columns, never on a row's values). Spark then applies it to every row whose key
was found: deleting rows (an anti-join), rewriting fields with their masking strategy, or setting the
restriction flag. Nothing is written until every collection's result is planned; each changed collection is
written as a new Parquet folder under `target`, whole or not at all, for the lake's own tools to swap in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from privet.engines.spark.enforce import _atomic_folder
from privet.engines.spark.frames import SparkPlanError, col
from privet.engines.spark.retention import read_collection
from privet.fulfilment.erasure import Action, ActionKind, ErasureError, LegalHold, erasure_actions
from privet.fulfilment.executor import RESTRICTED_COLUMNS, FulfilmentError, Limits, NeedsReview, check_schema, table_of
from privet.fulfilment.graph import DatasetGraph, build_graph
from privet.fulfilment.masking import ALIASES, MaskingError, column_for, make_strategy
from privet.fulfilment.plan import ErasurePlan, Step
from privet.fulfilment.ports import Column as LiveColumn
from privet.fulfilment.ports import ColumnType, Connector, batched
from privet.manifest.model import Manifest

HIT = "__privet_found"
_ANY_KEY = object()  # the key of the one row each collection's decision is asked for


@dataclass(frozen=True)
class ErasedCollection:
    collection: str
    rows: int  # rows deleted or rewritten
    actions: tuple[Action, ...]  # what was done to each found row (its key left out: every found key)
    path: Path | None  # the new Parquet folder; None where nothing had to be written
    tasks: tuple[str, ...] = ()  # restrictions a person must carry out (no restriction flag column)


@dataclass(frozen=True)
class SparkErasure:
    collections: tuple[ErasedCollection, ...]  # in erase order

    @property
    def done(self) -> dict[str, int]:
        return {c.collection: c.rows for c in self.collections}

    @property
    def manual(self) -> tuple[str, ...]:
        return tuple(t for c in self.collections for t in c.tasks)

    @property
    def kept(self) -> tuple[Action, ...]:
        return tuple(a for c in self.collections for a in c.actions if a.kind is ActionKind.RESTRICT)


def _lake(lakes: Mapping[str, Connector], graph: DatasetGraph, collection: str) -> Connector:
    system = graph.node(collection).system
    if system is None or system not in lakes:
        raise FulfilmentError(f"no connection for {collection} (system {system or 'not set'}); configure it under "
                              f"[systems.{system}] in privet.toml")  # fmt: skip
    return lakes[system]


def _top_level(frame: DataFrame, collection: str, name: str) -> Column:
    if name not in frame.columns:
        raise SparkPlanError(
            f"{collection}.{name}: the Spark engine reads and erases top-level Parquet columns only, and this is "
            "nested or absent; flatten the field into a column of its own or erase it with the system's own tools"
        )
    return col(name)


@dataclass(frozen=True)
class _Review:
    """Rows one batch of a seed's values matches, to be counted before anything is written."""

    collection: str
    identity: str
    values: int
    matches: Column


@dataclass
class _Found:
    tables: dict[str, DataFrame]  # every collection the plan reads, whole
    rows: dict[str, DataFrame]  # the rows the plan finds in it (cached once counted)
    reviews: list[_Review]


def _find(
    spark: SparkSession,
    plan: ErasurePlan,
    graph: DatasetGraph,
    lakes: Mapping[str, Connector],
    identities: Mapping[str, Sequence[Any]],
    limits: Limits,
) -> _Found:
    """Every step's rows, as lazy DataFrames: nothing is read yet but the files' schemas."""
    found = _Found({}, {}, [])
    for step in plan.access.steps:
        connector = _lake(lakes, graph, step.collection)
        if connector.describe(table_of(step.collection)) == {}:
            continue  # an empty folder: nothing to find
        frame = found.tables[step.collection] = read_collection(spark, connector, step.collection)
        hits = _hits(step, frame, found, identities, limits)
        if not hits:
            continue
        marked = frame
        for i, (hit, lookup) in enumerate(hits):
            if lookup is not None:
                marked = marked.join(lookup.withColumn(f"{HIT}{i}", F.lit(True)), hit == F.col(f"{HIT}v{i}"), "left")
                marked = marked.drop(f"{HIT}v{i}")
            else:
                marked = marked.withColumn(f"{HIT}{i}", hit)
        anywhere = F.lit(False)
        for i in range(len(hits)):
            anywhere = anywhere | F.coalesce(F.col(f"{HIT}{i}"), F.lit(False))
        found.rows[step.collection] = marked.filter(anywhere).select(*(col(c) for c in frame.columns))
    return found


def _hits(
    step: Step, frame: DataFrame, found: _Found, identities: Mapping[str, Sequence[Any]], limits: Limits
) -> list[tuple[Column, DataFrame | None]]:
    """Per input: a membership test (identities) or a join key with the distinct values to join (references)."""
    out: list[tuple[Column, DataFrame | None]] = []
    for inp in step.inputs:
        field = _top_level(frame, step.collection, inp.field)
        if inp.identity is not None:
            wanted = list(dict.fromkeys(identities.get(inp.identity, ())))
            if not wanted:
                continue
            found.reviews += [_Review(step.collection, inp.identity, len(chunk), F.count_if(field.isin(list(chunk))))
                              for chunk in batched(wanted, limits.batch)]  # fmt: skip
            out.append((field.isin(wanted), None))
        else:
            upstream = found.rows.get(inp.upstream or "")
            if upstream is None:
                continue
            source = _top_level(upstream, inp.upstream or "", inp.upstream_field or "")
            name = f"{HIT}v{len(out)}"  # inputs are numbered by position, so each join has names of its own
            out.append((field, upstream.select(source.alias(name)).where(F.col(name).isNotNull()).distinct()))
    return out


def _review(found: _Found, limits: Limits) -> None:
    """A seed value matching more rows than one person plausibly has stops everything, as the executor does."""
    by_collection: dict[str, list[_Review]] = {}
    for review in found.reviews:
        by_collection.setdefault(review.collection, []).append(review)
    for collection, reviews in by_collection.items():
        row = found.tables[collection].agg(*(r.matches.alias(f"m{i}") for i, r in enumerate(reviews))).first()
        assert row is not None
        for i, r in enumerate(reviews):
            if row[f"m{i}"] > limits.rows_per_identity * r.values:
                raise NeedsReview(
                    f"{collection}: {row[f'm{i}']} rows match the request's {r.identity}; more than one person "
                    f"plausibly has (limit {limits.rows_per_identity}). A shared address such as info@ must be "
                    "reviewed by a person before anything is erased."
                )


def _hmac(value: Column, kind: T.DataType, column: LiveColumn, key: bytes) -> Column:
    """HMAC-SHA256 (RFC 2104) as column expressions: hex text for text columns, the digest for binary ones."""
    if not key:
        raise MaskingError("hmac needs a secret key; configure the masking key in the workspace settings")
    block = hashlib.sha256(key).digest() if len(key) > 64 else key
    block = block.ljust(64, b"\0")
    inner_pad, outer_pad = bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)
    data = value if isinstance(kind, T.BinaryType) else value.cast("string").cast("binary")
    inner = F.unhex(F.sha2(F.concat(F.lit(inner_pad), data), 256))
    digest = F.sha2(F.concat(F.lit(outer_pad), inner), 256)
    out = digest if column.type is ColumnType.TEXT else F.unhex(digest)
    if column.max_length is not None:
        out = F.substring(out, 1, column.max_length)
    return out


def _masked(strategy: str, name: str, kind: T.DataType, column: LiveColumn, key: bytes, where: str) -> Column:
    value = col(name)
    chosen = ALIASES.get(strategy, strategy)
    if chosen == "null":
        return F.lit(None).cast(kind)
    if chosen == "fixed":
        fixed = make_strategy(chosen).mask(_ANY_KEY, column, key)  # the value written over any non-empty one
        if column.type is ColumnType.JSON:
            raise SparkPlanError(f"{where}: fixed cannot write its value into a nested Parquet column on Spark; "
                                 "give the field masking: null")  # fmt: skip
        return F.when(value.isNull(), value).otherwise(F.lit(fixed).cast(kind))
    if chosen == "hmac":
        return F.when(value.isNull(), value).otherwise(_hmac(value, kind, column, key).cast(kind))
    raise SparkPlanError(
        f"{where}: the masking strategy {chosen!r} cannot run on Spark (random needs a secure generator Spark does "
        "not offer); give the field masking: null, fixed or hmac, or erase with the local engine"
    )


def _apply(
    collection: str, frame: DataFrame, keys: DataFrame, key_field: str, actions: Sequence[Action], graph: DatasetGraph,
    live: Mapping[str, LiveColumn], key: bytes,
) -> tuple[DataFrame, list[Column] | None, tuple[str, ...]]:  # fmt: skip
    """The collection with the found rows marked, the output columns (an empty list: the found rows are deleted;
    None: nothing changes), and the tasks left to a person."""
    marked = frame.join(keys.select(col(key_field).alias(f"{HIT}k")).distinct().withColumn(HIT, F.lit(True)),
                        col(key_field) == F.col(f"{HIT}k"), "left").drop(f"{HIT}k")  # fmt: skip
    hit = F.coalesce(F.col(HIT), F.lit(False))
    if any(a.kind is ActionKind.DELETE for a in actions):
        return marked, [], ()
    node = graph.node(collection)
    fields = {f.path: f for f in node.fields}
    schema = frame.schema
    replaced: dict[str, Column] = {}
    tasks: list[str] = []
    for action in actions:
        if action.kind is ActionKind.MASK:
            for name in action.fields:
                where = f"{collection}.{name}"
                _top_level(frame, collection, name)
                column = column_for(fields[name], live.get(name))
                masked = _masked(action.strategy or "null", name, schema[name].dataType, column, key, where)
                replaced[name] = F.when(hit, masked).otherwise(col(name))
        elif action.kind is ActionKind.RESTRICT:
            flag = next((c for c in RESTRICTED_COLUMNS if c in live), None)
            if flag is None:
                tasks.append(f"restrict the found rows of {collection} ({', '.join(action.fields)}) in {node.system}: "
                             f"no restriction flag column; {action.reason.text}")  # fmt: skip
            else:
                true = F.lit(1 if live[flag].type is ColumnType.INTEGER else True).cast(schema[flag].dataType)
                replaced[flag] = F.when(hit, true).otherwise(col(flag))
    if not replaced:
        return marked, None, tuple(tasks)
    return marked, [replaced.get(c, col(c)).alias(c) for c in frame.columns], tuple(tasks)


def erase(
    spark: SparkSession,
    plan: ErasurePlan,
    manifest: Manifest,
    lakes: Mapping[str, Connector],
    identities: Mapping[str, Sequence[Any]],
    target: str | Path,
    *,
    key: bytes,
    on: dt.date,
    holds: Sequence[LegalHold] = (),
    jurisdictions: Collection[str] = (),
    limits: Limits = Limits(),
) -> SparkErasure:
    """Find the person's rows in Parquet lakes (files connectors, by system) and write each changed collection
    erased to `target/<collection>/`. Arguments mean what they mean to `plan_actions` and `apply_actions`.

    Everything Spark cannot do is refused before any data is read; what the data decide (a seed matching too
    many rows, a found row without a key, a strategy the column cannot take) before anything is written."""
    target = Path(target)
    graph = build_graph(manifest.datasets)
    problems = check_schema(plan.access, graph, lakes)
    if problems:
        raise FulfilmentError(
            "the datasets do not match the live systems; nothing was changed:\n  " + "\n  ".join(problems)
        )
    for c in plan.order:
        if (target / table_of(c)).exists():
            raise SparkPlanError(f"{target / table_of(c)} exists already; erasure writes new folders: remove it or "
                                 "choose another target")  # fmt: skip
    found = _find(spark, plan, graph, lakes, identities, limits)
    live = {c: _lake(lakes, graph, c).describe(table_of(c)) or {} for c in plan.order}
    decided: dict[str, tuple[Action, ...]] = {}
    refused: dict[str, tuple[str, ...]] = {}
    planned: dict[str, tuple[DataFrame, list[Column] | None, tuple[str, ...]]] = {}
    for c in plan.order:
        if c not in found.rows:
            continue
        one_row = {c: [dict.fromkeys(graph.node(c).primary_key, _ANY_KEY)]}
        try:
            decided[c] = tuple(erasure_actions(plan, one_row, manifest, holds, on=on, jurisdictions=jurisdictions,
                                               columns=live))  # fmt: skip
        except ErasureError as exc:
            refused[c] = exc.problems
            continue
        if decided[c]:
            key_field = decided[c][0].key_field
            planned[c] = _apply(c, found.tables[c], found.rows[c], key_field, decided[c], graph, live[c], key)
    _review(found, limits)
    try:
        return _write(graph, found, decided, refused, planned, target)
    finally:
        for frame in found.rows.values():
            frame.unpersist()


def _write(
    graph: DatasetGraph,
    found: _Found,
    decided: Mapping[str, tuple[Action, ...]],
    refused: Mapping[str, tuple[str, ...]],
    planned: Mapping[str, tuple[DataFrame, list[Column] | None, tuple[str, ...]]],
    target: Path,
) -> SparkErasure:
    problems: list[str] = []
    reached = []
    for c, rows in found.rows.items():
        pk = graph.node(c).primary_key
        empty = F.count_if(col(pk[0]).isNull()) if len(pk) == 1 else F.lit(0)
        figures = rows.cache().agg(F.count(F.lit(1)).alias("n"), empty.alias("empty")).first()
        assert figures is not None
        if figures["n"]:
            reached.append(c)
            problems += refused.get(c, ())
            problems += [f"a row of {c} has no value in its primary key {pk[0]!r}"] * figures["empty"]
    if problems:
        raise ErasureError(problems)
    hit = F.coalesce(F.col(HIT), F.lit(False))
    results = []
    for c in (c for c in decided if c in reached and c in planned):
        marked, columns, tasks = planned[c]
        if columns is None:
            results.append(ErasedCollection(c, 0, decided[c], None, tasks))
            continue
        observation = Observation(f"privet_erase_{len(results)}")
        observed = marked.observe(observation, F.count_if(hit).alias("rows"))
        out = observed.filter(~hit).drop(HIT) if not columns else observed.select(*columns)
        where = target / table_of(c)
        with _atomic_folder(where) as partial:
            out.write.parquet(str(partial))
        results.append(ErasedCollection(c, int(observation.get["rows"] or 0), decided[c], where, tasks))
    return SparkErasure(tuple(results))
