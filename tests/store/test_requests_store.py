"""The request workflow's stores: one contract over memory, SQLite and PostgreSQL, plus the unit of work."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from privet.audit import verify_chain
from privet.law.vocabulary import Right
from privet.requests.intake import Submission
from privet.requests.lifecycle import Event, EventKind
from privet.requests.memory import MemoryAudit, MemoryOutbox, MemoryRequests, no_transaction
from privet.requests.messages import render_message
from privet.requests.model import Agent, Dates, Request, Requester, State
from privet.requests.ports import OutboxItem, StaleRequest
from privet.requests.service import RequestService
from privet.store import Database
from privet.store.requests import SqlAudit, SqlCheckpoints, SqlOutbox, SqlRequests, SqlScheduler
from privet.store.session import unit_of_work
from privet.workspace.manifest_files import load_manifest
from tests.conftest import MINIMAL

NOW = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)


def sample(request_id: str = "r1", **changes: Any) -> Request:
    base = Request(
        request_id, Right.DELETION, "eu", NOW, State.RECEIVED, Requester(email="ann@example.test", name="Ann"),
        Dates(due=dt.date(2025, 4, 3), extended_due=dt.date(2025, 6, 3), cites=("GDPR Art. 12(3)",)),
        agent=Agent("Agent Co", scope=(Right.DELETION,)), dedupe_key="k1", notes=("n",),
    )  # fmt: skip
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@dataclass
class Kit:
    name: str
    requests: Any
    outbox: Any
    audit: Any
    uow: Callable[[], AbstractContextManager[None]]
    db: Database | None = None

    def entries(self) -> list[Any]:
        return list(self.audit.entries()) if self.db else list(self.audit.entries)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def kit(request: pytest.FixtureRequest) -> Kit:
    if request.param == "memory":
        return Kit("memory", MemoryRequests(), MemoryOutbox(), MemoryAudit(), no_transaction)
    db: Database = request.getfixturevalue({"sqlite": "sqlite_db", "postgresql": "postgres_db"}[request.param])
    return Kit(request.param, SqlRequests(db), SqlOutbox(db), SqlAudit(db), lambda: unit_of_work(db), db)


def test_requests_round_trip_and_optimistic_saves(kit: Kit) -> None:
    r = sample()
    kit.requests.add(r)
    assert kit.requests.get("r1") == r
    closed = dataclasses.replace(r, state=State.DENIED, closed_at=NOW, outcome_reasons=("x",))
    kit.requests.save(closed, expected_state="received")
    assert kit.requests.get("r1") == closed
    with pytest.raises(StaleRequest):
        kit.requests.save(dataclasses.replace(closed, state=State.FULFILLED), expected_state="received")
    assert kit.requests.get("nope") is None


def test_open_requests_are_found_by_their_key(kit: Kit) -> None:
    kit.requests.add(sample("a", state=State.DENIED))
    assert kit.requests.open_with_key("k1") is None
    kit.requests.add(sample("b"))
    found = kit.requests.open_with_key("k1")
    assert found is not None and found.request_id == "b"
    assert {r.request_id for r in kit.requests.all()} == {"a", "b"}


def test_secrets_are_replaced(kit: Kit) -> None:
    kit.requests.add(sample())
    kit.requests.put_secret("r1", "code", {"digest": "aa", "attempts": 0})
    kit.requests.put_secret("r1", "code", {"digest": "aa", "attempts": 1})
    assert kit.requests.get_secret("r1", "code") == {"digest": "aa", "attempts": 1}
    assert kit.requests.get_secret("r1", "other") is None


def test_outbox(kit: Kit) -> None:
    item = OutboxItem("m1", "r1", "receipt", "ann@example.test", "Subject", "Body", "en", NOW, html="<p>B</p>")
    kit.outbox.enqueue(item)
    assert kit.outbox.pending() == [item]
    kit.outbox.mark("m1", "sent", None, NOW)
    assert kit.outbox.pending() == []
    sent = kit.outbox.for_request("r1")[0]
    assert (sent.status, sent.attempts) == ("sent", 1)
    assert (sent.body, sent.html) == ("Body", "<p>B</p>")  # kept as it was unless the caller replaces it


def test_a_sent_message_can_be_kept_without_its_secret(kit: Kit) -> None:
    item = OutboxItem("m2", "r1", "verification_code", "ann@example.test", "Code", "Code:\n    123456\n", "en", NOW,
                      html="<p>123456</p>")  # fmt: skip
    kit.outbox.enqueue(item)
    kit.outbox.mark("m2", "queued", "451 try later", NOW)
    assert kit.outbox.for_request("r1")[0].body == item.body  # a retry keeps the code: it is still to be sent
    kit.outbox.mark("m2", "sent", None, NOW, ("Code:\n    [code removed]\n", "<p>[code removed]</p>"))
    kept = kit.outbox.for_request("r1")[0]
    assert (kept.status, kept.attempts, kept.last_error) == ("sent", 2, None)
    assert (kept.body, kept.html) == ("Code:\n    [code removed]\n", "<p>[code removed]</p>")


def test_audit_chain_verifies(kit: Kit) -> None:
    for i in range(5):
        kit.audit.record(NOW + dt.timedelta(seconds=i), "staff:ida", "step", "request:r1",
                         {"n": i, "reasons": ["a", "ü"], "ratio": 0.5})  # fmt: skip
    entries = kit.entries()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert verify_chain(entries).ok


@pytest.mark.parametrize("name", ["sqlite", "postgresql"])
def test_unit_of_work_is_all_or_nothing(name: str, request: pytest.FixtureRequest) -> None:
    db: Database = request.getfixturevalue({"sqlite": "sqlite_db", "postgresql": "postgres_db"}[name])
    kit = Kit(name, SqlRequests(db), SqlOutbox(db), SqlAudit(db), lambda: unit_of_work(db), db)
    with pytest.raises(RuntimeError), kit.uow():
        kit.requests.add(sample())
        kit.audit.record(NOW, "system", "received", "request:r1", {})
        raise RuntimeError("crash between the writes")
    assert kit.requests.get("r1") is None
    assert kit.entries() == []


def test_the_audit_log_refuses_edits(sqlite_db: Database) -> None:
    audit = SqlAudit(sqlite_db)
    audit.record(NOW, "system", "x", "request:r1", {})
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), sqlite_db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET actor = 'mallory'"))


def test_service_on_sql_end_to_end(sqlite_db: Database) -> None:
    manifest = load_manifest(MINIMAL).manifest
    fulfil: list[str] = []

    def render(kind: Any, request: Request, reasons: Sequence[str], extra: Mapping[str, str]) -> Any:
        return render_message(kind, request, manifest, reasons, extra)

    audit = SqlAudit(sqlite_db)
    service = RequestService(manifest, SqlRequests(sqlite_db), SqlOutbox(sqlite_db), audit,
                             SqlScheduler(sqlite_db, fulfil.append), render, lambda: unit_of_work(sqlite_db))  # fmt: skip
    r = service.submit(Submission(Right.ACCESS, Requester(email="ann@example.test"), "eu"), NOW).request
    r = service.act(r.request_id, Event(EventKind.VERIFIED, method="account", level="account"), NOW)
    r = service.act(r.request_id, Event(EventKind.START), NOW)
    assert fulfil == [r.request_id]
    r = service.act(r.request_id, Event(EventKind.FULFIL), NOW)
    assert r.state is State.FULFILLED
    assert verify_chain(audit.entries()).ok
    assert [m.kind for m in SqlOutbox(sqlite_db).for_request(r.request_id)] == ["receipt", "result"]
    due = SqlScheduler(sqlite_db, fulfil.append).due(dt.date(2030, 1, 1))
    assert {x.what for x in due} == {"deadline in a week", "deadline"}


def test_checkpoints(sqlite_db: Database) -> None:
    from privet.fulfilment.executor import StepRecord, StepState

    cp = SqlCheckpoints(sqlite_db)
    cp.put(StepRecord("r1", "erase", "db.users", StepState.FAILED, 0, "dropped"), NOW)
    cp.put(StepRecord("r1", "erase", "db.users", StepState.DONE, 3), NOW)
    got = cp.get("r1", "erase", "db.users")
    assert got is not None and (got.state, got.rows) == (StepState.DONE, 3)
    assert len(cp.all("r1")) == 1
