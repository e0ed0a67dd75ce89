"""Carrying out a plan against the company's systems: read, check, then change collection by collection.

Erasure is planned whole before anything changes: every row is found, every action decided and recorded as a
checkpoint. Then each collection's actions run in one transaction and are checkpointed when done. A dropped
connection leaves the failed collection rolled back and the rest of the plan recorded; running again skips what
is done and finishes the rest. Nothing reports success for a field it did not erase.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from privet.fulfilment.erasure import Action, ActionKind, ActionSet, LegalHold, action_sets, erasure_actions
from privet.fulfilment.graph import DatasetGraph, FieldNode
from privet.fulfilment.masking import MaskingError, Null, column_for, make_strategy, mask_value
from privet.fulfilment.plan import AccessPlan, ErasurePlan
from privet.fulfilment.ports import Column, ColumnType, Connector, ConnectorError, Row, Update, batched, plain
from privet.manifest.model import Manifest

RESTRICTED_COLUMNS = ("privet_restricted", "restricted", "processing_restricted")


class StepState(StrEnum):
    DONE = "done"
    FAILED = "failed"
    MANUAL = "manual"  # a person must do it; the request waits
    REVIEW = "review"  # stopped for a human to look (a shared identity matching too many rows)


@dataclass(frozen=True)
class StepRecord:
    request_id: str
    phase: str  # "plan", "access", "erase", "correct", "restrict"
    collection: str
    state: StepState
    rows: int = 0
    error: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


class Checkpoints(Protocol):
    def get(self, request_id: str, phase: str, collection: str) -> StepRecord | None: ...

    def put(self, record: StepRecord, at: dt.datetime) -> None: ...

    def all(self, request_id: str) -> list[StepRecord]: ...


class MemoryCheckpoints:
    """Checkpoints kept in memory, for tests and one-off runs (the workspace keeps them in its database)."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str, str], StepRecord] = {}

    def get(self, request_id: str, phase: str, collection: str) -> StepRecord | None:
        return self.records.get((request_id, phase, collection))

    def put(self, record: StepRecord, at: dt.datetime) -> None:
        self.records[(record.request_id, record.phase, record.collection)] = record

    def all(self, request_id: str) -> list[StepRecord]:
        return [r for (rid, _, _), r in self.records.items() if rid == request_id]


class FulfilmentError(RuntimeError):
    pass


class NeedsReview(FulfilmentError):
    """An identity matched more rows than one person plausibly has (info@, a shared phone)."""


@dataclass(frozen=True)
class Limits:
    rows_per_identity: int = 200  # more rows than this for one seed value stops for review
    batch: int = 500


def table_of(collection: str) -> str:
    return collection.split(".", 1)[1]


def _connector(connectors: Mapping[str, Connector], graph: DatasetGraph, collection: str) -> Connector:
    system = graph.node(collection).system
    if system is None or system not in connectors:
        raise FulfilmentError(
            f"no connection for {collection} (system {system or 'not set'}); configure it under [systems.{system}] "
            "in privet.toml"
        )
    return connectors[system]


@contextlib.contextmanager
def reading(connectors: Mapping[str, Connector]) -> Iterator[None]:
    """One transaction per system for a whole read phase: one connection each, no commit per query, and a view
    that does not shift between collections where the database gives one."""
    with contextlib.ExitStack() as stack:
        for connector in connectors.values():
            stack.enter_context(connector.transaction())
        yield


def check_schema(plan: AccessPlan, graph: DatasetGraph, connectors: Mapping[str, Connector]) -> list[str]:
    """Every dataset collection and field the plan touches, compared with the live schema before any write."""
    with reading(connectors):
        return _check_schema(plan, graph, connectors)


