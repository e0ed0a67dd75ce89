"""The retention state of one record: the reference semantics that the bulk engine reproduces column by column.

A record is a mapping of facts to values. A fact left out is one the collection does not provide; a fact given
as None is empty for this record. One rule:

1. None of its triggers is provided: undecidable (trigger).
2. An event trigger is empty (the account is still open): the rule keeps the record in use.
3. A date trigger is empty (no last activity known): undecidable (that fact).
4. The clock starts at the latest of the triggers the collection provides (those it does not provide are not
   waited for): the record stays in use while any reason to keep it lasts.
5. Restricted from the start plus `after_trigger`; due from then plus the limitation period of the person's
   jurisdiction plus grace. An empty jurisdiction, where the periods depend on it, is undecidable; a jurisdiction
   no entry names takes the default entry, and without one is undecidable (limitation_period).

Several rules may govern one collection (the same table serves several activities). The record stays as long as
the most demanding of them: in use if any rule keeps it in use; else undecidable if any rule cannot tell; else
restricted until the latest restriction ends, and due when the latest period ends (the rule that keeps it longest
is the one reported). Due records are held while a legal hold covers them or a claim is open (where a governing
rule lets claims extend), and undecidable when a hold names a person but the collection cannot say whose record
it is. Nothing undecidable, active, restricted or held is ever deleted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from privet.manifest.processing import FinalAction
from privet.retention.rules import (
    EVENT_FACTS,
    NO_LIMITATION,
    CompiledRule,
    Fact,
    Limitation,
    Missing,
    RetentionState,
    add_period,
)

Record = Mapping[Fact, Any]


def as_date(value: Any) -> dt.date | None:
    """A fact's date: dates as they are, instants on their UTC day, ISO text parsed; anything else is empty."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return (value.astimezone(dt.UTC) if value.tzinfo else value).date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.strip()).date()
        except ValueError:
            return None
    return None


def truthy(value: Any) -> bool:
    """A flag fact: true, a non-zero number, or any other non-empty value."""
    if value is None or value is False:
        return False
    if isinstance(value, int | float):
        return value != 0
    return True


def jurisdiction_of(value: Any) -> str | None:
    text = str(value).strip().lower() if value is not None else ""
    return text or None


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    rule: CompiledRule
    in_use: bool = False  # an event trigger has not happened
    missing: Missing | None = None
    started: dt.date | None = None
    restrict_from: dt.date | None = None  # equal to delete_on where the rule does not restrict
    delete_on: dt.date | None = None
    limitation: Limitation | None = None


def evaluate_rule(rule: CompiledRule, record: Record) -> RuleOutcome:
    given = [t for t in rule.triggers if t in record]
    if not given:
        return RuleOutcome(rule, missing=Missing.TRIGGER)
    dates = {t: as_date(record[t]) for t in given}
    if any(dates[t] is None for t in given if t in EVENT_FACTS):
        return RuleOutcome(rule, in_use=True)
    for t in given:
        if dates[t] is None:
            return RuleOutcome(rule, missing=Missing(t.value))
    started = max(d for d in dates.values() if d is not None)
    limitation: Limitation | None = rule.default if not rule.needs_jurisdiction else None
    if rule.needs_jurisdiction:
        jurisdiction = jurisdiction_of(record.get(Fact.JURISDICTION))
        if jurisdiction is None:
            return RuleOutcome(rule, missing=Missing.JURISDICTION, started=started)
        limitation = rule.limitation_for(jurisdiction)
    if limitation is None:
        return RuleOutcome(rule, missing=Missing.LIMITATION_PERIOD, started=started)
    restrict_from = add_period(started, rule.after)
    delete_on = add_period(add_period(restrict_from, limitation.period), rule.grace)
    return RuleOutcome(rule, False, None, started, restrict_from if rule.restrict else delete_on, delete_on,
                       limitation)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Evaluation:
    state: RetentionState
    rule: CompiledRule  # the rule that decided
    restrict_from: dt.date | None = None  # None where the record is never restricted
    delete_on: dt.date | None = None
    limitation: Limitation | None = None
    missing: Missing | None = None
    holds: tuple[str, ...] = ()
    claim: bool = False

    def explain(self) -> str:
        rule = f"{self.rule.title} ({self.rule.key}{', ' + self.rule.cite if self.rule.cite else ''})"
        if self.missing is not None:
            return f"undecidable under {rule}: {describe_missing(self.missing, self.rule)}; nothing is deleted"
        if self.state is RetentionState.ANONYMISED:
            return f"anonymised by privet under {rule} (its journal says when); it is not anonymised again"
        if self.state is RetentionState.ACTIVE and self.delete_on is None:
            return f"in use under {rule}: {self.rule.trigger_text()} has not happened"
        dates = f"restricted from {self.restrict_from}, " if self.restrict_from else ""
        text = f"{self.state.value} under {rule}: {dates}due on {self.delete_on}"
        if self.limitation is not None and self.limitation is not NO_LIMITATION:
            text += f" (limitation period {self.limitation.period}"
            text += f": {self.limitation.cite})" if self.limitation.cite else ")"
        if self.holds:
            text += f"; held by {', '.join(self.holds)}"
        if self.claim:
            text += "; a legal claim is open"
        return text


