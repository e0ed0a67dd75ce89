"""The API's consent writer: group commit, each request answered only once its events are committed."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from privet.api.consent_writer import ConsentWriter, Job
from privet.consent.events import EventConflict, Source
from privet.consent.identifiers import Identifier
from privet.consent.ledger import ChoiceInput, ChoiceSet, Recorded
from privet.store import SqlConsents, open_database
from privet.store.tables import consent_events
from tests.api.conftest import Api

AT = dt.datetime(2025, 5, 1, tzinfo=dt.UTC)


def choice(who: str, granted: bool = True, event_id: str | None = None) -> tuple[ChoiceInput, ...]:
    return (ChoiceInput("marketing_sms", granted, Source.API, identifier=Identifier.parse(who), at=AT,
                        event_id=event_id),)  # fmt: skip


def concurrent_writes_land(api: Api, writes: int = 120) -> None:
    """Writes from many threads all land, each answered only once committed, and some are committed together."""
    writer: ConsentWriter = api.app.state.services.writer
    # A second connection pool: it sees only what was committed.
    outside = open_database(api.runtime.db.url)

    def one(n: int) -> bool:
        done = writer.record_sync(choice(f"user_id:w{n}", event_id=f"w-{n}"), api.runtime.now())
        committed = sa.select(sa.func.count()).select_from(consent_events).where(consent_events.c.event_id == f"w-{n}")
        return done.result.appended == 1 and outside.read(lambda conn: conn.execute(committed).scalar()) == 1

    batches, jobs = writer.batches, writer.jobs
    try:
        with ThreadPoolExecutor(12) as pool:
            assert all(pool.map(one, range(writes)))
    finally:
        outside.close()
    assert writer.jobs - jobs == writes and writer.batches - batches < writes
    assert SqlConsents(api.runtime.db).verify_projection() == []


def test_concurrent_writes_all_land_and_each_is_answered_after_its_commit(api: Api) -> None:
    concurrent_writes_land(api)


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
