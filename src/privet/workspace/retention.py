"""Retention sweeps against the configured systems: plan (read and evaluate, change nothing) and apply.

`sweep` describes every governed collection, plans it, reads its facts and evaluates them. `apply` does the same,
then hands the due records to the fulfilment executor as action sets, batch by batch, each batch checkpointed
under the run of its as-of date: running it again after a crash resumes that run and skips what is done. The
command line and the daily job both call `apply`; only the command line asks before it changes anything.

Retention remembers what it anonymised (`privet.retention.journal`): each batch's anonymised records are journaled,
and the records it deleted leave the journal, in the transaction that checkpoints the batch as done; every sweep
reads the journal of the collections it evaluates, so a record anonymised once is reported as anonymised and never
masked again.

Facts (which column ends the relationship, holds the last activity, the jurisdiction) come from the datasets'
`facts:`; a workspace file `retention_facts.yml` may add to or override them:

    accounts_db.users: {relationship_end: closed_at, jurisdiction: country, person: user_id}
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from privet.fulfilment.erasure import ActionKind, ActionSet
from privet.fulfilment.executor import (
    Checkpoints,
    StepRecord,
    StepState,
    apply_sets,
    distinct_count,
    joined,
    table_of,
)
from privet.fulfilment.graph import build_graph
from privet.fulfilment.ports import Column, Connector, ConnectorError, plain
from privet.retention.journal import Anonymised
from privet.retention.plan import RetentionPlan, Scope, plan_retention
from privet.retention.report import RetentionReport, ScopeResult, reference
from privet.store.database import Database
from privet.store.holds import SqlHolds
from privet.store.journal import SqlRetentionJournal
from privet.store.session import unit_of_work

if TYPE_CHECKING:
    import pyarrow as pa

    from privet.engines.retention import Due
    from privet.workspace.runtime import Runtime

log = logging.getLogger("privet.retention")

FACTS_FILE = "retention_facts.yml"
RUNS = "retention"  # checkpoints of the run pointer: request id "retention", phase "run", collection "latest"

Progress = Callable[[str, int, int], None]  # collection, records done in this step, records in all


class RetentionSetupError(ValueError):
    """The sweep cannot start: a facts file that cannot be read, a system that is not in the manifest."""


def read_facts_file(root: Path, path: Path | None) -> Mapping[str, Any]:
    """The workspace's facts mapping (or `path`); empty when there is none."""
    target = path or root / FACTS_FILE
    if not target.exists():
        if path is not None:
            raise RetentionSetupError(f"{path}: no such file")
        return {}
    try:
        data = yaml.safe_load(target.read_text("utf-8")) or {}
    except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
        raise RetentionSetupError(f"{target}: {exc}") from exc
    data = data.get("facts", data) if isinstance(data, dict) else data
    if not isinstance(data, dict):
        raise RetentionSetupError(f"{target}: write one entry per collection: dataset.collection: {{fact: column}}")
    return data


def check_system(rt: Runtime, system: str | None) -> None:
    if system is not None and system not in rt.manifest.systems:
        known = ", ".join(sorted(rt.manifest.systems))
        raise RetentionSetupError(f"--system {system!r}: no such system in the manifest; one of {known}")


@contextmanager
def connectors(rt: Runtime, errors: dict[str, str]) -> Iterator[dict[str, Connector]]:
    """A connector per configured system; a system that cannot be opened is named in `errors`."""
    from privet.connectors.registry import connector_for

    opened: dict[str, Connector] = {}
    for key, config in rt.settings.systems.items():
        try:
            opened[key] = connector_for(key, config)
        except ConnectorError as exc:
            errors[key] = str(exc)
    try:
        yield opened
    finally:
        for c in opened.values():
            c.close()


@dataclass
class Sweep:
    plan: RetentionPlan
    report: RetentionReport
    dues: dict[str, Due] = field(default_factory=dict)  # collection -> what to carry out (when picked)
    journal: dict[str, pa.Array] = field(default_factory=dict)  # collection -> the keys privet anonymised (as read)


