"""The privacy center, public part two: a person's consent choices and subscriptions, and unsubscribe links."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from privet.api.links import preference_token, read_preference_link, read_unsubscribe_link
from privet.consent.events import Evidence, LedgerError, Source
from privet.consent.identifiers import IdentifierKind, InvalidIdentifier, normalise
from privet.consent.ledger import ChoiceInput
from privet.consent.marketing import channel_of, unsubscribe_choice
from privet.consent.state import SubjectChoices
from privet.consent.unsubscribe import UnsubscribeToken, is_one_click_body
from privet.law.catalogue import catalogue
from privet.manifest.model import Manifest
from privet.manifest.processing import ConsentDefault, ConsentKind
from privet.requests.ports import OutboxItem
from privet.web.access import Form, csrf_ok, over_limit, record, runtime
from privet.web.gpc import honour_gpc
from privet.web.pages import error_page, page, refused, too_many
from privet.workspace.runtime import Runtime

router = APIRouter()


@dataclass(frozen=True)
class Toggle:
    field: str  # the form field; the server rebuilds the list on POST and reads only these names
    key: str
    scope: str
    title: str
    prompt: str
    description: str
    how_to_withdraw: str
    on: bool


def toggles(manifest: Manifest, choices: SubjectChoices, jurisdiction: str | None,
            campaigns: dict[str, set[str]]) -> tuple[list[Toggle], list[Toggle]]:  # fmt: skip
    """The consents that apply to the person, and their marketing subscriptions campaign by campaign."""
    law = catalogue()
    consents: list[Toggle] = []
    subscriptions: list[Toggle] = []
    for key, consent in manifest.consents.items():
        if consent.jurisdictions and jurisdiction and jurisdiction not in law.expand(consent.jurisdictions):
            continue
        held = choices.choice(key)
        on = held.granted if held is not None else consent.default is ConsentDefault.OPT_OUT
        consents.append(Toggle(f"consent:{key}", key, "", consent.title, consent.prompt, consent.description,
                               consent.how_to_withdraw, on))  # fmt: skip
        if consent.kind is not ConsentKind.MARKETING:
            continue
        channel = manifest.marketing_channels.get(consent.channel or "")
        if channel is not None and not channel.per_campaign_unsubscribe:
            continue
        scopes = {s for (k, s) in choices.choices if k == key and s} | campaigns.get(key, set())
        for scope in sorted(scopes):
            held = choices.choice(key, scope)
            subscriptions.append(Toggle(f"campaign:{key}:{scope}", key, scope, scope, consent.title, "", "",
                                        held is None or held.granted))  # fmt: skip
    return consents, subscriptions


def _person(rt: Runtime, token: str) -> tuple[UnsubscribeToken, str] | None:
    link = read_preference_link(rt.settings.secret_key, token, rt.now())
    subject = rt.subjects.get(link.subject_id) if link is not None else None
    return (link, subject.subject_id) if link is not None and subject is not None else None


def _expired(request: Request) -> Response:
    return error_page(request, 404, "This link has expired",
                      "Links to your choices work for 24 hours. Ask for a new one on the page Manage your "
                      "choices.")  # fmt: skip


def _state(rt: Runtime, link: UnsubscribeToken, subject_id: str) -> tuple[list[Toggle], list[Toggle]]:
    subject = rt.subjects.get(subject_id)
    campaigns: dict[str, set[str]] = {}
    channel = rt.manifest.marketing_channels.get(link.channel)
    if link.campaign and channel is not None and channel.consent:
        campaigns[channel.consent] = {link.campaign}
    return toggles(rt.manifest, rt.ledger.choices(subject_id), subject.jurisdiction if subject else None, campaigns)


@router.get("/privacy/preferences", response_class=HTMLResponse)
def ask_for_link(request: Request) -> Response:
    rt = runtime(request)
    cookies = honour_gpc(request, rt)
    return page(request, "center/preferences_ask.html", {"sent": False, "error": None, "email": ""}, cookies=cookies)


@router.post("/privacy/preferences", response_class=HTMLResponse)
def send_link(request: Request, form: Form) -> Response:
    if not csrf_ok(request, form):
        return refused(request)
    if over_limit(request, "submit"):
        return too_many(request)
    rt = runtime(request)
    typed = str(form.get("email", "")).strip()[:320]
    try:
        email = normalise(IdentifierKind.EMAIL, typed)
    except InvalidIdentifier:
        context = {"sent": False, "error": "Enter an email address like name@example.com.", "email": typed}
        return page(request, "center/preferences_ask.html", context, 422)
    subject_id = rt.subjects.find(email)
    if subject_id is not None:  # the page below says the same either way: it never tells who is known
        now = rt.now()
        token = preference_token(rt.settings.secret_key, subject_id, now)
        link = f"{rt.settings.public_url.rstrip('/')}/privacy/preferences/{token}"
        org = rt.manifest.organisation.name
        body = (f"Someone, hopefully you, asked to manage the privacy choices of this email address with {org}.\n\n"
                f"Open this link within 24 hours to see and change them:\n{link}\n\n"
                "If it was not you, ignore this email: nothing changes unless the link is used.\n")  # fmt: skip
        rt.outbox.enqueue(OutboxItem(secrets.token_hex(8), "", "preferences_link", email.value,
                                     f"Your privacy choices with {org}", body, "en", now))  # fmt: skip
    return page(request, "center/preferences_ask.html", {"sent": True, "error": None, "email": ""})


@router.get("/privacy/preferences/{token}", response_class=HTMLResponse)
def preferences(request: Request, token: str, saved: int = 0) -> Response:
    rt = runtime(request)
    found = _person(rt, token)
    if found is None:
        return _expired(request)
    link, subject_id = found
    cookies = honour_gpc(request, rt, subject_id)
    consents, subscriptions = _state(rt, link, subject_id)
    context = {"token": token, "consents": consents, "subscriptions": subscriptions, "saved": bool(saved)}
    return page(request, "center/preferences.html", context, cookies=cookies)


@router.post("/privacy/preferences/{token}", response_class=HTMLResponse)
def save_preferences(request: Request, token: str, form: Form) -> Response:
    if not csrf_ok(request, form):
        return refused(request)
    rt = runtime(request)
    found = _person(rt, token)
    if found is None:
        return _expired(request)
    link, subject_id = found
    consents, subscriptions = _state(rt, link, subject_id)
    now = rt.now()
    evidence = Evidence(user_agent=request.headers.get("user-agent", "")[:300] or None, note="privacy center")
    changes = [
        ChoiceInput(t.key, form.get(t.field) == "on", Source.PRIVACY_CENTER, subject_id=subject_id, scope=t.scope,
                    at=now, evidence=evidence)
        for t in consents + subscriptions
        if (form.get(t.field) == "on") != t.on
    ]  # fmt: skip
    if changes:
        record(request, changes, now)
    return RedirectResponse(f"/privacy/preferences/{token}?saved=1", status_code=303)


# One-click unsubscribe (RFC 8058): the mail provider POSTs `List-Unsubscribe=One-Click` to the link of the
# List-Unsubscribe header, with no cookie and no page; a person who opens the link gets a confirm button.


async def raw_body(request: Request) -> bytes:
    return await request.body()


@router.get("/u/{token}", response_class=HTMLResponse)
def unsubscribe_page(request: Request, token: str) -> Response:
    rt = runtime(request)
    link = read_unsubscribe_link(rt.settings.secret_key, token, rt.now())
    if link is None or link.channel not in rt.manifest.marketing_channels:
        return page(request, "center/unsubscribe.html", {"invalid": True, "done": False}, 404)
    cookies = honour_gpc(request, rt, link.subject_id if rt.subjects.get(link.subject_id) else None)
    context = {"invalid": False, "done": False, "token": token, "link": link,
               "channel": channel_of(rt.manifest, link.channel)}  # fmt: skip
    return page(request, "center/unsubscribe.html", context, cookies=cookies)


@router.post("/u/{token}", response_class=HTMLResponse)
def unsubscribe(request: Request, token: str, body: Annotated[bytes, Depends(raw_body)]) -> Response:
    rt = runtime(request)
    now = rt.now()
    link = read_unsubscribe_link(rt.settings.secret_key, token, now)
    if link is None or link.channel not in rt.manifest.marketing_channels or rt.subjects.get(link.subject_id) is None:
        return page(request, "center/unsubscribe.html", {"invalid": True, "done": False}, 404)
    one_click = is_one_click_body(body, request.headers.get("content-type", ""))
    if not one_click:
        try:
            fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
        except ValueError:
            fields = {}
        if not csrf_ok(request, FormData([(k, v[0]) for k, v in fields.items()])):
            return refused(request)
    choice = unsubscribe_choice(rt.manifest, link, one_click, now)
    held = rt.ledger.choices(link.subject_id).choice(choice.key, choice.scope)
    if held is None or held.granted:  # a second click changes nothing and records nothing
        try:
            record(request, [choice], now)
        except LedgerError:
            return page(request, "center/unsubscribe.html", {"invalid": True, "done": False}, 404)
    if one_click:
        return Response("unsubscribed\n", media_type="text/plain")
    context = {"invalid": False, "done": True, "token": token, "link": link,
               "channel": channel_of(rt.manifest, link.channel)}  # fmt: skip
    return page(request, "center/unsubscribe.html", context)
