"""What a sweep found: tallies per collection, rule and state, with example keys, and the report of a plan.

`evaluate_rows` is the reference path, one record at a time, and `evaluate_plan` runs it over a whole plan (parents
before the collections following them); the bulk engines produce the same tallies.
`report_lines` is the report as people read it (the command line and the demo print it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from privet.retention.evaluate import Evaluation, describe_missing, evaluate, truthy
from privet.retention.follow import Followers, inherit, keep
from privet.retention.journal import Journaled, JournalKeys, settled
from privet.retention.plan import RetentionPlan, Scope
from privet.retention.rules import Fact, Missing, RetentionState


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
    # No entry (None) before every entry, -1 ("no limitation period") included: equal keys would keep the order
    # each engine happened to count in.
    return tuple(sorted(tallies, key=lambda t: (t.rule, states.index(t.state), t.missing or "",
                                                t.limitation is not None, t.limitation or 0)))  # fmt: skip


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
    # Collections of the plan's context (other systems) that could not be evaluated: a held record of theirs could
    # not hold the parent record it names.
    context: tuple[ScopeResult, ...] = ()
    # What the journal of anonymised records holds for the plan's collections, per collection and rule.
    anonymised: tuple[Journaled, ...] = ()

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
                    if t.missing is Missing.PARENT and scope.follows is not None:
                        row["why"] = (f"the record it belongs to is not there: its {scope.follows.field} is empty or "
                                      f"names no record of {scope.follows.parent}")  # fmt: skip
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
            "context_errors": {r.collection: r.error for r in self.context},
            "to_restrict": {r.collection: r.to_restrict for r in self.results if r.to_restrict},
            "anonymised": [j.as_json() for j in self.anonymised],
            "holds": [str(h) for h in self.plan.holds],
            "ungoverned": list(self.plan.ungoverned),
            "skipped": dict(self.plan.skipped),
            "notes": list(self.plan.notes) + [n for s in self.plan.scopes for n in s.notes],
        }


def assembled(plan: RetentionPlan, results: Mapping[str, ScopeResult]) -> RetentionReport:
    """The report of the plan's collections, with those of its context that could not be evaluated."""
    failed = [results[s.collection] for s in plan.context if s.collection in results]
    context = tuple(r for r in failed if r.error)
    return RetentionReport(plan, tuple(results[s.collection] for s in plan.scopes), context)


def unevaluated(parent: str, error: str | None) -> str:
    """Why a collection that follows `parent` was not evaluated."""
    return f"it follows {parent}, which could not be evaluated ({error or 'not in this sweep'})"


def reference(key: Any) -> str:
    """A key as a reference names it: as text, so that a reference column of another type than the parent's key
    (text naming integers, as lakes written by different jobs have) still finds its record, as the engines do."""
    return str(key)


def evaluate_rows(
    scope: Scope,
    as_of: dt.date,
    rows: Iterable[Mapping[str, Any]],
    examples: int = 3,
    parents: Mapping[Any, Evaluation] | None = None,
    journaled: Collection[str] = (),
) -> tuple[ScopeResult, list[tuple[Any, Evaluation]]]:
    """The reference path, one row at a time: the tallies and every row's evaluation (for tests and small data).

    A scope that follows a parent needs `parents`: the parent's evaluations by its key (`evaluate_plan` passes them).
    `journaled` are the keys (as text) of the records privet has anonymised (`retention.journal`).
    """
    evaluated = _evaluated(scope, as_of, rows, parents, journaled)
    return _tallied(scope, evaluated, examples), [(k, ev) for k, ev, _ in evaluated]


Evaluated = list[tuple[Any, Evaluation, Mapping[str, Any]]]  # key, evaluation, row


def _evaluated(scope: Scope, as_of: dt.date, rows: Iterable[Mapping[str, Any]],
               parents: Mapping[Any, Evaluation] | None, journaled: Collection[str] = ()) -> Evaluated:  # fmt: skip
    follows = scope.follows
    if follows is not None and parents is None:
        raise ValueError(f"{scope.collection} follows {follows.parent}: pass the parent's evaluations by key")
    claims = Fact.LEGAL_CLAIM in scope.facts and any(r.claims_extend for r in scope.rules)
    by_ref = {reference(k): ev for k, ev in parents.items()} if parents is not None else {}
    anonymised = journaled if isinstance(journaled, set | frozenset) else frozenset(journaled)
    out = []
    for row in rows:
        if follows is not None and parents is not None:
            ref = row.get(follows.field)
            claim = claims and truthy(row.get(scope.facts[Fact.LEGAL_CLAIM]))
            ev = inherit(by_ref.get(reference(ref)) if ref is not None else None, scope.rules[0], due=scope.due,
                         holds=scope.holds_of(row), claim=claim)  # fmt: skip
        else:
            ev = evaluate(scope.rules, scope.record(row), as_of, due=scope.due, holds=scope.holds_of(row),
                          person_unknown=scope.person_unknown)  # fmt: skip
        key = row[scope.key_field]
        if anonymised and key is not None and reference(key) in anonymised:
            ev = settled(ev)
        out.append((key, ev, row))
    return out