def sweep(rt: Runtime, conns: Mapping[str, Connector], system_errors: Mapping[str, str], as_of: dt.date,
          system: str | None, facts: Mapping[str, Any], engine: str = "local",
          pick: bool = False) -> Sweep:  # fmt: skip
    """Describe, plan, read and evaluate every governed collection of the connected systems; with `pick`, the
    same evaluation also picks what is due, for `apply`.

    `engine` "spark" evaluates lake collections on Apache Spark (a plan only: apply runs locally).
    Raises FactsError when the facts mapping names what does not exist."""
    from privet.engines.retention import read_facts, run

    graph = build_graph(rt.manifest.datasets)
    live: dict[str, dict[str, Column]] = {}
    for key, node in graph.collections.items():
        if node.system in conns and (system is None or node.system == system):
            try:
                live[key] = conns[node.system or ""].describe(table_of(key)) or {}
            except ConnectorError:
                live[key] = {}
    holds = SqlHolds(rt.db).active(rt.now())
    plan = plan_retention(rt.manifest, facts, as_of, holds, live=live).only(system)
    journal = _journal(SqlRetentionJournal(rt.db), plan)
    if engine == "spark":
        return Sweep(plan, _journaled(rt, plan, _spark_report(plan, conns, system_errors, journal)), {}, journal)

    def read(scope: Scope) -> pa.Table:
        if scope.system not in conns:
            raise ConnectorError(system_errors.get(scope.system or "") or (
                f"no connection: configure [systems.{scope.system}] in privet.toml"))  # fmt: skip
        return read_facts(conns[scope.system or ""], scope.collection, scope.columns)

    # Parents are read and evaluated before the collections following them, each collection once.
    report, dues = run(plan, read, pick=pick, journal=journal)
    return Sweep(plan, _journaled(rt, plan, report), dues, journal)


def _place(scope: Scope) -> tuple[str, str]:
    """Where the journal files a collection's records: its system and the collection."""
    return scope.system or "", scope.collection


def _journal(journal: SqlRetentionJournal, plan: RetentionPlan) -> dict[str, pa.Array]:
    """The keys of the records privet anonymised, as text, for every collection the plan evaluates (its context
    too: a follower takes an anonymised parent record as ended)."""
    import pyarrow as pa

    found = journal.keys(_place(s) for s in plan.evaluation_order)
    return {collection: pa.array(keys, pa.string()) for collection, keys in found.items()}


def _journaled(rt: Runtime, plan: RetentionPlan, report: RetentionReport) -> RetentionReport:
    """The report, with what the journal holds for the plan's collections (when, under which rule, which run)."""
    summary = SqlRetentionJournal(rt.db).summary(_place(s) for s in plan.scopes)
    return dataclasses.replace(report, anonymised=tuple(summary))


def _spark_report(plan: RetentionPlan, conns: Mapping[str, Connector], system_errors: Mapping[str, str],
                  journal: Mapping[str, pa.Array]) -> RetentionReport:  # fmt: skip
    from privet.engines import spark

    session = spark.local_session()
    frames, errors = {}, {}
    for scope in plan.evaluation_order:  # the parents that followers in this system need, too
        connector = conns.get(scope.system or "")
        if connector is None:
            errors[scope.collection] = system_errors.get(scope.system or "") or (
                f"no connection: configure [systems.{scope.system}] in privet.toml"
            )
            continue
        try:
            frames[scope.collection] = spark.read_collection(session, connector, scope.collection)
        except spark.SparkPlanError as exc:
            errors[scope.collection] = str(exc)
    report = spark.sweep(plan, frames, journal=journal)
    results = tuple(ScopeResult(r.collection, error=errors[r.collection]) if r.collection in errors else r
                    for r in report.results)  # fmt: skip
    context = {r.collection: r for r in report.context}
    context |= {s.collection: ScopeResult(s.collection, error=errors[s.collection]) for s in plan.context
                if s.collection in errors}  # fmt: skip
    return RetentionReport(plan, results, tuple(context.values()))


