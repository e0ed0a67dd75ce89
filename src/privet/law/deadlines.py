"""Legal deadlines for a request, from the law tables. The caller passes the dates; nothing here reads a clock.

A `Deadline` explains itself: each date it carries (answer by, confirm receipt by, latest date with an
extension) comes with the rule in words, the citations, and the counting steps, so a privacy officer can
check it by hand and show it to a regulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from privet.law.calendars import Calendar, calendar_for
from privet.law.counting import count
from privet.law.tables import (
    Extension,
    Law,
    LawError,
    Period,
    Row,
    Unit,
    WeekendRule,
    law_for,
)
from privet.law.vocabulary import Right


class NotInForce(LawError):
    pass


class RightNotGranted(LawError):
    pass


@dataclass(frozen=True, slots=True)
class Reckoning:
    """One computed date with the rule, the citations and the counting steps that produced it."""

    due: date
    rule: str
    cites: tuple[str, ...]
    steps: tuple[str, ...]
    uncertain: tuple[str, ...]  # the inputs marked `inferred` in the tables that this date depends on

    @property
    def inferred(self) -> bool:
        return bool(self.uncertain)

    def explain(self) -> str:
        flag = f" [inferred, not confirmed against the text: {', '.join(self.uncertain)}]" if self.uncertain else ""
        lines = [f"{self.due.isoformat()}: {self.rule}{flag}", f"  law: {'; '.join(self.cites)}"]
        lines += [f"  - {step}" for step in self.steps]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Deadline:
    jurisdiction: str
    kind: Right
    received: date
    calendar: str
    respond: Reckoning
    confirm_receipt: Reckoning | None
    extended: Reckoning | None  # the latest date with the extension; None when the law allows none or sets no cap
    extension_conditions: str | None  # when the controller may extend; None when it may not
    extension_notice_by: date | None  # tell the person of the extension, with reasons, by this date
    notes: tuple[str, ...]
    table_as_of: date

    @property
    def due(self) -> date:
        return self.respond.due

    @property
    def confirm_by(self) -> date | None:
        return self.confirm_receipt.due if self.confirm_receipt else None

    @property
    def extended_due(self) -> date | None:
        return self.extended.due if self.extended else None

    @property
    def inferred(self) -> bool:
        parts = (self.respond, self.confirm_receipt, self.extended)
        return any(part.inferred for part in parts if part is not None)

    def explain(self) -> str:
        head = f"{self.kind} request to {self.jurisdiction}, received {self.received.isoformat()}"
        parts = [head, f"working days: {self.calendar}", "answer by " + self.respond.explain()]
        if self.confirm_receipt:
            parts.append("confirm receipt by " + self.confirm_receipt.explain())
        if self.extension_conditions:
            cap = self.extended.explain() if self.extended else "no fixed maximum"
            parts.append(f"extension ({self.extension_conditions}): latest {cap}")
        parts += [f"note: {note}" for note in self.notes]
        return "\n".join(parts)


def _rule_words(periods: tuple[Period, ...], weekend: WeekendRule) -> str:
    units = {p.unit for p in periods}
    if len(units) == 1:
        length = str(Period(amount=sum(p.amount for p in periods), unit=periods[0].unit))
    else:
        length = " then ".join(str(p) for p in periods)
    if periods[-1].unit is Unit.BUSINESS_DAYS:
        return f"{length} after receipt"
    if weekend is WeekendRule.NEXT_BUSINESS_DAY:
        return f"{length} after receipt; a last day on a weekend or public holiday moves to the next working day"
    return f"{length} after receipt, whatever day that falls on"


def _reckon(law: Law, received: date, periods: tuple[Period, ...], rows: tuple[Row, ...], cal: Calendar) -> Reckoning:
    counting = law.counting
    # A period counted in business days already ends on a working day; the weekend rule adds nothing.
    moves = periods[-1].unit is not Unit.BUSINESS_DAYS
    weekend = counting.weekend_rule if moves else WeekendRule.NONE
    counted = count(received, periods, cal, weekend)
    cites = tuple(dict.fromkeys(row.cite for row in rows))
    if moves:
        cites += (f"counting: {counting.cite}",)
    uncertain = [f"the period ({row.cite})" for row in rows if row.inferred]
    if counted.moved and counting.inferred:
        uncertain.append(f"the weekend rule ({counting.cite})")
    return Reckoning(counted.end, _rule_words(periods, weekend), cites, counted.steps, tuple(uncertain))


def _with_extension(
    law: Law, received: date, base: Period, base_row: Row, ext: Extension | None, cal: Calendar
) -> tuple[Reckoning | None, str | None, date | None, tuple[str, ...]]:
    if ext is None:
        return None, None, None, ()
    notes: tuple[str, ...] = (ext.note,) if ext.note else ()
    extended = None
    if ext.period is not None:
        extended = _reckon(law, received, (base, ext.period), (base_row, ext), cal)
    else:
        notes += ("the law sets no maximum for the extension; tell the person the new period",)
    notice_by = _reckon(law, received, (base,), (base_row,), cal).due if ext.notice_within_first_period else None
    return extended, ext.conditions, notice_by, notes


def deadline(jurisdiction: str, kind: Right, received: date, *, region: str | None = None) -> Deadline:
    """When a request of `kind` received on `received` must be answered under `jurisdiction`'s law.

    `region` narrows the holiday calendar where the place matters (an EU member state, a UK nation, a Swiss
    canton; see calendars.py). Raises `RightNotGranted` when that law grants no such right on that date.
    """
    if kind is Right.APPEAL:
        return appeal_deadline(jurisdiction, received, region=region)
    law = _in_force(jurisdiction, received)
    if kind is Right.COMPLAIN:
        raise RightNotGranted(f"a complaint goes to the supervisory authority; {law.title} sets no deadline for it")
    if not law.grants(kind, received):
        granted = ", ".join(sorted(law.rights_on(received)))
        raise RightNotGranted(f"{law.title} grants no {kind} right on {received}; it grants: {granted}")
    rule = law.rule_for(kind)
    cal = calendar_for(law.counting.calendar, region)
    respond = _reckon(law, received, (rule.period,), (rule,), cal)
    confirm = None
    if rule.confirm_receipt is not None:
        confirm = _reckon(law, received, (rule.confirm_receipt.period,), (rule.confirm_receipt,), cal)
    extended, conditions, notice_by, ext_notes = _with_extension(law, received, rule.period, rule, rule.extension, cal)
    notes = tuple(n for n in (rule.note, law.counting.note) if n) + ext_notes
    return Deadline(
        law.key, kind, received, cal.name, respond, confirm, extended, conditions, notice_by, notes, law.as_of
    )


def appeal_deadline(jurisdiction: str, received: date, *, region: str | None = None) -> Deadline:
    """When the controller must decide an appeal against its refusal, received on `received`."""
    law = _in_force(jurisdiction, received)
    appeal = law.appeal
    if appeal is None or not law.grants(Right.APPEAL, received):
        raise RightNotGranted(
            f"{law.title} gives no appeal to the controller; the person may complain to the regulator instead"
        )
    cal = calendar_for(law.counting.calendar, region)
    respond = _reckon(law, received, (appeal.period,), (appeal,), cal)
    extended, conditions, notice_by, ext_notes = _with_extension(
        law, received, appeal.period, appeal, appeal.extension, cal
    )
    notes: tuple[str, ...] = (f"the person may appeal within {appeal.window}",)
    notes += tuple(n for n in (appeal.on_denial, appeal.note, law.counting.note) if n) + ext_notes
    return Deadline(
        law.key, Right.APPEAL, received, cal.name, respond, None, extended, conditions, notice_by, notes, law.as_of
    )


def _in_force(jurisdiction: str, received: date) -> Law:
    law = law_for(jurisdiction)
    if received < law.effective.start:
        raise NotInForce(f"{law.title} applies from {law.effective.start}; the request arrived on {received}")
    return law
