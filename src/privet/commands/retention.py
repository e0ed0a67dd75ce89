"""privet retention and privet holds: what the retention rules make due, carrying it out, and legal holds.

`retention plan` reads the facts of every governed collection, evaluates them and changes nothing. `retention
apply` does the same, then hands the actions to the fulfilment executor batch by batch, each batch checkpointed
under the run of its as-of date: running it again after a crash resumes that run and skips what is done. The
facts each collection provides (which column ends the relationship, holds the last activity, the jurisdiction)
are read from retention_facts.yml in the workspace, or --facts:

    accounts_db.users: {relationship_end: closed_at, jurisdiction: country, person: user_id}
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from privet.commands.common import EXIT_FINDINGS, JsonOption, WorkspaceOption, fail, out, print_json, workspace

if TYPE_CHECKING:
    import pyarrow as pa

    from privet.fulfilment.ports import Column, Connector
    from privet.retention.plan import RetentionPlan
    from privet.retention.report import RetentionReport
    from privet.workspace.runtime import Runtime

retention_app = typer.Typer(
    help="Retention sweeps: what the rules make due, and carrying them out.", no_args_is_help=True
)
holds_app = typer.Typer(help="Legal holds: data that must not be deleted while a claim or an order lasts.")

FACTS_FILE = "retention_facts.yml"
DEFAULT_BATCH = 50_000
RUNS = "retention"  # checkpoints of the run pointer: request id "retention", phase "run", collection "latest"

SystemOption = Annotated[str | None, typer.Option("--system", help="Only this system of the manifest.")]
AsOfOption = Annotated[str | None, typer.Option("--as-of", help="The day to judge on (YYYY-MM-DD); default today.")]
FactsOption = Annotated[
    Path | None, typer.Option("--facts", help=f"The facts mapping (YAML); default {FACTS_FILE} in the workspace.")
]
Actor = Annotated[str, typer.Option(help="Who does this, for the audit log (e.g. staff:ida).")]


def _day(text: str | None, option: str = "--as-of") -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(f"{option} {text!r}: write a date like 2025-01-31")


def _facts(rt: Runtime, path: Path | None) -> Mapping[str, Any]:
    import yaml

    target = path or rt.settings.root / FACTS_FILE
    if not target.exists():
        if path is not None:
            fail(f"{path}: no such file")
        return {}
    try:
        data = yaml.safe_load(target.read_text("utf-8")) or {}
    except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
        fail(f"{target}: {exc}")
    data = data.get("facts", data) if isinstance(data, dict) else data
    if not isinstance(data, dict):
        fail(f"{target}: write one entry per collection: dataset.collection: {{fact: column, ...}}")
    return data


@contextmanager
def _connectors(rt: Runtime, errors: dict[str, str]) -> Iterator[dict[str, Connector]]:
    from privet.connectors.registry import connector_for
    from privet.fulfilment.ports import ConnectorError

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
    tables: dict[str, pa.Table] = field(default_factory=dict)


def _sweep(rt: Runtime, conns: Mapping[str, Connector], system_errors: Mapping[str, str], as_of: dt.date,
           system: str | None, facts: Mapping[str, Any]) -> Sweep:  # fmt: skip
    """Describe, plan, read and evaluate every governed collection of the connected systems."""
    from privet.engines.retention import RetentionEngineError, evaluate_table, read_facts
    from privet.fulfilment.executor import table_of
    from privet.fulfilment.graph import build_graph
    from privet.fulfilment.ports import ConnectorError
    from privet.retention.plan import FactsError, plan_retention
    from privet.retention.report import RetentionReport, ScopeResult
    from privet.store.holds import SqlHolds

    graph = build_graph(rt.manifest.datasets)
    live: dict[str, dict[str, Column]] = {}
    for key, node in graph.collections.items():
        if node.system in conns and (system is None or node.system == system):
            try:
                live[key] = conns[node.system or ""].describe(table_of(key)) or {}
            except ConnectorError:
                live[key] = {}
    holds = SqlHolds(rt.db).active(rt.now())
    try:
        plan = plan_retention(rt.manifest, facts, as_of, holds, live=live).only(system)
    except FactsError as exc:
        fail("the facts mapping is wrong:\n  " + "\n  ".join(exc.problems))
    results, tables = [], {}
    for scope in plan.scopes:
        if scope.system not in conns:
            why = system_errors.get(scope.system or "") or (
                f"no connection: configure [systems.{scope.system}] in privet.toml"
            )
            results.append(ScopeResult(scope.collection, error=why))
            continue
        try:
            table = read_facts(conns[scope.system or ""], scope.collection, scope.columns)
            results.append(evaluate_table(scope, table, as_of))
            tables[scope.collection] = table
        except (ConnectorError, RetentionEngineError) as exc:
            results.append(ScopeResult(scope.collection, error=str(exc)))
    return Sweep(plan, RetentionReport(plan, tuple(results)), tables)


def _print_report(report: RetentionReport, header: str) -> None:
    from privet.retention.rules import Fact, RetentionState

    out.print(header, markup=False)
    holds = report.plan.holds
    out.print(f"Legal holds in force: {len(holds)}" + ("" if holds else " (none)"), markup=False)
    for hold in holds:
        out.print(f"  {hold}", markup=False)
    place = None
    for row in report.rows():  # grouped by system and collection, one line per rule and state
        if (row["system"], row["collection"]) != place:
            place = (row["system"], row["collection"])
            out.print(f"{row['system'] or '(no system)'}: {row['collection']}", markup=False)
        examples = ", ".join(str(e) for e in row["examples"])
        why = row.get("why") or (f"limitation period {row['limitation']}" if row.get("limitation") else "")
        line = f"  {row['rule']:<20} {row['state']:<13} {row['count']:>12,}  e.g. {examples}"
        out.print(line + (f"  ({why})" if why else ""), markup=False)
    totals = {k: v for k, v in report.totals().items() if v}
    out.print("Totals: " + (", ".join(f"{k} {v:,}" for k, v in totals.items()) or "no records read"), markup=False)
    for r in report.results:
        if r.error:
            out.print(f"  not swept: {r.collection}: {r.error}", markup=False)
        restricted = r.count(RetentionState.RESTRICTED)
        scope = report.plan.scope(r.collection)
        if restricted and not r.to_restrict and Fact.RESTRICTED not in scope.facts:
            text = (f"  {r.collection}: {restricted:,} records are restricted to storage, and the table has no "
                    "restriction flag column; the system must enforce it (or add privet_restricted)")  # fmt: skip
            out.print(text, markup=False)
        elif r.to_restrict:
            out.print(f"  {r.collection}: {r.to_restrict:,} restricted records are not flagged yet", markup=False)
    for key, why in report.plan.skipped.items():
        out.print(f"  not swept: {key}: {why}", markup=False)
    if report.plan.ungoverned:
        out.print(f"  no retention rule governs: {', '.join(report.plan.ungoverned)}", markup=False)
    for note in [*report.plan.notes, *(n for s in report.plan.scopes for n in s.notes)]:
        out.print(f"  note: {note}", markup=False)


@retention_app.command("plan")
def plan(system: SystemOption = None, as_of: AsOfOption = None, facts: FactsOption = None,
         ws: WorkspaceOption = Path(), as_json: JsonOption = False) -> None:  # fmt: skip
    """What is due per system and rule, with counts and example keys. Changes nothing."""
    day = _day(as_of)
    with workspace(ws) as rt:
        mapping = _facts(rt, facts)
        _check_system(rt, system)
        errors: dict[str, str] = {}
        with _connectors(rt, errors) as conns:
            sweep = _sweep(rt, conns, errors, day or rt.now().date(), system, mapping)
        if as_json:
            print_json(sweep.report.as_json())
            return
        _print_report(sweep.report, f"Retention plan as of {sweep.plan.as_of.isoformat()} (nothing was changed)")


def _check_system(rt: Runtime, system: str | None) -> None:
    if system is not None and system not in rt.manifest.systems:
        fail(f"--system {system!r}: no such system in the manifest; one of {', '.join(sorted(rt.manifest.systems))}")


@retention_app.command("apply")
def apply(
    system: SystemOption = None,
    as_of: AsOfOption = None,
    facts: FactsOption = None,
    batch: Annotated[
        int | None, typer.Option(min=1, help="Records per checkpointed batch (default 50,000, or the resumed run's).")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before changing data.")] = False,
    actor: Actor = "system",
    ws: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Delete, anonymise and flag what is due, through the fulfilment executor, checkpointed and resumable."""
    from privet.fulfilment.executor import StepRecord, StepState

    day = _day(as_of)
    with workspace(ws) as rt:
        mapping = _facts(rt, facts)
        _check_system(rt, system)
        pointer = rt.checkpoints.get(RUNS, "run", "latest")
        resuming = day is None and pointer is not None and pointer.state is not StepState.DONE
        if resuming and pointer is not None:  # the same day, system and batches, so that done batches are skipped
            day = dt.date.fromisoformat(pointer.detail["as_of"])
            system = system or pointer.detail.get("system")
            batch = batch or pointer.detail.get("batch")
            out.print(f"Resuming the unfinished retention run of {day.isoformat()}", markup=False)
        day = day or rt.now().date()
        batch = batch or DEFAULT_BATCH
        run_id = f"retention-{day.isoformat()}"
        errors: dict[str, str] = {}
        with _connectors(rt, errors) as conns:
            sweep = _sweep(rt, conns, errors, day, system, mapping)
            if not as_json:
                _print_report(sweep.report, f"Retention as of {day.isoformat()}")
            if not yes and not typer.confirm("Carry out these deletions, anonymisations and restrictions?"):
                fail("nothing was changed", EXIT_FINDINGS)
            detail = {"as_of": day.isoformat(), "run": run_id, "system": system, "batch": batch}
            rt.checkpoints.put(StepRecord(RUNS, "run", "latest", StepState.FAILED, error="not finished",
                                          detail=detail), rt.now())  # fmt: skip
            summary = _carry_out(rt, sweep, conns, run_id, batch, quiet=as_json)
        summary |= {"as_of": day.isoformat(), "run": run_id, "system": system, "totals": sweep.report.totals(),
                    "not_swept": {r.collection: r.error for r in sweep.report.results if r.error},
                    "holds": [h.hold_id for h in sweep.plan.holds]}  # fmt: skip
        rt.audit.record(rt.now(), actor, "retention_applied", f"retention:{run_id}", summary)
        finished = not summary["failed"]
        rt.checkpoints.put(StepRecord(RUNS, "run", "latest", StepState.DONE if finished else StepState.FAILED,
                                      sum(summary["rows_changed"].values()), None if finished else "not finished",
                                      detail=detail), rt.now())  # fmt: skip
        if as_json:
            print_json(summary)
        else:
            rows = sum(summary["rows_changed"].values())
            kinds = ", ".join(f"{k} {v:,}" for k, v in summary["actions"].items())
            out.print(f"Changed: {rows:,} rows ({kinds})" if rows else "Changed: nothing", markup=False)
        if not finished:
            where = "; ".join(f"{c}: {e}" for c, e in summary["failed"].items())
            fail(f"retention stopped: {where}. Fix the system and run privet retention apply again: what is done "
                 "stays done", EXIT_FINDINGS)  # fmt: skip