def apply(
    rt: Runtime,
    *,
    as_of: dt.date | None = None,
    system: str | None = None,
    facts: Mapping[str, Any] | None = None,
    batch: int | None = None,
    actor: str = "system",
    confirm: Callable[[Sweep], bool] = lambda _: True,
    progress: Progress | None = None,
    notify: Callable[[str], None] = lambda _: None,
) -> dict[str, Any] | None:
    """Carry out what is due; None when `confirm` declined. An unfinished run of an earlier day is resumed first
    (same day, system and batches, so its done batches are skipped). The summary goes to the audit log."""
    check_system(rt, system)
    mapping = read_facts_file(rt.settings.root, None) if facts is None else facts
    pointer = rt.checkpoints.get(RUNS, "run", "latest")
    if as_of is None and pointer is not None and pointer.state is not StepState.DONE:
        as_of = dt.date.fromisoformat(pointer.detail["as_of"])
        system = system or pointer.detail.get("system")
        batch = batch or pointer.detail.get("batch")
        notify(f"Resuming the unfinished retention run of {as_of.isoformat()}")
    day = as_of or rt.now().date()
    run_id = f"retention-{day.isoformat()}"
    errors: dict[str, str] = {}
    with connectors(rt, errors) as conns:
        found = sweep(rt, conns, errors, day, system, mapping, pick=True)
        if not confirm(found):
            return None
        detail = {"as_of": day.isoformat(), "run": run_id, "system": system, "batch": batch}
        rt.checkpoints.put(StepRecord(RUNS, "run", "latest", StepState.FAILED, error="not finished",
                                      detail=detail), rt.now())  # fmt: skip
        summary = _carry_out(rt, found, conns, run_id, batch, progress)
    summary |= {"as_of": day.isoformat(), "run": run_id, "system": system, "totals": found.report.totals(),
                "not_swept": {r.collection: r.error for r in found.report.results if r.error},
                "context_not_evaluated": {r.collection: r.error for r in found.report.context},
                "holds": [h.hold_id for h in found.plan.holds]}  # fmt: skip
    rt.audit.record(rt.now(), actor, "retention_applied", f"retention:{run_id}", summary)
    finished = not summary["failed"]
    rt.checkpoints.put(StepRecord(RUNS, "run", "latest", StepState.DONE if finished else StepState.FAILED,
                                  sum(summary["rows_changed"].values()), None if finished else "not finished",
                                  detail=detail), rt.now())  # fmt: skip
    return summary


def apply_daily(root: Path) -> dict[str, Any] | None:
    """The daily job: apply what is due today (resuming an unfinished run first); None when switched off."""
    from privet.workspace.runtime import open_runtime

    rt = open_runtime(root)
    try:
        if not rt.settings.retention_daily:
            return None
        summary = apply(rt, actor="system:daily-retention", notify=log.info)
        if summary and summary["failed"]:
            log.warning("retention stopped: %s; the next run resumes it", summary["failed"])
        return summary
    finally:
        rt.close()


def _carry_out(rt: Runtime, found: Sweep, conns: Mapping[str, Connector], run_id: str, batch: int | None,
               progress: Progress | None) -> dict[str, Any]:  # fmt: skip
    """Each collection's due records in checkpointed batches of `batch` records, or of the size its system suits."""
    graph = build_graph(rt.manifest.datasets)
    dues = [found.dues[s.collection] for s in found.plan.scopes if s.collection in found.dues]
    total = sum(d.count for d in dues)
    actions_by_kind: dict[str, int] = {}
    rows_changed: dict[str, int] = {}
    failed: dict[str, str] = {}
    manual: list[str] = []
    journal = SqlRetentionJournal(rt.db)
    for d in dues:
        size = batch or conns[d.scope.system or ""].batch_records or max(1, d.count)
        for sets in d.batches(size):
            phase = batch_phase(sets)
            checkpoints = JournalingCheckpoints(rt.checkpoints, journal, rt.db, d.scope, sets, run_id,
                                                found.journal.get(d.scope.collection))  # fmt: skip
            outcome = apply_sets(run_id, sets, [d.scope.collection], graph, conns, checkpoints,
                                 rt.settings.secret_key, rt.now(), phase=phase)  # fmt: skip
            manual += outcome.manual
            if outcome.failed:
                failed.update(outcome.failed)
                break
            records = 0
            for kind in dict.fromkeys(one.kind for one in sets):
                count = distinct_count(joined([one.keys for one in sets if one.kind is kind]))
                actions_by_kind[kind.value] = actions_by_kind.get(kind.value, 0) + count
                records += count
            rows_changed[d.scope.collection] = rows_changed.get(d.scope.collection, 0) + sum(outcome.done.values())
            if progress is not None:
                progress(d.scope.collection, records, total)
        if failed:
            break
    return {"actions": actions_by_kind, "rows_changed": rows_changed, "failed": failed, "manual": manual[:100]}


