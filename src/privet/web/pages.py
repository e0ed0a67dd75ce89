"""Rendering pages: one autoescaping Jinja2 environment, the context every page shares, and the cookies it sets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from privet.reports.templating import RIGHTS
from privet.requests.model import State
from privet.web.access import CSRF_FIELD, FORM_COOKIE, csrf_token, new_form_cookie, runtime

YEAR = 365 * 24 * 3600

# What a state means to the person who asked, on the status page.
STATE_WORDS: Mapping[State, str] = {
    State.RECEIVED: "Received",
    State.RECEIPT_CONFIRMED: "Received: we need to confirm it is you",
    State.VERIFYING: "Waiting for the code we emailed you",
    State.VERIFIED: "Identity confirmed: we are working on it",
    State.IN_PROGRESS: "In progress",
    State.EXTENDED: "In progress (deadline extended)",
    State.FULFILLED: "Done",
    State.PARTIALLY_FULFILLED: "Partly done",
    State.DENIED: "Declined",
    State.VERIFICATION_FAILED: "Closed: we could not confirm your identity",
    State.APPEALED: "Appeal received",
    State.APPEAL_DECIDED: "Appeal decided",
}


def right_name(kind: str) -> str:
    return RIGHTS.get(kind, (kind.replace("_", " ").capitalize(), ""))[0]


def right_text(kind: str) -> str:
    return RIGHTS.get(kind, ("", ""))[1]


def day(value: dt.date | dt.datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):  # a time kept as ISO text (verification secrets)
        try:
            return day(dt.datetime.fromisoformat(value))
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%d %b %Y, %H:%M UTC")
    return value.strftime("%d %b %Y")


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("privet.web", "templates"),
        autoescape=select_autoescape(("html",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["day"] = day
    env.filters["right_name"] = right_name
    env.globals["right_text"] = right_text
    env.globals["STATE_WORDS"] = STATE_WORDS
    env.globals["CSRF_FIELD"] = CSRF_FIELD
    return env


def page(request: Request, template: str, context: Mapping[str, Any], status: int = 200,
         cookies: Mapping[str, str] | None = None) -> HTMLResponse:  # fmt: skip
    """The page, with a CSRF token for its forms and the cookies the visit made (CSRF, browser id)."""
    rt = runtime(request)
    values: dict[str, Any] = {
        "org": rt.manifest.organisation.name,
        "path": request.url.path,
        "gpc_honoured": getattr(request.state, "gpc_honoured", False),
        "staff": None,
        **context,
    }
    if "csrf_token" not in values:  # staff pages pass their session's token
        values["csrf_token"] = csrf_token(request)
    response = HTMLResponse(environment().get_template(template).render(values), status_code=status)
    secure = request.url.scheme == "https"
    fresh = new_form_cookie(request)
    if fresh is not None:
        response.set_cookie(FORM_COOKIE, fresh, max_age=YEAR, httponly=True, samesite="lax", secure=secure, path="/")
    for name, value in (cookies or {}).items():
        response.set_cookie(name, value, max_age=YEAR, samesite="lax", secure=secure, path="/")
    return response


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    """A page that says what went wrong and what to do, in words for people (the API answers in JSON)."""
    return page(request, "error.html", {"status": status, "title": title, "message": message}, status)


def refused(request: Request) -> HTMLResponse:
    return error_page(request, 403, "This form has expired",
                      "The form was open too long, or it did not come from this site. Go back, reload the page "
                      "and try again.")  # fmt: skip


def too_many(request: Request) -> HTMLResponse:
    response = error_page(
        request,
        429,
        "Too many tries",
        "There were too many attempts from your network. Wait a few minutes and try again.",
    )
    response.headers["Retry-After"] = "300"
    return response
