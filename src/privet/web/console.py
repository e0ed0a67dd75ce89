"""The staff console: signing in, the dashboard, the request queue, and one request with its next steps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from privet.api.auth import Principal, authenticator
from privet.api.roles import Scope
from privet.fulfilment.executor import StepState
from privet.requests.agents import AgentEvidence, Document
from privet.requests.lifecycle import Event, EventKind, RequestError, allowed_events
from privet.requests.model import Request as DsRequest
from privet.requests.model import State
from privet.requests.verification import required_standard
from privet.web import charts
from privet.web.access import Form, csrf_ok, over_limit, runtime, services, staff, staff_csrf
from privet.web.pages import error_page, page, refused, too_many
from privet.workspace.runtime import Runtime

router = APIRouter()
Reader = Annotated[Principal, Depends(staff(Scope.REQUESTS_READ))]
Worker = Annotated[Principal, Depends(staff(Scope.REQUESTS_WRITE))]
Analyst = Annotated[Principal, Depends(staff(Scope.REPORTS_READ))]

# The steps staff take from the console, with the words on their buttons. APPEAL is the person's to make.
BUTTONS: Mapping[EventKind, str] = {
    EventKind.CONFIRM_RECEIPT: "Confirm receipt",
    EventKind.BEGIN_VERIFICATION: "Email a verification code",
    EventKind.VERIFIED: "Record identity as verified",
    EventKind.VERIFICATION_FAILED: "Close: identity not verified",
    EventKind.START: "Start fulfilment",
    EventKind.EXTEND: "Extend the deadline",
    EventKind.FULFIL: "Mark fulfilled",
    EventKind.FULFIL_PARTIALLY: "Mark partly fulfilled",
    EventKind.DENY: "Deny",
    EventKind.DECIDE_APPEAL: "Decide the appeal",
}
NEEDS_REASONS = frozenset({EventKind.EXTEND, EventKind.DENY, EventKind.FULFIL_PARTIALLY, EventKind.VERIFICATION_FAILED,
                           EventKind.DECIDE_APPEAL})  # fmt: skip
AGENT_CHECKS = (
    ("names_person", "names the person, with contact details"),
    ("names_agent", "names the agent, with contact details"),
    ("states_authorisation", "states that the person authorises the agent"),
    ("signed", "is signed by the person"),
    ("person_confirmed", "and the person confirmed the agent to us directly"),
)
WARNING_DAYS = 7


def console_page(request: Request, template: str, user: Principal | None, context: Mapping[str, Any],
                 status: int = 200) -> Response:  # fmt: skip
    return page(request, template, {"staff": user, "csrf_token": staff_csrf(request), **context}, status)


# Signing in -----------------------------------------------------------------------------------------------


def _next(target: str) -> str:
    """Only back into the console: a sign-in link must not send anyone to another site."""
    return target if target.startswith("/console") and not target.startswith("//") else "/console"


@router.get("/console/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/console") -> Response:
    return page(request, "console/login.html", {"next": _next(next), "error": None, "email": ""})


@router.post("/console/login", response_class=HTMLResponse)
def login(request: Request, form: Form) -> Response:
    if not csrf_ok(request, form):
        return refused(request)
    if over_limit(request, "login"):
        return too_many(request)
    email, target = str(form.get("email", ""))[:320], _next(str(form.get("next", "")))
    auth = authenticator(request)
    signed = auth.login(email, str(form.get("password", ""))[:1024])
    if signed is None:
        context = {"next": target, "email": email, "error": "The email address or the password is not right."}
        return page(request, "console/login.html", context, 401)
    _, cookie, token = signed
    response = RedirectResponse(target, status_code=303)
    auth.set_cookies(response, cookie, token)
    return response


@router.post("/console/logout")
def logout(request: Request, user: Annotated[Principal, Depends(staff(None))]) -> Response:
    auth = authenticator(request)
    auth.logout(user.id)
    response = RedirectResponse("/console/login", status_code=303)
    auth.clear_cookies(response)
    return response


# The requests ---------------------------------------------------------------------------------------------


@router.get("/console", response_class=HTMLResponse)
def dashboard(request: Request, user: Analyst) -> Response:
    rt = runtime(request)
    items = rt.requests.all()
    today = rt.now().date()
    open_items = [r for r in items if r.closed_at is None]
    series = [charts.by_type(items), charts.by_state(items), charts.time_to_close(items), charts.by_month(items, today)]
    context = {
        "total": len(items),
        "open": len(open_items),
        "overdue": sum(1 for r in open_items if r.days_left(today) < 0),
        "due_soon": sum(1 for r in open_items if 0 <= r.days_left(today) <= WARNING_DAYS),
        "charts": [(s, charts.bar_chart(s, f"chart-{i}")) for i, s in enumerate(series)],
    }
    return console_page(request, "console/dashboard.html", user, context)


@router.get("/console/requests", response_class=HTMLResponse)
def queue(request: Request, user: Reader, show: str = "open") -> Response:
    rt = runtime(request)
    today = rt.now().date()
    items = [r for r in rt.requests.all() if show == "all" or r.closed_at is None]
    items.sort(key=lambda r: (r.closed_at is not None, r.due_date(), r.received_at))
    context = {"rows": [(r, r.days_left(today)) for r in items], "show": show, "warn": WARNING_DAYS}
    return console_page(request, "console/queue.html", user, context)


def _detail(request: Request, rt: Runtime, user: Principal, ds: DsRequest, *, notes: list[str] | None = None,
            error: str | None = None, status: int = 200) -> Response:  # fmt: skip
    steps = rt.checkpoints.all(ds.request_id)
    timeline = list(rt.audit.entries(f"request:{ds.request_id}"))
    evidence = rt.requests.get_secret(ds.request_id, "data_points") or {}
    context: dict[str, Any] = {
        "ds": ds,
        "days_left": ds.days_left(rt.now().date()),
        "standard": required_standard(ds.kind, ds.jurisdiction),
        "points": dict(evidence.get("points", {})),
        "declaration": bool(evidence.get("declaration")),
        "code": rt.requests.get_secret(ds.request_id, "email_code"),
        "steps": steps,
        "manual": [s for s in steps if s.state in (StepState.MANUAL, StepState.REVIEW, StepState.FAILED)],
        "messages": rt.outbox.for_request(ds.request_id),
        "timeline": timeline,
        "events": _steps(ds) if user.may(Scope.REQUESTS_WRITE) else [],
        "buttons": BUTTONS,
        "needs_reasons": NEEDS_REASONS,
        "documents": [d.value for d in Document],
        "agent_checks": AGENT_CHECKS,
        "notes": notes or [],
        "error": error,
    }
    return console_page(request, "console/request.html", user, context, status)


def _steps(ds: DsRequest) -> list[EventKind]:
    steps = [e for e in allowed_events(ds.state) if e in BUTTONS]
    if ds.state is State.VERIFYING:  # a new code, for a person whose code expired or went astray
        steps.insert(0, EventKind.BEGIN_VERIFICATION)
    return steps


def _missing(request: Request) -> Response:
    return error_page(request, 404, "No such request", "The request id in the address is not one privet knows.")


@router.get("/console/requests/{request_id}", response_class=HTMLResponse)
def request_page(request: Request, request_id: str, user: Reader) -> Response:
    rt = runtime(request)
    ds = rt.requests.get(request_id)
    return _missing(request) if ds is None else _detail(request, rt, user, ds)


@router.post("/console/requests/{request_id}/act", response_class=HTMLResponse)
def act(request: Request, request_id: str, user: Worker, form: Form) -> Response:
    rt = runtime(request)
    ds = rt.requests.get(request_id)
    if ds is None:
        return _missing(request)
    try:
        kind = EventKind(str(form.get("event", "")))
    except ValueError:
        return _detail(request, rt, user, ds, error="Choose one of the steps below.", status=422)
    reasons = tuple(line.strip() for line in str(form.get("reasons", "")).splitlines() if line.strip())
    method = str(form.get("method", "")) or None
    now = rt.now()
    try:
        with services(request).workflow:
            if kind is EventKind.BEGIN_VERIFICATION:
                rt.request_service.send_code(request_id, rt.settings.secret_key, now)
            else:
                event = Event(kind, reasons=reasons, method=method, level=method, actor=user.actor,
                              outcome=str(form.get("outcome", "")) or None)  # fmt: skip
                rt.request_service.act(request_id, event, now, user.actor)
    except RequestError as exc:
        return _detail(request, rt, user, rt.requests.get(request_id) or ds, error=str(exc), status=409)
    notes = services(request).dispatch()
    if notes:  # fulfilment ran, or could not finish yet: say what happened
        return _detail(request, rt, user, rt.requests.get(request_id) or ds, notes=notes)
    return RedirectResponse(f"/console/requests/{request_id}", status_code=303)


@router.post("/console/requests/{request_id}/agent", response_class=HTMLResponse)
def review(request: Request, request_id: str, user: Worker, form: Form) -> Response:
    """Record what a reviewer found in the agent's document; the outcome decides whether work may start."""
    rt = runtime(request)
    ds = rt.requests.get(request_id)
    if ds is None:
        return _missing(request)
    if ds.agent is None:
        return _detail(request, rt, user, ds, error="This request has no authorised agent.", status=409)
    try:
        document = Document(str(form.get("document", "")))
    except ValueError:
        return _detail(request, rt, user, ds, error="Choose the kind of document the agent sent.", status=422)
    checks = {name: form.get(name) == "yes" for name, _ in AGENT_CHECKS}
    try:
        with services(request).workflow:
            rt.request_service.review_agent(request_id, AgentEvidence(document, **checks), rt.now(), user.actor)
    except RequestError as exc:
        return _detail(request, rt, user, rt.requests.get(request_id) or ds, error=str(exc), status=409)
    notes = services(request).dispatch()  # an approved agent's opt-out starts at once
    if notes:
        return _detail(request, rt, user, rt.requests.get(request_id) or ds, notes=notes)
    return RedirectResponse(f"/console/requests/{request_id}", status_code=303)
