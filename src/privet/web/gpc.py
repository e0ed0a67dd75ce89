"""Global Privacy Control on privacy-center pages: a `Sec-GPC: 1` visit records the opt-out, once."""

from __future__ import annotations

import dataclasses
import re
import uuid

from fastapi import Request

from privet.consent.events import Evidence, Signal
from privet.consent.identifiers import Identifier, IdentifierKind
from privet.consent.ledger import ChoiceInput, gpc_choices
from privet.consent.marketing import is_gpc
from privet.web.access import record
from privet.workspace.runtime import Runtime

BROWSER_COOKIE = "privet_bid"  # the browser id the consent banner keeps, too
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
GPC_SIGNALS = (Signal.OPT_OUT_SALE, Signal.OPT_OUT_SHARING, Signal.OPT_OUT_TARGETED_ADVERTISING)


def browser_id(request: Request) -> tuple[str, bool]:
    """The browser's id from its cookie, or a new one (True: set the cookie)."""
    known = request.cookies.get(BROWSER_COOKIE, "").lower()
    if _UUID.fullmatch(known):
        return known, False
    return str(uuid.uuid4()), True


def _in_force(rt: Runtime, subject_id: str | None) -> bool:
    if subject_id is None:
        return False
    choices = rt.ledger.choices(subject_id)
    return all(choices.signal(s) is not None for s in GPC_SIGNALS)


def honour_gpc(request: Request, rt: Runtime, subject_id: str | None = None) -> dict[str, str]:
    """Record a GPC signal for this browser (so for the person it is linked to) and for the person the page is
    about; returns the cookies to set. Opt-outs already in force are not recorded again.

    The browser id is not linked to the page's person: a shared computer must not merge two people.
    """
    request.state.gpc_honoured = False
    if not is_gpc(request.headers.get("sec-gpc")):
        return {}
    bid, fresh = browser_id(request)
    browser = Identifier(IdentifierKind.BROWSER, bid)
    now = rt.now()
    evidence = Evidence(user_agent=request.headers.get("user-agent", "")[:300] or None, note="Sec-GPC: 1 on a page")
    signals = [dataclasses.replace(c, evidence=evidence) for c in gpc_choices(browser, now)]
    inputs: list[ChoiceInput] = []
    linked = rt.subjects.find(browser)
    if not _in_force(rt, linked):
        inputs += signals
    if subject_id is not None and subject_id != linked and not _in_force(rt, subject_id):
        inputs += [dataclasses.replace(c, subject_id=subject_id, identifier=None) for c in signals]
    if inputs:
        record(request, inputs, now)
    request.state.gpc_honoured = True
    return {BROWSER_COOKIE: bid} if fresh else {}