def _check_schema(plan: AccessPlan, graph: DatasetGraph, connectors: Mapping[str, Connector]) -> list[str]:
    problems = []
    missing: dict[str, list[str]] = {}
    for step in plan.steps:
        system = graph.node(step.collection).system
        if system is None or system not in connectors:
            missing.setdefault(system or "(none)", []).append(step.collection)
    for system, collections in missing.items():
        problems.append(
            f"no connection for system {system} ({', '.join(collections)}); configure it under "
            f"[systems.{system}] in privet.toml"
        )
    by_system: dict[str, list[str]] = defaultdict(list)
    for step in plan.steps:
        system = graph.node(step.collection).system
        if system is not None and system in connectors:
            by_system[system].append(table_of(step.collection))
    for system, tables in by_system.items():  # one round of catalogue queries per system where it can
        many = getattr(connectors[system], "describe_many", None)
        if many is not None:
            with contextlib.suppress(ConnectorError):  # each table's own describe below says what is wrong
                many(tables)
    for step in plan.steps:
        node = graph.node(step.collection)
        if node.system is None or node.system not in connectors:
            continue
        try:
            live = _connector(connectors, graph, step.collection).describe(table_of(step.collection))
        except (FulfilmentError, ConnectorError) as exc:
            problems.append(f"{step.collection}: {exc}")
            continue
        if live is None:
            problems.append(
                f"{step.collection}: the table {table_of(step.collection)!r} does not exist in {node.system}"
            )
            continue
        for fld in node.fields:
            if "." in fld.path or not fld.leaf:
                continue  # nested document fields are checked by document stores, not here
            column = live.get(fld.path)
            if column is None:
                problems.append(f"{step.collection}.{fld.path}: no such column in {node.system}")
            elif fld.data_type and not _compatible(fld.data_type, column.type):
                problems.append(
                    f"{step.collection}.{fld.path}: the dataset says {fld.data_type}, the database has "
                    f"{column.type.value}"
                )
    return problems


_TYPES = {
    "string": {ColumnType.TEXT, ColumnType.JSON, ColumnType.OTHER},
    "integer": {ColumnType.INTEGER},
    "float": {ColumnType.FLOAT, ColumnType.INTEGER},
    "boolean": {ColumnType.BOOLEAN, ColumnType.INTEGER},
    "date": {ColumnType.DATE, ColumnType.DATETIME, ColumnType.TEXT},
}


def _compatible(declared: str, live: ColumnType) -> bool:
    allowed = _TYPES.get(declared.lower().split("[")[0])
    return allowed is None or live in allowed or live is ColumnType.OTHER


def collect(
    plan: AccessPlan,
    graph: DatasetGraph,
    connectors: Mapping[str, Connector],
    identities: Mapping[str, Sequence[str]],
    limits: Limits = Limits(),
) -> dict[str, list[Row]]:
    """Every row the plan reaches, one query per collection per batch of values."""
    with reading(connectors):
        return _collect(plan, graph, connectors, identities, limits)


def _collect(
    plan: AccessPlan,
    graph: DatasetGraph,
    connectors: Mapping[str, Connector],
    identities: Mapping[str, Sequence[str]],
    limits: Limits,
) -> dict[str, list[Row]]:
    found: dict[str, list[Row]] = {}
    for step in plan.steps:
        connector = _connector(connectors, graph, step.collection)
        rows: dict[Any, Row] = {}
        for inp in step.inputs:
            if inp.identity is not None:
                values = list(dict.fromkeys(identities.get(inp.identity, ())))
            else:
                name = inp.upstream_field or ""
                upstream = found.get(inp.upstream or "", [])
                values = list(dict.fromkeys(r[name] for r in upstream if r.get(name) is not None))
            if not values:
                continue
            for chunk in batched(values, limits.batch):
                got = connector.select(table_of(step.collection), inp.field, chunk)
                if inp.identity is not None and len(got) > limits.rows_per_identity * len(chunk):
                    raise NeedsReview(
                        f"{step.collection}: {len(got)} rows match the request's {inp.identity}; more than one person "
                        f"plausibly has (limit {limits.rows_per_identity}). A shared address such as info@ must be "
                        "reviewed by a person before anything is erased."
                    )
                for row in got:
                    rows[_row_key(graph, step.collection, row)] = row
        found[step.collection] = list(rows.values())
    return found


def _row_key(graph: DatasetGraph, collection: str, row: Row) -> Any:
    keys = [f.path for f in graph.node(collection).fields if f.primary_key]
    return tuple(row.get(k) for k in keys) if keys else tuple(sorted((k, repr(v)) for k, v in row.items()))


