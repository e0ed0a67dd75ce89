"""The request lifecycle: every legal move, every illegal one refused, and no sequence reaching a bad state."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privet.law.vocabulary import Right
from privet.requests.lifecycle import (
    TRANSITIONS,
    Event,
    EventKind,
    IllegalTransition,
    MessageKind,
    RequestError,
    SendMessage,
    StartFulfilment,
    advance,
)
from privet.requests.model import CLOSED, Agent, Dates, Request, Requester, State

NOW = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)
DATES = Dates(due=dt.date(2025, 4, 3), extended_due=dt.date(2025, 6, 3), extension_notice_by=dt.date(2025, 4, 3))
APPEAL_DATES = Dates(due=dt.date(2025, 5, 2))


def request(kind: Right = Right.ACCESS, state: State = State.RECEIVED, **changes: object) -> Request:
    base = Request("r1", kind, "eu", NOW, state, Requester(email="ann@example.test"), DATES)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_access_request_end_to_end() -> None:
    r = request()
    r, fx = advance(r, Event(EventKind.CONFIRM_RECEIPT), NOW)
    assert fx == [SendMessage("r1", MessageKind.RECEIPT)]
    r, _ = advance(r, Event(EventKind.BEGIN_VERIFICATION, method="email_code"), NOW)
    r, _ = advance(r, Event(EventKind.VERIFIED, method="email_code", level="email"), NOW)
    r, fx = advance(r, Event(EventKind.START), NOW)
    assert fx == [StartFulfilment("r1")]
    r, fx = advance(r, Event(EventKind.FULFIL), NOW)
    assert (r.state, r.closed_at) == (State.FULFILLED, NOW)
    assert fx == [SendMessage("r1", MessageKind.RESULT)]


def test_unverified_requests_cannot_start_but_opt_outs_can() -> None:
    with pytest.raises(IllegalTransition, match="must be verified"):
        advance(request(), Event(EventKind.START), NOW)
    r, fx = advance(request(Right.OPT_OUT_SALE), Event(EventKind.START), NOW)
    assert r.state is State.IN_PROGRESS and fx == [StartFulfilment("r1")]


def test_extension_once_with_reasons_and_in_time() -> None:
    r = request(state=State.IN_PROGRESS, verification_level="email")
    with pytest.raises(RequestError, match="needs its reason"):
        advance(r, Event(EventKind.EXTEND), NOW)
    r, fx = advance(r, Event(EventKind.EXTEND, reasons=("many systems",)), NOW)
    assert r.extended and r.due_date() == dt.date(2025, 6, 3)
    assert fx[0] == SendMessage("r1", MessageKind.EXTENSION, ("many systems",))
    r, _ = advance(r, Event(EventKind.START), NOW)
    with pytest.raises(IllegalTransition, match="already extended"):
        advance(r, Event(EventKind.EXTEND, reasons=("again",)), NOW)
    late = request(state=State.IN_PROGRESS, verification_level="email")
    with pytest.raises(IllegalTransition, match="too late to extend"):
        advance(late, Event(EventKind.EXTEND, reasons=("x",)), dt.datetime(2025, 4, 4, 12, tzinfo=dt.UTC))
    # The law's day, as the deadlines were counted: 00:00 UTC on 4 April is still 3 April in the EU's westernmost
    # zone (America/Guadeloupe), so the notice is still in time.
    assert advance(late, Event(EventKind.EXTEND, reasons=("x",)), dt.datetime(2025, 4, 4, tzinfo=dt.UTC))[0].extended
    no_ext = request(state=State.IN_PROGRESS, dates=Dates(due=dt.date(2025, 3, 20)))
    with pytest.raises(IllegalTransition, match="allows no extension"):
        advance(no_ext, Event(EventKind.EXTEND, reasons=("x",)), NOW)


def test_denial_needs_reasons() -> None:
    with pytest.raises(RequestError, match="needs reasons"):
        advance(request(), Event(EventKind.DENY), NOW)
    r, fx = advance(request(), Event(EventKind.DENY, reasons=("identity could not be verified",)), NOW)
    assert r.state is State.DENIED and r.outcome_reasons == ("identity could not be verified",)
    assert fx == [SendMessage("r1", MessageKind.DENIAL, ("identity could not be verified",))]


def test_appeals_only_where_the_law_gives_one_and_within_the_window() -> None:
    denied = request(state=State.DENIED, closed_at=NOW)
    with pytest.raises(IllegalTransition, match="gives no appeal"):
        advance(denied, Event(EventKind.APPEAL, text="please"), NOW)
    late = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    with pytest.raises(IllegalTransition, match="window closed on 2025-05-02"):
        advance(denied, Event(EventKind.APPEAL, appeal_dates=APPEAL_DATES, appeal_window_ends=dt.date(2025, 5, 2)), late)
    r, _ = advance(denied, Event(EventKind.APPEAL, text="I disagree", appeal_dates=APPEAL_DATES), NOW)
    assert r.state is State.APPEALED and r.due_date() == dt.date(2025, 5, 2) and r.closed_at is None
    r, fx = advance(r, Event(EventKind.DECIDE_APPEAL, outcome="upheld", reasons=("exemption applies",)), NOW)
    assert r.state is State.APPEAL_DECIDED and fx[0].message is MessageKind.APPEAL_DECISION  # type: ignore[union-attr]
    assert r.appeal_outcome == "upheld" and r.closed_at == NOW and StartFulfilment("r1") not in fx
    with pytest.raises(IllegalTransition, match="nothing: the request is final"):
        advance(r, Event(EventKind.APPEAL, appeal_dates=APPEAL_DATES), NOW)


def test_a_reversed_appeal_is_acted_on_and_ends_fulfilled() -> None:
    denied, _ = advance(request(Right.DELETION), Event(EventKind.DENY, reasons=("identity not verified",)), NOW)
    later = NOW + dt.timedelta(days=2)
    r, _ = advance(denied, Event(EventKind.APPEAL, text="here is my order", appeal_dates=APPEAL_DATES), later)
    reverse = Event(EventKind.DECIDE_APPEAL, outcome="reversed", reasons=("identity verified on appeal",))
    with pytest.raises(IllegalTransition, match="must be verified before fulfilment starts; record the verification"):
        advance(r, reverse, later)
    r, fx = advance(r, Event(EventKind.VERIFIED, method="matching", level="3 points"), later)
    assert (r.state, r.verification_level, fx) == (State.APPEALED, "3 points", [])
    r, fx = advance(r, reverse, later)
    assert (r.state, r.appeal_outcome, r.closed_at) == (State.IN_PROGRESS, "reversed", None)
    assert fx == [SendMessage("r1", MessageKind.APPEAL_DECISION, ("identity verified on appeal",)),
                  StartFulfilment("r1")]  # fmt: skip
    assert r.due_date() == APPEAL_DATES.due  # acting on the reversal answers to the appeal's deadline
    done = later + dt.timedelta(days=1)
    r, fx = advance(r, Event(EventKind.FULFIL_PARTIALLY, reasons=("invoices kept for tax law",)), done)
    assert (r.state, r.closed_at, fx[0].message) == (State.PARTIALLY_FULFILLED, done, MessageKind.RESULT)  # type: ignore[union-attr]
    assert (r.responded_at, r.response_state) == (NOW, State.DENIED)  # the first answer, for the metrics
    with pytest.raises(IllegalTransition, match=r"appealed once already \(the appeal was reversed\)"):
        advance(r, Event(EventKind.APPEAL, text="again", appeal_dates=APPEAL_DATES), done)


def test_a_reversal_needs_an_approved_agent_like_any_start() -> None:
    agent = Agent("Agent Co", evidence="signed_letter", reviewed=True)
    r = request(state=State.APPEALED, verification_level="email", agent=agent, appeal_dates=APPEAL_DATES)
    with pytest.raises(IllegalTransition, match="not been approved"):
        advance(r, Event(EventKind.DECIDE_APPEAL, outcome="reversed", reasons=("x",)), NOW)
    with pytest.raises(RequestError, match="'upheld' or 'reversed'"):
        advance(r, Event(EventKind.DECIDE_APPEAL, outcome="maybe", reasons=("x",)), NOW)


def test_agents_act_only_when_approved_and_within_their_grant() -> None:
    agent = Agent("Agent Co", evidence="signed_letter")
    r = request(state=State.VERIFIED, verification_level="email", agent=agent)
    with pytest.raises(IllegalTransition, match="not been approved"):
        advance(r, Event(EventKind.START), NOW)
    scoped = dataclasses.replace(agent, approved=True, reviewed=True, scope=(Right.DELETION,))
    with pytest.raises(IllegalTransition, match="does not cover access"):
        advance(dataclasses.replace(r, agent=scoped), Event(EventKind.START), NOW)
    ok = dataclasses.replace(agent, approved=True, reviewed=True, scope=(Right.ACCESS,))
    assert advance(dataclasses.replace(r, agent=ok), Event(EventKind.START), NOW)[0].state is State.IN_PROGRESS


def test_illegal_move_names_what_is_allowed() -> None:
    with pytest.raises(IllegalTransition, match=r"is received; cannot fulfil \(allowed: confirm_receipt"):
        advance(request(), Event(EventKind.FULFIL), NOW)


EVENTS = st.sampled_from(
    [
        Event(EventKind.CONFIRM_RECEIPT),
        Event(EventKind.BEGIN_VERIFICATION, method="email_code"),
        Event(EventKind.VERIFIED, level="email"),
        Event(EventKind.VERIFICATION_FAILED, reasons=("no match",)),
        Event(EventKind.START),
        Event(EventKind.EXTEND, reasons=("complex",)),
        Event(EventKind.FULFIL),
        Event(EventKind.FULFIL_PARTIALLY, reasons=("invoices kept",)),
        Event(EventKind.DENY, reasons=("excessive",)),
        Event(EventKind.APPEAL, text="no", appeal_dates=APPEAL_DATES),
        Event(EventKind.DECIDE_APPEAL, outcome="reversed", reasons=("agreed",)),
        Event(EventKind.DECIDE_APPEAL, outcome="upheld", reasons=("exemption applies",)),
    ]
)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from([Right.ACCESS, Right.DELETION, Right.OPT_OUT_SALE]), events=st.lists(EVENTS, max_size=12))
def test_no_sequence_reaches_an_illegal_state(kind: Right, events: list[Event]) -> None:
    r = request(kind)
    trail = [r.state]
    appeals = 0
    for event in events:
        try:
            r, effects = advance(r, event, NOW)
        except RequestError:
            continue
        appeals += event.kind is EventKind.APPEAL
        assert (trail[-1], event.kind) in TRANSITIONS
        trail.append(r.state)
        if r.state is State.IN_PROGRESS and r.needs_verification:
            assert r.verification_level is not None  # fulfilment never starts unverified
        if any(isinstance(e, StartFulfilment) for e in effects):
            assert r.state is State.IN_PROGRESS  # work starts on START, or on an appeal decided for the person
        if event.kind is EventKind.DECIDE_APPEAL:
            assert r.appeal_outcome == event.outcome and r.outcome_reasons == event.reasons
            assert r.state is (State.IN_PROGRESS if event.outcome == "reversed" else State.APPEAL_DECIDED)
            assert (StartFulfilment("r1") in effects) is (event.outcome == "reversed")
        if r.state in CLOSED:
            assert r.closed_at is not None
        if r.state in (State.DENIED, State.PARTIALLY_FULFILLED, State.VERIFICATION_FAILED):
            assert r.outcome_reasons  # the person is always told why
        assert all(isinstance(e, SendMessage | StartFulfilment) or e.on for e in effects)
    if State.EXTENDED in trail:
        assert r.extended
    assert appeals <= 1  # a request is appealed once; the decision on it is final
    if State.APPEAL_DECIDED in trail:
        assert r.state is State.APPEAL_DECIDED and r.appeal_outcome == "upheld"  # final: nothing moves it


def test_the_first_answer_survives_an_appeal() -> None:
    r, _ = advance(request(), Event(EventKind.DENY, reasons=("no such data",)), NOW)
    later = NOW + dt.timedelta(days=3)
    r, _ = advance(r, Event(EventKind.APPEAL, text="there is", appeal_dates=APPEAL_DATES), later)
    r, _ = advance(r, Event(EventKind.VERIFIED, method="account", level="account"), later)
    r, _ = advance(r, Event(EventKind.DECIDE_APPEAL, outcome="reversed", reasons=("found it",)), later)
    r, _ = advance(r, Event(EventKind.FULFIL), later)
    assert (r.responded_at, r.response_state) == (NOW, State.DENIED)
