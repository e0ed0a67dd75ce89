"""Public endpoints for people: submit a request, follow it by a signed link, enter the emailed code, appeal, and
download the access package. No sign-in; rate limits per address instead.

What these answer never depends on whether privet knows the person: a submission gets the same reply whoever it
names, and every link that is altered, expired or unknown gets the same 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, status
from pydantic import Field, StringConstraints

from privet.api.deps import Services, ServicesDep, client_ip, rate_limit
from privet.api.errors import NotFound, RateLimited, problem_responses
from privet.api.links import LinkInvalid, LinkPurpose, read_status_token
from privet.api.models import Input, Jurisdiction, Line, Output
from privet.api.request_models import AppealIn, CodeResultOut, Details, Email, Language
from privet.api.routes.requests import ZipFile, get_request, package_file, step
from privet.law.vocabulary import Right
from privet.requests.intake import Submission
from privet.requests.lifecycle import IllegalTransition, allowed_events
from privet.requests.model import CLOSED, Channel, Requester, State
from privet.requests.model import Request as DsRequest
from privet.requests.verification import CodeStatus

router = APIRouter(prefix="/api/v1/public", tags=["public"])

Token = Annotated[str, StringConstraints(min_length=10, max_length=300)]
RECEIVED_MESSAGE = (
    "Thank you. We have sent an email to the address you gave, with your reference and what happens next. "
    "If we need to confirm that the request comes from you, the email holds a code."
)
AWAITING_CODE = frozenset({State.RECEIVED, State.RECEIPT_CONFIRMED, State.VERIFYING, State.EXTENDED})
LINK_GONE = "this link is not valid or has expired; submit the request again to get a new one"


class PublicSubmissionIn(Input):
    kind: Right
    email: Email
    name: Line | None = None
    jurisdiction: Jurisdiction | None = Field(default=None, description="Where you live: eu, uk, us-ca ...")
    language: Language = "en"
    details: Details = ""


class PublicReceiptOut(Output):
    """The same for every submission: the private link to follow the request goes only to the person's mailbox, so
    the reply never tells whether the address already has a request open."""

    message: str


class PublicStatusOut(Output):
    reference: str
    kind: Right
    state: str
    received_at: dt.datetime
    due: dt.date
    awaiting_code: bool = Field(description="Enter the code from the email to go on")
    can_appeal: bool
    download_url: str | None


class TokenIn(Input):
    token: Token


class PublicCodeIn(Input):
    token: Token
    code: Annotated[str, StringConstraints(min_length=1, max_length=20)]


class PublicAppealIn(AppealIn):
    token: Token


def _from_link(services: Services, token: str) -> DsRequest:
    try:
        request_id: str | None = services.links.read(LinkPurpose.STATUS, token)
    except LinkInvalid:  # the private link from the person's emails works here too
        request_id = read_status_token(services.runtime.settings.secret_key, token)
    if request_id is None:
        raise NotFound(LINK_GONE)
    try:
        return get_request(services, request_id)
    except NotFound:
        raise NotFound(LINK_GONE) from None


def _awaits_code(services: Services, r: DsRequest) -> bool:
    return (r.needs_verification and r.verification_level is None and r.state in AWAITING_CODE
            and services.runtime.requests.get_secret(r.request_id, "email_code") is not None)  # fmt: skip


def _status(services: Services, r: DsRequest) -> PublicStatusOut:
    download = None
    if r.state in CLOSED and package_file(services, r.request_id) is not None:
        link = services.links.make(LinkPurpose.DOWNLOAD, r.request_id)
        download = f"{services.runtime.settings.public_url.rstrip('/')}/api/v1/public/packages?token={link.token}"
    return PublicStatusOut(reference=r.request_id, kind=r.kind, state=r.state.value, received_at=r.received_at,
                           due=r.due_date(), awaiting_code=_awaits_code(services, r),
                           can_appeal=r.state in CLOSED, download_url=download)  # fmt: skip


@router.post("/requests", status_code=status.HTTP_202_ACCEPTED, response_model=PublicReceiptOut,
             responses=problem_responses(422, 429), dependencies=[Depends(rate_limit("submit"))])  # fmt: skip
def submit(body: PublicSubmissionIn, tasks: BackgroundTasks,
           services: ServicesDep) -> PublicReceiptOut:  # fmt: skip
    """Make a privacy request. The reply is the same whoever it names; the next steps arrive by email."""
    rt = services.runtime
    submission = Submission(body.kind, Requester(body.email, body.name, None, body.language), body.jurisdiction,
                            Channel.WEB, None, body.details)  # fmt: skip

    def work() -> DsRequest:
        done = rt.request_service.submit(submission, rt.now(), actor="requester")
        request = done.request
        waiting = request.needs_verification and request.verification_level is None and request.state in AWAITING_CODE
        if not done.duplicate and waiting:
            request = rt.request_service.send_code(request.request_id, rt.settings.secret_key, rt.now())
        return request

    step(services, tasks, work)
    return PublicReceiptOut(message=RECEIVED_MESSAGE)


@router.get("/requests/status", response_model=PublicStatusOut, responses=problem_responses(404, 422))
def request_status(token: Annotated[Token, Query()], services: ServicesDep) -> PublicStatusOut:
    """Where the request stands, for whoever holds the signed link."""
    return _status(services, _from_link(services, token))


@router.post("/requests/code", response_model=CodeResultOut, responses=problem_responses(404, 422, 429),
             dependencies=[Depends(rate_limit("code"))])  # fmt: skip
def check_code(body: PublicCodeIn, request: Request, tasks: BackgroundTasks,
               services: ServicesDep) -> CodeResultOut:  # fmt: skip
    """Enter the code from the email. Five wrong codes end the request's verification; many wrong codes from one
    address lock that address out for a while."""
    ip = client_ip(request)
    wait = services.limiter.lockout.locked_for(ip)
    if wait > 0:
        seconds = max(1, int(wait + 0.999))
        raise RateLimited(f"too many wrong codes from this address; try again in {seconds} s",
                          {"Retry-After": str(seconds)})  # fmt: skip
    r = _from_link(services, body.token)
    rt = services.runtime
    result = step(services, tasks,
                  lambda: rt.request_service.check_code(r.request_id, rt.settings.secret_key, body.code, rt.now()))
    if result.status in (CodeStatus.WRONG, CodeStatus.LOCKED):
        services.limiter.lockout.failed(ip)
    state = get_request(services, r.request_id).state.value
    return CodeResultOut(status=result.status.value, attempts_left=result.attempts_left, state=state)


@router.post("/requests/code/resend", response_model=PublicStatusOut, responses=problem_responses(404, 409, 422, 429),
             dependencies=[Depends(rate_limit("code"))])  # fmt: skip
def resend_code(body: TokenIn, tasks: BackgroundTasks, services: ServicesDep) -> PublicStatusOut:
    """Send a new code (the previous one stops working)."""
    r = _from_link(services, body.token)
    if not (r.needs_verification and r.verification_level is None and r.state in AWAITING_CODE):
        raise IllegalTransition(f"request {r.request_id} is {r.state.value}; it does not wait for a code")
    rt = services.runtime
    r = step(services, tasks, lambda: rt.request_service.send_code(r.request_id, rt.settings.secret_key, rt.now()))
    return _status(services, r)


@router.post("/requests/appeal", response_model=PublicStatusOut, responses=problem_responses(404, 409, 422, 429),
             dependencies=[Depends(rate_limit("submit"))])  # fmt: skip
def appeal(body: PublicAppealIn, tasks: BackgroundTasks, services: ServicesDep) -> PublicStatusOut:
    """Appeal the decision on your request (where the law gives an appeal, within its window)."""
    r = _from_link(services, body.token)
    rt = services.runtime
    if "appeal" not in {e.value for e in allowed_events(r.state)}:
        raise IllegalTransition(f"request {r.request_id} is {r.state.value}; only a decided request can be appealed")
    r = step(services, tasks, lambda: rt.request_service.appeal(r.request_id, body.text, rt.now()))
    return _status(services, r)


@router.get("/packages", response_class=ZipFile,
            responses={200: {"content": {"application/zip": {}}}, **problem_responses(404, 422)})  # fmt: skip
def download(token: Annotated[Token, Query()], services: ServicesDep) -> ZipFile:
    """The access package, for whoever holds the signed download link."""
    try:
        request_id = services.links.read(LinkPurpose.DOWNLOAD, token)
    except LinkInvalid:
        raise NotFound(LINK_GONE) from None
    path = package_file(services, request_id)
    if path is None:
        raise NotFound(LINK_GONE)
    return ZipFile(path, filename=f"privacy-request-{request_id}.zip")
