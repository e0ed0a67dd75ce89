"""One contract for the consent ports, run against the in-memory reference, SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import random
import threading
from collections import Counter

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import DBAPIError

import privet.store
from privet.consent.events import ConsentEvent, EventConflict, Evidence, Signal, Source
from privet.consent.identifiers import Identifier, IdentifierKind
from privet.consent.memory import MemoryConsents, MemorySubjects
from privet.consent.ports import AppendResult, Subject
from privet.consent.state import Choice, RecordedEvent, fold
from privet.store import Database, SqlConsents, SqlSubjects, head, migrate, revision
from privet.store.database import VERSION_TABLE
from privet.store.tables import metadata
from tests.store.conftest import SqlStores, Stores, sql_stores

T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
ANN = Identifier(IdentifierKind.EMAIL, "ann@example.test")
BROWSER = Identifier(IdentifierKind.BROWSER, "b-7f3a")
PHONE = Identifier(IdentifierKind.PHONE, "+442079460000")


def minutes(n: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


def event(
    event_id: str,
    subject_id: str,
    key: str = "marketing_email",
    granted: bool = True,
    at: dt.datetime = T0,
    source: Source = Source.APP_SETTING,
    scope: str = "",
) -> ConsentEvent:
    return ConsentEvent(event_id, subject_id, key, granted, source, at, scope=scope)


def person(stores: Stores | SqlStores, subject_id: str, *identifiers: Identifier) -> str:
    stores.subjects.create(Subject(subject_id, T0))
    for identifier in identifiers:
        stores.subjects.link(subject_id, identifier, T0)
    return subject_id


def ids(history: list[RecordedEvent]) -> list[str]:
    return [r.event.event_id for r in history]


def folded(history: list[RecordedEvent]) -> dict[tuple[str, str], Choice]:
    """One subject's choices from its history, merged subjects' events included."""
    one = dict.fromkeys((r.event.subject_id for r in history), "one")
    return {(k, s): c for (_, k, s), c in fold(history, one).items()}


def everything(stores: Stores | SqlStores) -> list[RecordedEvent]:
    return stores.consents.scan(0, 1_000_000)


# Subjects ---------------------------------------------------------------------------------------------------------


def test_create_get_find_link_identifiers_update(stores: Stores) -> None:
    subjects = stores.subjects
    subjects.create(Subject("ann", T0, jurisdiction="eu", birth_date=dt.date(1990, 5, 17)))
    with pytest.raises(ValueError, match="subject ann exists"):
        subjects.create(Subject("ann", T0))
    assert subjects.get("ann") == Subject("ann", T0, jurisdiction="eu", birth_date=dt.date(1990, 5, 17))
    assert subjects.get("nobody") is None

    assert subjects.find(ANN) is None
    assert subjects.link("ann", ANN, T0) == "ann"
    assert subjects.link("ann", PHONE, T0) == "ann"
    assert subjects.link("ann", ANN, T0) == "ann"  # linking again changes nothing
    assert subjects.find(ANN) == subjects.find(PHONE) == "ann"
    assert subjects.identifiers("ann") == [ANN, PHONE]  # sorted as kind:value
    with pytest.raises(KeyError):
        subjects.link("nobody", BROWSER, T0)
    assert subjects.find(BROWSER) is None

    subjects.update(Subject("ann", T0, jurisdiction="us-ca", known_minor=True))
    assert subjects.get("ann") == Subject("ann", T0, jurisdiction="us-ca", known_minor=True)
    with pytest.raises(KeyError):
        subjects.update(Subject("nobody", T0))


def test_a_browser_with_a_gpc_opt_out_merges_into_the_person_it_turns_out_to_be(
    stores: Stores, request: pytest.FixtureRequest
) -> None:
    visitor = person(stores, "visitor", BROWSER)
    ann = person(stores, "ann", ANN)
    gpc = [
        event(f"gpc-{s.value}", visitor, s.value, True, minutes(1), Source.GPC)
        for s in (Signal.OPT_OUT_SALE, Signal.OPT_OUT_SHARING)
    ]
    stores.consents.append(gpc, minutes(1))
    stores.consents.append([event("ann-mail", ann, "marketing_email", True, minutes(2))], minutes(2))
    stores.consents.append([event("ann-sale", ann, Signal.OPT_OUT_SALE.value, False, minutes(0))], minutes(2))

    assert stores.subjects.link(ann, BROWSER, minutes(3)) == ann

    assert stores.subjects.find(BROWSER) == ann
    assert stores.subjects.get(visitor) == Subject(ann, T0)
    assert stores.subjects.identifiers(ann) == stores.subjects.identifiers(visitor) == [BROWSER, ANN]
    current = stores.consents.current(ann)
    assert current[(Signal.OPT_OUT_SALE.value, "")].event_id == "gpc-opt_out.sale"  # newer than ann's own choice
    assert current[(Signal.OPT_OUT_SHARING.value, "")].granted
    assert current[("marketing_email", "")].event_id == "ann-mail"
    assert stores.consents.current(visitor) == current
    assert ids(stores.consents.history(ann)) == ["gpc-opt_out.sale", "gpc-opt_out.sharing", "ann-mail", "ann-sale"]
    assert [s for s, _ in stores.consents.projection()] == [ann, ann, ann]

    # A choice still arriving under the old id belongs to the person now.
    stores.consents.append([event("late", visitor, "marketing_email", False, minutes(4))], minutes(4))
    assert not stores.consents.current(ann)[("marketing_email", "")].granted
    assert stores.consents.rebuild_projection() == 3


def test_merges_chain_and_a_merge_by_update_can_be_undone(stores: Stores, request: pytest.FixtureRequest) -> None:
    for name in ("a", "b", "c"):
        person(stores, name)
    stores.consents.append(
        [event("a1", "a", "k", True, minutes(3)), event("b1", "b", "k", False, minutes(2)), event("c1", "c", "j")],
        T0,
    )
    stores.subjects.link("b", ANN, T0)
    stores.subjects.link("c", PHONE, T0)
    stores.subjects.link("b", PHONE, T0)  # c into b
    stores.subjects.update(Subject("b", T0, merged_into="a"))  # b (with c) into a, by hand
    assert stores.subjects.find(PHONE) == "a"
    assert ids(stores.consents.history("c")) == ["a1", "b1", "c1"]
    assert {k: c.event_id for k, c in stores.consents.current("a").items()} == {("k", ""): "a1", ("j", ""): "c1"}

    stores.subjects.update(Subject("b", T0))  # undone: b and c stand apart again
    assert stores.subjects.find(PHONE) == "b"
    assert {k: c.event_id for k, c in stores.consents.current("a").items()} == {("k", ""): "a1"}
    assert {k: c.event_id for k, c in stores.consents.current("c").items()} == {("k", ""): "b1", ("j", ""): "c1"}
    assert len(list(stores.consents.projection())) == stores.consents.rebuild_projection() == 3


# The ledger -------------------------------------------------------------------------------------------------------


def test_the_same_event_twice_is_a_duplicate(stores: Stores) -> None:
    e = event("e1", "ann")
    assert stores.consents.append([e], T0) == AppendResult(1, 0)
    assert stores.consents.append([e], minutes(1)) == AppendResult(0, 1)
    assert stores.consents.append([e, event("e2", "ann", "k"), event("e2", "ann", "k")], minutes(1)) == AppendResult(
        1, 2
    )
    assert ids(everything(stores)) == ["e1", "e2"]
    assert everything(stores)[0].recorded_at == T0  # the first recording stands


def test_a_reused_id_with_other_facts_is_a_conflict_and_nothing_of_the_batch_is_written(stores: Stores) -> None:
    stores.consents.append([event("e1", "ann", granted=True)], T0)
    before = stores.consents.current("ann")
    with pytest.raises(EventConflict, match="e1"):
        stores.consents.append([event("e2", "ann", "k"), event("e1", "ann", granted=False)], minutes(1))
    with pytest.raises(EventConflict, match="e3"):
        stores.consents.append([event("e3", "ann", "k"), event("e3", "ann", "k", at=minutes(1))], minutes(1))
    assert ids(everything(stores)) == ["e1"]
    assert stores.consents.current("ann") == before
    assert [s for s, _ in stores.consents.projection()] == ["ann"]


def test_a_withdrawal_with_no_grant_before_it_is_recorded(stores: Stores) -> None:
    person(stores, "ann")
    result = stores.consents.append([event("w", "ann", "marketing_email", granted=False)], T0)
    assert result == AppendResult(1, 0)
    choice = stores.consents.current("ann")[("marketing_email", "")]
    assert (choice.granted, choice.event_id) == (False, "w")


def test_the_newer_choice_wins_whatever_order_it_arrives_in(stores: Stores) -> None:
    stores.consents.append([event("late", "ann", granted=False, at=minutes(10))], T0)
    stores.consents.append([event("early", "ann", granted=True, at=minutes(5))], minutes(11))
    assert stores.consents.current("ann")[("marketing_email", "")].event_id == "late"
    # At the same instant the later place in the ledger wins, within a batch and across batches.
    stores.consents.append(
        [event("tie1", "ann", "k", True, minutes(1)), event("tie2", "ann", "k", False, minutes(1))], T0
    )
    stores.consents.append([event("tie3", "ann", "k", True, minutes(1))], T0)
    assert stores.consents.current("ann")[("k", "")].event_id == "tie3"
    # Scopes are separate choices.
    stores.consents.append([event("camp", "ann", "marketing_email", False, minutes(1), scope="spring")], T0)
    assert set(stores.consents.current("ann")) == {("marketing_email", ""), ("marketing_email", "spring"), ("k", "")}


def test_scan_pages_through_the_ledger_in_order(stores: Stores) -> None:
    names = [f"e{i:02}" for i in range(25)]
    for batch in (names[:10], names[10:11], names[11:]):
        stores.consents.append([event(n, f"s{i % 3}", at=minutes(-i)) for i, n in enumerate(batch)], T0)
    stores.consents.append([event("e00", "s0", at=minutes(0))], T0)  # a duplicate takes no place
    seen: list[RecordedEvent] = []
    after = 0
    while page := stores.consents.scan(after, 7):
        assert len(page) <= 7
        seen += page
        after = page[-1].seq
    assert ids(seen) == names
    seqs = [r.seq for r in seen]
    assert seqs == sorted(set(seqs))
    assert ids(stores.consents.scan(seqs[9], 3)) == ["e10", "e11", "e12"]
    assert stores.consents.scan(seqs[-1]) == []


def random_ledger(stores: Stores | SqlStores, seed: int = 7) -> None:
    rng = random.Random(seed)
    people = [person(stores, f"p{i}") for i in range(6)]
    stores.subjects.link("p0", ANN, T0)
    for n in range(12):
        batch = [
            event(
                f"r{n}-{i}",
                rng.choice([*people, "unknown"]),
                rng.choice(["k1", "k2", Signal.OPT_OUT_SALE.value]),
                rng.random() < 0.5,
                minutes(rng.randrange(20)),  # out of order, with ties
                rng.choice(list(Source)),
                rng.choice(["", "", "spring"]),
            )
            for i in range(rng.randrange(1, 6))
        ]
        stores.consents.append(batch, minutes(n))
        if n == 6:
            stores.subjects.link("p1", ANN, T0)  # p0 into p1
        if n == 9:
            stores.subjects.link("p2", ANN, T0)  # p1 (with p0) into p2


def test_the_projection_is_the_fold_of_the_history(stores: Stores, request: pytest.FixtureRequest) -> None:
    random_ledger(stores)
    rows = list(stores.consents.projection())
    assert rows == sorted(rows, key=lambda row: (row[0], row[1].key, row[1].scope))
    by_subject: dict[str, dict[tuple[str, str], Choice]] = {}
    for subject, choice in rows:
        by_subject.setdefault(subject, {})[(choice.key, choice.scope)] = choice
    assert set(by_subject) <= {"p2", "p3", "p4", "p5", "unknown"}
    for subject in ("p0", "p1", "p2", "p3", "p4", "p5", "unknown"):
        expected = folded(stores.consents.history(subject))
        assert stores.consents.current(subject) == expected
        canonical = "p2" if subject in {"p0", "p1"} else subject
        assert by_subject.get(canonical, {}) == expected
    assert stores.consents.rebuild_projection() == len(rows)
    assert list(stores.consents.projection()) == rows


def test_every_implementation_gives_the_same_answers(stores: Stores) -> None:
    subjects = MemorySubjects()
    reference = Stores("memory", subjects, MemoryConsents(subjects))
    random_ledger(reference)
    random_ledger(stores)
    assert [r.event for r in everything(stores)] == [r.event for r in everything(reference)]
    # Sequence numbers may have gaps on PostgreSQL; compare choices without them.
    assert [(s, c.event_id, c.granted) for s, c in stores.consents.projection()] == [
        (s, c.event_id, c.granted) for s, c in reference.consents.projection()
    ]


def test_instants_keep_their_moment_and_come_back_aware(stores: Stores) -> None:
    cest = dt.timezone(dt.timedelta(hours=2))
    at = dt.datetime(2025, 3, 30, 3, 30, 15, 123456, tzinfo=cest)
    recorded_at = dt.datetime(2025, 3, 29, 21, 0, 0, 1, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    stores.subjects.create(Subject("ann", at))
    rich = ConsentEvent(
        "tz",
        "ann",
        "marketing_email",
        True,
        Source.COOKIE_BANNER,
        at,
        scope="spring",
        identifier=BROWSER,
        jurisdiction="eu",
        manifest_version="2025.1",
        notice_hash="sha256:abc",
        evidence=Evidence(user_agent="Firefox", ip="192.0.2.1", request_id="req-1", note="banner v3"),
    )
    stores.consents.append([rich], recorded_at)
    [back] = stores.consents.history("ann")
    assert back.event == rich
    assert back.recorded_at == recorded_at and back.recorded_at.utcoffset() is not None
    assert back.event.at.utcoffset() is not None
    choice = stores.consents.current("ann")[("marketing_email", "spring")]
    assert choice.at == at and choice.at.utcoffset() is not None
    subject = stores.subjects.get("ann")
    assert subject is not None and subject.created_at == at and subject.created_at.utcoffset() is not None
    # Microseconds and instants compare correctly across offsets once stored.
    stores.consents.append(
        [event("same-moment", "ann", "marketing_email", False, at.astimezone(dt.UTC), scope="spring")], T0
    )
    assert stores.consents.current("ann")[("marketing_email", "spring")].event_id == "same-moment"


# SQL only ---------------------------------------------------------------------------------------------------------


def test_rebuild_restores_a_corrupted_projection_and_verify_reports_it(sql: SqlStores) -> None:
    random_ledger(sql)
    good = list(sql.consents.projection())
    assert sql.consents.verify_projection() == []
    first, second = good[0], good[1]
    sql.sql(
        f"UPDATE consent_state SET granted = NOT granted WHERE subject_id = '{first[0]}' AND key = '{first[1].key}' AND scope = '{first[1].scope}'"
    )
    sql.sql(
        f"DELETE FROM consent_state WHERE subject_id = '{second[0]}' AND key = '{second[1].key}' AND scope = '{second[1].scope}'"
    )
    sql.sql(
        "INSERT INTO consent_state VALUES ('p0', 'k9', '', true, '2025-01-01 00:00:00.000000', 'forged', 999, 'api')"
    )
    problems = sql.consents.verify_projection()
    assert len(problems) == 3, problems
    assert any("the projection holds withdrawn" in p or "the projection holds granted" in p for p in problems)
    assert any(
        p.startswith(f"subject {second[0]}, {second[1].key}") and "missing from the projection" in p for p in problems
    )
    assert any("event forged" in p and "which the ledger does not give" in p for p in problems)
    assert sql.consents.rebuild_projection() == len(good)
    assert sql.consents.verify_projection() == []
    assert list(sql.consents.projection()) == good


def test_the_ledger_refuses_update_and_delete(sql: SqlStores) -> None:
    sql.consents.append([event("e1", "ann")], T0)
    for statement in (
        "UPDATE consent_events SET granted = false",
        "DELETE FROM consent_events WHERE event_id = 'e1'",
        *(["TRUNCATE consent_events"] if sql.name == "postgresql" else []),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            sql.sql(statement)
    assert [r.event for r in sql.consents.history("ann")] == [event("e1", "ann")]


def test_the_migration_builds_the_tables_as_declared(sql: SqlStores) -> None:
    assert revision(sql.db.engine) == head()
    migrate(sql.db.engine)  # again: nothing to do
    for module in pkgutil.iter_modules(privet.store.__path__, "privet.store."):
        importlib.import_module(module.name)  # every module declaring tables adds them to the one metadata
    with sql.db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": lambda name, *_: name != VERSION_TABLE})
        assert compare_metadata(context, metadata) == []


def test_naive_datetimes_are_refused(sql: SqlStores) -> None:
    with pytest.raises(Exception, match="has no timezone"):
        sql.consents.append([event("naive", "ann", at=dt.datetime(2025, 1, 1))], T0)
    assert sql.consents.scan() == []


# PostgreSQL only --------------------------------------------------------------------------------------------------


@pytest.fixture
def pg(postgres_db: Database) -> SqlStores:
    return sql_stores("postgresql", postgres_db)


def test_concurrent_writers_lose_nothing_and_double_nothing(pg: SqlStores) -> None:
    threads, per_thread, shared, clashing = 4, 200, 40, 10
    people = [person(pg, f"p{i}") for i in range(4)]
    visitors = [person(pg, f"v{i}", Identifier(IdentifierKind.BROWSER, f"b{i}")) for i in range(4)]
    subjects = people + visitors
    start = threading.Barrier(threads + 1)
    results: list[Counter[str]] = [Counter() for _ in range(threads)]
    won: dict[str, int] = {}
    errors: list[BaseException] = []

    def shared_event(i: int) -> ConsentEvent:
        return event(f"shared-{i}", subjects[i % 8], f"k{i % 3}", i % 2 == 0, minutes(i % 17))

    def writer(n: int) -> None:
        rng = random.Random(n)
        consents = SqlConsents(pg.db)
        own = [
            event(
                f"t{n}-{i}",
                rng.choice(subjects),
                f"k{rng.randrange(3)}",
                rng.random() < 0.5,
                minutes(rng.randrange(30)),
            )
            for i in range(per_thread - shared - clashing)
        ]
        work: list[list[ConsentEvent]] = []
        while len(taken := [e for batch in work for e in batch]) < len(own):
            work.append(own[len(taken) : len(taken) + rng.randrange(1, 6)])
        work += [[shared_event(i)] for i in range(shared)]
        work += [
            [event(f"clash-{i}", subjects[i % len(subjects)], "k0", n % 2 == 0, minutes(n))] for i in range(clashing)
        ]
        rng.shuffle(work)
        start.wait(timeout=30)
        try:
            for batch in work:
                try:
                    result = consents.append(batch, minutes(60))
                except EventConflict:
                    results[n]["conflicts"] += 1
                    continue
                results[n]["appended"] += result.appended
                results[n]["duplicates"] += result.duplicates
                if batch[0].event_id.startswith("clash-") and result.appended:
                    won[batch[0].event_id] = n
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    def merger() -> None:
        subjects_store = SqlSubjects(pg.db)
        start.wait(timeout=30)
        for i in range(4):  # visitors turn out to be people while the writers write
            subjects_store.link(f"p{i}", Identifier(IdentifierKind.BROWSER, f"b{i}"), minutes(1))

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    workers.append(threading.Thread(target=merger))
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []

    total = sum(results, Counter())
    ledger = everything(pg)
    own = threads * (per_thread - shared - clashing)
    assert len(ledger) == len({r.event.event_id for r in ledger}) == own + shared + clashing
    assert total["appended"] == len(ledger)
    assert total["duplicates"] == (threads - 1) * shared
    assert sorted(won) == [f"clash-{i}" for i in range(clashing)]
    # Each clashing id holds the facts of the writer that recorded it first; the others were refused.
    clash_facts = {r.event.event_id: r.event.granted for r in ledger if r.event.event_id.startswith("clash-")}
    assert all(clash_facts[i] == (won[i] % 2 == 0) for i in clash_facts)
    assert pg.consents.verify_projection() == []
    for subject in people:
        assert pg.consents.current(subject) == folded(pg.consents.history(subject))
    assert {s for s, _ in pg.consents.projection()} <= set(people)


def test_postgres_has_no_alembic_version_table_of_its_own_name(pg: SqlStores) -> None:
    with pg.db.engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    assert {"privet_alembic_version", "subjects", "identifiers", "consent_events", "consent_state"} <= tables
    assert "alembic_version" not in tables


def test_the_package_exports_what_it_names() -> None:
    assert sorted(privet.store.__all__) == sorted(n for n in privet.store.__all__ if hasattr(privet.store, n))
    assert {"open_database", "migrate", "Database", "SqlSubjects", "SqlConsents"} <= set(privet.store.__all__)
