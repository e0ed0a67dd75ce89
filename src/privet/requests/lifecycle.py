"""The request lifecycle: a transition table and one pure step, `advance(request, event, now)`.

Adapters carry out the effects it returns (send a message, start fulfilment, schedule a reminder); the audit
log records every step. Illegal moves raise `IllegalTransition`, naming what is allowed from where the
request stands.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from privet.law.catalogue import catalogue
from privet.requests.model import CLOSED, Dates, Request, State


class RequestError(ValueError):
    """A request operation that the law, the notice or the workflow does not allow."""


class IllegalTransition(RequestError):
    pass


class EventKind(StrEnum):
    CONFIRM_RECEIPT = "confirm_receipt"
    BEGIN_VERIFICATION = "begin_verification"
    VERIFIED = "verified"
    VERIFICATION_FAILED = "verification_failed"
    START = "start"
    EXTEND = "extend"
    FULFIL = "fulfil"
    FULFIL_PARTIALLY = "fulfil_partially"
    DENY = "deny"
    APPEAL = "appeal"
    DECIDE_APPEAL = "decide_appeal"


class AppealOutcome(StrEnum):
    UPHELD = "upheld"  # the decision stands; the request is final
    REVERSED = "reversed"  # the company now does what was asked


@dataclass(frozen=True)
class Event:
    kind: EventKind
    reasons: tuple[str, ...] = ()  # deny, partial fulfilment, extension, failed verification, appeal decision
    method: str | None = None  # verification method (email_code, account, matching)
    level: str | None = None  # verification level reached
    text: str | None = None  # the appeal's text, a fulfilment summary
    appeal_dates: Dates | None = None  # computed from the law by the caller, for APPEAL
    appeal_window_ends: dt.date | None = None
    outcome: str | None = None  # for DECIDE_APPEAL: "upheld" or "reversed"
    actor: str = "system"  # who did it: a staff user, the requester, the system


class MessageKind(StrEnum):
    RECEIPT = "receipt"
    VERIFICATION_CODE = "verification_code"
    EXTENSION = "extension"
    RESULT = "result"
    DENIAL = "denial"
    VERIFICATION_FAILED = "verification_failed"
    APPEAL_RECEIVED = "appeal_received"
    APPEAL_DECISION = "appeal_decision"
    ALREADY_OPEN = "already_open"  # the same request was made again: where to follow the open one
    AGENT_CONFIRMATION = "agent_confirmation"  # to the person: verify yourself and confirm the agent acts for you


@dataclass(frozen=True)
class SendMessage:
    request_id: str
    message: MessageKind
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class StartFulfilment:
    request_id: str


@dataclass(frozen=True)
class ScheduleReminder:
    request_id: str
    on: dt.date
    what: str


Effect = SendMessage | StartFulfilment | ScheduleReminder

# A step whose result depends on a decision names one state per outcome (only deciding an appeal, for now).
Target = State | Mapping[str, State]

# Deciding an appeal goes where its outcome says. Upheld: the decision stands and the request is final. Reversed:
# the company now does what was asked, so the request is worked again and ends fulfilled or partly fulfilled
# like any other (the first answer stays in `responded_at`/`response_state`, the decision in `appeal_outcome`).
APPEAL_OUTCOMES: Mapping[str, State] = {
    AppealOutcome.UPHELD: State.APPEAL_DECIDED,
    AppealOutcome.REVERSED: State.IN_PROGRESS,
}

_OPEN = (State.RECEIVED, State.RECEIPT_CONFIRMED, State.VERIFYING, State.VERIFIED, State.IN_PROGRESS, State.EXTENDED)

TRANSITIONS: dict[tuple[State, EventKind], Target] = {
    (State.RECEIVED, EventKind.CONFIRM_RECEIPT): State.RECEIPT_CONFIRMED,
    **{(s, EventKind.BEGIN_VERIFICATION): State.VERIFYING for s in (State.RECEIVED, State.RECEIPT_CONFIRMED,
                                                                    State.EXTENDED)},
    **{(s, EventKind.VERIFIED): State.VERIFIED for s in (State.RECEIVED, State.RECEIPT_CONFIRMED, State.VERIFYING,
                                                         State.EXTENDED)},
    **{(s, EventKind.VERIFICATION_FAILED): State.VERIFICATION_FAILED for s in (State.VERIFYING, State.EXTENDED)},
    **{(s, EventKind.START): State.IN_PROGRESS for s in (State.RECEIVED, State.RECEIPT_CONFIRMED, State.VERIFIED,
                                                         State.EXTENDED)},
    **{(s, EventKind.EXTEND): State.EXTENDED for s in (State.RECEIPT_CONFIRMED, State.VERIFYING, State.VERIFIED,
                                                       State.IN_PROGRESS)},
    **{(s, EventKind.FULFIL): State.FULFILLED for s in (State.IN_PROGRESS, State.EXTENDED)},
    **{(s, EventKind.FULFIL_PARTIALLY): State.PARTIALLY_FULFILLED for s in (State.IN_PROGRESS, State.EXTENDED)},
    **{(s, EventKind.DENY): State.DENIED for s in _OPEN},
    **{(s, EventKind.APPEAL): State.APPEALED for s in CLOSED},
    # Identity proved while the appeal is open (the usual ground for reversing a "could not verify" denial).
    (State.APPEALED, EventKind.VERIFIED): State.APPEALED,
    (State.APPEALED, EventKind.DECIDE_APPEAL): APPEAL_OUTCOMES,
}  # fmt: skip

_MESSAGES = {
    EventKind.CONFIRM_RECEIPT: MessageKind.RECEIPT,
    EventKind.BEGIN_VERIFICATION: MessageKind.VERIFICATION_CODE,
    EventKind.VERIFICATION_FAILED: MessageKind.VERIFICATION_FAILED,
    EventKind.EXTEND: MessageKind.EXTENSION,
    EventKind.FULFIL: MessageKind.RESULT,
    EventKind.FULFIL_PARTIALLY: MessageKind.RESULT,
    EventKind.DENY: MessageKind.DENIAL,
    EventKind.APPEAL: MessageKind.APPEAL_RECEIVED,
    EventKind.DECIDE_APPEAL: MessageKind.APPEAL_DECISION,
}


def allowed_events(state: State) -> list[EventKind]:
    return [e for (s, e) in TRANSITIONS if s is state]


def advance(request: Request, event: Event, now: dt.datetime) -> tuple[Request, list[Effect]]:
    """The request after `event` at `now`, and what must happen because of it."""
    found = TRANSITIONS.get((request.state, event.kind))
    if found is None:
        allowed = ", ".join(e.value for e in allowed_events(request.state)) or "nothing: the request is final"
        raise IllegalTransition(f"request {request.request_id} is {request.state.value}; cannot {event.kind.value} "
                                f"(allowed: {allowed})")  # fmt: skip
    _guard(request, event, now)
    target = found if isinstance(found, State) else found[event.outcome or ""]
    changes: dict[str, object] = {"state": target}
    effects: list[Effect] = []
    match event.kind:
        case EventKind.VERIFIED:
            changes["verification_level"] = event.level or event.method or "verified"
        case EventKind.START:
            effects.append(StartFulfilment(request.request_id))
        case EventKind.DECIDE_APPEAL if target is State.IN_PROGRESS:
            changes |= {"appeal_outcome": event.outcome, "outcome_reasons": event.reasons}
            effects.append(StartFulfilment(request.request_id))
        case EventKind.EXTEND:
            changes |= {"extended": True, "extension_reason": "; ".join(event.reasons)}
            if request.dates.extended_due:
                effects.append(ScheduleReminder(request.request_id, request.dates.extended_due, "extended deadline"))
        case EventKind.FULFIL_PARTIALLY | EventKind.DENY | EventKind.VERIFICATION_FAILED:
            changes["outcome_reasons"] = event.reasons
        case EventKind.APPEAL:
            assert event.appeal_dates is not None
            changes |= {"appeal_text": event.text or "", "appeal_dates": event.appeal_dates, "closed_at": None}
            effects.append(ScheduleReminder(request.request_id, event.appeal_dates.due, "appeal deadline"))
        case EventKind.DECIDE_APPEAL:
            changes |= {"appeal_outcome": event.outcome, "outcome_reasons": event.reasons}
        case _:
            pass
    if target in CLOSED or target is State.APPEAL_DECIDED:
        changes["closed_at"] = now
    if target in CLOSED and request.responded_at is None:
        changes |= {"responded_at": now, "response_state": target}
    message = _MESSAGES.get(event.kind)
    if event.kind is EventKind.BEGIN_VERIFICATION and event.method != "email_code":
        message = None  # account sign-in and matching send no code
    if message is not None:
        effects.insert(0, SendMessage(request.request_id, message, event.reasons))
    return dataclasses.replace(request, **changes), effects  # type: ignore[arg-type]


def _guard(request: Request, event: Event, now: dt.datetime) -> None:
    today = catalogue().local_date(request.jurisdiction, now)  # the law's day, as the deadlines were counted
    kind = event.kind
    if kind is EventKind.START:
        _may_start(request)
    elif kind is EventKind.EXTEND:
        if request.extended:
            raise IllegalTransition("the request was already extended once; the law allows one extension")
        if request.dates.extended_due is None:
            raise IllegalTransition(f"the law of {request.jurisdiction or 'this request'} allows no extension here")
        if not event.reasons:
            raise RequestError("an extension needs its reason: the person must be told why")
        if request.dates.extension_notice_by and today > request.dates.extension_notice_by:
            raise IllegalTransition(
                f"too late to extend: the person had to be told by {request.dates.extension_notice_by}"
            )
    elif kind in (EventKind.DENY, EventKind.FULFIL_PARTIALLY, EventKind.VERIFICATION_FAILED):
        if not event.reasons:
            raise RequestError(f"{kind.value} needs reasons: the person must be told why")
    elif kind is EventKind.APPEAL:
        if event.appeal_dates is None:
            raise IllegalTransition(
                f"the law of {request.jurisdiction or 'this request'} gives no appeal to the company; the person "
                "may complain to the supervisory authority or attorney general"
            )
        if event.appeal_window_ends is not None and today > event.appeal_window_ends:
            raise IllegalTransition(f"the appeal window closed on {event.appeal_window_ends}")
        if request.appeal_outcome is not None:
            raise IllegalTransition(f"the request was appealed once already (the appeal was "
                                    f"{request.appeal_outcome}); that decision is final, and the person may complain "
                                    "to the regulator")  # fmt: skip
    elif kind is EventKind.DECIDE_APPEAL:
        if event.outcome is None or event.outcome not in APPEAL_OUTCOMES:
            raise RequestError("an appeal decision is 'upheld' or 'reversed'")
        if not event.reasons:
            raise RequestError("an appeal decision needs its reasons, in writing")
        if APPEAL_OUTCOMES[event.outcome] is State.IN_PROGRESS:
            _may_start(request)


def _may_start(request: Request) -> None:
    """Whether fulfilment may begin: the person verified where the right needs it, an agent approved and in scope."""
    if request.needs_verification and request.verification_level is None and request.state is not State.VERIFIED:
        hint = "; record the verification first (it may be recorded while the appeal is open)" \
            if request.state is State.APPEALED else ""  # fmt: skip
        raise IllegalTransition(f"a {request.kind.value} request must be verified before fulfilment starts{hint}")
    agent = request.agent
    if agent is not None and not agent.approved:
        raise IllegalTransition("the authorised agent's authority has not been approved; review it first")
    if agent is not None and agent.scope and request.kind not in agent.scope:
        raise IllegalTransition(f"the agent's authority does not cover {request.kind.value} requests")
