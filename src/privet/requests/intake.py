"""Taking a request in: which law applies, whether it grants the right, and the deadlines that follow."""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
from dataclasses import dataclass, field

from privet.law.catalogue import catalogue
from privet.law.deadlines import Deadline, appeal_deadline, deadline
from privet.law.residence import UnknownResidence, residence_key
from privet.law.tables import LawError, law_tables
from privet.law.vocabulary import Right
from privet.manifest.model import Manifest
from privet.manifest.period import Period
from privet.requests.lifecycle import RequestError
from privet.requests.model import Agent, Channel, Dates, Request, Requester, State

DEFAULT_APPEAL_WINDOW = Period(days=60)  # where neither the law nor the manifest sets one


class ResidenceError(RequestError):
    """The stated residence names no jurisdiction privet knows; the message lists the known ones."""


@dataclass(frozen=True)
class Submission:
    kind: Right
    requester: Requester
    jurisdiction: str | None = None  # the person's residence, as they state it
    channel: Channel = Channel.API
    agent: Agent | None = None
    details: str = ""


@dataclass(frozen=True)
class Intake:
    request: Request
    ineligible: tuple[str, ...] = field(default=())  # reasons to deny at once, told to the person


def dedupe_key(kind: Right, requester: Requester) -> str:
    who = requester.subject_id or (requester.email or "").strip().lower() or (requester.phone or "")
    return hashlib.sha256(f"{kind.value}|{who}".encode()).hexdigest()[:32]


def _dates(d: Deadline) -> Dates:
    return Dates(
        due=d.due,
        confirm_by=d.confirm_by,
        extended_due=d.extended_due,
        extension_notice_by=d.extension_notice_by,
        rule=d.respond.rule,
        cites=d.respond.cites,
        notes=d.notes,
    )


def offered(manifest: Manifest, jurisdiction: str, kind: Right) -> bool:
    """Whether the notice promises this right to residents of `jurisdiction`."""
    law = catalogue()
    return any(
        kind in offer.rights and jurisdiction in law.expand(offer.jurisdictions) for offer in manifest.rights.values()
    )


def receive(submission: Submission, manifest: Manifest, request_id: str, now: dt.datetime) -> Intake:
    """A new request in state RECEIVED, with its deadlines; `ineligible` says why it must be denied, if so."""
    if submission.kind is Right.APPEAL:
        raise RequestError("an appeal is made on the request it contests (privet requests appeal ID), not as new")
    if submission.kind is Right.COMPLAIN:
        raise RequestError("a complaint goes to the supervisory authority, not to the company")
    requester = submission.requester
    if not (requester.email or requester.phone or requester.subject_id):
        raise RequestError("a request needs a way to reach the person: an email address, a phone number or an account")
    jurisdiction = None
    if submission.jurisdiction is not None:
        try:
            jurisdiction = residence_key(submission.jurisdiction)
        except UnknownResidence as exc:
            raise ResidenceError(str(exc)) from None
    # The day of receipt is the day where the law counts it, not UTC's (a Californian's evening is UTC's morning).
    today = catalogue().local_date(jurisdiction, now)
    notes: list[str] = []
    ineligible: list[str] = []
    dates: Dates | None = None
    if jurisdiction is None:
        dates, note = _strictest(manifest, submission.kind, now)
        notes.append(note)
    else:
        try:
            dates = _dates(deadline(jurisdiction, submission.kind, today))
        except LawError as exc:
            if offered(manifest, jurisdiction, submission.kind):
                dates, note = _strictest(manifest, submission.kind, now)
                notes.append(f"{exc}; the notice offers the right anyway, so the strictest deadline applies ({note})")
            else:
                ineligible.append(str(exc))
                dates = Dates(due=today, rule="not granted: to be denied with reasons")
    request = Request(
        request_id=request_id,
        kind=submission.kind,
        jurisdiction=jurisdiction,
        received_at=now,
        state=State.RECEIVED,
        requester=requester,
        dates=dates,
        channel=submission.channel,
        agent=submission.agent,
        details=submission.details,
        dedupe_key=dedupe_key(submission.kind, requester),
        notes=tuple(notes),
    )
    return Intake(request, tuple(ineligible))


def _strictest(manifest: Manifest, kind: Right, now: dt.datetime) -> tuple[Dates, str]:
    """Residence unknown: the earliest deadline any jurisdiction of the manifest sets for this right."""
    tables = law_tables()
    best: tuple[dt.date, str, Deadline] | None = None
    for key in catalogue().expand(manifest.notice.jurisdictions):
        if key not in tables:
            continue
        try:
            d = deadline(key, kind, catalogue().local_date(key, now))
        except LawError:
            continue
        if best is None or d.due < best[0]:
            best = (d.due, key, d)
    if best is None:
        raise RequestError(f"no jurisdiction of the manifest grants a {kind.value} right; nothing to take in")
    return _dates(best[2]), f"residence unknown: the strictest deadline of the manifest's jurisdictions ({best[1]})"


def appeal_terms(manifest: Manifest, request: Request, now: dt.datetime) -> tuple[Dates | None, dt.date | None]:
    """The appeal's deadline under the request's law (None where the law gives no appeal) and when the window
    to appeal closes (the manifest's appeal_window, else privet's default of 60 days after the decision)."""
    if request.jurisdiction is None:
        return None, None
    law = catalogue()
    try:
        d = appeal_deadline(request.jurisdiction, law.local_date(request.jurisdiction, now))
    except LawError:
        return None, None
    window = DEFAULT_APPEAL_WINDOW
    for offer in manifest.rights.values():
        if offer.appeal_window and request.jurisdiction in law.expand(offer.jurisdictions):
            window = offer.appeal_window
    decided = law.local_date(request.jurisdiction, request.closed_at or request.received_at)
    return _dates(d), add_period(decided, window)


def add_period(start: dt.date, period: Period) -> dt.date:
    month = start.month - 1 + period.months + 12 * period.years
    year = start.year + month // 12
    month = month % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day) + dt.timedelta(days=period.days)