def _carry_out(rt: Runtime, sweep: Sweep, conns: Mapping[str, Connector], run_id: str, size: int,
               quiet: bool) -> dict[str, Any]:  # fmt: skip
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from privet.engines.retention import due
    from privet.fulfilment.executor import apply_actions
    from privet.fulfilment.graph import build_graph

    graph = build_graph(rt.manifest.datasets)
    dues = [due(s, sweep.tables[s.collection], sweep.plan.as_of) for s in sweep.plan.scopes
            if s.collection in sweep.tables]  # fmt: skip
    actions_by_kind: dict[str, int] = {}
    rows_changed: dict[str, int] = {}
    failed: dict[str, str] = {}
    manual: list[str] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=out, disable=quiet) as progress:
        task = progress.add_task("retention", total=sum(d.count for d in dues))
        for d in dues:
            progress.update(task, description=d.scope.collection)
            for actions in d.batches(size):
                # The batch's content names its checkpoint: a rerun of the same run skips it once it is done.
                content = "\x1f".join(f"{a.kind.value}:{a.key!r}" for a in actions)
                phase = f"retention:{hashlib.sha256(content.encode()).hexdigest()[:24]}"
                outcome = apply_actions(run_id, actions, [d.scope.collection], graph, conns, rt.checkpoints,
                                        rt.settings.secret_key, rt.now(), phase=phase)  # fmt: skip
                manual += outcome.manual
                if outcome.failed:
                    failed.update(outcome.failed)
                    break
                for kind in {a.kind.value: None for a in actions}:
                    count = len({a.key for a in actions if a.kind.value == kind})
                    actions_by_kind[kind] = actions_by_kind.get(kind, 0) + count
                rows = sum(outcome.done.values())
                rows_changed[d.scope.collection] = rows_changed.get(d.scope.collection, 0) + rows
                progress.advance(task, len({a.key for a in actions}))
            if failed:
                break
    return {"actions": actions_by_kind, "rows_changed": rows_changed, "failed": failed, "manual": manual[:100]}


