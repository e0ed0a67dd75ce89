"""Deadlines per jurisdiction: every table, month ends, weekends, public holidays, extensions, appeals."""

from __future__ import annotations

from datetime import date

import pytest

from privet.law import (
    NotInForce,
    Right,
    RightNotGranted,
    UnknownJurisdiction,
    appeal_deadline,
    catalogue,
    deadline,
    law_tables,
)

MONDAY = date(2026, 3, 2)

# Received Monday 2 March 2026: (kind, answer by, latest with extension). 45 days: Thu 16 April; 90 days falls on
# Sunday 31 May, which moves to Monday 1 June only where the jurisdiction moves deadlines off weekends.
EXPECTED = {
    "eu": (Right.ACCESS, date(2026, 4, 2), date(2026, 6, 2)),
    "uk": (Right.ACCESS, date(2026, 4, 2), date(2026, 6, 2)),
    "ch": (Right.ACCESS, date(2026, 4, 1), None),
    "us-ca": (Right.ACCESS, date(2026, 4, 16), date(2026, 6, 1)),
    "us-va": (Right.ACCESS, date(2026, 4, 16), date(2026, 5, 31)),
    "us-co": (Right.ACCESS, date(2026, 4, 16), date(2026, 6, 1)),
    "us-ct": (Right.ACCESS, date(2026, 4, 16), date(2026, 5, 31)),
    "us-ut": (Right.ACCESS, date(2026, 4, 16), date(2026, 5, 31)),
    "us-tx": (Right.ACCESS, date(2026, 4, 16), date(2026, 6, 1)),
    "us-or": (Right.ACCESS, date(2026, 4, 16), date(2026, 6, 1)),
    "us-mt": (Right.ACCESS, date(2026, 4, 16), date(2026, 5, 31)),
    "us-de": (Right.ACCESS, date(2026, 4, 16), date(2026, 5, 31)),
    "us-ia": (Right.ACCESS, date(2026, 6, 1), date(2026, 7, 15)),
    "us-ne": (Right.ACCESS, date(2026, 4, 16), date(2026, 5, 31)),
    "us-nh": (Right.ACCESS, date(2026, 4, 16), date(2026, 5, 31)),
    "us-nj": (Right.ACCESS, date(2026, 4, 16), date(2026, 5, 31)),
    "us-tn": (Right.ACCESS, date(2026, 4, 16), date(2026, 6, 1)),
    "us-mn": (Right.ACCESS, date(2026, 4, 16), date(2026, 6, 1)),
    "us-md": (Right.ACCESS, date(2026, 4, 16), date(2026, 5, 31)),
    "us-in": (Right.ACCESS, date(2026, 4, 16), date(2026, 5, 31)),
    "us-ky": (Right.ACCESS, date(2026, 4, 16), date(2026, 6, 1)),
    "us-ri": (Right.ACCESS, date(2026, 4, 16), date(2026, 5, 31)),
    "us-nv": (Right.OPT_OUT_SALE, date(2026, 5, 1), date(2026, 5, 31)),
}


def test_every_table_has_an_expectation() -> None:
    named = {*catalogue().groups["us_states"], *catalogue().groups["gdpr_like"]}
    assert set(EXPECTED) == set(law_tables()) == named


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_deadline_in_every_jurisdiction(key: str) -> None:
    kind, due, extended = EXPECTED[key]
    found = deadline(key, kind, MONDAY)
    assert (found.due, found.extended_due) == (due, extended)
    assert found.respond.cites and found.respond.steps[0].startswith("received 2026-03-02")
    if found.extension_conditions and found.extended is not None:
        assert found.extension_notice_by == found.due


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2025, 1, 31), date(2025, 2, 28)),  # no 31 February: last day of the month
        (date(2028, 1, 31), date(2028, 2, 29)),  # leap year
        (date(2025, 2, 28), date(2025, 3, 28)),
        (date(2025, 5, 31), date(2025, 6, 30)),
        (date(2025, 11, 25), date(2025, 12, 26)),  # Christmas Day moves to 26 December on the EEA-wide calendar
        (date(2025, 10, 4), date(2025, 11, 4)),
        (date(2025, 7, 5), date(2025, 8, 5)),
        (date(2025, 6, 14), date(2025, 7, 14)),  # Bastille Day is not common to the EEA: no move by default
        (date(2025, 3, 29), date(2025, 4, 29)),
        (date(2025, 4, 5), date(2025, 5, 5)),
        (date(2025, 8, 2), date(2025, 9, 2)),
        (date(2025, 5, 10), date(2025, 6, 10)),
        (date(2025, 9, 6), date(2025, 10, 6)),  # 6 October 2025 is a Monday
        (date(2025, 2, 1), date(2025, 3, 3)),  # 1 March 2025 is a Saturday
    ],
)
def test_gdpr_one_month(received: date, due: date) -> None:
    assert deadline("eu", Right.ACCESS, received).due == due


