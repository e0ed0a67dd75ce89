"""Data-subject requests for staff: take in, list by urgency, show, verify, advance, extend, deny, appeal, agents,
packages.

Steps run one at a time (the workflow lock); fulfilment that a step starts runs after the response is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

from fastapi import APIRouter, BackgroundTasks, Depends, Query, status
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from privet.api.auth import Principal, require
from privet.api.deps import Services, ServicesDep
from privet.api.errors import NotFound, problem_responses
from privet.api.links import LinkPurpose
from privet.api.models import Jurisdiction
from privet.api.request_models import (
    AgentReviewIn,
    AgentReviewOut,
    AppealIn,
    CodeIn,
    CodeResultOut,
    DenyIn,
    EventIn,
    ExtendIn,
    LinksOut,
    MessageOut,
    RequestDetailOut,
    RequestListOut,
    RequestOut,
    StepOut,
    SubmissionIn,
    SubmittedOut,
    SummaryOut,
    TimelineOut,
)
from privet.api.roles import Scope
from privet.law.vocabulary import Right
from privet.requests.agents import AgentEvidence
from privet.requests.intake import Submission
from privet.requests.lifecycle import Event, EventKind, RequestError, allowed_events
from privet.requests.model import Agent, Channel, Request, Requester, State

router = APIRouter(prefix="/api/v1", tags=["requests"])

T = TypeVar("T")
RequestPath = Annotated[str, PathParam(min_length=1, max_length=100, description="The request id")]
WRITE = Depends(require(Scope.REQUESTS_WRITE))
READ = Depends(require(Scope.REQUESTS_READ))
STEP_PROBLEMS = problem_responses(401, 403, 404, 409, 422)


class ZipFile(FileResponse):
    media_type = "application/zip"


def get_request(services: Services, request_id: str) -> Request:
    found = services.runtime.requests.get(request_id)
    if found is None:
        raise NotFound(f"no request {request_id!r}")
    return found


def package_file(services: Services, request_id: str) -> Path | None:
    from privet.workspace.fulfil import package_path

    stored = package_path(services.runtime, request_id)
    path = Path(stored) if stored else None
    return path if path is not None and path.is_file() else None


def step(services: Services, tasks: BackgroundTasks, work: Callable[[], T]) -> T:
    """Run one workflow step; fulfilment it starts runs once the response has gone."""
    with services.workflow:
        result = work()
    if services.runtime.fulfilment_queue:
        tasks.add_task(services.dispatch)
    return result


@router.post("/requests", status_code=status.HTTP_201_CREATED, response_model=SubmittedOut, responses=STEP_PROBLEMS)
def submit(body: SubmissionIn, tasks: BackgroundTasks, services: ServicesDep,
           who: Principal = WRITE) -> SubmittedOut:  # fmt: skip
    """Take in a request received by staff or another system; the person's residence decides law and deadlines."""
    agent = None
    if body.agent is not None:
        a = body.agent
        agent = Agent(a.name, a.email, a.evidence, a.document_ref, tuple(a.scope))
    submission = Submission(body.kind, Requester(body.email, body.name, body.phone, body.language),
                            body.jurisdiction, Channel.API, agent, body.details)  # fmt: skip
    rt = services.runtime
    done = step(services, tasks, lambda: rt.request_service.submit(submission, rt.now(), actor=who.actor))
    return SubmittedOut(request=RequestOut.of(done.request), duplicate=done.duplicate)