class JournalingCheckpoints:
    """A retention batch's checkpoints: checkpointing the batch as done also journals the records it anonymised and
    lets go of the records it deleted, in one transaction of privet's database.

    The order: the executor commits the change in the company's system first, then this transaction writes the
    journal and the checkpoint together. A crash between the two leaves the batch neither journaled nor
    checkpointed, so the next run finds those records due and masks them once more (a keyed hash changes once
    more): at worst a record masked twice, never one journaled that was not masked. The reverse order could
    journal a record whose masking then failed, and it would never be anonymised.

    `journaled` is the collection's journal as the sweep read it: only deleted records it names are looked for in
    the journal, so a run that deletes millions of records the journal never held costs it nothing."""

    def __init__(self, checkpoints: Checkpoints, journal: SqlRetentionJournal, db: Database, scope: Scope,
                 sets: Sequence[ActionSet], run_id: str, journaled: pa.Array | None) -> None:  # fmt: skip
        self._checkpoints, self._journal, self._db = checkpoints, journal, db
        self._scope, self._sets, self._run = scope, sets, run_id
        self._journaled = journaled

    def get(self, request_id: str, phase: str, collection: str) -> StepRecord | None:
        return self._checkpoints.get(request_id, phase, collection)

    def all(self, request_id: str) -> list[StepRecord]:
        return self._checkpoints.all(request_id)

    def put(self, record: StepRecord, at: dt.datetime) -> None:
        if record.state not in (StepState.DONE, StepState.MANUAL) or record.collection != self._scope.collection:
            self._checkpoints.put(record, at)  # failed: nothing was changed, nothing to journal
            return
        system, collection = _place(self._scope)
        anonymised: dict[str, str] = {}  # key as text -> rule
        deleted: list[str] = []
        for one in self._sets:
            if one.kind is ActionKind.MASK:  # one set per masking strategy, each with every key: journal each once
                anonymised.update(dict.fromkeys(map(reference, plain(one.keys)), one.reason.source or ""))
            elif one.kind is ActionKind.DELETE:
                deleted += self._journaled_of(one.keys)
        entries = [Anonymised(system, collection, key, rule, self._run, at) for key, rule in anonymised.items()]
        with unit_of_work(self._db):
            self._journal.record(entries)
            self._journal.forget(system, collection, deleted)
            self._checkpoints.put(record, at)

    def _journaled_of(self, keys: Sequence[Any]) -> list[str]:
        """The keys (as text) of deleted records that the journal names: one vectorised membership test."""
        if self._journaled is None or not len(self._journaled):
            return []
        import pyarrow as pa

        from privet.engines.retention import journaled

        array = pa.array(keys if isinstance(keys, np.ndarray) else plain(keys))
        return [reference(k) for k in array.filter(pa.array(journaled(array, self._journaled))).to_pylist()]


def batch_phase(sets: Sequence[ActionSet]) -> str:
    """A batch's checkpoint name, from its content: a rerun of the same run skips the batch once it is done."""
    digest = hashlib.sha256()
    for one in sets:
        digest.update(f"{one.kind.value}:{one.fields}:{one.strategy}:{len(one.keys)}:".encode())
        digest.update(_key_bytes(one.keys))
    return f"retention:{digest.hexdigest()[:24]}"


def _key_bytes(keys: Sequence[Any]) -> bytes:
    """The keys, exactly, for a checkpoint name (an array's repr would abbreviate a long one)."""
    if isinstance(keys, np.ndarray) and keys.dtype.kind in "iu":
        return keys.astype(np.int64).tobytes()
    return repr(plain(keys)).encode()


def _distinct_count(keys: Sequence[Any]) -> int:
    if isinstance(keys, np.ndarray) and keys.dtype.kind in "iu":
        return len(np.unique(keys))
    return len(set(plain(keys)))
