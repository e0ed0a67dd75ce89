"""A data-subject request as a value: who asks for what, under which law, where it stands, and by when."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from privet.law.vocabulary import Right


class State(StrEnum):
    RECEIVED = "received"
    RECEIPT_CONFIRMED = "receipt_confirmed"
    VERIFYING = "verifying"
    VERIFIED = "verified"
    VERIFICATION_FAILED = "verification_failed"
    IN_PROGRESS = "in_progress"
    EXTENDED = "extended"
    FULFILLED = "fulfilled"
    PARTIALLY_FULFILLED = "partially_fulfilled"
    DENIED = "denied"
    APPEALED = "appealed"
    APPEAL_DECIDED = "appeal_decided"


# States after which nothing is left to do unless the person appeals.
CLOSED = frozenset({State.FULFILLED, State.PARTIALLY_FULFILLED, State.DENIED, State.VERIFICATION_FAILED})
FINAL = frozenset({State.APPEAL_DECIDED})


class Channel(StrEnum):
    API = "api"
    CLI = "cli"
    WEB = "web"  # the privacy center
    EMAIL = "email"  # an imported email
    FORM = "form"  # an imported paper or web form
    PHONE = "phone"


# Requests that may never wait on identity verification (CCPA regs 7026(d), 7027(f); most US state laws).
NO_VERIFICATION = frozenset(
    {Right.OPT_OUT_SALE, Right.OPT_OUT_SHARING, Right.OPT_OUT_TARGETED_ADVERTISING, Right.OPT_OUT_PROFILING,
     Right.LIMIT_SENSITIVE, Right.WITHDRAW_CONSENT, Right.OBJECT_DIRECT_MARKETING}
)  # fmt: skip


# The rights exercised as requests of their own: an appeal is made on the request it contests, and a complaint
# goes to the supervisory authority.
REQUEST_KINDS = tuple(r for r in Right if r not in (Right.APPEAL, Right.COMPLAIN))


@dataclass(frozen=True, slots=True)
class Requester:
    """Who the request is about and how to reach them. Data points for matching are held separately."""

    email: str | None = None
    name: str | None = None
    phone: str | None = None
    language: str = "en"
    subject_id: str | None = None  # once known (signed in, or matched during verification)


@dataclass(frozen=True, slots=True)
class Agent:
    """An authorised agent acting for the person, and the evidence of authority."""

    name: str
    email: str | None = None
    evidence: str = ""  # "power_of_attorney" or "signed_letter"
    document_ref: str | None = None  # where the document is kept (never its content in the request)
    scope: tuple[Right, ...] = ()  # the rights the grant covers; empty: every right
    reviewed: bool = False
    approved: bool = False
    confirmed_by_person: bool = False


@dataclass(frozen=True, slots=True)
class Dates:
    """The deadlines that bind the request, kept as plain dates with the rule text that produced them."""

    due: dt.date
    confirm_by: dt.date | None = None
    extended_due: dt.date | None = None
    extension_notice_by: dt.date | None = None
    rule: str = ""
    cites: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Request:
    request_id: str
    kind: Right
    jurisdiction: str | None
    received_at: dt.datetime
    state: State
    requester: Requester
    dates: Dates
    channel: Channel = Channel.API
    agent: Agent | None = None
    details: str = ""  # what the person wrote (the correction wanted, the objection's grounds ...)
    verification_level: str | None = None  # which standard was applied, once verified
    extended: bool = False
    extension_reason: str | None = None
    outcome_reasons: tuple[str, ...] = ()  # denial or partial-fulfilment reasons, told to the person
    appeal_text: str | None = None
    appeal_dates: Dates | None = None
    appeal_outcome: str | None = None  # "upheld" (original decision stands) or "reversed"
    closed_at: dt.datetime | None = None
    # The first answer the person got, kept when an appeal reopens the request (CCPA 7102 counts it).
    responded_at: dt.datetime | None = None
    response_state: State | None = None
    dedupe_key: str | None = None  # equal for repeated submissions of the same request
    notes: tuple[str, ...] = field(default=())

    @property
    def needs_verification(self) -> bool:
        return self.kind not in NO_VERIFICATION

    def due_date(self) -> dt.date:
        # An open appeal, and a reversed one being acted on, answer to the appeal's deadline.
        if self.appeal_dates and (self.state is State.APPEALED or self.appeal_outcome == "reversed"):
            return self.appeal_dates.due
        if self.extended and self.dates.extended_due:
            return self.dates.extended_due
        return self.dates.due

    def days_left(self, today: dt.date) -> int:
        return (self.due_date() - today).days