@dataclass(frozen=True)
class ErasureOutcome:
    done: dict[str, int]  # collection -> rows changed
    kept: tuple[Action, ...]  # restricted instead of erased, with the reason the person is told
    manual: tuple[str, ...]  # tasks a person must do before the request can close
    failed: dict[str, str]  # collection -> error

    @property
    def complete(self) -> bool:
        return not self.failed and not self.manual


def plan_actions(
    plan: ErasurePlan,
    graph: DatasetGraph,
    manifest: Manifest,
    connectors: Mapping[str, Connector],
    identities: Mapping[str, Sequence[str]],
    holds: Sequence[LegalHold],
    on: dt.date,
    jurisdictions: Sequence[str],
    limits: Limits = Limits(),
) -> list[Action]:
    with reading(connectors):
        problems = check_schema(plan.access, graph, connectors)
        if problems:
            raise FulfilmentError(
                "the datasets do not match the live systems; nothing was changed:\n  " + "\n  ".join(problems)
            )
        rows = collect(plan.access, graph, connectors, identities, limits)
        columns = {c: _connector(connectors, graph, c).describe(table_of(c)) or {} for c in plan.order}
    return erasure_actions(plan, rows, manifest, holds, on=on, jurisdictions=jurisdictions, columns=columns)


def apply_actions(
    request_id: str,
    actions: Sequence[Action],
    order: Sequence[str],
    graph: DatasetGraph,
    connectors: Mapping[str, Connector],
    checkpoints: Checkpoints,
    key: bytes,
    now: dt.datetime,
    phase: str = "erase",
) -> ErasureOutcome:
    """Run one person's actions: grouped into sets, then as `apply_sets` does."""
    outcome = apply_sets(request_id, action_sets(actions), order, graph, connectors, checkpoints, key, now, phase)
    kept = tuple(a for a in actions if a.kind is ActionKind.RESTRICT)
    return ErasureOutcome(outcome.done, kept, outcome.manual, outcome.failed)


def apply_sets(
    request_id: str,
    sets: Sequence[ActionSet],
    order: Sequence[str],
    graph: DatasetGraph,
    connectors: Mapping[str, Connector],
    checkpoints: Checkpoints,
    key: bytes,
    now: dt.datetime,
    phase: str = "erase",
) -> ErasureOutcome:
    """Run the sets collection by collection in `order`; each collection commits whole and is checkpointed."""
    by_collection: dict[str, list[ActionSet]] = defaultdict(list)
    for one in sets:
        by_collection[one.collection].append(one)
    done: dict[str, int] = {}
    failed: dict[str, str] = {}
    manual: list[str] = []
    for collection in order:
        todo = by_collection.get(collection)
        if not todo:
            continue
        previous = checkpoints.get(request_id, phase, collection)
        if previous is not None and previous.state is StepState.DONE:
            done[collection] = previous.rows
            continue
        connector = _connector(connectors, graph, collection)
        try:
            changed, tasks = _apply_collection(collection, todo, graph, connector, key)
        except (ConnectorError, MaskingError) as exc:
            failed[collection] = str(exc)
            checkpoints.put(StepRecord(request_id, phase, collection, StepState.FAILED, 0, str(exc)), now)
            break  # later collections may depend on this one: stop, and resume from here
        if tasks:
            manual += tasks
            checkpoints.put(
                StepRecord(request_id, phase, collection, StepState.MANUAL, changed, detail={"tasks": tasks}), now
            )
        else:
            checkpoints.put(StepRecord(request_id, phase, collection, StepState.DONE, changed), now)
        done[collection] = changed
    return ErasureOutcome(done, (), tuple(manual), failed)


