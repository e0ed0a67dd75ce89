"""Counting periods: month ends, leap years, business days around US holidays, moving off weekends."""

from __future__ import annotations

from datetime import date

import pytest

from privet.law.calendars import UnknownRegion, calendar_for
from privet.law.counting import add_business_days, add_months, count, roll_forward
from privet.law.tables import CalendarSpec, Period, Unit, WeekendRule

CA = calendar_for(CalendarSpec(country="US", subdiv="CA"))
EEA = calendar_for(CalendarSpec(country="EEA"))
GERMANY = calendar_for(CalendarSpec(country="EEA"), "DE")


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2028, 1, 30), 1, date(2028, 2, 29)),
        (date(2025, 1, 15), 1, date(2025, 2, 15)),
        (date(2025, 3, 31), 1, date(2025, 4, 30)),
        (date(2025, 12, 31), 2, date(2026, 2, 28)),
        (date(2025, 1, 31), 3, date(2025, 4, 30)),
        (date(2025, 11, 30), 3, date(2026, 2, 28)),
    ],
)
def test_a_month_ends_on_the_same_date_or_the_last_day_of_a_shorter_month(start: date, months: int, end: date) -> None:
    assert add_months(start, months) == end


def test_business_days_skip_thanksgiving_and_the_day_after_in_california() -> None:
    # Thursday 20 November 2025: Thanksgiving (27th) and the day after (28th) are California holidays.
    assert add_business_days(date(2025, 11, 20), 4, CA) == date(2025, 11, 26)
    assert add_business_days(date(2025, 11, 20), 5, CA) == date(2025, 12, 1)
    assert add_business_days(date(2025, 11, 20), 10, CA) == date(2025, 12, 8)


def test_business_days_from_a_weekend_start_count_monday_as_day_one() -> None:
    assert add_business_days(date(2025, 3, 8), 1, CA) == date(2025, 3, 10)


def test_rolling_forward_explains_each_skipped_day() -> None:
    day, steps = roll_forward(date(2025, 12, 25), GERMANY)
    assert day == date(2025, 12, 29)
    assert len(steps) == 4 and "Christmas" in steps[0] and "Saturday" in steps[2]


def test_the_eea_default_calendar_holds_only_days_every_state_keeps() -> None:
    assert not EEA.is_working_day(date(2025, 12, 25))
    assert EEA.is_working_day(date(2025, 12, 26))  # not a holiday in France
    assert EEA.is_working_day(date(2026, 4, 6))  # Easter Monday: not a public holiday in Spain
    assert not GERMANY.is_working_day(date(2026, 4, 6))


def test_months_in_a_row_count_as_one_period_from_the_start() -> None:
    periods = (Period(amount=1, unit=Unit.MONTHS), Period(amount=2, unit=Unit.MONTHS))
    assert count(date(2025, 1, 31), periods, EEA, WeekendRule.NONE).end == date(2025, 4, 30)


def test_weekend_rule_none_keeps_a_saturday() -> None:
    counted = count(date(2025, 4, 16), (Period(amount=45, unit=Unit.CALENDAR_DAYS),), CA, WeekendRule.NONE)
    assert counted.end == date(2025, 5, 31) and not counted.moved


def test_next_business_day_moves_a_saturday_to_monday() -> None:
    rule = WeekendRule.NEXT_BUSINESS_DAY
    counted = count(date(2025, 4, 16), (Period(amount=45, unit=Unit.CALENDAR_DAYS),), CA, rule)
    assert counted.end == date(2025, 6, 2) and counted.moved
    assert counted.steps[-1] == "moved to the next working day, 2025-06-02 (Mon)"


@pytest.mark.parametrize(("country", "region"), [("US", "CA"), ("EEA", "XX"), ("CH", "QQ")])
def test_regions_are_checked(country: str, region: str) -> None:
    subdiv = "CA" if country == "US" else None
    with pytest.raises(UnknownRegion):
        calendar_for(CalendarSpec(country=country, subdiv=subdiv), region)