def _tallied(scope: Scope, evaluated: Evaluated, examples: int) -> ScopeResult:
    to_restrict = 0
    groups: dict[tuple[RetentionState, str, Missing | None, int | None], list[Any]] = {}
    for key, ev, row in evaluated:
        dated = ev.delete_on is not None and ev.missing is None
        lim = ev.limitation.index if dated and ev.limitation is not None else None
        groups.setdefault((ev.state, ev.rule.key, ev.missing, lim), []).append(key)
        if ev.state is RetentionState.RESTRICTED and Fact.RESTRICTED in scope.facts:
            to_restrict += not truthy(row.get(scope.facts[Fact.RESTRICTED]))
    tallies = sorted_tallies(
        Tally(state, rule, len(keys), tuple(sorted(keys)[:examples]), missing, lim)
        for (state, rule, missing, lim), keys in groups.items()
    )
    return ScopeResult(scope.collection, tallies, to_restrict)


_Held = list[tuple[int, tuple[str, ...]]]  # what a follower holds: parent record -> the holds of a held record


@dataclass(frozen=True)
class _Judged:
    evaluated: Evaluated
    first: dict[Any, int]  # key -> its first record, for a collection that others follow (a key given twice: as
    # the engine)


def evaluate_plan(
    plan: RetentionPlan,
    rows: Mapping[str, Iterable[Mapping[str, Any]]],
    examples: int = 3,
    journal: JournalKeys | None = None,
) -> tuple[RetentionReport, dict[str, list[tuple[Any, Evaluation]]]]:
    """The reference path over a whole plan: each collection's rows (collection -> rows) and every record's final
    evaluation. A collection without rows is reported "not read", and so are the collections following it.
    `journal` holds the keys of the records privet has anonymised, per collection (`retention.journal`).

    Parents are evaluated before the collections following them, which inherit those evaluations; a parent's
    records are final once every follower is: a due record that a held follower record belongs to is held too."""
    order = plan.evaluation_order
    results: dict[str, ScopeResult] = {}
    finals: dict[str, list[tuple[Any, Evaluation]]] = {}

    def finish(scope: Scope, judged: _Judged, held: list[_Held]) -> None:
        kept: dict[int, tuple[str, ...]] = {}
        for i, holds in (pair for follower in held for pair in follower):
            kept[i] = tuple(dict.fromkeys((*kept.get(i, ()), *holds)))
        done = [(k, keep(ev, kept[i]) if i in kept else ev, row) for i, (k, ev, row) in enumerate(judged.evaluated)]
        results[scope.collection] = _tallied(scope, done, examples)
        finals[scope.collection] = [(k, ev) for k, ev, _ in done]
        if scope.follows is not None:
            up = followers.waiting(scope.follows.parent)
            index = up.first if up is not None else {}
            refs = [(row.get(scope.follows.field), ev) for _, ev, row in done if ev.state is RetentionState.HELD]
            refs = [(reference(r), ev) for r, ev in refs if r is not None]
            followers.release(scope.follows.parent, [(index[r], ev.holds) for r, ev in refs if r in index])

    followers: Followers[_Judged, _Held] = Followers(order, finish)
    for scope in order:
        key = scope.collection
        parent = scope.follows.parent if scope.follows is not None else None
        up = followers.waiting(parent) if parent is not None else None
        if parent is not None and up is None:
            results[key] = ScopeResult(key, error=unevaluated(parent, results.get(parent, ScopeResult(key)).error))
            followers.release(parent, None)
            continue
        if key not in rows:
            results[key] = ScopeResult(key, error="not read")
            if parent is not None:
                followers.release(parent, None)
            continue
        parents = {k: up.evaluated[i][1] for k, i in up.first.items()} if up is not None else None
        evaluated = _evaluated(scope, plan.as_of, rows[key], parents, (journal or {}).get(key, ()))
        first: dict[Any, int] = {}
        if followers.followed(key):
            for i, (k, _, _) in enumerate(evaluated):
                first.setdefault(reference(k), i)
        followers.judged(scope, _Judged(evaluated, first))
    return assembled(plan, results), finals


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
    lines += [f"  {j.text()}" for j in report.anonymised]
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
    lines += [f"  not evaluated, so its held records hold nothing here: {r.collection} (another system): {r.error}"
              for r in report.context]  # fmt: skip
    if report.plan.ungoverned:
        lines.append(f"  no retention rule governs: {', '.join(report.plan.ungoverned)}")
    lines += [f"  note: {note}" for note in [*report.plan.notes, *(n for s in report.plan.scopes for n in s.notes)]]
    return lines
