"""The request workflow as a service: intake, each step through advance(), and the effects carried out.

Every step writes the request, its audit entry and its outgoing messages in one unit of work, so a crash
leaves either the old state or the new one, never half of each.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from privet.manifest.model import Manifest
from privet.requests.intake import Submission, appeal_terms, receive
from privet.requests.lifecycle import (
    Event,
    EventKind,
    MessageKind,
    RequestError,
    ScheduleReminder,
    SendMessage,
    StartFulfilment,
    advance,
)
from privet.requests.model import Request
from privet.requests.ports import AuditLog, Outbox, OutboxItem, Reminder, RequestStore, Scheduler, UnitOfWork

REMIND_BEFORE = dt.timedelta(days=7)


class Rendered(Protocol):
    @property
    def to(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def html(self) -> str | None: ...
    @property
    def language(self) -> str: ...


Renderer = Callable[[MessageKind, Request, Sequence[str], Mapping[str, str]], Rendered]


@dataclass(frozen=True)
class Submitted:
    request: Request
    duplicate: bool  # the same person already has this request open: it was recognised, not doubled


def new_request_id() -> str:
    """Unguessable: the id alone reaches a request's status page, so it carries 128 bits of randomness."""
    return secrets.token_urlsafe(16)


class RequestService:
    def __init__(
        self,
        manifest: Manifest,
        store: RequestStore,
        outbox: Outbox,
        audit: AuditLog,
        scheduler: Scheduler,
        render: Renderer,
        unit_of_work: UnitOfWork,
        new_id: Callable[[], str] = new_request_id,
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.outbox = outbox
        self.audit = audit
        self.scheduler = scheduler
        self.render = render
        self.unit_of_work = unit_of_work
        self.new_id = new_id

    def get(self, request_id: str) -> Request:
        request = self.store.get(request_id)
        if request is None:
            raise RequestError(f"no request {request_id!r}; list them with: privet requests list")
        return request

    def submit(self, submission: Submission, now: dt.datetime, actor: str = "requester") -> Submitted:
        intake = receive(submission, self.manifest, self.new_id(), now)
        request = intake.request
        with self.unit_of_work():
            existing = self.store.open_with_key(request.dedupe_key or "")
            if existing is not None:
                self._audit(now, actor, "duplicate_submission", existing, {"channel": submission.channel.value})
                return Submitted(existing, duplicate=True)
            self.store.add(request)
            self._audit(now, actor, "received", request, _received_payload(request))
            self._remind(request)
        if intake.ineligible:
            request = self.act(request.request_id, Event(EventKind.DENY, reasons=intake.ineligible), now, "system")
        elif not request.needs_verification:
            request = self.act(request.request_id, Event(EventKind.START), now, "system")
        else:
            request = self.act(request.request_id, Event(EventKind.CONFIRM_RECEIPT), now, "system")
        return Submitted(request, duplicate=False)

    def act(self, request_id: str, event: Event, now: dt.datetime, actor: str = "system",
            extra: Mapping[str, str] | None = None) -> Request:  # fmt: skip
        """One step of the lifecycle, recorded and carried out."""
        request = self.get(request_id)
        updated, effects = advance(request, event, now)
        # Render every message before writing anything: a message that cannot be written stops the step whole.
        outgoing = [self._message(updated, e, now, extra or {}) for e in effects if isinstance(e, SendMessage)]
        payload: dict[str, Any] = {"from": request.state.value, "to": updated.state.value}
        for name in ("method", "level", "outcome"):
            if getattr(event, name):
                payload[name] = getattr(event, name)
        if event.reasons:
            payload["reasons"] = list(event.reasons)
        with self.unit_of_work():
            self.store.save(updated, expected_state=request.state.value)
            self._audit(now, event.actor if event.actor != "system" else actor, event.kind.value, updated, payload)
            for item in outgoing:
                self.outbox.enqueue(item)
            for effect in effects:
                if isinstance(effect, StartFulfilment):
                    self.scheduler.start_fulfilment(effect.request_id)
                elif isinstance(effect, ScheduleReminder):
                    self.scheduler.remind(Reminder(effect.request_id, effect.on, effect.what))
        return updated

    def appeal(self, request_id: str, text: str, now: dt.datetime, actor: str = "requester") -> Request:
        request = self.get(request_id)
        dates, window_ends = appeal_terms(self.manifest, request, now.date())
        event = Event(EventKind.APPEAL, text=text, appeal_dates=dates, appeal_window_ends=window_ends, actor=actor)
        return self.act(request_id, event, now, actor)

    def _message(self, request: Request, effect: SendMessage, now: dt.datetime,
                 extra: Mapping[str, str]) -> OutboxItem:  # fmt: skip
        message = self.render(effect.message, request, effect.reasons, extra)
        return OutboxItem(
            message_id=secrets.token_hex(8),
            request_id=request.request_id,
            kind=effect.message.value,
            to=message.to,
            subject=message.subject,
            body=message.text,
            html=message.html,
            language=message.language,
            created_at=now,
        )

    def _remind(self, request: Request) -> None:
        due = request.due_date()
        self.scheduler.remind(Reminder(request.request_id, due - REMIND_BEFORE, "deadline in a week"))
        self.scheduler.remind(Reminder(request.request_id, due, "deadline"))

    def _audit(self, now: dt.datetime, actor: str, action: str, request: Request, payload: Mapping[str, Any]) -> None:
        self.audit.record(now, actor, action, f"request:{request.request_id}", payload)


def _received_payload(request: Request) -> dict[str, Any]:
    return {
        "kind": request.kind.value,
        "jurisdiction": request.jurisdiction,
        "channel": request.channel.value,
        "due": request.dates.due.isoformat(),
        "agent": request.agent.name if request.agent else None,
        "notes": list(request.notes),
    }
