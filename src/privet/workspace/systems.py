"""The company's systems as a request's fulfilment meets them: who the requester is there, the connectors to reach
them, and the recipients to tell of a change (shared by access, erasure, correction and restriction)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from privet.connectors.registry import connector_for
from privet.fulfilment.executor import FulfilmentError, StepRecord, StepState
from privet.fulfilment.ports import Connector
from privet.requests.model import Request
from privet.workspace.runtime import Runtime


class FulfilmentIncomplete(FulfilmentError):
    """Work remains (a failed system, manual tasks): the request stays in progress and can be run again."""


def identities_of(rt: Runtime, request: Request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    r = request.requester
    if r.email:
        out.setdefault("email", []).append(r.email.strip().lower())
    if r.phone:
        out.setdefault("phone_number", []).append(r.phone)
    if r.subject_id:
        for ident in rt.subjects.identifiers(r.subject_id):
            name = {"phone": "phone_number"}.get(ident.kind.value, ident.kind.value)
            if ident.value not in out.get(name, []):
                out.setdefault(name, []).append(ident.value)
    return out


def subject_of(rt: Runtime, request: Request) -> str | None:
    if request.requester.subject_id:
        return request.requester.subject_id
    from privet.consent.identifiers import Identifier, IdentifierKind

    if request.requester.email:
        return rt.subjects.find(Identifier(IdentifierKind.EMAIL, request.requester.email.strip().lower()))
    return None


@contextmanager
def connectors(rt: Runtime) -> Iterator[dict[str, Connector]]:
    opened = {key: connector_for(key, config) for key, config in rt.settings.systems.items()}
    try:
        yield opened
    finally:
        for c in opened.values():
            c.close()


def notify_recipients(rt: Runtime, request: Request, systems: set[str], what: str, now: dt.datetime) -> list[str]:
    """GDPR Art. 19: every recipient that got the person's data from these systems must be told of the change.

    A notification task per recipient, recorded with the request (privet requests show lists them).
    """
    m = rt.manifest
    told: dict[str, str] = {}
    for activity in m.activities.values():
        if not systems.intersection(activity.systems):
            continue
        for key in activity.recipients:
            recipient = m.recipients.get(key)
            if recipient is not None and recipient.kind.value not in ("authority", "individual"):
                told.setdefault(key, recipient.title)
    for key, title in sorted(told.items()):
        task = f"tell {title} to {what} the person's data (GDPR Art. 19)"
        rt.checkpoints.put(
            StepRecord(request.request_id, "notify", key, StepState.MANUAL, 0, detail={"task": task}), now
        )
    if told:
        rt.audit.record(
            now, "system", "recipients_to_notify", f"request:{request.request_id}", {"recipients": sorted(told)}
        )
    return sorted(told)
