"""The request workflow's ports on SQL: requests, verification secrets, outbox, audit chain, reminders, steps."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from privet.audit import AuditEntry, canonical_bytes, next_entry
from privet.fulfilment.executor import StepRecord, StepState
from privet.requests.codec import from_dict, to_dict
from privet.requests.model import CLOSED, FINAL, Request
from privet.requests.ports import OutboxItem, Reminder, StaleRequest
from privet.store import session
from privet.store.database import Database
from privet.store.request_tables import audit_log, fulfilment_steps, outbox, reminders, request_secrets, requests

_DONE_STATES = [s.value for s in CLOSED | FINAL]


def _row(request: Request) -> dict[str, Any]:
    return {
        "request_id": request.request_id,
        "kind": request.kind.value,
        "state": request.state.value,
        "jurisdiction": request.jurisdiction,
        "dedupe_key": request.dedupe_key,
        "received_at": request.received_at,
        "due": request.due_date(),
        "closed_at": request.closed_at,
        "document": to_dict(request),
    }


class SqlRequests:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, request: Request) -> None:
        session.write(self._db, lambda c: c.execute(sa.insert(requests), _row(request)))

    def get(self, request_id: str) -> Request | None:
        def work(conn: Connection) -> Request | None:
            doc = conn.execute(sa.select(requests.c.document).where(requests.c.request_id == request_id)).scalar()
            return from_dict(doc) if doc is not None else None

        return session.read(self._db, work)

    def save(self, request: Request, expected_state: str) -> None:
        def work(conn: Connection) -> None:
            row = _row(request)
            done = conn.execute(
                sa.update(requests)
                .where(requests.c.request_id == request.request_id, requests.c.state == expected_state)
                .values({k: v for k, v in row.items() if k != "request_id"})
            )
            if done.rowcount != 1:
                raise StaleRequest(f"request {request.request_id} changed meanwhile; read it again and retry")

        session.write(self._db, work)

    def open_with_key(self, dedupe_key: str) -> Request | None:
        def work(conn: Connection) -> Request | None:
            doc = conn.execute(
                sa.select(requests.c.document)
                .where(requests.c.dedupe_key == dedupe_key, requests.c.state.not_in(_DONE_STATES))
                .order_by(requests.c.received_at)
                .limit(1)
            ).scalar()
            return from_dict(doc) if doc is not None else None

        return session.read(self._db, work)

    def all(self) -> list[Request]:
        def work(conn: Connection) -> list[Request]:
            docs = conn.execute(sa.select(requests.c.document).order_by(requests.c.due, requests.c.received_at))
            return [from_dict(d) for (d,) in docs]

        return session.read(self._db, work)

    def put_secret(self, request_id: str, name: str, value: Mapping[str, Any]) -> None:
        def work(conn: Connection) -> None:
            key = (request_secrets.c.request_id == request_id) & (request_secrets.c.name == name)
            conn.execute(sa.delete(request_secrets).where(key))
            conn.execute(sa.insert(request_secrets), {"request_id": request_id, "name": name, "value": dict(value)})

        session.write(self._db, work)

    def get_secret(self, request_id: str, name: str) -> Mapping[str, Any] | None:
        def work(conn: Connection) -> Mapping[str, Any] | None:
            key = (request_secrets.c.request_id == request_id) & (request_secrets.c.name == name)
            value = conn.execute(sa.select(request_secrets.c.value).where(key)).scalar()
            return dict(value) if value is not None else None

        return session.read(self._db, work)


def _item(row: Any) -> OutboxItem:
    return OutboxItem(row.message_id, row.request_id, row.kind, row.to_address, row.subject, row.body, row.language,
                      row.created_at, row.status, row.attempts, row.last_error, row.html)  # fmt: skip


class SqlOutbox:
    def __init__(self, db: Database) -> None:
        self._db = db

    def enqueue(self, item: OutboxItem) -> None:
        values = {
            "message_id": item.message_id,
            "request_id": item.request_id,
            "kind": item.kind,
            "to_address": item.to,
            "subject": item.subject,
            "body": item.body,
            "html": item.html,
            "language": item.language,
            "created_at": item.created_at,
            "status": item.status,
            "attempts": item.attempts,
            "last_error": item.last_error,
        }
        session.write(self._db, lambda c: c.execute(sa.insert(outbox), values))

    def pending(self, limit: int = 100) -> list[OutboxItem]:
        query = sa.select(outbox).where(outbox.c.status == "queued").order_by(outbox.c.created_at).limit(limit)
        return session.read(self._db, lambda c: [_item(r) for r in c.execute(query)])

    def mark(self, message_id: str, status: str, error: str | None, at: dt.datetime,
             content: tuple[str, str | None] | None = None) -> None:  # fmt: skip
        values: dict[str, Any] = {"status": status, "last_error": error, "attempts": outbox.c.attempts + 1,
                                  "updated_at": at}  # fmt: skip
        if content is not None:
            values |= {"body": content[0], "html": content[1]}
        query = sa.update(outbox).where(outbox.c.message_id == message_id).values(**values)
        session.write(self._db, lambda c: c.execute(query))

    def for_request(self, request_id: str) -> list[OutboxItem]:
        query = sa.select(outbox).where(outbox.c.request_id == request_id).order_by(outbox.c.created_at)
        return session.read(self._db, lambda c: [_item(r) for r in c.execute(query)])

    def all(self) -> list[OutboxItem]:
        query = sa.select(outbox).order_by(outbox.c.created_at)
        return session.read(self._db, lambda c: [_item(r) for r in c.execute(query)])


def _entry(row: Any) -> AuditEntry:
    payload = json.loads(row.payload)
    return AuditEntry(row.seq, row.at, row.actor, row.action, row.subject_ref, payload, row.prev_hash, row.hash)


class SqlAudit:
    """The audit chain on SQL. Appends are serialised (an advisory lock on PostgreSQL, the write lock on SQLite)."""

    LOCK = 0x70726976  # "priv"

    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, at: dt.datetime, actor: str, action: str, subject_ref: str, payload: Mapping[str, Any]) -> None:
        def work(conn: Connection) -> None:
            if self._db.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": self.LOCK})
            last = conn.execute(sa.select(audit_log).order_by(audit_log.c.seq.desc()).limit(1)).first()
            entry = next_entry(_entry(last) if last else None, at, actor, action, subject_ref, payload)
            stored = canonical_bytes(entry.content()).decode()
            conn.execute(
                sa.insert(audit_log),
                {"seq": entry.seq, "at": entry.at, "actor": entry.actor, "action": entry.action,
                 "subject_ref": entry.subject_ref, "payload": json.dumps(json.loads(stored)["payload"],
                                                                         ensure_ascii=False, sort_keys=True),
                 "prev_hash": entry.prev_hash, "hash": entry.hash},
            )  # fmt: skip

        session.write(self._db, work)

    def entries(self, subject_ref: str | None = None, batch: int = 5_000) -> Iterator[AuditEntry]:
        """Every entry in order, read in batches (the chain can be long)."""
        after = 0
        while True:
            query = sa.select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq).limit(batch)
            if subject_ref is not None:
                query = query.where(audit_log.c.subject_ref == subject_ref)
            rows = session.read(self._db, lambda c, q=query: c.execute(q).all())  # type: ignore[misc]
            if not rows:
                return
            for row in rows:
                yield _entry(row)
            after = rows[-1].seq


class SqlScheduler:
    """Reminders in the database; fulfilment handed to `on_fulfil` (the job queue) once the step commits."""

    def __init__(self, db: Database, on_fulfil: Callable[[str], None]) -> None:
        self._db = db
        self._on_fulfil = on_fulfil

    def remind(self, reminder: Reminder) -> None:
        row = {"request_id": reminder.request_id, "on": reminder.on, "what": reminder.what, "done": False}
        session.write(self._db, lambda c: c.execute(sa.insert(reminders), row))

    def start_fulfilment(self, request_id: str) -> None:
        self._on_fulfil(request_id)

    def due(self, on: dt.date) -> list[Reminder]:
        query = sa.select(reminders).where(reminders.c.on <= on, reminders.c.done.is_(False)).order_by(reminders.c.on)
        return session.read(self._db, lambda c: [Reminder(r.request_id, r.on, r.what) for r in c.execute(query)])


class SqlCheckpoints:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, request_id: str, phase: str, collection: str) -> StepRecord | None:
        query = sa.select(fulfilment_steps).where(
            fulfilment_steps.c.request_id == request_id,
            fulfilment_steps.c.phase == phase,
            fulfilment_steps.c.collection == collection,
        )
        row = session.read(self._db, lambda c: c.execute(query).first())
        return _step(row) if row is not None else None

    def put(self, record: StepRecord, at: dt.datetime) -> None:
        def work(conn: Connection) -> None:
            key = (
                (fulfilment_steps.c.request_id == record.request_id)
                & (fulfilment_steps.c.phase == record.phase)
                & (fulfilment_steps.c.collection == record.collection)
            )
            conn.execute(sa.delete(fulfilment_steps).where(key))
            conn.execute(
                sa.insert(fulfilment_steps),
                {"request_id": record.request_id, "phase": record.phase, "collection": record.collection,
                 "state": record.state.value, "rows": record.rows, "error": record.error,
                 "detail": dict(record.detail), "at": at},
            )  # fmt: skip

        session.write(self._db, work)

    def all(self, request_id: str) -> list[StepRecord]:
        query = sa.select(fulfilment_steps).where(fulfilment_steps.c.request_id == request_id)
        return session.read(self._db, lambda c: [_step(r) for r in c.execute(query.order_by(fulfilment_steps.c.at))])


def _step(row: Any) -> StepRecord:
    return StepRecord(row.request_id, row.phase, row.collection, StepState(row.state), row.rows, row.error,
                      dict(row.detail or {}))  # fmt: skip
