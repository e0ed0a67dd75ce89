"""What a sweep found: tallies per collection, rule and state, with example keys, and the report of a plan.

`evaluate_rows` is the reference path, one record at a time; the bulk engine produces the same tallies.
`report_lines` is the report as people read it (the command line and the demo print it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from privet.retention.evaluate import Evaluation, describe_missing, evaluate, truthy
from privet.retention.plan import RetentionPlan, Scope
from privet.retention.rules import Fact, Missing, RetentionState

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Tally:
    state: RetentionState
    rule: str  # the rule that decided
    count: int
    examples: tuple[Any, ...] = ()  # the smallest keys
    missing: Missing | None = None
    limitation: int | None = None  # the deciding rule's limitation entry (index), for dated states


def sorted_tallies(tallies: Iterable[Tally]) -> tuple[Tally, ...]:
    states = list(RetentionState)
    return tuple(sorted(tallies, key=lambda t: (t.rule, states.index(t.state), t.missing or "", t.limitation or 0)))


@dataclass(frozen=True)
class ScopeResult:
    collection: str
    tallies: tuple[Tally, ...] = ()
    to_restrict: int = 0  # restricted records the system has not flagged yet
    error: str | None = None  # the collection could not be read

    def count(self, state: RetentionState) -> int:
        return sum(t.count for t in self.tallies if t.state is state)

    @property
    def total(self) -> int:
        return sum(t.count for t in self.tallies)


@dataclass(frozen=True)
class RetentionReport:
    plan: RetentionPlan
    results: tuple[ScopeResult, ...]

    def result(self, collection: str) -> ScopeResult | None:
        return next((r for r in self.results if r.collection == collection), None)

    def totals(self) -> dict[str, int]:
        out = {s.value: 0 for s in RetentionState}
        for r in self.results:
            for t in r.tallies:
                out[t.state.value] += t.count
        return out

    def rows(self) -> list[dict[str, Any]]:
        """One row per system, collection, rule and state, with the reason for undecidable ones."""
        out = []
        for r in self.results:
            scope = self.plan.scope(r.collection)
            for t in sorted_tallies(r.tallies):
                row: dict[str, Any] = {"system": scope.system, "collection": r.collection, "rule": t.rule,
                                       "state": t.state.value, "count": t.count,
                                       "examples": list(t.examples)}  # fmt: skip
                if t.missing is not None:
                    row["missing"] = t.missing.value
                    row["why"] = describe_missing(t.missing, scope.rule(t.rule))
                if t.limitation is not None and t.limitation >= 0:
                    lim = scope.rule(t.rule).limitations[t.limitation]
                    row["limitation"] = f"{lim.period}" + (f" ({lim.cite})" if lim.cite else "")
                out.append(row)
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "as_of": self.plan.as_of.isoformat(),
            "totals": self.totals(),
            "rows": self.rows(),
            "errors": {r.collection: r.error for r in self.results if r.error},
            "to_restrict": {r.collection: r.to_restrict for r in self.results if r.to_restrict},
            "holds": [str(h) for h in self.plan.holds],
            "ungoverned": list(self.plan.ungoverned),
            "skipped": dict(self.plan.skipped),
            "notes": list(self.plan.notes) + [n for s in self.plan.scopes for n in s.notes],
        }


Judge = Callable[[Scope, T, dt.date, int], ScopeResult]  # an engine's evaluation of one collection


def report_over(plan: RetentionPlan, tables: Mapping[str, T], judge: Judge[T], examples: int = 3) -> RetentionReport:
    """The report of a plan over collections already read (collection -> table or frame), each judged by an
    engine; a collection that was not read is reported so."""
    results = []
    for scope in plan.scopes:
        table = tables.get(scope.collection)
        if table is None:
            results.append(ScopeResult(scope.collection, error="not read"))
            continue
        results.append(judge(scope, table, plan.as_of, examples))
    return RetentionReport(plan, tuple(results))


def evaluate_rows(
    scope: Scope, as_of: dt.date, rows: Iterable[Mapping[str, Any]], examples: int = 3
) -> tuple[ScopeResult, list[tuple[Any, Evaluation]]]:
    """The reference path, one row at a time: the tallies and every row's evaluation (for tests and small data)."""
    evaluated = []
    to_restrict = 0
    groups: dict[tuple[RetentionState, str, Missing | None, int | None], list[Any]] = {}
    for row in rows:
        ev = evaluate(scope.rules, scope.record(row), as_of, due=scope.due, holds=scope.holds_of(row),
                      person_unknown=scope.person_unknown)  # fmt: skip
        key = row[scope.key_field]
        evaluated.append((key, ev))
        dated = ev.delete_on is not None and ev.missing is None
        lim = ev.limitation.index if dated and ev.limitation is not None else None
        groups.setdefault((ev.state, ev.rule.key, ev.missing, lim), []).append(key)
        if ev.state is RetentionState.RESTRICTED and Fact.RESTRICTED in scope.facts:
            to_restrict += not truthy(row.get(scope.facts[Fact.RESTRICTED]))
    tallies = sorted_tallies(
        Tally(state, rule, len(keys), tuple(sorted(keys)[:examples]), missing, lim)
        for (state, rule, missing, lim), keys in groups.items()
    )
    return ScopeResult(scope.collection, tallies, to_restrict), evaluated


def report_lines(report: RetentionReport, header: str) -> list[str]:
    """The report as text: holds in force, one line per system, collection, rule and state, then what was not swept."""
    lines = [header]
    holds = report.plan.holds
    lines.append(f"Legal holds in force: {len(holds)}" + ("" if holds else " (none)"))
    lines += [f"  {hold}" for hold in holds]
    place = None
    for row in report.rows():  # grouped by system and collection, one line per rule and state
        if (row["system"], row["collection"]) != place:
            place = (row["system"], row["collection"])
            lines.append(f"{row['system'] or '(no system)'}: {row['collection']}")
        examples = ", ".join(str(e) for e in row["examples"])
        why = row.get("why") or (f"limitation period {row['limitation']}" if row.get("limitation") else "")
        line = f"  {row['rule']:<20} {row['state']:<13} {row['count']:>12,}  e.g. {examples}"
        lines.append(line + (f"  ({why})" if why else ""))
    totals = {k: v for k, v in report.totals().items() if v}
    lines.append("Totals: " + (", ".join(f"{k} {v:,}" for k, v in totals.items()) or "no records read"))
    for r in report.results:
        if r.error:
            lines.append(f"  not swept: {r.collection}: {r.error}")
        restricted = r.count(RetentionState.RESTRICTED)
        scope = report.plan.scope(r.collection)
        if restricted and not r.to_restrict and Fact.RESTRICTED not in scope.facts:
            lines.append(f"  {r.collection}: {restricted:,} records are restricted to storage, and the table has no "
                         "restriction flag column; the system must enforce it (or add privet_restricted)")  # fmt: skip
        elif r.to_restrict:
            lines.append(f"  {r.collection}: {r.to_restrict:,} restricted records are not flagged yet")
    lines += [f"  not swept: {key}: {why}" for key, why in report.plan.skipped.items()]
    if report.plan.ungoverned:
        lines.append(f"  no retention rule governs: {', '.join(report.plan.ungoverned)}")
    lines += [f"  note: {note}" for note in [*report.plan.notes, *(n for s in report.plan.scopes for n in s.notes)]]
    return lines
