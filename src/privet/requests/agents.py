"""Authorised agents: whether the evidence of authority holds, and whether the person must still confirm it.

A power of attorney, or a letter signed by the person that names them (with contact details), names the agent
and states the authorisation. With a letter the person may still be asked to verify themselves and confirm
the agent directly; a power of attorney, and signed permission for an opt-out, need no more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from privet.law.vocabulary import Right
from privet.requests.model import NO_VERIFICATION, Agent


class Document(StrEnum):
    POWER_OF_ATTORNEY = "power_of_attorney"
    SIGNED_LETTER = "signed_letter"


class AgentOutcome(StrEnum):
    APPROVED = "approved"
    NEEDS_PERSON_CONFIRMATION = "needs_person_confirmation"  # the person verifies themselves and confirms the agent
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class AgentEvidence:
    """What a reviewer found in the agent's document (the document itself stays where Agent.document_ref says)."""

    document: Document
    names_person: bool  # the person's name and contact details
    names_agent: bool  # the agent's name and contact details
    states_authorisation: bool  # the person authorises the agent to make requests for them
    signed: bool  # by the person
    person_confirmed: bool = False  # the person has verified themselves and confirmed the agent directly


@dataclass(frozen=True, slots=True)
class AgentRules:
    """Where a jurisdiction's law says how agents are treated. Kept here until the law tables carry agents."""

    confirm: str  # the person may be asked to verify themselves and confirm the agent's permission
    power_of_attorney: str  # a power of attorney is accepted without the person's confirmation
    opt_out: str  # signed permission is enough for an opt-out, which may not wait on verification
    inferred: bool = False


AGENT_RULES: Mapping[str, AgentRules] = {
    "us-ca": AgentRules(
        confirm="11 CCR 7063(a)",
        power_of_attorney="11 CCR 7063(b); Cal. Prob. Code 4121-4130",
        opt_out="11 CCR 7026(j); 7027 (requests to limit, by the same rule)",
        inferred=True,
    ),
}
DEFAULT_AGENT_RULES = AgentRules(
    confirm="privacy notice: the person may be asked to confirm the agent's authority",
    power_of_attorney="privacy notice: a power of attorney is accepted as authority",
    opt_out="privacy notice: opt-outs are honoured without verification",
    inferred=True,
)


@dataclass(frozen=True, slots=True)
class AgentReview:
    outcome: AgentOutcome
    agent: Agent  # the agent as reviewed: store it on the request
    reasons: tuple[str, ...]
    cites: tuple[str, ...]
    inferred: bool = False

    @property
    def approved(self) -> bool:
        return self.outcome is AgentOutcome.APPROVED


def within_grant(agent: Agent, kind: Right) -> bool:
    """The agent acts only within the grant; an empty scope covers every right."""
    return not agent.scope or kind in agent.scope


def review_agent(agent: Agent, evidence: AgentEvidence, kind: Right, jurisdiction: str | None) -> AgentReview:
    rules = AGENT_RULES.get(jurisdiction or "", DEFAULT_AGENT_RULES)
    what = "power of attorney" if evidence.document is Document.POWER_OF_ATTORNEY else "letter"
    problems: list[str] = []
    if not evidence.signed:
        problems.append(f"the {what} is not signed by the person; ask the agent for a signed copy")
    if not evidence.names_person:
        problems.append(f"the {what} does not give the person's name and contact details")
    if not evidence.names_agent:
        problems.append(f"the {what} does not name the agent ({agent.name}) with contact details")
    if not evidence.states_authorisation:
        problems.append(f"the {what} does not state that the person authorises the agent to act for them")
    if not within_grant(agent, kind):
        covered = ", ".join(r.value for r in agent.scope)
        problems.append(f"the agent's grant covers {covered}, not {kind.value} requests")
    confirmed = agent.confirmed_by_person or evidence.person_confirmed
    reviewed = replace(agent, evidence=evidence.document.value, reviewed=True, confirmed_by_person=confirmed)
    if problems:
        return AgentReview(AgentOutcome.REJECTED, replace(reviewed, approved=False), tuple(problems), ())
    if evidence.document is Document.POWER_OF_ATTORNEY:
        outcome, reason, cite = (AgentOutcome.APPROVED, "a power of attorney: the person is not asked to confirm it",
                                 rules.power_of_attorney)  # fmt: skip
    elif kind in NO_VERIFICATION:
        outcome, reason, cite = (AgentOutcome.APPROVED, f"signed permission is enough for this {kind.value} request, "
                                 "which may not wait on the person's verification", rules.opt_out)  # fmt: skip
    elif confirmed:
        outcome, reason, cite = (AgentOutcome.APPROVED, "the person confirmed the agent's authority directly",
                                 rules.confirm)  # fmt: skip
    else:
        outcome, reason, cite = (AgentOutcome.NEEDS_PERSON_CONFIRMATION, "a signed letter: the person must verify "
                                 "their own identity and confirm directly that they gave the agent permission",
                                 rules.confirm)  # fmt: skip
    approved = outcome is AgentOutcome.APPROVED
    return AgentReview(outcome, replace(reviewed, approved=approved), (reason,), (cite,), rules.inferred)