@pytest.mark.parametrize(
    ("region", "received", "due"),
    [
        ("DE", date(2025, 11, 25), date(2025, 12, 29)),  # 25 and 26 December, then the weekend
        ("DE", date(2026, 3, 6), date(2026, 4, 7)),  # Easter Monday 6 April 2026
        (None, date(2026, 3, 6), date(2026, 4, 6)),  # not an EEA-wide holiday: the safe, earlier date
        ("FR", date(2025, 6, 14), date(2025, 7, 15)),  # 14 July
        ("DE-BY", date(2025, 10, 6), date(2025, 11, 6)),
    ],
)
def test_gdpr_public_holidays_of_the_member_state(region: str | None, received: date, due: date) -> None:
    assert deadline("eu", Right.DELETION, received, region=region).due == due


def test_gdpr_extension_is_three_months_from_receipt() -> None:
    found = deadline("eu", Right.PORTABILITY, date(2025, 1, 31))
    assert found.due == date(2025, 2, 28)
    assert found.extended_due == date(2025, 4, 30)
    assert found.extension_notice_by == date(2025, 2, 28)
    assert "complexity and number" in (found.extension_conditions or "")


@pytest.mark.parametrize(
    ("region", "received", "due"),
    [
        (None, date(2025, 11, 25), date(2025, 12, 29)),  # Christmas Day, Boxing Day, weekend
        ("SCT", date(2025, 12, 2), date(2026, 1, 5)),  # 2 January is a Scottish bank holiday
        (None, date(2025, 12, 2), date(2026, 1, 2)),
        (None, date(2026, 3, 3), date(2026, 4, 7)),  # Good Friday 3 April, weekend, Easter Monday 6 April
    ],
)
def test_uk_one_month_and_bank_holidays(region: str | None, received: date, due: date) -> None:
    assert deadline("uk", Right.ACCESS, received, region=region).due == due


def test_switzerland_thirty_days_and_an_open_extension() -> None:
    found = deadline("ch", Right.ACCESS, date(2025, 7, 2), region="ZH")
    assert found.due == date(2025, 8, 4)  # 1 August (National Day) falls on Friday, then the weekend
    assert found.extended is None and found.extension_conditions is not None


def test_california_deadline_landing_on_christmas_moves_to_the_next_business_day() -> None:
    found = deadline("us-ca", Right.DELETION, date(2025, 11, 10))
    assert found.due == date(2025, 12, 26)
    assert any("Christmas" in step for step in found.respond.steps)
    assert "Cal. Civ. Code 10, 12, 12a" in found.respond.cites[-1]


def test_california_receipt_confirmation_skips_thanksgiving() -> None:
    found = deadline("us-ca", Right.KNOW, date(2025, 11, 20))
    assert found.confirm_by == date(2025, 12, 8)
    assert found.confirm_receipt is not None and found.confirm_receipt.cites == ("11 CCR 7021(a)",)


def test_california_opt_out_is_fifteen_business_days_without_confirmation() -> None:
    found = deadline("us-ca", Right.OPT_OUT_SALE, date(2025, 11, 20))
    assert found.due == date(2025, 12, 15)
    assert found.confirm_receipt is None and found.extended is None and found.extension_conditions is None


def test_california_cesar_chavez_day_counts_as_a_holiday() -> None:
    assert deadline("us-ca", Right.LIMIT_SENSITIVE, date(2026, 3, 27)).due == date(2026, 4, 20)


