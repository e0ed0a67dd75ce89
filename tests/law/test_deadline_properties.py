"""Properties of every deadline: never before receipt, never on a day off where the law moves it, and an
extension never shortens the time."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from privet.law import Right, Unit, WeekendRule, calendar_for, deadline, law_for, law_tables
from privet.law.counting import add_business_days, add_months

KEYS = sorted(law_tables())
DAYS = st.dates(min_value=date(2018, 1, 1), max_value=date(2032, 12, 31))


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, Right, date]:
    key = draw(st.sampled_from(KEYS))
    law = law_for(key)
    received = draw(st.dates(min_value=max(law.effective.start, date(2023, 1, 1)), max_value=date(2032, 12, 31)))
    granted = sorted(law.rights_on(received) - {Right.COMPLAIN})
    return key, draw(st.sampled_from(granted)), received


@settings(max_examples=400, deadline=None)
@given(requests())
def test_deadlines_hold_their_shape(request: tuple[str, Right, date]) -> None:
    key, kind, received = request
    law = law_for(key)
    found = deadline(key, kind, received)
    assert found.due > received
    if found.extended_due is not None:
        assert found.extended_due >= found.due
    if found.confirm_by is not None:
        assert received < found.confirm_by <= found.due
    if found.extension_notice_by is not None:
        assert found.extension_notice_by == found.due
    cal = calendar_for(law.counting.calendar)
    period = law.appeal.period if kind is Right.APPEAL and law.appeal else law.rule_for(kind).period
    if law.counting.weekend_rule is WeekendRule.NEXT_BUSINESS_DAY or period.unit is Unit.BUSINESS_DAYS:
        assert cal.is_working_day(found.due)
        for reckoning in (found.extended, found.confirm_receipt):
            assert reckoning is None or cal.is_working_day(reckoning.due)
    elif period.unit is Unit.CALENDAR_DAYS:
        assert found.due == received + timedelta(days=period.amount)  # counted strictly, never moved


@settings(max_examples=300)
@given(DAYS, st.integers(min_value=1, max_value=24))
def test_a_month_lands_on_the_same_day_or_the_end_of_a_shorter_month(start: date, months: int) -> None:
    end = add_months(start, months)
    assert (end.year - start.year) * 12 + end.month - start.month == months
    assert end.day == start.day or (end.day < start.day and (end + timedelta(days=1)).day == 1)


@settings(max_examples=200, deadline=None)
@given(DAYS, st.integers(min_value=1, max_value=30), st.sampled_from(["CA", "NY", "TX"]))
def test_business_days_end_on_a_working_day_and_count_exactly(start: date, days: int, state: str) -> None:
    cal = calendar_for(law_for("us-ca").counting.calendar.model_copy(update={"subdiv": state}))
    end = add_business_days(start, days, cal)
    between = [start + timedelta(days=i) for i in range(1, (end - start).days + 1)]
    assert cal.is_working_day(end)
    assert sum(cal.is_working_day(day) for day in between) == days
