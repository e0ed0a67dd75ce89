"""The privacy center, public part one: home, the notice, making a request, and following it by its private link."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from privet.api.deps import client_ip
from privet.api.links import LinkPurpose, read_status_token
from privet.api.routes.requests import package_file
from privet.law.vocabulary import Right
from privet.reports.notice import render_notice
from privet.requests.intake import appeal_terms
from privet.requests.lifecycle import RequestError
from privet.requests.model import CLOSED, State
from privet.requests.model import Request as DsRequest
from privet.web import forms
from privet.web.access import Form, csrf_ok, over_limit, runtime, services
from privet.web.gpc import honour_gpc
from privet.web.pages import error_page, page, refused, too_many
from privet.workspace.runtime import Runtime

router = APIRouter()

HIDDEN_MESSAGES = frozenset({"verification_code"})  # the code proves control of the mailbox: never on a page
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S)


@router.get("/privacy", response_class=HTMLResponse)
def home(request: Request) -> Response:
    rt = runtime(request)
    cookies = honour_gpc(request, rt)
    return page(request, "center/home.html", {"notice": rt.manifest.notice}, cookies=cookies)


@router.get("/privacy/notice", response_class=HTMLResponse)
def notice(request: Request) -> Response:
    rt = runtime(request)
    cookies = honour_gpc(request, rt)
    body = services(request).document("web:notice-body", lambda: notice_body(rt))
    return page(request, "center/notice.html", {"notice_html": body}, cookies=cookies)


def notice_body(rt: Runtime) -> str:
    """The generated notice without its page wrapper, to sit inside ours (every value was escaped when rendered)."""
    html = render_notice(rt.manifest, "html", disclosures_href="/api/v1/documents/disclosures.html")
    found = _BODY.search(html)
    return found.group(1) if found else ""


@router.get("/privacy/request", response_class=HTMLResponse)
def request_form(request: Request, jurisdiction: str | None = None, right: str | None = None) -> Response:
    rt = runtime(request)
    cookies = honour_gpc(request, rt)
    places = forms.jurisdictions(rt.manifest)
    if jurisdiction not in dict(places):
        error = "Choose where you live from the list." if jurisdiction else None
        return page(request, "center/request_place.html", {"places": places, "error": error}, cookies=cookies)
    assert jurisdiction is not None
    rights = forms.offered_rights(rt.manifest, jurisdiction)
    context: dict[str, object] = {"jurisdiction": jurisdiction, "place": dict(places)[jurisdiction], "rights": rights}
    kind = next((r for r in rights if r.value == right), None)
    if kind is None:
        return page(request, "center/request_right.html", context, cookies=cookies)
    return _request_page(request, rt, context | {"kind": kind}, forms.Parsed({}), cookies=cookies)


def _request_page(request: Request, rt: Runtime, context: dict[str, object], parsed: forms.Parsed,
                  status: int = 200, cookies: dict[str, str] | None = None) -> Response:  # fmt: skip
    kind = context["kind"]
    jurisdiction = str(context["jurisdiction"])
    assert isinstance(kind, Right)
    standard = forms.standard_for(kind, jurisdiction)
    context |= {
        "standard": standard,
        "fields": forms.fields_for(standard),
        "evidence": forms.EVIDENCE,
        "words": forms.offer_words(rt.manifest, jurisdiction),
        "values": parsed.values,
        "errors": parsed.errors,
    }
    return page(request, "center/request_form.html", context, status, cookies)


@router.post("/privacy/request", response_class=HTMLResponse)
def submit_request(request: Request, form: Form) -> Response:
    if not csrf_ok(request, form):
        return refused(request)
    rt = runtime(request)
    places = dict(forms.jurisdictions(rt.manifest))
    jurisdiction, right = str(form.get("jurisdiction", "")), str(form.get("right", ""))
    kind = next((r for r in forms.offered_rights(rt.manifest, jurisdiction) if r.value == right), None)
    if jurisdiction not in places or kind is None:
        return error_page(request, 400, "Choose your request again",
                          "Where you live, or the request, was not one this form offers. Start again from the "
                          "privacy center.")  # fmt: skip
    standard = forms.standard_for(kind, jurisdiction)
    parsed = forms.parse_request(form, kind, jurisdiction, standard)
    context: dict[str, object] = {"jurisdiction": jurisdiction, "place": places[jurisdiction], "kind": kind}
    if parsed.submission is None:
        return _request_page(request, rt, context, parsed, 422)
    if over_limit(request, "submit"):
        return too_many(request)
    now = rt.now()
    with services(request).workflow:
        # An agent's request waits in receipt_confirmed until staff review the authority (the service sees to it).
        done = rt.request_service.submit(parsed.submission, now, actor="requester:web")
        # The page is the same whether the request is new or already open, so it tells nobody whether the address
        # has a request here: the private link goes only to the mailbox (with the code, or as a reminder).
        if not done.duplicate:
            stored = done.request
            rt.requests.put_secret(stored.request_id, "data_points", forms.secret_record(parsed))
            if stored.state is State.RECEIPT_CONFIRMED and stored.needs_verification:
                rt.request_service.send_code(stored.request_id, rt.settings.secret_key, now)
    services(request).dispatch()
    return RedirectResponse("/privacy/request/sent", status_code=303)


@router.get("/privacy/request/sent", response_class=HTMLResponse)
def request_sent(request: Request) -> Response:
    return page(request, "center/request_sent.html", {})


def _status_post(request: Request, token: str, form: Form) -> Response | tuple[Runtime, DsRequest]:
    """The checks every form on a status page shares: the CSRF token, then the private link."""
    if not csrf_ok(request, form):
        return refused(request)
    rt = runtime(request)
    ds = _by_token(rt, token)
    return _no_such_link(request) if ds is None else (rt, ds)


def _by_token(rt: Runtime, token: str) -> DsRequest | None:
    request_id = read_status_token(rt.settings.secret_key, token)
    return rt.requests.get(request_id) if request_id else None


def _no_such_link(request: Request) -> Response:
    return error_page(request, 404, "This link does not work",
                      "Use the whole link from the page you saw after making your request. If it still does not "
                      "work, make the request again.")  # fmt: skip


@router.get("/privacy/status/{token}", response_class=HTMLResponse)
def status(request: Request, token: str, result: str = "") -> Response:
    rt = runtime(request)
    ds = _by_token(rt, token)
    if ds is None:
        return _no_such_link(request)
    cookies = honour_gpc(request, rt)
    now = rt.now()
    messages = [m for m in rt.outbox.for_request(ds.request_id) if m.kind not in HIDDEN_MESSAGES]
    download = None
    if ds.state in CLOSED and package_file(services(request), ds.request_id) is not None:
        link = services(request).links.make(LinkPurpose.DOWNLOAD, ds.request_id)
        download = (f"/api/v1/public/packages?token={quote(link.token)}", link.expires_at)
    can_appeal = False
    if ds.state in CLOSED:
        dates, window_ends = appeal_terms(rt.manifest, ds, now)
        can_appeal = dates is not None and (window_ends is None or now.date() <= window_ends)
    context = {
        "ds": ds,
        "token": token,
        "result": result,
        "days_left": ds.days_left(now.date()),
        "messages": messages,
        "download": download,
        "can_appeal": can_appeal,
        "open": ds.closed_at is None,
    }
    return page(request, "center/status.html", context, cookies=cookies)


@router.post("/privacy/status/{token}/code", response_class=HTMLResponse)
def check_code(request: Request, token: str, form: Form) -> Response:
    found = _status_post(request, token, form)
    if isinstance(found, Response):
        return found
    rt, ds = found
    if ds.state is not State.VERIFYING:
        return RedirectResponse(f"/privacy/status/{token}", status_code=303)
    lockout, address = services(request).limiter.lockout, client_ip(request)
    if over_limit(request, "code") or lockout.locked_for(address):
        return too_many(request)
    code = str(form.get("code", ""))[:32]
    with services(request).workflow:
        result = rt.request_service.check_code(ds.request_id, rt.settings.secret_key, code, rt.now())
    if not result.ok:
        lockout.failed(address)
    services(request).dispatch()
    return RedirectResponse(f"/privacy/status/{token}?result={result.status.value}", status_code=303)


@router.post("/privacy/status/{token}/resend", response_class=HTMLResponse)
def resend_code(request: Request, token: str, form: Form) -> Response:
    found = _status_post(request, token, form)
    if isinstance(found, Response):
        return found
    rt, ds = found
    if over_limit(request, "code"):
        return too_many(request)
    if ds.state in (State.VERIFYING, State.RECEIPT_CONFIRMED):
        with services(request).workflow:
            rt.request_service.send_code(ds.request_id, rt.settings.secret_key, rt.now())
    return RedirectResponse(f"/privacy/status/{token}?result=resent", status_code=303)


@router.post("/privacy/status/{token}/appeal", response_class=HTMLResponse)
def appeal(request: Request, token: str, form: Form) -> Response:
    found = _status_post(request, token, form)
    if isinstance(found, Response):
        return found
    rt, ds = found
    text = str(form.get("appeal", "")).strip()[: forms.MAX_DETAILS]
    if not text:
        return RedirectResponse(f"/privacy/status/{token}?result=appeal_empty", status_code=303)
    try:
        with services(request).workflow:
            rt.request_service.appeal(ds.request_id, text, rt.now(), actor="requester:web")
    except RequestError:
        return RedirectResponse(f"/privacy/status/{token}?result=appeal_refused", status_code=303)
    return RedirectResponse(f"/privacy/status/{token}?result=appealed", status_code=303)
