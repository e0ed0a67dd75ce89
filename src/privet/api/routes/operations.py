"""Operations: the outbox of messages to people, the audit chain's verification, and request metrics."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from privet.api.auth import Principal, require
from privet.api.deps import ServicesDep
from privet.api.errors import problem_responses
from privet.api.models import Output
from privet.api.roles import Scope
from privet.audit import verify_chain
from privet.law.vocabulary import Right
from privet.reports.metrics import request_metrics
from privet.requests.messages import shown_to_staff
from privet.requests.model import REQUEST_KINDS

router = APIRouter(prefix="/api/v1", tags=["operations"])


class OutboxItemOut(Output):
    message_id: str
    request_id: str
    kind: str
    to: str
    subject: str
    body: str
    language: str
    status: str
    attempts: int
    last_error: str | None
    created_at: dt.datetime


class OutboxOut(Output):
    items: list[OutboxItemOut]


class AuditOut(Output):
    ok: bool
    entries_checked: int
    last_seq: int
    checkpoint: str = Field(description="Keep this line outside privet; pass it as `anchor` later to detect removals")
    problems: list[str]
    first_broken_seq: int | None


class FiguresOut(Output):
    received: int
    complied: int
    complied_in_whole: int
    complied_in_part: int
    denied: int
    denied_unverified: int
    pending: int
    appeals_received: int
    appeals_decided: int
    median_days: float | None
    mean_days: float | None


class MetricsRowOut(Output):
    jurisdiction: str
    kind: Right
    figures: FiguresOut


class MetricsOut(Output):
    year: int
    rows: list[MetricsRowOut]


@router.get("/outbox", response_model=OutboxOut, responses=problem_responses(401, 403, 422))
def outbox(
    services: ServicesDep,
    _: Principal = Depends(require(Scope.REQUESTS_READ)),
    request_id: Annotated[str | None, Query(max_length=100)] = None,
    status: Annotated[Literal["queued", "sent", "failed"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1_000)] = 100,
) -> OutboxOut:
    """Messages to people, newest last (without SMTP settings they stay here, queued)."""
    rt = services.runtime
    items = rt.outbox.for_request(request_id) if request_id else rt.outbox.all()
    if status:
        items = [m for m in items if m.status == status]
    mailing = rt.settings.mail.configured
    return OutboxOut(items=[
        OutboxItemOut(message_id=m.message_id, request_id=m.request_id, kind=m.kind, to=m.to, subject=m.subject,
                      body=shown_to_staff(m.kind, m.body, mailing), language=m.language,
                      status=m.status, attempts=m.attempts,
                      last_error=m.last_error, created_at=m.created_at)
        for m in items[-limit:]
    ])  # fmt: skip


@router.get("/audit/verify", response_model=AuditOut, responses=problem_responses(401, 403, 422))
def audit_verify(
    services: ServicesDep,
    _: Principal = Depends(require(Scope.AUDIT_READ)),
    anchor: Annotated[str | None, Query(max_length=200, description="A checkpoint returned earlier")] = None,
) -> AuditOut:
    """Check every link of the audit chain: edited, removed, reordered or inserted entries are found."""
    report = verify_chain(services.runtime.audit.entries(), anchor)
    return AuditOut(ok=report.ok, entries_checked=report.entries_checked, last_seq=report.last_seq,
                    checkpoint=report.checkpoint(), problems=list(report.problems),
                    first_broken_seq=report.first_broken_seq)  # fmt: skip


@router.get("/metrics", response_model=MetricsOut, responses=problem_responses(401, 403, 422))
def metrics(
    year: Annotated[int, Query(ge=2000, le=2100, description="The calendar year")],
    services: ServicesDep,
    _: Principal = Depends(require(Scope.REPORTS_READ)),
) -> MetricsOut:
    """Request metrics of the year (11 CCR 7102), per request type and per jurisdiction."""
    found = request_metrics(services.runtime.requests.all(), year, kinds=REQUEST_KINDS)
    return MetricsOut(year=found.year, rows=[
        MetricsRowOut(jurisdiction=row.jurisdiction, kind=row.kind,
                      figures=FiguresOut.model_validate(row.figures.as_dict()))
        for row in found.rows
    ])  # fmt: skip
