"""One record's retention state, table by table: every state, calendar months, grace, claims, holds, missing facts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

import privet.retention
from privet.manifest.period import Period
from privet.retention import Fact, Missing, RetentionState, add_period, evaluate, evaluate_rule
from privet.retention.rules import CompiledRule
from tests.retention.rules import rule

D = dt.date
A, R, DD, DA, H, U = (RetentionState.ACTIVE, RetentionState.RESTRICTED, RetentionState.DUE_DELETE,
                      RetentionState.DUE_ANONYMISE, RetentionState.HELD, RetentionState.UNDECIDABLE)  # fmt: skip
CLOSED = {Fact.RELATIONSHIP_END: D(2020, 1, 15), Fact.JURISDICTION: "eu"}  # eu: 3 years + 2 months -> 2023-03-15


@dataclass(frozen=True)
class Case:
    name: str
    record: dict[Fact, Any]
    as_of: dt.date
    state: RetentionState
    delete_on: dt.date | None = None
    restrict_from: dt.date | None = None
    missing: Missing | None = None
    rules: tuple[CompiledRule, ...] = field(default_factory=lambda: (rule(),))
    holds: tuple[str, ...] = ()
    person_unknown: bool = False
    due: RetentionState = DD


CASES = [
    # The relationship lasts: nothing is due, whatever the date.
    Case("account still open", {Fact.RELATIONSHIP_END: None, Fact.JURISDICTION: "eu"}, D(2099, 1, 1), A),
    # Limitation period plus grace: restricted from the end of the relationship until due.
    Case("restricted from the day it ends", CLOSED, D(2020, 1, 15), R, D(2023, 3, 15), D(2020, 1, 15)),
    Case("restricted the day before due", CLOSED, D(2023, 3, 14), R, D(2023, 3, 15)),
    Case("due on the day", CLOSED, D(2023, 3, 15), DD, D(2023, 3, 15)),
    Case("active before the trigger", CLOSED, D(2020, 1, 14), A, D(2023, 3, 15)),
    Case("kept in use a year after the trigger", CLOSED, D(2020, 6, 1), A, D(2024, 3, 15), D(2021, 1, 15),
         rules=(rule(after_trigger="P1Y"),)),
    # Calendar months: month ends clamp, and each period is added after the one before.
    Case("month end into a leap February", {Fact.RELATIONSHIP_END: D(2020, 12, 31), Fact.JURISDICTION: "eu"},
         D(2024, 2, 28), R, D(2024, 2, 29)),
    Case("leap February: due", {Fact.RELATIONSHIP_END: D(2020, 12, 31), Fact.JURISDICTION: "eu"},
         D(2024, 2, 29), DD, D(2024, 2, 29)),
    Case("a leap day plus years", {Fact.RELATIONSHIP_END: D(2020, 2, 29), Fact.JURISDICTION: "eu"},
         D(2023, 4, 27), R, D(2023, 4, 28)),  # 2023-02-28, then two months on the 28th
    Case("periods one after the other, not summed", {Fact.RELATIONSHIP_END: D(2021, 1, 31)}, D(2021, 3, 28), DD,
         D(2021, 3, 28), rules=(rule(limitation_periods=[{"period": "P1M"}], grace="P1M"),)),
    Case("days after months", {Fact.RELATIONSHIP_END: D(2021, 1, 31)}, D(2021, 3, 9), R, D(2021, 3, 10),
         rules=(rule(limitation_periods=[{"period": "P1M10D"}], grace=None),)),
    Case("no grace: due when the limitation period ends", CLOSED, D(2023, 1, 15), DD, D(2023, 1, 15),
         rules=(rule(grace=None),)),
    Case("no limitation period at all", {Fact.RELATIONSHIP_END: D(2020, 1, 15)}, D(2020, 3, 15), DD, D(2020, 3, 15),
         rules=(rule(limitation_periods=[]),)),
    # Jurisdictions: keys, country codes, groups, the default.
    Case("country code of an EEA state", {**CLOSED, Fact.JURISDICTION: "DE"}, D(2023, 3, 15), DD, D(2023, 3, 15)),
    Case("the UK by country code", {**CLOSED, Fact.JURISDICTION: " gb "}, D(2026, 3, 14), R, D(2026, 3, 15)),
    Case("a member of a group", {**CLOSED, Fact.JURISDICTION: "us-tx"}, D(2027, 3, 15), DD, D(2027, 3, 15)),
    Case("unknown jurisdiction takes the default", {**CLOSED, Fact.JURISDICTION: "jp"}, D(2026, 3, 15), DD,
         D(2026, 3, 15)),
    # Claims and holds keep what is due, and only what is due.
    Case("open claim holds", {**CLOSED, Fact.LEGAL_CLAIM: True}, D(2030, 1, 1), H, D(2023, 3, 15)),
    Case("a claim id counts as open", {**CLOSED, Fact.LEGAL_CLAIM: "C-17"}, D(2030, 1, 1), H, D(2023, 3, 15)),
    Case("closed claim (0) does not", {**CLOSED, Fact.LEGAL_CLAIM: 0}, D(2030, 1, 1), DD, D(2023, 3, 15)),
    Case("claims that do not extend", {**CLOSED, Fact.LEGAL_CLAIM: True}, D(2030, 1, 1), DD, D(2023, 3, 15),
         rules=(rule(legal_claims_extend=False),)),
    Case("legal hold", CLOSED, D(2030, 1, 1), H, D(2023, 3, 15), holds=("hold-1",)),
    Case("a hold does not stop restriction", CLOSED, D(2021, 1, 1), R, D(2023, 3, 15), holds=("hold-1",)),
    # Final actions.
    Case("anonymise", CLOSED, D(2023, 3, 15), DA, D(2023, 3, 15), due=DA),
    Case("not restricted during limitation", CLOSED, D(2021, 1, 1), A, D(2023, 3, 15),
         rules=(rule(restrict_during_limitation=False),)),
    # Missing facts: undecidable, whatever the date, naming the fact.
    Case("no trigger mapped", {Fact.JURISDICTION: "eu"}, D(2099, 1, 1), U, missing=Missing.TRIGGER),
    Case("no jurisdiction mapped", {Fact.RELATIONSHIP_END: D(2000, 1, 1)}, D(2099, 1, 1), U,
         missing=Missing.JURISDICTION),
    Case("empty jurisdiction", {**CLOSED, Fact.JURISDICTION: "  "}, D(2099, 1, 1), U, missing=Missing.JURISDICTION),
    Case("no period for the jurisdiction, no default", {**CLOSED, Fact.JURISDICTION: "jp"}, D(2099, 1, 1), U,
         missing=Missing.LIMITATION_PERIOD, rules=(rule(limitation_periods=[{"jurisdictions": ["eu"], "period": "P3Y"}]),)),
    Case("empty last activity", {Fact.LAST_ACTIVITY: None}, D(2099, 1, 1), U, missing=Missing.LAST_ACTIVITY,
         rules=(rule(triggers=["last_activity"], limitation_periods=[{"period": "P1Y"}]),)),
    Case("unreadable date is empty", {Fact.LAST_ACTIVITY: "last spring"}, D(2099, 1, 1), U,
         missing=Missing.LAST_ACTIVITY, rules=(rule(triggers=["last_activity"], limitation_periods=[]),)),
    Case("a person hold and no person column", CLOSED, D(2030, 1, 1), U, D(2023, 3, 15), missing=Missing.PERSON,
         person_unknown=True),
    Case("a person hold and no person column, not yet due", CLOSED, D(2022, 1, 1), R, D(2023, 3, 15),
         person_unknown=True),
    # Several triggers: the record stays while any reason lasts; the clock starts at the latest.
    Case("one of two events has not happened",
         {Fact.RELATIONSHIP_END: D(2000, 1, 1), Fact.CONSENT_WITHDRAWN: None}, D(2099, 1, 1), A,
         rules=(rule(triggers=["relationship_end", "consent_withdrawn"], limitation_periods=[{"period": "P1Y"}]),)),
    Case("the clock starts at the later event",
         {Fact.RELATIONSHIP_END: D(2000, 1, 1), Fact.CONSENT_WITHDRAWN: D(2010, 5, 31)}, D(2011, 7, 30), R,
         D(2011, 7, 31),
         rules=(rule(triggers=["relationship_end", "consent_withdrawn"], limitation_periods=[{"period": "P1Y"}]),)),
    Case("an unmapped trigger is not waited for", {Fact.RELATIONSHIP_END: D(2000, 1, 1)}, D(2001, 3, 1), DD,
         D(2001, 3, 1),
         rules=(rule(triggers=["relationship_end", "consent_withdrawn"], limitation_periods=[{"period": "P1Y"}]),)),
    Case("instants count on their UTC day",
         {Fact.LAST_ACTIVITY: dt.datetime(2020, 1, 31, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))},
         D(2020, 2, 29), R, D(2020, 3, 1), rules=(rule(triggers=["last_activity"], limitation_periods=[], grace="P1M"),)),
    Case("ISO text", {Fact.COLLECTED: "2020-01-31T10:00:00"}, D(2020, 2, 29), R, D(2020, 3, 1),
         rules=(rule(triggers=["collected"], limitation_periods=[], after_trigger="P1D", grace="P1M"),)),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_state(case: Case) -> None:
    ev = evaluate(case.rules, case.record, case.as_of, due=case.due, holds=case.holds,
                  person_unknown=case.person_unknown)  # fmt: skip
    assert ev.state is case.state
    assert ev.missing is case.missing
    if case.delete_on is not None:
        assert ev.delete_on == case.delete_on
    if case.restrict_from is not None:
        assert ev.restrict_from == case.restrict_from
    if case.missing is not None and case.missing is not Missing.PERSON:
        assert ev.delete_on is None
    assert ev.explain()


@pytest.mark.parametrize("case", [c for c in CASES if c.state is U], ids=lambda c: c.name)
def test_missing_facts_are_never_due(case: Case) -> None:
    for year in (1990, 2030, 2500):
        ev = evaluate(case.rules, case.record, D(year, 1, 1), person_unknown=case.person_unknown)
        assert ev.state not in (DD, DA)


def test_several_rules_keep_the_record_as_long_as_the_longest() -> None:
    relationship = rule("relationship")  # eu: 3 years + 2 months after the relationship ends
    records = rule("records", triggers=["purpose_fulfilled"], limitation_periods=[{"period": "P10Y"}], grace=None)
    both = (relationship, records)
    record = {**CLOSED, Fact.PURPOSE_FULFILLED: D(2019, 6, 1)}
    ev = evaluate(both, record, D(2025, 1, 1))
    assert (ev.state, ev.rule.key, ev.delete_on) == (R, "records", D(2029, 6, 1))
    assert evaluate(both, record, D(2029, 6, 1)).state is DD
    ev = evaluate(both, {**record, Fact.PURPOSE_FULFILLED: None}, D(2099, 1, 1))  # the order is still open
    assert (ev.state, ev.rule.key) == (A, "records")
    ev = evaluate(both, {Fact.PURPOSE_FULFILLED: D(2000, 1, 1)}, D(2099, 1, 1))  # relationship_end is not mapped
    assert (ev.state, ev.rule.key, ev.missing) == (U, "relationship", Missing.TRIGGER)


def test_the_outcome_of_one_rule_says_when_and_why() -> None:
    out = evaluate_rule(rule(), {**CLOSED, Fact.JURISDICTION: "fr"})
    assert (out.started, out.restrict_from, out.delete_on) == (D(2020, 1, 15), D(2020, 1, 15), D(2023, 3, 15))
    assert out.limitation is not None and out.limitation.cite == "BGB 195"
    text = evaluate((rule(),), CLOSED, D(2023, 3, 15)).explain()
    assert "due_delete" in text and "2023-03-15" in text and "BGB 195" in text


@pytest.mark.parametrize(
    ("start", "period", "end"),
    [
        (D(2024, 1, 31), "P1M", D(2024, 2, 29)),
        (D(2023, 1, 31), "P1M", D(2023, 2, 28)),
        (D(2024, 2, 29), "P1Y", D(2025, 2, 28)),
        (D(2024, 2, 29), "P4Y", D(2028, 2, 29)),
        (D(2023, 8, 31), "P1M1D", D(2023, 10, 1)),
        (D(2023, 12, 15), "P2W", D(2023, 12, 29)),
        (D(2023, 11, 30), "P3M", D(2024, 2, 29)),
    ],
)
def test_calendar_periods(start: dt.date, period: str, end: dt.date) -> None:
    assert add_period(start, Period.parse(period)) == end


def test_the_package_exports_what_it_lists() -> None:
    assert privet.retention.__all__ == sorted(privet.retention.__all__)
    assert all(hasattr(privet.retention, name) for name in privet.retention.__all__)
