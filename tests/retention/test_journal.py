"""The journal of anonymised records in the reference path: what a journaled record's state becomes, and what the
records following it inherit."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from privet.retention import Evaluation, Follows, Journaled, Missing, RetentionState, evaluate_plan, settled
from privet.retention.plan import RetentionPlan, Scope
from privet.retention.report import report_lines
from privet.retention.rules import Fact
from tests.retention.rules import rule, scope

D = dt.date
RULE = rule(limitation_periods=[{"period": "P1Y"}], final_action="anonymise")
DUE = Evaluation(RetentionState.DUE_ANONYMISE, RULE, None, D(2021, 1, 1), RULE.limitations[0])


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (DUE, dataclasses.replace(DUE, state=RetentionState.ANONYMISED)),  # not due again: same rule and dates
        (Evaluation(RetentionState.UNDECIDABLE, RULE, missing=Missing.PARENT),  # its link was emptied
         Evaluation(RetentionState.ANONYMISED, RULE)),
        (Evaluation(RetentionState.UNDECIDABLE, RULE, None, D(2021, 1, 1), RULE.limitations[0], Missing.PERSON),
         Evaluation(RetentionState.ANONYMISED, RULE)),
        # The journal never stops a deletion, nor hides a hold or dates that say the record is in use again.
        (dataclasses.replace(DUE, state=RetentionState.DUE_DELETE), None),
        (dataclasses.replace(DUE, state=RetentionState.HELD, holds=("hold-1",)), None),
        (Evaluation(RetentionState.ACTIVE, RULE), None),
        (dataclasses.replace(DUE, state=RetentionState.RESTRICTED), None),
    ],
)  # fmt: skip
def test_a_journaled_record_is_anonymised_unless_it_is_to_be_deleted_held_or_in_use(
    before: Evaluation, after: Evaluation | None
) -> None:
    assert settled(before) == (after or before)


CLOSED = {Fact.RELATIONSHIP_END: "closed"}


def family(child_due: RetentionState = RetentionState.DUE_ANONYMISE) -> RetentionPlan:
    parent = dataclasses.replace(scope(RULE, facts=CLOSED, due=RetentionState.DUE_ANONYMISE), collection="db.customers")
    child = Scope(collection="db.addresses", system="crm", key_field="id", rules=(RULE,), activities=(), facts={},
                  due=child_due, masks={"email": "null", "customer_id": "null"},
                  follows=Follows(parent.collection, "customer_id", parent.deciders))  # fmt: skip
    return RetentionPlan(D(2025, 6, 30), (child, parent), (), ())


CUSTOMERS = [{"id": 1, "closed": D(2015, 1, 1)}, {"id": 2, "closed": None}]
# As the first run left them: 10 and 11 were anonymised, and their link to customer 1 emptied.
ADDRESSES = [{"id": 10, "customer_id": None}, {"id": 11, "customer_id": None},
             {"id": 12, "customer_id": 1},  # added since: names the anonymised customer
             {"id": 13, "customer_id": None},  # never named anybody
             {"id": 14, "customer_id": 2}]  # fmt: skip


def states(plan: RetentionPlan, journal: dict[str, set[str]]) -> dict[str, dict[int, RetentionState]]:
    _, finals = evaluate_plan(plan, {"db.customers": CUSTOMERS, "db.addresses": ADDRESSES}, journal=journal)
    return {c: {k: ev.state for k, ev in evs} for c, evs in finals.items()}


def test_records_following_an_anonymised_record() -> None:
    before = states(family(), {})
    assert before["db.customers"] == {1: RetentionState.DUE_ANONYMISE, 2: RetentionState.ACTIVE}
    assert before["db.addresses"][10] is RetentionState.UNDECIDABLE  # without the journal: the emptied link
    got = states(family(), {"db.customers": {"1"}, "db.addresses": {"10", "11"}})
    assert got["db.customers"] == {1: RetentionState.ANONYMISED, 2: RetentionState.ACTIVE}
    assert got["db.addresses"] == {
        10: RetentionState.ANONYMISED,  # anonymised on purpose, not undecidable
        11: RetentionState.ANONYMISED,
        12: RetentionState.DUE_ANONYMISE,  # its customer's period ended: due under its own final action
        13: RetentionState.UNDECIDABLE,  # names nobody and was never anonymised: as before
        14: RetentionState.ACTIVE,
    }
    # The rule changed to delete: the journal stops nothing; every record whose period ended is due to be deleted.
    deleting = states(family(RetentionState.DUE_DELETE), {"db.customers": {"1"}, "db.addresses": {"12"}})
    assert deleting["db.addresses"][12] is RetentionState.DUE_DELETE


def test_the_report_counts_anonymised_records_and_says_what_the_journal_holds() -> None:
    plan = family()
    report, _ = evaluate_plan(plan, {"db.customers": CUSTOMERS, "db.addresses": ADDRESSES},
                              journal={"db.customers": {"1"}, "db.addresses": {"10", "11"}})  # fmt: skip
    at = dt.datetime(2025, 6, 30, 3, tzinfo=dt.UTC)
    report = dataclasses.replace(report, anonymised=(Journaled("db.addresses", RULE.key, 2, at, at, "retention-x"),))
    assert report.totals()["anonymised"] == 3
    lines = report_lines(report, "plan")
    assert any(line.startswith("Totals:") and "anonymised 3" in line for line in lines)
    assert ("  db.addresses: 2 records anonymised by privet under relationship on 2025-06-30 (last run retention-x); "
            "they are not anonymised again") in lines  # fmt: skip
    assert report.as_json()["anonymised"][0]["records"] == 2
    row = next(r for r in report.rows() if r["state"] == "anonymised" and r["collection"] == "db.addresses")
    assert row["examples"] == [10, 11] and "missing" not in row
    assert "anonymised by privet" in settled(DUE).explain()
