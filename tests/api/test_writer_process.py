"""The consent writer of a server process, in a child process: the same answers, and what happens when it dies."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from privet.api.consent_writer import ConsentWriter
from privet.api.writer_process import HEADER, Frames, WriterProcess, WriterUnavailable, frame
from privet.consent.ledger import Recorded
from privet.store import SqlConsents
from tests.api.conftest import Api, make_workspace, serving
from tests.api.test_consent_writer import choice, concurrent_writes_land

EVENTS = "/api/v1/consent/events"


@pytest.fixture(params=["sqlite", "postgresql"])
def child_api(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The API with its consent writer in a child process, on SQLite, then on PostgreSQL in a schema of its own
    (the child finds the database as the server does, through PRIVET_DATABASE_URL)."""
    schema = None
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres")
        schema, url = server.new_schema()
        monkeypatch.setenv("PRIVET_DATABASE_URL", url)
    try:
        with serving(make_workspace(tmp_path / "ws"), writer_process=True) as found:
            yield found
    finally:
        if schema is not None:
            server.drop(schema)


@pytest.fixture
def api_child_sqlite(tmp_path: Path) -> Iterator[Api]:
    with serving(make_workspace(tmp_path / "ws"), writer_process=True) as found:
        yield found


def process_of(api: Api) -> WriterProcess:
    writer: ConsentWriter = api.app.state.services.writer
    found = writer._process
    assert found is not None
    return found


def wait_for(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_writes_through_the_child_are_committed_and_answered(child_api: Api) -> None:
    child = process_of(child_api)
    assert child.pid is not None and child.pid != os.getpid()
    assert child._child is not None and child._child.ready.result() is True  # the server started once it was
    body = {
        "key": "marketing_sms",
        "granted": True,
        "identifier": "user_id:c1",
        "event_id": "child-1",
        "at": "2025-05-01T10:00:00+00:00",
    }
    answer = child_api.client.post(EVENTS, json=body, headers=child_api.headers("system"))
    assert answer.status_code == 201, answer.text
    assert answer.json()["appended"] == 1 and answer.json()["event_ids"] == ["child-1"]
    again = child_api.client.post(EVENTS, json=body, headers=child_api.headers("system"))  # sent again: one event
    assert again.status_code == 201 and again.json()["appended"] == 0 and again.json()["duplicates"] == 1
    state = child_api.client.get("/api/v1/consent/state", params={"identifier": "user_id:c1"},
                                 headers=child_api.headers())  # fmt: skip
    assert state.json()["choices"][0]["granted"] is True
    assert child.jobs == 2


def test_a_refused_choice_gets_its_problem_from_the_child(child_api: Api) -> None:
    answer = child_api.client.post(EVENTS, json={"key": "no_such_key", "granted": True, "identifier": "user_id:c2"},
                                   headers=child_api.headers("system"))  # fmt: skip
    assert answer.status_code == 422 and answer.json()["code"] == "consent_invalid"
    assert "no_such_key" in answer.json()["detail"]


def test_concurrent_writes_from_threads_are_grouped_in_the_child(child_api: Api) -> None:
    concurrent_writes_land(child_api)


def test_a_child_that_dies_fails_what_it_held_and_the_next_write_starts_another(api_child_sqlite: Api) -> None:
    api = api_child_sqlite
    child = process_of(api)
    first = child.pid
    assert first is not None
    os.kill(first, signal.SIGSTOP)  # it takes the batch from the pipe no more: the request waits
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(api.client.post, EVENTS, json={"key": "marketing_sms", "granted": True,
                                                             "identifier": "user_id:d1"},
                              headers=api.headers("system"))  # fmt: skip
        wait_for(lambda: child._child is not None and bool(child._child._held))
        os.kill(first, signal.SIGKILL)
        failed = waiting.result(30)
    assert failed.status_code == 503 and failed.json()["code"] == "consent_writer_unavailable"
    assert "send the choices again" in failed.json()["detail"]
    retried = api.client.post(EVENTS, json={"key": "marketing_sms", "granted": True, "identifier": "user_id:d1",
                                            "event_id": "d-1"}, headers=api.headers("system"))  # fmt: skip
    assert retried.status_code == 201 and retried.json()["appended"] == 1
    assert child.pid not in (None, first)


def test_a_child_that_cannot_open_the_workspace_fails_the_write_without_hanging(api: Api, tmp_path: Path) -> None:
    writer = ConsentWriter(api.runtime, process=WriterProcess(tmp_path / "not-a-workspace"))

    async def write() -> None:
        await writer.start()  # logs that the child did not start; the server goes on
        try:
            with pytest.raises(WriterUnavailable, match="send the choices again"):
                await asyncio.wait_for(writer.record(choice("user_id:e1"), api.runtime.now()), 60)
        finally:
            writer.close()

    asyncio.run(write())
    assert SqlConsents(api.runtime.db).scan() == []


def test_stopping_answers_the_writes_in_flight(api: Api) -> None:
    writer = ConsentWriter(api.runtime, process=WriterProcess(api.runtime.settings.root))

    async def stop_while_writing() -> list[object]:
        await writer.start()
        now = api.runtime.now()
        writes = [asyncio.ensure_future(writer.record(choice(f"user_id:f{n}", event_id=f"f-{n}"), now))
                  for n in range(200)]  # fmt: skip
        await asyncio.sleep(0)
        await asyncio.sleep(0)  # the turn has ended: the jobs are in the pipe, not yet written
        writer.close()
        return await asyncio.gather(*writes, return_exceptions=True)

    answers = asyncio.run(stop_while_writing())
    assert all(isinstance(a, Recorded) and a.result.appended == 1 for a in answers)
    assert len(SqlConsents(api.runtime.db).scan()) == 200


def test_a_synchronous_write_on_the_event_loop_is_refused_not_deadlocked(api_child_sqlite: Api) -> None:
    writer: ConsentWriter = api_child_sqlite.app.state.services.writer

    async def on_the_loop() -> None:
        writer.record_sync(choice("user_id:l1"), api_child_sqlite.runtime.now())

    with pytest.raises(RuntimeError, match="await record"):
        api_child_sqlite.client.portal.call(on_the_loop)  # type: ignore[union-attr]


def test_the_signals_that_stop_a_server_leave_its_writer_to_finish(api_child_sqlite: Api) -> None:
    child = process_of(api_child_sqlite)
    pid = child.pid
    assert pid is not None
    for sent in (signal.SIGINT, signal.SIGTERM):  # what Ctrl-C or a service manager sends the whole group
        os.kill(pid, sent)
    time.sleep(0.2)
    answer = api_child_sqlite.client.post(EVENTS, json={"key": "marketing_sms", "granted": True,
                                                        "identifier": "user_id:s1"},
                                          headers=api_child_sqlite.headers("system"))  # fmt: skip
    assert answer.status_code == 201 and answer.json()["appended"] == 1
    assert child.pid == pid and child.jobs == 1  # the same child wrote it


def test_the_child_stops_with_the_server(tmp_path: Path) -> None:
    with serving(make_workspace(tmp_path / "ws"), writer_process=True) as api:
        pid = process_of(api).pid
        assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # reaped: the server waited for it


def test_frames_survive_any_split() -> None:
    stream = frame(["a", 1]) + frame({"b": (2, 3)}) + frame(None)
    for cut in range(1, len(stream)):
        frames = Frames()
        payloads = frames.feed(stream[:cut]) + frames.feed(stream[cut:])
        assert len(payloads) == 3
    assert Frames().feed(HEADER.pack(10) + b"short") == []
