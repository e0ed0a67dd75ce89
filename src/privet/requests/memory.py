"""In-memory request storage: for tests and single-shot runs, and the reference for the SQL stores."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from privet.audit import AuditEntry, next_entry
from privet.requests.model import CLOSED, FINAL, Request
from privet.requests.ports import OutboxItem, Reminder, StaleRequest


class MemoryRequests:
    def __init__(self) -> None:
        self._requests: dict[str, Request] = {}
        self._secrets: dict[tuple[str, str], Mapping[str, Any]] = {}

    def add(self, request: Request) -> None:
        if request.request_id in self._requests:
            raise ValueError(f"request {request.request_id} exists")
        self._requests[request.request_id] = request

    def get(self, request_id: str) -> Request | None:
        return self._requests.get(request_id)

    def save(self, request: Request, expected_state: str) -> None:
        current = self._requests.get(request.request_id)
        if current is None or current.state.value != expected_state:
            raise StaleRequest(f"request {request.request_id} changed meanwhile")
        self._requests[request.request_id] = request

    def open_with_key(self, dedupe_key: str) -> Request | None:
        for r in self._requests.values():
            if r.dedupe_key == dedupe_key and r.state not in CLOSED | FINAL:
                return r
        return None

    def all(self) -> list[Request]:
        return list(self._requests.values())

    def put_secret(self, request_id: str, name: str, value: Mapping[str, Any]) -> None:
        self._secrets[(request_id, name)] = dict(value)

    def get_secret(self, request_id: str, name: str) -> Mapping[str, Any] | None:
        return self._secrets.get((request_id, name))


class MemoryOutbox:
    def __init__(self) -> None:
        self._items: dict[str, OutboxItem] = {}

    def enqueue(self, item: OutboxItem) -> None:
        self._items[item.message_id] = item

    def pending(self, limit: int = 100) -> list[OutboxItem]:
        return [i for i in self._items.values() if i.status == "queued"][:limit]

    def mark(self, message_id: str, status: str, error: str | None, at: dt.datetime,
             content: tuple[str, str | None] | None = None) -> None:  # fmt: skip
        item = self._items[message_id]
        item = dataclasses.replace(item, status=status, attempts=item.attempts + 1, last_error=error)
        if content is not None:
            item = dataclasses.replace(item, body=content[0], html=content[1])
        self._items[message_id] = item

    def for_request(self, request_id: str) -> list[OutboxItem]:
        return [i for i in self._items.values() if i.request_id == request_id]

    def all(self) -> list[OutboxItem]:
        return list(self._items.values())


class MemoryScheduler:
    def __init__(self) -> None:
        self.reminders: list[Reminder] = []
        self.fulfilments: list[str] = []

    def remind(self, reminder: Reminder) -> None:
        self.reminders.append(reminder)

    def start_fulfilment(self, request_id: str) -> None:
        self.fulfilments.append(request_id)


@contextmanager
def no_transaction() -> Iterator[None]:
    yield


class MemoryAudit:
    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    def record(self, at: dt.datetime, actor: str, action: str, subject_ref: str, payload: Mapping[str, Any]) -> None:
        prev = self.entries[-1] if self.entries else None
        self.entries.append(next_entry(prev, at, actor, action, subject_ref, payload))