def describe_missing(missing: Missing, rule: CompiledRule) -> str:
    if missing is Missing.TRIGGER:
        return f"the collection maps no column to {rule.trigger_text()}, which starts the clock"
    if missing is Missing.LIMITATION_PERIOD:
        return "no limitation period for the person's jurisdiction, and the rule has no default entry"
    if missing is Missing.PARENT:
        return "the record it belongs to is not there (its reference is empty or names no record)"
    if missing is Missing.PERSON:
        return "a legal hold names a person, and the collection maps no column saying whose record it is"
    return f"the record's {missing.value.replace('_', ' ')} is empty or not mapped"


def final_state(rules: Sequence[CompiledRule], prefer: FinalAction = FinalAction.DELETE) -> RetentionState:
    """Anonymise where any governing rule says so (or allows either, and anonymising is preferred)."""
    anonymise = any(
        r.final_action is FinalAction.ANONYMISE
        or (r.final_action is FinalAction.DELETE_OR_ANONYMISE and prefer is FinalAction.ANONYMISE)
        for r in rules
    )
    return RetentionState.DUE_ANONYMISE if anonymise else RetentionState.DUE_DELETE


def evaluate(
    rules: Sequence[CompiledRule],
    record: Record,
    as_of: dt.date,
    *,
    due: RetentionState = RetentionState.DUE_DELETE,
    holds: tuple[str, ...] = (),
    person_unknown: bool = False,
) -> Evaluation:
    """The record's state on `as_of` under every rule governing its collection (see the module's text).

    `due` is the state of a record past every period (final_state of the rules); `holds` are the legal holds
    covering the record; `person_unknown` says a hold names a person and the collection cannot tell whose the
    record is.
    """
    if not rules:
        raise ValueError("a record is evaluated under at least one retention rule")
    outcomes = [evaluate_rule(r, record) for r in rules]
    in_use = next((o for o in outcomes if o.in_use), None)
    if in_use is not None:
        return Evaluation(RetentionState.ACTIVE, in_use.rule, holds=holds)
    missing = next((o for o in outcomes if o.missing is not None), None)
    if missing is not None:
        return Evaluation(RetentionState.UNDECIDABLE, missing.rule, missing=missing.missing, holds=holds)
    restrict_from = max(o.restrict_from for o in outcomes if o.restrict_from is not None)
    delete_on = max(o.delete_on for o in outcomes if o.delete_on is not None)
    shown_restrict = restrict_from if restrict_from < delete_on else None
    claim = truthy(record.get(Fact.LEGAL_CLAIM)) and any(r.claims_extend for r in rules)
    decider = next(o for o in outcomes if o.delete_on == delete_on)  # the rule that keeps the record longest
    if as_of < restrict_from:
        state = RetentionState.ACTIVE
    elif as_of < delete_on:
        state = RetentionState.RESTRICTED
    elif holds or claim:
        state = RetentionState.HELD
    elif person_unknown:
        return Evaluation(RetentionState.UNDECIDABLE, decider.rule, shown_restrict, delete_on, decider.limitation,
                          Missing.PERSON)  # fmt: skip
    else:
        state = due
    return Evaluation(state, decider.rule, shown_restrict, delete_on, decider.limitation, None, holds, claim)