def test_california_extension_caps_at_ninety_days() -> None:
    found = deadline("us-ca", Right.CORRECTION, date(2025, 11, 10))
    assert found.extended_due == date(2026, 2, 9)  # 8 February 2026 is a Sunday


@pytest.mark.parametrize(("key", "due"), [("us-va", date(2025, 5, 31)), ("us-ca", date(2025, 6, 2))])
def test_weekend_rules_differ_between_states(key: str, due: date) -> None:
    assert deadline(key, Right.DELETION, date(2025, 4, 16)).due == due


def test_a_moved_deadline_under_an_inferred_rule_says_so() -> None:
    moved = deadline("us-co", Right.ACCESS, date(2025, 4, 16))
    assert moved.due == date(2025, 6, 2) and moved.inferred
    assert "weekend rule" in moved.respond.explain()
    assert not deadline("us-co", Right.ACCESS, MONDAY).respond.inferred


APPEALS = {
    "us-va": (date(2026, 5, 1), None), "us-co": (date(2026, 4, 16), date(2026, 6, 15)),
    "us-ct": (date(2026, 5, 1), None), "us-tx": (date(2026, 5, 1), None), "us-or": (date(2026, 4, 16), None),
    "us-mt": (date(2026, 5, 1), None), "us-de": (date(2026, 5, 1), None), "us-ia": (date(2026, 5, 1), None),
    "us-ne": (date(2026, 5, 1), None), "us-nh": (date(2026, 5, 1), None),
    "us-nj": (date(2026, 4, 16), date(2026, 5, 31)), "us-tn": (date(2026, 5, 1), None),
    "us-mn": (date(2026, 4, 16), date(2026, 6, 15)), "us-md": (date(2026, 5, 1), None),
    "us-in": (date(2026, 5, 1), None), "us-ky": (date(2026, 5, 1), None), "us-ri": (date(2026, 5, 1), None),
}  # fmt: skip


@pytest.mark.parametrize("key", sorted(APPEALS))
def test_appeal_deadlines(key: str) -> None:
    found = appeal_deadline(key, MONDAY)
    assert (found.due, found.extended_due) == APPEALS[key]
    assert found.kind is Right.APPEAL and found.confirm_receipt is None
    assert any(note.startswith("the person may appeal within a reasonable period") for note in found.notes)
    assert deadline(key, Right.APPEAL, MONDAY) == found


@pytest.mark.parametrize("key", sorted(set(EXPECTED) - set(APPEALS)))
def test_no_appeal_where_the_law_has_none(key: str) -> None:
    with pytest.raises(RightNotGranted, match="no appeal"):
        appeal_deadline(key, MONDAY)


@pytest.mark.parametrize(
    ("key", "kind", "received"),
    [
        ("us-ia", Right.CORRECTION, MONDAY),
        ("us-ca", Right.CORRECTION, date(2022, 6, 1)),
        ("us-nv", Right.ACCESS, MONDAY),
        ("eu", Right.OPT_OUT_SALE, MONDAY),
        ("eu", Right.COMPLAIN, MONDAY),
    ],
)
def test_rights_the_law_does_not_grant_are_refused(key: str, kind: Right, received: date) -> None:
    with pytest.raises(RightNotGranted):
        deadline(key, kind, received)


def test_a_request_before_the_law_applies_is_refused() -> None:
    with pytest.raises(NotInForce, match="applies from 2026-01-01"):
        deadline("us-in", Right.ACCESS, date(2025, 12, 31))


def test_an_unknown_jurisdiction_is_refused() -> None:
    with pytest.raises(UnknownJurisdiction):
        deadline("mars", Right.ACCESS, MONDAY)


def test_the_explanation_names_law_rule_and_steps() -> None:
    text = deadline("us-ca", Right.DELETION, date(2025, 11, 10)).explain()
    assert "1798.130(a)(2)(A)" in text and "11 CCR 7021(a)" in text
    assert "2025-12-25 (Thu) is not a working day (Christmas Day)" in text
    assert "latest 2026-02-09" in text
