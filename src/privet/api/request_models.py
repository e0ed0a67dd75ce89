"""Data-subject requests over HTTP: what staff and people send, and what they get back."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from privet.api.models import Input, Jurisdiction, Line, Output, Reason, Text
from privet.law.vocabulary import Right
from privet.requests.agents import Document
from privet.requests.codec import to_dict
from privet.requests.lifecycle import EventKind
from privet.requests.model import Request

Email = Annotated[str, StringConstraints(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Language = Annotated[str, StringConstraints(min_length=2, max_length=10, pattern=r"^[a-z]{2}(-[A-Za-z]{2})?$")]
Details = Annotated[str, StringConstraints(max_length=10_000)]


class AgentIn(Input):
    name: Line = Field(min_length=1)
    email: Email | None = None
    evidence: Literal["", "power_of_attorney", "signed_letter"] = ""
    document_ref: Line | None = None
    scope: list[Right] = Field(default_factory=list, max_length=len(Right))


class SubmissionIn(Input):
    kind: Right
    email: Email | None = None
    name: Line | None = None
    phone: Annotated[str, StringConstraints(min_length=3, max_length=40)] | None = None
    jurisdiction: Jurisdiction | None = Field(default=None, description="Where the person lives: eu, uk, us-ca ...")
    language: Language = "en"
    details: Details = ""
    agent: AgentIn | None = None


class EventIn(Input):
    event: EventKind = Field(description="The step; appeals have their own endpoint")
    reasons: list[Reason] = Field(default_factory=list, max_length=20)
    method: Line | None = Field(default=None, description="For verified: how (account, matching ...)")
    level: Line | None = None
    outcome: Literal["upheld", "reversed"] | None = Field(default=None, description="For decide_appeal")
    text: Text | None = None


class AgentReviewIn(Input):
    """What the reviewer found in the agent's document (the document itself stays where the agent's reference says)."""

    document: Document
    names_person: bool = Field(description="It gives the person's name and contact details")
    names_agent: bool = Field(description="It names the agent, with contact details")
    states_authorisation: bool = Field(description="It states that the person authorises the agent")
    signed: bool = Field(description="It is signed by the person")
    person_confirmed: bool = Field(default=False, description="The person confirmed the agent to us directly")


class ExtendIn(Input):
    reason: Reason


class DenyIn(Input):
    reasons: list[Reason] = Field(min_length=1, max_length=20)


class AppealIn(Input):
    text: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]


class CodeIn(Input):
    code: Annotated[str, StringConstraints(min_length=1, max_length=20)]


class DatesOut(Output):
    due: dt.date
    confirm_by: dt.date | None
    extended_due: dt.date | None
    extension_notice_by: dt.date | None
    rule: str
    cites: list[str]
    notes: list[str]


class RequesterOut(Output):
    email: str | None
    name: str | None
    phone: str | None
    language: str
    subject_id: str | None


class AgentOut(Output):
    name: str
    email: str | None
    evidence: str
    document_ref: str | None
    scope: list[str]
    reviewed: bool
    approved: bool
    confirmed_by_person: bool


class RequestOut(Output):
    request_id: str
    kind: Right
    jurisdiction: str | None
    received_at: dt.datetime
    state: str
    requester: RequesterOut
    dates: DatesOut
    channel: str
    agent: AgentOut | None
    details: str
    verification_level: str | None
    extended: bool
    extension_reason: str | None
    outcome_reasons: list[str]
    appeal_text: str | None
    appeal_dates: DatesOut | None
    appeal_outcome: str | None
    closed_at: dt.datetime | None
    responded_at: dt.datetime | None
    response_state: str | None
    dedupe_key: str | None
    notes: list[str]
    due: dt.date = Field(description="The deadline in force now (extended or appeal deadline included)")

    @classmethod
    def of(cls, request: Request) -> RequestOut:
        return cls.model_validate({**to_dict(request), "due": request.due_date()})


class SubmittedOut(Output):
    request: RequestOut
    duplicate: bool = Field(description="The same person already had this request open: it was not taken in twice")


class SummaryOut(Output):
    request_id: str
    kind: Right
    state: str
    jurisdiction: str | None
    channel: str
    received_at: dt.datetime
    due: dt.date
    days_left: int
    extended: bool
    closed_at: dt.datetime | None


class RequestListOut(Output):
    total: int
    items: list[SummaryOut]


class StepOut(Output):
    phase: str
    collection: str
    state: str
    rows: int
    error: str | None


class MessageOut(Output):
    message_id: str
    kind: str
    status: str
    to: str
    created_at: dt.datetime


class TimelineOut(Output):
    seq: int
    at: dt.datetime
    actor: str
    action: str


class RequestDetailOut(Output):
    request: RequestOut
    allowed_events: list[str]
    package_available: bool
    steps: list[StepOut]
    messages: list[MessageOut]
    timeline: list[TimelineOut]


class CodeResultOut(Output):
    status: str = Field(description="ok, wrong, expired, locked (send a new code) or used")
    attempts_left: int
    state: str


class AgentReviewOut(Output):
    request: RequestOut
    outcome: str = Field(description="approved, needs_person_confirmation (the person was asked) or rejected")
    reasons: list[str]
    cites: list[str]
    inferred: bool = Field(description="The rule applied rests on privet's reading, not a confirmed citation")
    person_asked: bool = Field(description="A message asks the person to confirm the agent")


class LinksOut(Output):
    status_url: str
    status_expires_at: dt.datetime
    download_url: str | None
    download_expires_at: dt.datetime | None