@router.get("/requests", response_model=RequestListOut, responses=problem_responses(401, 403, 422))
def list_requests(
    services: ServicesDep,
    _: Principal = READ,
    state: Annotated[list[State] | None, Query(description="Only these states")] = None,
    kind: Annotated[Right | None, Query()] = None,
    jurisdiction: Annotated[Jurisdiction | None, Query()] = None,
    open_only: Annotated[bool, Query(alias="open", description="Only requests still open")] = True,
    limit: Annotated[int, Query(ge=1, le=1_000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> RequestListOut:
    """Requests by urgency: open before closed, the nearest deadline first."""
    rt = services.runtime
    items = [
        r for r in rt.requests.all()
        if (not open_only or r.closed_at is None) and (not state or r.state in state)
        and (kind is None or r.kind is kind) and (jurisdiction is None or r.jurisdiction == jurisdiction)
    ]  # fmt: skip
    items.sort(key=lambda r: (r.closed_at is not None, r.due_date(), r.received_at))
    today = rt.now().date()
    page = [
        SummaryOut(request_id=r.request_id, kind=r.kind, state=r.state.value, jurisdiction=r.jurisdiction,
                   channel=r.channel.value, received_at=r.received_at, due=r.due_date(), days_left=r.days_left(today),
                   extended=r.extended, closed_at=r.closed_at)
        for r in items[offset : offset + limit]
    ]  # fmt: skip
    return RequestListOut(total=len(items), items=page)


@router.get("/requests/{request_id}", response_model=RequestDetailOut, responses=problem_responses(401, 403, 404))
def show(request_id: RequestPath, services: ServicesDep, _: Principal = READ) -> RequestDetailOut:
    """One request: its state, deadlines and their law, progress per system, messages and timeline."""
    rt = services.runtime
    r = get_request(services, request_id)
    return RequestDetailOut(
        request=RequestOut.of(r),
        allowed_events=[e.value for e in allowed_events(r.state)],
        package_available=package_file(services, request_id) is not None,
        steps=[StepOut(phase=s.phase, collection=s.collection, state=s.state.value, rows=s.rows, error=s.error)
               for s in rt.checkpoints.all(request_id)],
        messages=[MessageOut(message_id=m.message_id, kind=m.kind, status=m.status, to=m.to, created_at=m.created_at)
                  for m in rt.outbox.for_request(request_id)],
        timeline=[TimelineOut(seq=e.seq, at=e.at, actor=e.actor, action=e.action)
                  for e in rt.audit.entries(f"request:{request_id}")],
    )  # fmt: skip


@router.post("/requests/{request_id}/verification/send", response_model=RequestOut, responses=STEP_PROBLEMS)
def send_code(request_id: RequestPath, tasks: BackgroundTasks, services: ServicesDep,
              _: Principal = WRITE) -> RequestOut:  # fmt: skip
    """Email the person a one-time code (only its keyed hash is kept)."""
    rt = services.runtime
    get_request(services, request_id)
    r = step(services, tasks, lambda: rt.request_service.send_code(request_id, rt.settings.secret_key, rt.now()))
    return RequestOut.of(r)


@router.post("/requests/{request_id}/verification/check", response_model=CodeResultOut, responses=STEP_PROBLEMS)
def check_code(request_id: RequestPath, body: CodeIn, tasks: BackgroundTasks,
               services: ServicesDep, _: Principal = WRITE) -> CodeResultOut:  # fmt: skip
    """Check the code the person gives; the right one verifies the request, five wrong ones fail it."""
    rt = services.runtime
    get_request(services, request_id)
    result = step(services, tasks,
                  lambda: rt.request_service.check_code(request_id, rt.settings.secret_key, body.code, rt.now()))
    state = get_request(services, request_id).state.value
    return CodeResultOut(status=result.status.value, attempts_left=result.attempts_left, state=state)


def _act(services: Services, tasks: BackgroundTasks, request_id: str, event: Event, who: Principal) -> RequestOut:
    rt = services.runtime
    get_request(services, request_id)
    return RequestOut.of(step(services, tasks, lambda: rt.request_service.act(request_id, event, rt.now(), who.actor)))


@router.post("/requests/{request_id}/events", response_model=RequestOut, responses=STEP_PROBLEMS)
def advance(request_id: RequestPath, body: EventIn, tasks: BackgroundTasks,
            services: ServicesDep, who: Principal = WRITE) -> RequestOut:  # fmt: skip
    """Move the request one step: start, fulfil, fulfil_partially, verified, decide_appeal ..."""
    if body.event is EventKind.APPEAL:
        raise RequestError("an appeal is recorded with POST /api/v1/requests/{id}/appeal, which applies its law")
    event = Event(body.event, reasons=tuple(body.reasons), method=body.method, level=body.level, text=body.text,
                  outcome=body.outcome, actor=who.actor)  # fmt: skip
    return _act(services, tasks, request_id, event, who)


@router.post("/requests/{request_id}/extend", response_model=RequestOut, responses=STEP_PROBLEMS)
def extend(request_id: RequestPath, body: ExtendIn, tasks: BackgroundTasks,
           services: ServicesDep, who: Principal = WRITE) -> RequestOut:  # fmt: skip
    """Extend the deadline once, as the law allows, telling the person why."""
    return _act(services, tasks, request_id, Event(EventKind.EXTEND, reasons=(body.reason,), actor=who.actor), who)


@router.post("/requests/{request_id}/deny", response_model=RequestOut, responses=STEP_PROBLEMS)
def deny(request_id: RequestPath, body: DenyIn, tasks: BackgroundTasks,
         services: ServicesDep, who: Principal = WRITE) -> RequestOut:  # fmt: skip
    """Deny with reasons; the person is told how to appeal and where to complain."""
    return _act(services, tasks, request_id, Event(EventKind.DENY, reasons=tuple(body.reasons), actor=who.actor), who)


@router.post("/requests/{request_id}/appeal", response_model=RequestOut, responses=STEP_PROBLEMS)
def appeal(request_id: RequestPath, body: AppealIn, tasks: BackgroundTasks,
           services: ServicesDep, who: Principal = WRITE) -> RequestOut:  # fmt: skip
    """Record the person's appeal (where the law gives one, within its window)."""
    rt = services.runtime
    get_request(services, request_id)
    return RequestOut.of(step(services, tasks, lambda: rt.request_service.appeal(request_id, body.text, rt.now(),
                                                                                 actor=who.actor)))  # fmt: skip


@router.post("/requests/{request_id}/agent", response_model=AgentReviewOut, responses=STEP_PROBLEMS)
def review_agent(request_id: RequestPath, body: AgentReviewIn, tasks: BackgroundTasks,
                 services: ServicesDep, who: Principal = WRITE) -> AgentReviewOut:  # fmt: skip
    """Record the review of an authorised agent's evidence; where a letter needs it, the person is asked to confirm."""
    rt = services.runtime
    get_request(services, request_id)
    evidence = AgentEvidence(body.document, body.names_person, body.names_agent, body.states_authorisation,
                             body.signed, body.person_confirmed)  # fmt: skip
    done = step(services, tasks, lambda: rt.request_service.review_agent(request_id, evidence, rt.now(), who.actor))
    review = done.review
    return AgentReviewOut(request=RequestOut.of(done.request), outcome=review.outcome.value,
                          reasons=list(review.reasons), cites=list(review.cites), inferred=review.inferred,
                          person_asked=done.asked_person)  # fmt: skip


@router.get("/requests/{request_id}/package", response_class=ZipFile,
            responses={200: {"content": {"application/zip": {}}}, **problem_responses(401, 403, 404)})  # fmt: skip
def package(request_id: RequestPath, services: ServicesDep, _: Principal = READ) -> ZipFile:
    """The access package of a fulfilled access or portability request."""
    get_request(services, request_id)
    path = package_file(services, request_id)
    if path is None:
        raise NotFound(f"request {request_id} has no access package (yet)")
    return ZipFile(path, filename=f"privacy-request-{request_id}.zip")


@router.post("/requests/{request_id}/links", response_model=LinksOut, responses=problem_responses(401, 403, 404))
def links(request_id: RequestPath, services: ServicesDep, _: Principal = READ) -> LinksOut:
    """Signed, short-lived links for the person: the status page and, when there is one, the package download."""
    get_request(services, request_id)
    base = services.runtime.settings.public_url.rstrip("/")
    status_link = services.links.make(LinkPurpose.STATUS, request_id)
    download = services.links.make(LinkPurpose.DOWNLOAD, request_id) if package_file(services, request_id) else None
    return LinksOut(
        status_url=f"{base}/api/v1/public/requests/status?token={status_link.token}",
        status_expires_at=status_link.expires_at,
        download_url=f"{base}/api/v1/public/packages?token={download.token}" if download else None,
        download_expires_at=download.expires_at if download else None,
    )