# -- holds ------------------------------------------------------------------------------------------------------


@holds_app.command("add")
def add_hold(
    reason: Annotated[str, typer.Option(help="Why: the claim, order or dispute (told to the person if asked).")],
    owner: Annotated[str, typer.Option(help="Who answers for the hold (a lawyer, a team).")],
    person: Annotated[str | None, typer.Option(help="A person's id as the data hold it (user id, email).")] = None,
    system: Annotated[str | None, typer.Option(help="Every record of a system.")] = None,
    category: Annotated[str | None, typer.Option(help="Every collection with a field of a data category.")] = None,
    collection: Annotated[str | None, typer.Option(help="Every record of dataset.collection.")] = None,
    actor: Actor = "system",
    ws: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Stop retention sweeps and erasure from deleting what the hold covers, until it is released."""
    from privet.fulfilment.graph import build_graph
    from privet.retention.rules import HoldScope
    from privet.store.holds import HoldError, SqlHolds

    given = {HoldScope.PERSON: person, HoldScope.SYSTEM: system, HoldScope.CATEGORY: category,
             HoldScope.COLLECTION: collection}  # fmt: skip
    chosen = [(scope, target) for scope, target in given.items() if target is not None]
    if len(chosen) != 1:
        fail("name exactly one of --person, --system, --category or --collection")
    scope, target = chosen[0]
    with workspace(ws) as rt:
        if scope is HoldScope.SYSTEM and target not in rt.manifest.systems:
            fail(f"--system {target!r}: no such system in the manifest")
        if scope is HoldScope.COLLECTION and target not in build_graph(rt.manifest.datasets).collections:
            fail(f"--collection {target!r}: no such collection in the datasets; write dataset.collection")
        if scope is HoldScope.CATEGORY and not any(
            c == target or c.startswith(target + ".") for c in rt.manifest.taxonomy.categories
        ):
            fail(f"--category {target!r}: no such data category in the taxonomy")
        try:
            hold = SqlHolds(rt.db).add(scope, target, reason, owner, rt.now())
        except HoldError as exc:
            fail(str(exc))
        payload = {"scope": scope.value, "target": target, "reason": hold.reason, "owner": hold.owner}
        rt.audit.record(rt.now(), actor, "hold_added", f"hold:{hold.hold_id}", payload)
        if as_json:
            print_json(_hold_json(hold))
        else:
            out.print(f"added {hold}", markup=False)


def _hold_json(hold: Any) -> dict[str, Any]:
    return {"hold_id": hold.hold_id, "scope": hold.scope.value, "target": hold.target, "reason": hold.reason,
            "owner": hold.owner, "created_at": hold.created_at.isoformat(),
            "released_at": hold.released_at.isoformat() if hold.released_at else None}  # fmt: skip


@holds_app.command("list")
def list_holds(
    active_only: Annotated[bool, typer.Option("--active/--all", help="Only holds in force.")] = True,
    ws: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Legal holds, oldest first."""
    from privet.store.holds import SqlHolds

    with workspace(ws) as rt:
        repo = SqlHolds(rt.db)
        holds = repo.active(rt.now()) if active_only else repo.all()
        if as_json:
            print_json([_hold_json(h) for h in holds])
            return
        for h in holds:
            released = f"  released {h.released_at:%Y-%m-%d}" if h.released_at else ""
            out.print(f"{h.hold_id}  {h.scope.value:<10} {h.target:<30} {h.owner:<16} since {h.created_at:%Y-%m-%d}"
                      f"{released}  {h.reason}", markup=False)  # fmt: skip
        if not holds:
            out.print("no legal holds in force" if active_only else "no legal holds")


@holds_app.command("release")
def release_hold(
    hold_id: Annotated[str, typer.Argument(help="The hold id (privet holds list).")],
    actor: Actor = "system",
    ws: WorkspaceOption = Path(),
) -> None:
    """End a hold: what it covered becomes subject to retention and erasure again."""
    from privet.store.holds import HoldError, SqlHolds

    with workspace(ws) as rt:
        try:
            hold = SqlHolds(rt.db).release(hold_id, rt.now())
        except HoldError as exc:
            fail(str(exc))
        rt.audit.record(rt.now(), actor, "hold_released", f"hold:{hold.hold_id}",
                        {"scope": hold.scope.value, "target": hold.target})  # fmt: skip
        out.print(f"released {hold.hold_id}", markup=False)
