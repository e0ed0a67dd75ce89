"""The request workflow as a service: intake, each step through advance(), and the effects carried out.

Every step writes the request, its audit entry and its outgoing messages in one unit of work, so a crash
leaves either the old state or the new one, never half of each.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from privet.manifest.model import Manifest
from privet.requests.agents import AgentEvidence, AgentOutcome, AgentReview, review_agent
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
from privet.requests.messages import MessageError
from privet.requests.model import CLOSED, FINAL, Request, State
from privet.requests.ports import AuditLog, Outbox, OutboxItem, Reminder, RequestStore, Scheduler, UnitOfWork
from privet.requests.verification import (
    CodeRecord,
    CodeResult,
    CodeStatus,
    MatchOutcome,
    VerificationError,
    check_code,
    issue_code,
    match_points,
    required_standard,
    verify_account_token,
)

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


@dataclass(frozen=True)
class AgentReviewed:
    request: Request  # with the reviewed agent; in progress when the approval let an opt-out start
    review: AgentReview
    asked_person: bool  # a message asks the person to confirm the agent (False: no address to write to)


def new_request_id() -> str:
    """Unguessable (128 random bits); it starts with a letter so that no command line mistakes it for an option."""
    return "r" + secrets.token_urlsafe(16)


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
        status_link: Callable[[str], str] | None = None,
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.outbox = outbox
        self.audit = audit
        self.scheduler = scheduler
        self.render = render
        self.unit_of_work = unit_of_work
        self.new_id = new_id
        self.status_link = status_link  # request id -> the private link to its status page, put in every message

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
                # Whoever typed the address learns nothing; its owner is told where the open request is.
                self._audit(now, actor, "duplicate_submission", existing, {"channel": submission.channel.value})
                effect = SendMessage(existing.request_id, MessageKind.ALREADY_OPEN)
                with contextlib.suppress(MessageError):  # no address to write to: nobody to tell
                    self.outbox.enqueue(self._message(existing, effect, now, {}))
                return Submitted(existing, duplicate=True)
            self.store.add(request)
            self._audit(now, actor, "received", request, _received_payload(request))
            self._remind(request)
        if intake.ineligible:
            request = self.act(request.request_id, Event(EventKind.DENY, reasons=intake.ineligible), now, "system")
        elif not request.needs_verification and (request.agent is None or request.agent.approved):
            request = self.act(request.request_id, Event(EventKind.START), now, "system")
        else:
            request = self.act(request.request_id, Event(EventKind.CONFIRM_RECEIPT), now, "system")
        return Submitted(request, duplicate=False)

    def act(
        self,
        request_id: str,
        event: Event,
        now: dt.datetime,
        actor: str = "system",
        extra: Mapping[str, str] | None = None,
    ) -> Request:
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
        dates, window_ends = appeal_terms(self.manifest, request, now)
        event = Event(EventKind.APPEAL, text=text, appeal_dates=dates, appeal_window_ends=window_ends, actor=actor)
        return self.act(request_id, event, now, actor)

    def review_agent(
        self, request_id: str, evidence: AgentEvidence, now: dt.datetime, actor: str = "system"
    ) -> AgentReviewed:
        """Record what a reviewer found in the agent's document. Where the person must still confirm the agent,
        they are asked to; an approved agent's opt-out (which may not wait on verification) starts at once."""
        request = self.get(request_id)
        if request.agent is None:
            raise RequestError(f"request {request_id} has no authorised agent; nothing to review")
        if request.state in CLOSED | FINAL:
            raise RequestError(f"request {request_id} is {request.state.value}; its agent can no longer be reviewed")
        review = review_agent(request.agent, evidence, request.kind, request.jurisdiction)
        updated = dataclasses.replace(request, agent=review.agent)
        outgoing: list[OutboxItem] = []
        if review.outcome is AgentOutcome.NEEDS_PERSON_CONFIRMATION:
            with contextlib.suppress(MessageError):  # no address of the person's own: staff must ask another way
                effect = SendMessage(request_id, MessageKind.AGENT_CONFIRMATION)
                outgoing.append(self._message(updated, effect, now, {}))
        payload = {"outcome": review.outcome.value, "reasons": list(review.reasons), "cites": list(review.cites),
                   "document": evidence.document.value, "person_asked": bool(outgoing)}  # fmt: skip
        with self.unit_of_work():
            self.store.save(updated, expected_state=request.state.value)
            self._audit(now, actor, "agent_reviewed", updated, payload)
            for item in outgoing:
                self.outbox.enqueue(item)
        waiting = updated.state in (State.RECEIVED, State.RECEIPT_CONFIRMED)
        if review.approved and waiting and not updated.needs_verification:
            updated = self.act(request_id, Event(EventKind.START), now, "system")
        return AgentReviewed(updated, review, bool(outgoing))

    def send_code(self, request_id: str, secret: bytes, now: dt.datetime) -> Request:
        """Email a one-time code (only its keyed hash is kept) and move the request to verifying."""
        request = self.get(request_id)
        issued = issue_code(secret, request_id, now)
        record = issued.record
        with self.unit_of_work():
            self.store.put_secret(request_id, "email_code", _code_json(record))
            event = Event(EventKind.BEGIN_VERIFICATION, method="email_code")
            extra = {"code": issued.code, "expires": record.expires_at.isoformat()}
            if request.state is State.VERIFYING:  # a new code for a request already verifying: message only
                item = self._message(request, SendMessage(request_id, MessageKind.VERIFICATION_CODE), now, extra)
                self.outbox.enqueue(item)
                self._audit(now, "system", "code_resent", request, {})
                return request
            return self.act(request_id, event, now, "system", extra=extra)

    def check_code(self, request_id: str, secret: bytes, attempt: str, now: dt.datetime) -> CodeResult:
        """Check a code the person typed; the right one verifies the request, too many wrong ones fail it."""
        request = self.get(request_id)
        stored = self.store.get_secret(request_id, "email_code")
        if stored is None:
            raise RequestError(f"no code was sent for request {request_id}; send one first")
        record, result = check_code(secret, _code_from(stored), attempt, now)
        with self.unit_of_work():
            self.store.put_secret(request_id, "email_code", _code_json(record))
            self._audit(now, "requester", "code_checked", request, {"status": result.status.value})
            standard = required_standard(request.kind, request.jurisdiction)
            if result.ok and request.state is State.VERIFYING:
                self.act(
                    request_id,
                    Event(EventKind.VERIFIED, method="email_code", level=f"email code; {standard.level}"),
                    now,
                    "requester",
                )
            elif result.status is CodeStatus.LOCKED and request.state is State.VERIFYING:
                self.act(
                    request_id,
                    Event(
                        EventKind.VERIFICATION_FAILED,
                        reasons=("the code was typed wrongly too many times; identity could not be verified",),
                    ),
                    now,
                    "system",
                )
        return result

    def verify_by_account(self, request_id: str, keys: Sequence[bytes], token: str, now: dt.datetime) -> Request:
        """The company's auth system vouches for the person (a signed token): the request is verified."""
        claim = verify_account_token(keys, token, now)
        request = self.get(request_id)
        if request.requester.subject_id and request.requester.subject_id != claim.subject:
            raise VerificationError("the token names another account than the request's")
        level = f"signed-in account {claim.subject}"
        return self.act(request_id, Event(EventKind.VERIFIED, method="account", level=level), now, "requester")

    def verify_by_matching(
        self,
        request_id: str,
        provided: Mapping[str, str],
        held: Mapping[str, Any],
        declaration: bool,
        now: dt.datetime,
        actor: str = "system",
    ) -> MatchOutcome:
        """Compare the person's data points with what the company holds, by the law's standard. The audit keeps
        which points matched, never their values; a request meeting the standard is verified."""
        request = self.get(request_id)
        standard = required_standard(request.kind, request.jurisdiction)
        outcome = match_points(provided, held, standard, declaration=declaration)
        with self.unit_of_work():
            self._audit(
                now,
                actor,
                "data_points_matched",
                request,
                {
                    "matched": list(outcome.matched),
                    "mismatched": list(outcome.mismatched),
                    "required": outcome.required,
                    "met": outcome.met,
                    "standard": standard.level,
                },
            )
            if outcome.met and request.state in (State.RECEIVED, State.RECEIPT_CONFIRMED, State.VERIFYING,
                                                 State.APPEALED):  # fmt: skip
                self.act(request_id, Event(EventKind.VERIFIED, method="matching", level=outcome.level), now, actor)
        return outcome

    def _message(self, request: Request, effect: SendMessage, now: dt.datetime, extra: Mapping[str, str]) -> OutboxItem:
        if self.status_link is not None:
            extra = {**extra, "status_link": self.status_link(request.request_id)}
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


def _code_json(record: CodeRecord) -> dict[str, Any]:
    return {
        "request_id": record.request_id,
        "digest": record.digest,
        "expires_at": record.expires_at.isoformat(),
        "attempts": record.attempts,
        "max_attempts": record.max_attempts,
        "used": record.used,
    }


def _code_from(data: Mapping[str, Any]) -> CodeRecord:
    return CodeRecord(
        data["request_id"],
        data["digest"],
        dt.datetime.fromisoformat(data["expires_at"]),
        data["attempts"],
        data["max_attempts"],
        data["used"],
    )
