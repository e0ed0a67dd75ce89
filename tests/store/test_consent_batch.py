"""The consent stores' bulk reads and writes, and their place in the store's unit of work (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from privet.consent.events import Source
from privet.consent.identifiers import Identifier
from privet.consent.ledger import ChoiceInput, ChoiceSet, ConsentLedger, Recorded
from privet.consent.ports import Subject
from privet.store import session
from tests.store.conftest import SqlStores
from tests.store.test_contract import T0, event, minutes, person
from tests.world import policy_manifest

ANN = Identifier.parse("email:ann@example.com")
BEN = Identifier.parse("email:ben@example.com")
CAT = Identifier.parse("user_id:cat")


def test_create_many_keeps_an_identifier_with_the_subject_that_holds_it(sql: SqlStores) -> None:
    person(sql, "held", CAT)
    owners = sql.subjects.create_many([(Subject("a", T0, jurisdiction="eu"), ANN), (Subject("c", T0), CAT)])
    assert owners == {ANN: "a", CAT: "held"}
    assert sql.subjects.get("a") == Subject("a", T0, jurisdiction="eu")
    assert sql.subjects.get("c") is None  # lost its identifier, so it was not kept
    assert sql.subjects.identifiers("a") == [ANN]


def test_create_many_wants_distinct_identifiers(sql: SqlStores) -> None:
    with pytest.raises(ValueError, match="each new person needs an identifier of their own"):
        sql.subjects.create_many([(Subject("a", T0), ANN), (Subject("b", T0), ANN)])


def test_bulk_reads_follow_merges(sql: SqlStores) -> None:
    person(sql, "ann", ANN)
    person(sql, "ben", BEN)
    sql.consents.append([event("e1", "ann", at=minutes(1)), event("e2", "ben", key="app_analytics")], T0)
    sql.subjects.link("ann", BEN, T0)  # ben is merged into ann
    assert sql.subjects.find_many([ANN, BEN, CAT]) == {ANN: "ann", BEN: "ann"}
    assert {i: s.subject_id for i, s in sql.subjects.holders([BEN, CAT]).items()} == {BEN: "ann"}
    assert {k: s.subject_id for k, s in sql.subjects.get_many(["ben", "ann", "nobody"]).items()} == {
        "ben": "ann", "ann": "ann"}  # fmt: skip
    current = sql.consents.current_many(["ann", "nobody"])
    assert set(current) == {"ann"} and set(current["ann"]) == {("marketing_email", ""), ("app_analytics", "")}


def test_consent_writes_join_the_unit_of_work(sql: SqlStores) -> None:
    with pytest.raises(RuntimeError, match="undo"), session.unit_of_work(sql.db):
        person(sql, "ann", ANN)
        sql.consents.append([event("e1", "ann")], T0)
        assert sql.consents.current("ann")  # read through the unit's own connection
        raise RuntimeError("undo")
    assert sql.subjects.get("ann") is None and sql.consents.scan() == []


def test_a_failed_create_inside_a_unit_of_work_leaves_it_usable(sql: SqlStores) -> None:
    with session.unit_of_work(sql.db):
        person(sql, "ann")
        with pytest.raises(ValueError, match="subject ann exists"):
            sql.subjects.create(Subject("ann", T0))
        sql.consents.append([event("e1", "ann")], T0)
    assert [r.event.event_id for r in sql.consents.history("ann")] == ["e1"]


def test_scopes_refuse_what_they_cannot_do(sql: SqlStores) -> None:
    with pytest.raises(RuntimeError, match="open one around it"), session.savepoint(sql.db):
        pass
    with session.reading(sql.db):
        with pytest.raises(RuntimeError, match="writes belong in unit_of_work"):
            person(sql, "ann")
        with pytest.raises(RuntimeError, match="outside the read scope"), session.unit_of_work(sql.db):
            pass


def test_a_batch_in_one_transaction_keeps_the_projection_equal_to_the_ledger(sql: SqlStores) -> None:
    ledger = ConsentLedger(policy_manifest(), sql.subjects, sql.consents)
    person(sql, "known")
    sets = [ChoiceSet((ChoiceInput("app_analytics", n % 3 == 0, Source.API, at=minutes(n),
                                   identifier=Identifier.parse(f"user_id:u{n % 5}")),), minutes(n))
            for n in range(30)]  # fmt: skip
    sets.append(ChoiceSet((ChoiceInput("app_analytics", True, Source.API, subject_id="known", identifier=ANN),),
                          minutes(31)))  # fmt: skip
    with session.unit_of_work(sql.db):
        outcomes = ledger.record_many(sets)
    assert all(isinstance(o, Recorded) for o in outcomes)
    assert len(sql.consents.scan()) == 31 and sql.consents.verify_projection() == []
    owners = sql.subjects.find_many([Identifier.parse(f"user_id:u{n}") for n in range(5)])
    assert len(set(owners.values())) == 5
    assert sql.subjects.find(ANN) == "known"


def test_bulk_lookup_follows_a_chain_of_merges_made_by_hand(sql: SqlStores) -> None:
    """Merged by update, the identifiers stay with the subjects that were merged: the bulk lookup follows
    merged_into to the end of the chain."""
    for name in ("a", "b"):
        person(sql, name)
    person(sql, "c", ANN, CAT)
    sql.subjects.update(Subject("c", T0, merged_into="b"))
    sql.subjects.update(Subject("b", T0, merged_into="a"))
    assert sql.subjects.find_many([ANN, CAT, BEN]) == {ANN: "a", CAT: "a"}
    assert sql.subjects.find(ANN) == "a"


def test_create_many_keeps_every_field_of_a_subject(sql: SqlStores) -> None:
    born = Subject("kid", T0, jurisdiction="us-ca", birth_date=dt.date(2012, 5, 17), known_minor=True)
    assert sql.subjects.create_many([(born, CAT), (Subject("grown", T0), ANN)]) == {CAT: "kid", ANN: "grown"}
    assert sql.subjects.get("kid") == born and sql.subjects.get("grown") == Subject("grown", T0)
