"""What the pages take from the application (privet.api): the runtime and its services, staff sessions with
their CSRF tokens, rate limits; and the one thing public pages need beyond that, a CSRF token without a session."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from starlette.datastructures import FormData

from privet.api.auth import SESSION_COOKIE, Principal, principal
from privet.api.auth import check_csrf as check_session_csrf
from privet.api.auth import csrf_token as session_csrf_token
from privet.api.deps import Services, client_ip, get_runtime, get_services
from privet.api.errors import Unauthenticated
from privet.api.links import derive_key
from privet.api.roles import Scope
from privet.consent.ledger import ChoiceInput, Recorded
from privet.workspace.runtime import Runtime

FORM_COOKIE = "privet_form"  # public pages only; staff forms carry the session's own CSRF token
CSRF_FIELD = "csrf_token"


async def form_data(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(form_data)]


def runtime(request: Request) -> Runtime:
    return get_runtime(request)


def services(request: Request) -> Services:
    return get_services(request)


def record(request: Request, choices: Sequence[ChoiceInput], now: dt.datetime) -> Recorded:
    """Consent choices through the API's single writer, so page and API writes never contend."""
    return services(request).writer.record_sync(choices, now)


def over_limit(request: Request, bucket: str) -> bool:
    """Take one token from the API's per-address bucket; True when it is empty."""
    return services(request).limiter.take(bucket, client_ip(request)) > 0


# Staff ----------------------------------------------------------------------------------------------------


def staff(scope: Scope | None) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the signed-in staff member allowed `scope` (None: any); posts must carry the session's CSRF token.

    Without a session (or with an ended one) a page sends the browser to the sign-in page, and back after it.
    """

    async def dependency(request: Request) -> Principal:
        try:
            who = await principal(request, None, None, request.cookies.get(SESSION_COOKIE))
        except Unauthenticated:
            who = None
        if who is None:
            back = request.url.path if request.method == "GET" else "/console"
            raise HTTPException(303, "sign in first", {"Location": f"/console/login?next={quote(back)}"})
        if scope is not None and not who.may(scope):
            raise HTTPException(403, f"the {who.role} role may not do this (needs {scope.value})")
        await check_session_csrf(request, who)
        return who

    return dependency


def staff_csrf(request: Request) -> str:
    return session_csrf_token(request) or ""


# Public forms: a random cookie per browser and, in each form, a MAC of it under a key of the workspace. A page
# of another site can neither read the cookie nor compute the MAC, so it cannot post a form in the person's name.


def _browser_secret(request: Request) -> str:
    known = request.cookies.get(FORM_COOKIE, "")
    if 20 <= len(known) <= 64 and known.replace("-", "").replace("_", "").isalnum():
        return known
    fresh = getattr(request.state, "form_cookie", None)
    if fresh is None:
        fresh = secrets.token_urlsafe(24)
        request.state.form_cookie = fresh
    return str(fresh)


def csrf_token(request: Request) -> str:
    key = derive_key(runtime(request).settings.secret_key, "csrf")
    return hmac.new(key, _browser_secret(request).encode(), "sha256").hexdigest()


def csrf_ok(request: Request, form: FormData) -> bool:
    sent = form.get(CSRF_FIELD)
    return FORM_COOKIE in request.cookies and isinstance(sent, str) and hmac.compare_digest(sent, csrf_token(request))


def new_form_cookie(request: Request) -> str | None:
    """A cookie value to set on the response, when this request gave the browser its first one."""
    fresh = getattr(request.state, "form_cookie", None)
    return str(fresh) if fresh is not None else None
