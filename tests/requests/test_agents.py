"""Authorised agents: each path through the evidence, the grant's scope, and the lifecycle's guard agreeing."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from privet.law.vocabulary import Right
from privet.requests.agents import AgentEvidence, AgentOutcome, Document, review_agent, within_grant
from privet.requests.lifecycle import Event, EventKind, IllegalTransition, advance
from privet.requests.model import Agent, Dates, Request, Requester, State

NOW = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)
AGENT = Agent(name="Pat Agent", email="pat@agents.test", document_ref="docs/7")
LETTER = AgentEvidence(
    Document.SIGNED_LETTER, names_person=True, names_agent=True, states_authorisation=True, signed=True
)
POA = dataclasses.replace(LETTER, document=Document.POWER_OF_ATTORNEY)

APPROVED, CONFIRM, REJECTED = AgentOutcome.APPROVED, AgentOutcome.NEEDS_PERSON_CONFIRMATION, AgentOutcome.REJECTED


POA_REASON = "a power of attorney: the person is not asked to confirm it"
LETTER_REASON = ("a signed letter: the person must verify their own identity and confirm directly that they gave "
                 "the agent permission")  # fmt: skip
NOTICE_CONFIRM = "privacy notice: the person may be asked to confirm the agent's authority"


# fmt: off
VALID = [
    (POA, Right.ACCESS, "us-ca", APPROVED, POA_REASON, "11 CCR 7063(b); Cal. Prob. Code 4121-4130"),
    (LETTER, Right.ACCESS, "us-ca", CONFIRM, LETTER_REASON, "11 CCR 7063(a)"),
    (LETTER, Right.DELETION, "eu", CONFIRM, LETTER_REASON, NOTICE_CONFIRM),
    (LETTER, Right.KNOW, None, CONFIRM, LETTER_REASON, NOTICE_CONFIRM),
    (dataclasses.replace(LETTER, person_confirmed=True), Right.ACCESS, "us-ca", APPROVED,
     "the person confirmed the agent's authority directly", "11 CCR 7063(a)"),
    (LETTER, Right.OPT_OUT_SALE, "us-ca", APPROVED,
     "signed permission is enough for this opt_out_sale request, which may not wait on the person's verification",
     "11 CCR 7026(j); 7027 (requests to limit, by the same rule)"),
    (POA, Right.DELETION, "eu", APPROVED, POA_REASON, "privacy notice: a power of attorney is accepted as authority"),
]
# fmt: on


@pytest.mark.parametrize(("evidence", "kind", "jurisdiction", "outcome", "reason", "cite"), VALID)
def test_valid_evidence(
    evidence: AgentEvidence, kind: Right, jurisdiction: str | None, outcome: AgentOutcome, reason: str, cite: str
) -> None:
    review = review_agent(AGENT, evidence, kind, jurisdiction)
    assert (review.outcome, review.reasons, review.cites) == (outcome, (reason,), (cite,))
    assert review.agent.reviewed
    assert review.agent.approved is (outcome is APPROVED) is review.approved
    assert review.agent.evidence == evidence.document.value
    assert review.agent.confirmed_by_person is evidence.person_confirmed


# fmt: off
INCOMPLETE = [
    (dataclasses.replace(LETTER, signed=False), "the letter is not signed by the person; ask the agent for a signed copy"),
    (dataclasses.replace(POA, signed=False), "the power of attorney is not signed by the person; ask the agent for a signed copy"),
    (dataclasses.replace(LETTER, names_person=False), "the letter does not give the person's name and contact details"),
    (dataclasses.replace(LETTER, names_agent=False), "the letter does not name the agent (Pat Agent) with contact details"),
    (dataclasses.replace(LETTER, states_authorisation=False), "the letter does not state that the person authorises the agent to act for them"),
]
# fmt: on


@pytest.mark.parametrize(("evidence", "reason"), INCOMPLETE)
def test_incomplete_evidence_is_rejected_with_its_reason(evidence: AgentEvidence, reason: str) -> None:
    # Even where a signed letter would otherwise be enough (an opt-out), or confirmation was given.
    for kind, confirmed in [(Right.ACCESS, False), (Right.OPT_OUT_SALE, False), (Right.ACCESS, True)]:
        review = review_agent(AGENT, dataclasses.replace(evidence, person_confirmed=confirmed), kind, "us-ca")
        assert (review.outcome, review.reasons) == (REJECTED, (reason,))
        assert review.agent.reviewed and not review.agent.approved


def test_every_problem_is_listed() -> None:
    nothing = AgentEvidence(Document.SIGNED_LETTER, False, False, False, False)
    assert len(review_agent(AGENT, nothing, Right.ACCESS, "us-ca").reasons) == 4


def test_earlier_confirmation_by_the_person_is_kept() -> None:
    confirmed = dataclasses.replace(AGENT, confirmed_by_person=True)
    review = review_agent(confirmed, LETTER, Right.ACCESS, "us-ca")
    assert review.outcome is APPROVED and review.agent.confirmed_by_person


def test_a_rejected_review_withdraws_an_earlier_approval() -> None:
    approved = review_agent(AGENT, POA, Right.ACCESS, "us-ca").agent
    assert approved.approved
    review = review_agent(approved, dataclasses.replace(POA, signed=False), Right.ACCESS, "us-ca")
    assert not review.agent.approved


@pytest.mark.parametrize(
    ("scope", "kind", "inside"),
    [
        ((), Right.ACCESS, True),
        ((), Right.DELETION, True),
        ((Right.DELETION,), Right.DELETION, True),
        ((Right.DELETION,), Right.ACCESS, False),
        ((Right.ACCESS, Right.PORTABILITY), Right.PORTABILITY, True),
    ],
)
def test_within_grant(scope: tuple[Right, ...], kind: Right, inside: bool) -> None:
    assert within_grant(dataclasses.replace(AGENT, scope=scope), kind) is inside


def test_request_outside_the_grant_is_rejected() -> None:
    agent = dataclasses.replace(AGENT, scope=(Right.DELETION,))
    review = review_agent(agent, POA, Right.ACCESS, "us-ca")
    assert (review.outcome, review.reasons) == (REJECTED, ("the agent's grant covers deletion, not access requests",))


def _verified_request(agent: Agent) -> Request:
    return Request("r1", Right.ACCESS, "us-ca", NOW, State.VERIFIED, Requester(email="ann@example.test"),
                   Dates(due=dt.date(2025, 4, 17)), agent=agent, verification_level="us-ca/access")  # fmt: skip


def test_lifecycle_starts_only_with_an_approved_agent() -> None:
    approved = review_agent(AGENT, POA, Right.ACCESS, "us-ca").agent
    started, _ = advance(_verified_request(approved), Event(EventKind.START), NOW)
    assert started.state is State.IN_PROGRESS
    pending = review_agent(AGENT, LETTER, Right.ACCESS, "us-ca").agent
    with pytest.raises(IllegalTransition, match="has not been approved"):
        advance(_verified_request(pending), Event(EventKind.START), NOW)