def _apply_collection(
    collection: str, sets: Sequence[ActionSet], graph: DatasetGraph, connector: Connector, key: bytes
) -> tuple[int, list[str]]:
    """Deletes first, then rewrites and flags: a statement per batch of keys where every row gets the same value,
    and the rows' own values read where the strategy needs them (keyed hashes, fixed text that leaves NULL)."""
    table = table_of(collection)
    live = connector.describe(table) or {}
    node = graph.node(collection)
    fields = {f.path: f for f in node.fields}
    changed = 0
    tasks: list[str] = []
    # Reasons matter to people, not to the system: the same change for several reasons is one statement.
    deletes: dict[str, list[Sequence[Any]]] = defaultdict(list)
    constant: dict[tuple[str, tuple[tuple[str, Any], ...]], list[Sequence[Any]]] = defaultdict(list)
    per_row: list[ActionSet] = []
    flag = next((c for c in RESTRICTED_COLUMNS if c in live), None)
    for one in sets:
        if one.kind is ActionKind.DELETE:
            deletes[one.key_field].append(one.keys)
        elif one.kind is ActionKind.MASK:
            strategy = make_strategy(one.strategy or "null")
            for name in one.fields:
                strategy.check(column_for(fields[name], live.get(name)))
            if isinstance(strategy, Null):
                constant[(one.key_field, tuple((name, None) for name in one.fields))].append(one.keys)
            else:
                per_row.append(one)
        elif one.kind is ActionKind.RESTRICT:
            if flag is None:
                tasks.append(_restrict_task(collection, node.system, one))
            else:
                constant[(one.key_field, ((flag, _true(live[flag])),))].append(one.keys)
    with connector.transaction():
        for key_field, parts in deletes.items():
            changed += connector.delete(table, key_field, joined(parts))
        # A row may take several statements (a mask and the restriction flag): count it once. Statements report
        # only how many rows each changed, so rows changed are at most the distinct keys they were for.
        updated = sum(connector.update_all(table, kf, joined(parts), dict(values))
                      for (kf, values), parts in constant.items())  # fmt: skip
        updated += _rewrite_rows(table, per_row, fields, live, connector, key)
        if len(constant) + len(per_row) > 1:
            addressed = [keys for parts in constant.values() for keys in parts] + [one.keys for one in per_row]
            updated = min(updated, distinct_count(joined(addressed)))
        changed += updated
    return changed, tasks


def distinct_count(keys: Sequence[Any]) -> int:
    """How many different keys (arrays are sorted: NumPy's hashing unique is many times slower on millions)."""
    if hasattr(keys, "dtype"):
        import numpy as np

        ordered = np.sort(keys)
        return int(len(ordered) and 1 + np.count_nonzero(ordered[1:] != ordered[:-1]))
    return len(set(plain(keys)))


def joined(parts: Sequence[Sequence[Any]]) -> Sequence[Any]:
    """Key sequences as one: arrays from a bulk engine stay one array (connectors read them in bulk)."""
    if len(parts) == 1:
        return parts[0]
    if all(hasattr(p, "dtype") for p in parts):
        import numpy as np

        return np.concatenate(parts)  # type: ignore[return-value]  # an array is a sequence of its keys
    return [k for p in parts for k in plain(p)]


def _rewrite_rows(table: str, sets: Sequence[ActionSet], fields: Mapping[str, FieldNode],
                  live: Mapping[str, Column], connector: Connector, key: bytes) -> int:  # fmt: skip
    """Masks whose value depends on the row: read the rows, compute each value, write them back in batches."""
    changed = 0
    for one in sets:
        for chunk in batched(plain(one.keys), 5000):
            rows = {row[one.key_field]: row for row in connector.select(table, one.key_field, chunk)}
            updates = []
            for k in chunk:
                row = rows.get(k, {})
                values = {}
                for name in one.fields:
                    column = column_for(fields[name], live.get(name))
                    values[name] = mask_value(one.strategy or "null", row.get(name), column, key)
                updates.append(Update(k, values))
            changed += connector.update(table, one.key_field, updates)
    return changed


def _restrict_task(collection: str, system: str | None, one: ActionSet) -> str:
    keys = plain(one.keys[:20])
    n = len(one.keys)
    shown = ", ".join(repr(k) for k in keys) + (f" and {n - 20:,} more" if n > 20 else "")
    rows = f"row {one.key_field}={keys[0]!r}" if n == 1 else f"{n:,} rows ({one.key_field} {shown})"
    what = f" ({', '.join(one.fields)})" if one.fields else ""
    return (f"restrict {collection} {rows}{what} in {system}: no restriction flag column; "
            f"{one.reason.text}")  # fmt: skip


def _true(column: Column) -> Any:
    return 1 if column.type is ColumnType.INTEGER else True
