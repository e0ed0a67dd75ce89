"""The API's consent writer: group commit, each request answered only once its events are committed."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import os
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from privet.api.consent_writer import ConsentWriter, Job, WriterProcess, WriterUnavailable
from privet.consent.events import EventConflict, Source
from privet.consent.identifiers import Identifier
from privet.consent.ledger import ChoiceInput, ChoiceSet, Recorded
from privet.store import SqlConsents, open_database
from tests.api.conftest import Api, make_workspace, serving

AT = dt.datetime(2025, 5, 1, tzinfo=dt.UTC)


def choice(who: str, granted: bool = True, event_id: str | None = None) -> tuple[ChoiceInput, ...]:
    return (ChoiceInput("marketing_sms", granted, Source.API, identifier=Identifier.parse(who), at=AT,
                        event_id=event_id),)  # fmt: skip


def test_concurrent_writes_all_land_and_each_is_answered_after_its_commit(api: Api) -> None:
    writer: ConsentWriter = api.app.state.services.writer
    # A second connection pool: it sees only what was committed.
    outside = open_database(api.runtime.db.url)

    def one(n: int) -> bool:
        done = writer.record_sync(choice(f"user_id:w{n}", event_id=f"w-{n}"), api.runtime.now())
        seen = outside.read(lambda conn: conn.exec_driver_sql(
            "SELECT count(*) FROM consent_events WHERE event_id = ?", (f"w-{n}",)).scalar())  # fmt: skip
        return done.result.appended == 1 and seen == 1

    before = writer.batches
    try:
        with ThreadPoolExecutor(12) as pool:
            assert all(pool.map(one, range(120)))
    finally:
        outside.close()
    assert writer.jobs >= 120 and writer.batches - before < 120  # some were committed together
    assert SqlConsents(api.runtime.db).verify_projection() == []


def test_a_failing_write_does_not_lose_the_others(any_api: Api) -> None:
    writer = ConsentWriter(any_api.runtime)
    try:
        writer.record_sync(choice("user_id:x", event_id="crm-9"), any_api.runtime.now())
        now = any_api.runtime.now()
        sets = [choice("user_id:y"), choice("user_id:x", granted=False, event_id="crm-9"), choice("user_id:z")]
        answers = writer.write([Job(ChoiceSet(s, now), concurrent.futures.Future()) for s in sets])
    finally:
        writer.close()
    assert isinstance(answers[1], EventConflict)  # the same id with other facts
    assert all(isinstance(a, Recorded) and a.result.appended == 1 for a in (answers[0], answers[2]))
    for who in ("user_id:y", "user_id:z"):
        state = any_api.client.get("/api/v1/consent/state", params={"identifier": who}, headers=any_api.headers())
        assert state.status_code == 200 and state.json()["choices"][0]["granted"] is True
    assert SqlConsents(any_api.runtime.db).verify_projection() == []


def test_the_same_new_person_twice_in_a_batch_is_one_person(api: Api) -> None:
    writer = ConsentWriter(api.runtime)
    now = api.runtime.now()
    try:
        answers = writer.write([Job(ChoiceSet(choice("email:new@example.com", granted=g), now),
                                    concurrent.futures.Future()) for g in (True, False)])  # fmt: skip
    finally:
        writer.close()
    first, second = answers
    assert isinstance(first, Recorded) and isinstance(second, Recorded) and first.subject_id == second.subject_id
    assert writer.batches == 1


# -- the writer process of a server ------------------------------------------------------------------------------


def test_a_server_process_writes_in_a_child_process_and_answers_the_same(tmp_path: Path) -> None:
    with serving(make_workspace(tmp_path / "ws"), writer_process=True) as api:
        writer: ConsentWriter = api.app.state.services.writer
        child = writer._child
        assert child is not None and child.pid is not None and child.pid != os.getpid()  # started with the app
        body = {"key": "marketing_sms", "granted": True, "identifier": "user_id:pc-1", "event_id": "pc-1",
                "at": "2025-05-01T00:00:00Z"}  # fmt: skip
        first = api.client.post("/api/v1/consent/events", json=body, headers=api.headers("system"))
        again = api.client.post("/api/v1/consent/events", json=body, headers=api.headers("system"))
        assert first.status_code == 201 and first.json()["appended"] == 1
        assert again.status_code == 201 and again.json()["duplicates"] == 1 and again.json()["appended"] == 0
        clash = api.client.post("/api/v1/consent/events", json={**body, "granted": False},
                                headers=api.headers("system"))  # fmt: skip
        assert clash.status_code == 409 and clash.json()["code"] == "event_conflict"  # the child's error, as is
        unknown = api.client.post("/api/v1/consent/events", json={**body, "key": "no_such_key", "event_id": None},
                                  headers=api.headers("system"))  # fmt: skip
        assert unknown.status_code == 422 and unknown.json()["code"] == "consent_invalid"
        state = api.client.get("/api/v1/consent/state", params={"identifier": "user_id:pc-1"},
                               headers=api.headers())  # fmt: skip
        assert [c["granted"] for c in state.json()["choices"]] == [True]

        # Many at once: several batches in flight, every request answered once, after its commit.
        def one(n: int) -> int:
            return writer.record_sync(choice(f"user_id:many-{n}", event_id=f"many-{n}"), AT).result.appended

        with ThreadPoolExecutor(16) as pool:
            assert sum(pool.map(one, range(200))) == 200
        assert SqlConsents(api.runtime.db).verify_projection() == []

        # A child that has gone is started again for the next batch.
        first_pid = child.pid
        child.kill()
        body = {"key": "marketing_sms", "granted": False, "identifier": "user_id:pc-2"}
        after = api.client.post("/api/v1/consent/events", json=body, headers=api.headers("system"))
        assert after.status_code == 201 and after.json()["appended"] == 1
        assert child.pid is not None and child.pid != first_pid
    assert child.pid is None  # stopped with the app


def test_a_child_that_dies_holding_a_batch_answers_each_request_with_503(tmp_path: Path) -> None:
    """The batch may or may not have been written: each request hears so, and nothing is retried behind its back."""
    runtime = make_workspace(tmp_path / "ws")
    writer = ConsentWriter(runtime, process=True)
    writer.start()
    lock = sqlite3.connect(tmp_path / "ws" / "privet.db", timeout=60)
    lock.execute("BEGIN IMMEDIATE")  # the child waits for the write lock, holding the batch
    try:
        with ThreadPoolExecutor(2) as pool:
            pending = [pool.submit(writer.record_sync, choice(f"user_id:held-{n}"), AT) for n in range(2)]
            time.sleep(1)
            assert not any(p.done() for p in pending)
            assert writer._child is not None
            writer._child.kill()
            for p in pending:
                with pytest.raises(WriterUnavailable, match="send the choices again"):
                    p.result(30)
        lock.rollback()
        # The next write starts a new child.
        assert writer.record_sync(choice("user_id:after"), AT).result.appended == 1
    finally:
        lock.close()
        writer.close()
        runtime.close()


def test_a_child_that_cannot_start_says_why(tmp_path: Path) -> None:
    child = WriterProcess(tmp_path / "not-a-workspace")
    with pytest.raises(WriterUnavailable, match="could not start"):
        child.start()
