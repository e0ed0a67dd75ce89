"""The request service end to end on in-memory stores: intake, steps, messages, audit chain, duplicates."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privet.audit import verify_chain
from privet.law.vocabulary import Right
from privet.manifest.model import Manifest
from privet.requests.intake import Submission
from privet.requests.lifecycle import Event, EventKind, IllegalTransition, MessageKind, RequestError
from privet.requests.memory import MemoryAudit, MemoryOutbox, MemoryRequests, MemoryScheduler, no_transaction
from privet.requests.messages import Message, MessageError, render_message
from privet.requests.model import Requester, State
from privet.requests.service import RequestService
from privet.workspace.manifest_files import load_manifest
from tests.conftest import MINIMAL

NOW = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest(MINIMAL).manifest


class Setup:
    def __init__(self, manifest: Manifest) -> None:
        self.requests = MemoryRequests()
        self.outbox = MemoryOutbox()
        self.audit = MemoryAudit()
        self.scheduler = MemoryScheduler()

        def render(kind: MessageKind, request: object, reasons: Sequence[str], extra: Mapping[str, str]) -> Message:
            return render_message(kind, request, manifest, reasons, extra)  # type: ignore[arg-type]

        self.service = RequestService(manifest, self.requests, self.outbox, self.audit, self.scheduler, render,
                                      no_transaction)  # fmt: skip


@pytest.fixture
def setup(manifest: Manifest) -> Setup:
    return Setup(manifest)


def test_access_request_through_the_service(setup: Setup) -> None:
    s = setup.service
    submitted = s.submit(Submission(Right.ACCESS, Requester(email="ann@example.test"), "eu"), NOW)
    r = submitted.request
    assert r.state is State.RECEIPT_CONFIRMED and not submitted.duplicate
    assert [m.kind for m in setup.outbox.all()] == ["receipt"]
    assert setup.outbox.all()[0].to == "ann@example.test"
    r = s.act(r.request_id, Event(EventKind.VERIFIED, method="account", level="account"), NOW, "staff:ida")
    r = s.act(r.request_id, Event(EventKind.START), NOW)
    assert setup.scheduler.fulfilments == [r.request_id]
    r = s.act(r.request_id, Event(EventKind.FULFIL), NOW)
    assert r.state is State.FULFILLED
    assert [e.action for e in setup.audit.entries] == ["received", "confirm_receipt", "verified", "start", "fulfil"]
    assert setup.audit.entries[2].actor == "staff:ida"
    assert verify_chain(setup.audit.entries).ok


def test_duplicate_submission_is_recognised_not_doubled(setup: Setup) -> None:
    s = setup.service
    first = s.submit(Submission(Right.DELETION, Requester(email="bob@example.test"), "us-ca"), NOW)
    again = s.submit(Submission(Right.DELETION, Requester(email="BOB@example.test "), "us-ca"), NOW)
    assert again.duplicate and again.request.request_id == first.request.request_id
    assert len(setup.requests.all()) == 1
    assert setup.audit.entries[-1].action == "duplicate_submission"


def test_opt_out_starts_at_once_without_verification(setup: Setup) -> None:
    r = setup.service.submit(Submission(Right.OPT_OUT_SALE, Requester(email="c@example.test"), "us-ca"), NOW).request
    assert r.state is State.IN_PROGRESS and setup.scheduler.fulfilments == [r.request_id]


def test_right_not_granted_is_denied_with_reasons(setup: Setup) -> None:
    r = setup.service.submit(Submission(Right.RESTRICTION, Requester(email="d@example.test"), "us-ca"), NOW).request
    assert r.state is State.DENIED
    denial = setup.outbox.for_request(r.request_id)[-1]
    assert denial.kind == "denial" and "restriction" in denial.body


def test_appeal_after_denial_where_the_law_gives_one(setup: Setup) -> None:
    s = setup.service
    r = s.submit(Submission(Right.ACCESS, Requester(email="e@example.test"), "us-va"), NOW).request
    r = s.act(r.request_id, Event(EventKind.DENY, reasons=("could not verify",)), NOW)
    r = s.appeal(r.request_id, "I sent my order number", NOW + dt.timedelta(days=5))
    assert r.state is State.APPEALED and r.appeal_dates is not None
    eu = s.submit(Submission(Right.ACCESS, Requester(email="f@example.test"), "eu"), NOW).request
    eu = s.act(eu.request_id, Event(EventKind.DENY, reasons=("manifestly unfounded",)), NOW)
    with pytest.raises(IllegalTransition, match="gives no appeal"):
        s.appeal(eu.request_id, "please", NOW)


def test_unknown_request_id(setup: Setup) -> None:
    with pytest.raises(RequestError, match="no request 'nope'"):
        setup.service.act("nope", Event(EventKind.START), NOW)


STEPS = st.lists(st.sampled_from([
    Event(EventKind.VERIFIED, level="account"), Event(EventKind.START), Event(EventKind.EXTEND, reasons=("busy",)),
    Event(EventKind.FULFIL), Event(EventKind.DENY, reasons=("no",)), Event(EventKind.BEGIN_VERIFICATION, method="m"),
]), max_size=8)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(steps=STEPS)
def test_no_sequence_loses_the_audit_chain(manifest: Manifest, steps: list[Event]) -> None:
    setup = Setup(manifest)
    r = setup.service.submit(Submission(Right.DELETION, Requester(email="g@example.test"), "eu"), NOW).request
    done = 2
    for event in steps:
        try:
            setup.service.act(r.request_id, event, NOW)
            done += 1
        except RequestError:
            pass
    assert len(setup.audit.entries) == done
    assert verify_chain(setup.audit.entries).ok


def test_a_message_that_cannot_be_written_changes_nothing(setup: Setup) -> None:
    s = setup.service
    r = s.submit(Submission(Right.ACCESS, Requester(email="h@example.test"), "eu"), NOW).request
    entries, messages = len(setup.audit.entries), len(setup.outbox.all())
    with pytest.raises(MessageError, match="needs extra\\['code'\\]"):
        s.act(r.request_id, Event(EventKind.BEGIN_VERIFICATION, method="email_code"), NOW)  # no code given
    assert setup.requests.get(r.request_id).state is State.RECEIPT_CONFIRMED  # type: ignore[union-attr]
    assert (len(setup.audit.entries), len(setup.outbox.all())) == (entries, messages)


def test_email_code_verification(setup: Setup) -> None:
    import re

    secret = b"s" * 32
    s = setup.service
    r = s.submit(Submission(Right.ACCESS, Requester(email="i@example.test"), "eu"), NOW).request
    r = s.send_code(r.request_id, secret, NOW)
    assert r.state is State.VERIFYING
    body = setup.outbox.for_request(r.request_id)[-1].body
    code = re.search(r"\b(\d{6})\b", body)
    assert code is not None
    assert s.check_code(r.request_id, secret, "000000" if code.group(1) != "000000" else "111111", NOW).status.value == "wrong"
    assert s.check_code(r.request_id, secret, code.group(1), NOW).ok
    assert s.get(r.request_id).state is State.VERIFIED
    assert code.group(1) not in str(setup.requests.get_secret(r.request_id, "email_code"))


def test_too_many_wrong_codes_fail_verification(setup: Setup) -> None:
    secret = b"s" * 32
    s = setup.service
    r = s.submit(Submission(Right.DELETION, Requester(email="j@example.test"), "eu"), NOW).request
    s.send_code(r.request_id, secret, NOW)
    for _ in range(5):
        s.check_code(r.request_id, secret, "abcdef", NOW)
    assert s.get(r.request_id).state is State.VERIFICATION_FAILED


def test_an_agents_opt_out_waits_for_the_review_of_authority(setup: Setup) -> None:
    from privet.requests.model import Agent

    submission = Submission(Right.OPT_OUT_SALE, Requester(email="k@example.test"), "us-ca", agent=Agent("Agent Co"))
    r = setup.service.submit(submission, NOW).request
    assert r.state is State.RECEIPT_CONFIRMED and setup.scheduler.fulfilments == []


def test_reviewing_an_agent_asks_the_person_approves_or_starts_work(setup: Setup) -> None:
    from privet.requests.agents import AgentEvidence, AgentOutcome, Document
    from privet.requests.model import Agent

    s = setup.service
    letter = AgentEvidence(Document.SIGNED_LETTER, names_person=True, names_agent=True, states_authorisation=True,
                           signed=True)  # fmt: skip
    agent = Agent("Agent Co", "agent@agency.test", "signed_letter", "letter.pdf")
    r = s.submit(Submission(Right.ACCESS, Requester(email="p@example.test"), "us-ca", agent=agent), NOW).request
    done = s.review_agent(r.request_id, letter, NOW, "staff:ida")
    assert done.review.outcome is AgentOutcome.NEEDS_PERSON_CONFIRMATION and done.asked_person
    assert done.request.agent is not None and done.request.agent.reviewed and not done.request.agent.approved
    asked = [m for m in setup.outbox.all() if m.kind == "agent_confirmation"]
    assert len(asked) == 1 and asked[0].to == "p@example.test"
    entry = setup.audit.entries[-1]
    assert (entry.actor, entry.action, entry.payload["outcome"]) == ("staff:ida", "agent_reviewed",
                                                                     "needs_person_confirmation")  # fmt: skip
    confirmed = s.review_agent(r.request_id, dataclasses.replace(letter, person_confirmed=True), NOW, "staff:ida")
    assert confirmed.review.approved and confirmed.request.state is State.RECEIPT_CONFIRMED  # still to be verified
    assert len([m for m in setup.outbox.all() if m.kind == "agent_confirmation"]) == 1

    opt_out = Submission(Right.OPT_OUT_SALE, Requester(email="q@example.test"), "us-ca", agent=Agent("Agent Co"))
    o = s.submit(opt_out, NOW).request
    poa = dataclasses.replace(letter, document=Document.POWER_OF_ATTORNEY)
    started = s.review_agent(o.request_id, poa, NOW)
    assert started.review.approved and started.request.state is State.IN_PROGRESS
    assert setup.scheduler.fulfilments == [o.request_id]

    plain = s.submit(Submission(Right.ACCESS, Requester(email="r@example.test"), "us-ca"), NOW).request
    with pytest.raises(RequestError, match="has no authorised agent"):
        s.review_agent(plain.request_id, letter, NOW)
    s.act(o.request_id, Event(EventKind.FULFIL), NOW)
    with pytest.raises(RequestError, match="is fulfilled; its agent can no longer be reviewed"):
        s.review_agent(o.request_id, poa, NOW)


def test_verification_by_signed_in_account(setup: Setup) -> None:
    from privet.requests.verification import AccountTokenError
    from privet.requests.verification import make_account_token as make_token_for_tests

    key = b"a" * 32
    r = setup.service.submit(Submission(Right.ACCESS, Requester(email="l@example.test"), "eu"), NOW).request
    with pytest.raises(AccountTokenError):
        setup.service.verify_by_account(r.request_id, [key], "not-a-token", NOW)
    token = make_token_for_tests(key, "user-42", NOW)
    assert setup.service.verify_by_account(r.request_id, [key], token, NOW).state is State.VERIFIED


def test_verification_by_matching_data_points_keeps_names_not_values(setup: Setup) -> None:
    r = setup.service.submit(Submission(Right.ACCESS, Requester(email="m@example.test"), "us-ca"), NOW).request
    held = {"email": "m@example.test", "name": "Mia Muster", "phone": "+14155550123", "order_number": "A-1"}
    weak = setup.service.verify_by_matching(r.request_id, {"email": "m@example.test"}, held, False, NOW)
    assert not weak.met and setup.service.get(r.request_id).state is State.RECEIPT_CONFIRMED
    strong = setup.service.verify_by_matching(
        r.request_id, {"email": "M@example.test", "name": "mia muster", "order_number": "A-1"}, held, True, NOW
    )
    assert strong.met and setup.service.get(r.request_id).state is State.VERIFIED
    recorded = [e for e in setup.audit.entries if e.action == "data_points_matched"]
    assert len(recorded) == 2 and "Mia" not in str(recorded[-1].payload) and "A-1" not in str(recorded[-1].payload)
