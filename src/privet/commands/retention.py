"""privet retention and privet holds: what the retention rules make due, carrying it out, and legal holds.

The work is in `privet.workspace.retention` (the daily job runs the same); this module asks, prints and exits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from privet.commands.common import EXIT_FINDINGS, JsonOption, WorkspaceOption, fail, out, print_json, workspace

if TYPE_CHECKING:
    from privet.retention.report import RetentionReport

retention_app = typer.Typer(
    help="Retention sweeps: what the rules make due, and carrying them out.", no_args_is_help=True
)
holds_app = typer.Typer(help="Legal holds: data that must not be deleted while a claim or an order lasts.")

SystemOption = Annotated[str | None, typer.Option("--system", help="Only this system of the manifest.")]
AsOfOption = Annotated[str | None, typer.Option("--as-of", help="The day to judge on (YYYY-MM-DD); default today.")]
FactsOption = Annotated[
    Path | None,
    typer.Option("--facts", help="Facts to add to the datasets' own (YAML); default retention_facts.yml."),
]
Actor = Annotated[str, typer.Option(help="Who does this, for the audit log (e.g. staff:ida).")]


def _day(text: str | None, option: str = "--as-of") -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(f"{option} {text!r}: write a date like 2025-01-31")


@contextmanager
def _setup() -> Iterator[None]:
    from privet.retention.plan import FactsError
    from privet.workspace.retention import RetentionSetupError

    try:
        yield
    except RetentionSetupError as exc:
        fail(str(exc))
    except FactsError as exc:
        fail("the facts are wrong:\n  " + "\n  ".join(exc.problems))


def _print_report(report: RetentionReport, header: str) -> None:
    from privet.retention.report import report_lines

    for line in report_lines(report, header):
        out.print(line, markup=False)


Engine = Annotated[
    str, typer.Option(help="local (DuckDB/Arrow), or spark: lake collections evaluated on Apache Spark (privet[spark])")
]


@retention_app.command("plan")
def plan(system: SystemOption = None, as_of: AsOfOption = None, facts: FactsOption = None,
         engine: Engine = "local", ws: WorkspaceOption = Path(), as_json: JsonOption = False) -> None:  # fmt: skip
    """What is due per system and rule, with counts and example keys. Changes nothing."""
    from privet.workspace import retention

    if engine not in ("local", "spark"):
        fail(f"--engine {engine!r}: local or spark")

    day = _day(as_of)
    with workspace(ws) as rt, _setup():
        mapping = retention.read_facts_file(rt.settings.root, facts)
        retention.check_system(rt, system)
        errors: dict[str, str] = {}
        with retention.connectors(rt, errors) as conns:
            try:
                found = retention.sweep(rt, conns, errors, day or rt.now().date(), system, mapping, engine)
            except (ImportError, RuntimeError) as exc:  # no pyspark, no Java
                fail(f"--engine spark: {exc}")
        if as_json:
            print_json(found.report.as_json())
            return
        _print_report(found.report, f"Retention plan as of {found.plan.as_of.isoformat()} (nothing was changed)")


@retention_app.command("apply")
def apply(
    system: SystemOption = None,
    as_of: AsOfOption = None,
    facts: FactsOption = None,
    batch: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Records per checkpointed batch (default: what the system suits, 50,000 for a database and the "
            "whole run for a lake; or the resumed run's).",
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before changing data.")] = False,
    actor: Actor = "system",
    ws: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Delete, anonymise and flag what is due, through the fulfilment executor, checkpointed and resumable."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from privet.workspace import retention

    def confirm(found: retention.Sweep) -> bool:
        if not as_json:
            _print_report(found.report, f"Retention as of {found.plan.as_of.isoformat()}")
        return yes or typer.confirm("Carry out these deletions, anonymisations and restrictions?")

    day = _day(as_of)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with workspace(ws) as rt, _setup(), Progress(*columns, console=out, disable=as_json) as bar:
        task = bar.add_task("retention", total=None)

        def progress(collection: str, done: int, total: int) -> None:
            bar.update(task, description=collection, total=total, advance=done)

        summary = retention.apply(
            rt, as_of=day, system=system, facts=retention.read_facts_file(rt.settings.root, facts), batch=batch,
            actor=actor, confirm=confirm, progress=progress, notify=lambda text: out.print(text, markup=False),
        )  # fmt: skip
    if summary is None:
        fail("nothing was changed", EXIT_FINDINGS)
    if as_json:
        print_json(summary)
    else:
        rows = sum(summary["rows_changed"].values())
        kinds = ", ".join(f"{k} {v:,}" for k, v in summary["actions"].items())
        out.print(f"Changed: {rows:,} rows ({kinds})" if rows else "Changed: nothing", markup=False)
    if summary["failed"]:
        where = "; ".join(f"{c}: {e}" for c, e in summary["failed"].items())
        fail(f"retention stopped: {where}. Fix the system and run privet retention apply again: what is done "
             "stays done", EXIT_FINDINGS)  # fmt: skip


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
