"""Decisions: may purpose P use category C of this person, sent to recipient R? One, or up to 10,000 per call.

The people of a batch are read together (a few queries however many); the decision itself is a lookup in the
compiled policy's memo. Someone privet does not know is decided as a person with no recorded choices.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field

from privet.api.auth import Principal, require
from privet.api.deps import Services, ServicesDep, get_services
from privet.api.errors import problem_responses
from privet.api.models import IdentifierText, Input, Jurisdiction, Key, Output, SubjectId
from privet.api.people import Who
from privet.api.roles import Scope
from privet.policy.compiled import SubjectView

router = APIRouter(prefix="/api/v1", tags=["decisions"])

MAX_DECISIONS = 10_000


class DecisionIn(Input):
    purpose: Key = Field(description="A purpose of the taxonomy, e.g. marketing.advertising.third_party.targeted")
    category: Key = Field(description="A data category, e.g. user.contact.email")
    recipient: Key | None = Field(default=None, description="Who receives the data, a recipient of the manifest")
    subject_id: SubjectId | None = None
    identifier: IdentifierText | None = Field(default=None, description="kind:value, e.g. email:ann@example.com")
    jurisdiction: Jurisdiction | None = Field(default=None, description="Residence, when privet does not know it")


class DecisionsIn(Input):
    items: list[DecisionIn] = Field(min_length=1, max_length=MAX_DECISIONS)


class DecisionOut(Output):
    outcome: str = Field(description="allow or deny")
    rule: str
    reasons: list[str]
    purpose: str
    category: str
    recipient: str | None
    activity: str | None
    basis: str | None
    consent_key: str | None
    jurisdiction: str | None
    cites: list[str]
    evidence_event: str | None = Field(description="The ledger event behind the consent key or signal, if any")


class DecisionsOut(Output):
    decisions: list[DecisionOut]


def _decided(view: SubjectView, item: DecisionIn, services: Services) -> dict[str, Any]:
    decision = services.runtime.policy.decide(view, item.category, item.purpose, item.recipient)
    return {**decision.as_json(), "evidence_event": view.evidence(decision)}


@router.post("/decisions", response_model=DecisionOut, responses=problem_responses(401, 403, 422))
def decide(item: DecisionIn, services: ServicesDep,
           _: Principal = Depends(require(Scope.DECIDE))) -> DecisionOut:  # fmt: skip
    """Allow or deny, with the rule that decided and every reason."""
    view = services.people.view(Who(item.subject_id, item.identifier, item.jurisdiction), services.runtime.now().date())
    return DecisionOut.model_validate(_decided(view, item, services))


@router.post("/decisions/batch", response_model=DecisionsOut, responses=problem_responses(401, 403, 413, 422))
def decide_many(body: DecisionsIn, request: Request,
                _: Principal = Depends(require(Scope.DECIDE))) -> Response:  # fmt: skip
    """Up to 10,000 decisions in one call, answered in the order asked."""
    services = get_services(request)
    people = [Who(i.subject_id, i.identifier, i.jurisdiction) for i in body.items]
    views = services.people.views(people, services.runtime.now().date())
    decided = [_decided(views[who], i, services) for who, i in zip(people, body.items, strict=True)]
    # Checked against the model in one pass and serialised once (FastAPI would check and encode it again).
    answer = DecisionsOut.model_validate({"decisions": decided})
    return Response(answer.model_dump_json(), media_type="application/json")
