"""What the request workflow needs from storage and delivery."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from privet.requests.model import Request


class StaleRequest(RuntimeError):
    """Someone else changed the request since it was read; read it again and retry."""


@dataclass(frozen=True)
class OutboxItem:
    message_id: str
    request_id: str
    kind: str
    to: str
    subject: str
    body: str
    language: str
    created_at: dt.datetime
    status: str = "queued"  # queued, sent, failed
    attempts: int = 0
    last_error: str | None = None
    html: str | None = None


@dataclass(frozen=True)
class Reminder:
    request_id: str
    on: dt.date
    what: str


class RequestStore(Protocol):
    def add(self, request: Request) -> None: ...

    def get(self, request_id: str) -> Request | None: ...

    def save(self, request: Request, expected_state: str) -> None:
        """Replace the stored request if its state is still `expected_state`; else raise StaleRequest."""
        ...

    def open_with_key(self, dedupe_key: str) -> Request | None:
        """An open request with the same dedupe key (a repeated submission), if any."""
        ...

    def all(self) -> list[Request]: ...

    def put_secret(self, request_id: str, name: str, value: Mapping[str, Any]) -> None:
        """Verification state that is not part of the request value (a code's hash and attempts)."""
        ...

    def get_secret(self, request_id: str, name: str) -> Mapping[str, Any] | None: ...


class Outbox(Protocol):
    def enqueue(self, item: OutboxItem) -> None: ...

    def pending(self, limit: int = 100) -> list[OutboxItem]: ...

    def mark(self, message_id: str, status: str, error: str | None, at: dt.datetime,
             content: tuple[str, str | None] | None = None) -> None:  # fmt: skip
        """Record an attempt's outcome; `content` (text, HTML) replaces what is kept, e.g. a sent code blanked."""
        ...

    def for_request(self, request_id: str) -> list[OutboxItem]: ...

    def all(self) -> list[OutboxItem]: ...


class AuditLog(Protocol):
    def record(self, at: dt.datetime, actor: str, action: str, subject_ref: str, payload: Mapping[str, Any]) -> None:
        """Append one entry to the hash chain (atomically with respect to other writers)."""
        ...


class UnitOfWork(Protocol):
    def __call__(self) -> AbstractContextManager[None]:
        """A scope in which the request, its audit entry and its messages are written together or not at all."""
        ...


class Scheduler(Protocol):
    def remind(self, reminder: Reminder) -> None: ...

    def start_fulfilment(self, request_id: str) -> None: ...
