"""Counting a legal period from a start date: calendar days, business days, months. Pure date arithmetic.

Conventions, shared by the laws in the tables:
- The day the request arrives is not counted (GDPR: Regulation 1182/71 Art. 3(1); California Civ. Code 12;
  the US state acts say "within 45 days of receipt"), so "45 days" from 1 March ends on 15 April.
- "One month" ends on the same date in the next month, or on that month's last day where it has no such date
  (received 31 January: due 28 February, or 29 February in a leap year). Regulation 1182/71 Art. 3(2)(c);
  EDPB Guidelines 01/2022 on the right of access; the UK ICO counts the same way.
- Business days skip Saturdays, Sundays and the calendar's public holidays; the first business day after the
  start is day 1.
- Under `next_business_day`, a period whose last day is not a working day ends on the next working day.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from privet.law.calendars import Calendar
from privet.law.tables import Period, Unit, WeekendRule

_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Count:
    """The end of a period and the steps that reached it, in words a privacy officer can check by hand."""

    end: date
    steps: tuple[str, ...]
    moved: bool  # the weekend rule moved the end off a non-working day


def _iso(day: date) -> str:
    return f"{day.isoformat()} ({day.strftime('%a')})"


def add_months(start: date, months: int) -> date:
    """Same day of the month `months` later, or that month's last day where it is shorter."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def add_business_days(start: date, days: int, cal: Calendar) -> date:
    day = start
    counted = 0
    while counted < days:
        day += _DAY
        if cal.is_working_day(day):
            counted += 1
    return day


def roll_forward(day: date, cal: Calendar) -> tuple[date, tuple[str, ...]]:
    """The first working day on or after `day`, with a step for each day skipped."""
    steps: list[str] = []
    while not cal.is_working_day(day):
        steps.append(f"{_iso(day)} is not a working day ({cal.why_not_working(day)})")
        day += _DAY
    return day, tuple(steps)


def add_period(start: date, period: Period, cal: Calendar) -> date:
    if period.unit is Unit.MONTHS:
        return add_months(start, period.amount)
    if period.unit is Unit.BUSINESS_DAYS:
        return add_business_days(start, period.amount, cal)
    return start + timedelta(days=period.amount)


def count(start: date, periods: tuple[Period, ...], cal: Calendar, rule: WeekendRule) -> Count:
    """The end of `periods` counted one after another from `start`, then moved off non-working days by `rule`.

    Consecutive periods in the same unit are added as one ("1 month" then "2 months" is three months from the
    start, so 31 January runs to 30 April, not 28 April).
    """
    merged: list[Period] = []
    for period in periods:
        if merged and merged[-1].unit is period.unit:
            merged[-1] = Period(amount=merged[-1].amount + period.amount, unit=period.unit)
        else:
            merged.append(period)
    day = start
    steps = [f"received {_iso(start)}; that day is not counted"]
    for period in merged:
        end = add_period(day, period, cal)
        clamp = ""
        if period.unit is Unit.MONTHS and end.day != day.day:
            clamp = f" (that month has no day {day.day}, so its last day)"
        where = f" on the {cal.name} calendar" if period.unit is Unit.BUSINESS_DAYS else ""
        steps.append(f"{_iso(day)} + {period}{where} = {_iso(end)}{clamp}")
        day = end
    skipped: tuple[str, ...] = ()
    if rule is WeekendRule.NEXT_BUSINESS_DAY:
        moved, skipped = roll_forward(day, cal)
        if skipped:
            steps += [*skipped, f"moved to the next working day, {_iso(moved)}"]
        day = moved
    return Count(day, tuple(steps), bool(skipped))
