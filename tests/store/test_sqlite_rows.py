"""On SQLite the hot inserts bypass SQLAlchemy's per-row parameter handling, and instants are written and read by
privet's own type: what is stored must be exactly what SQLAlchemy itself would store, and read back the same."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from privet.consent.events import ConsentEvent, Evidence, Source
from privet.consent.identifiers import Identifier
from privet.store import Database, SqlConsents
from privet.store.bulk import insert_rows
from privet.store.projection import event_row
from privet.store.tables import consent_events

PARIS = dt.timezone(dt.timedelta(hours=1))
INSTANTS = [
    dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC),  # no microseconds: still written with six digits
    dt.datetime(2025, 3, 1, 10, 30, 5, 123456, tzinfo=PARIS),  # another offset: stored in UTC
    dt.datetime(999, 12, 31, 23, 59, 59, 1, tzinfo=dt.UTC),  # a year of three digits, zero-padded
]


def _event(event_id: str, at: dt.datetime) -> ConsentEvent:
    return ConsentEvent(event_id, "ann", "marketing_email", True, Source.API, at, scope="spring",
                        identifier=Identifier.parse("email:ann@example.com"), jurisdiction="eu",
                        manifest_version="2024-12", notice_hash="h" * 64,
                        evidence=Evidence(user_agent="Mozilla/5.0", note="ünïcode"))  # fmt: skip


def _raw(db: Database, prefix: str) -> list[tuple[Any, ...]]:
    """The stored values as SQLite holds them, without any type processing, in event order."""
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT event_id, subject_id, key, scope, granted, source, at, recorded_at, identifier_kind, "
            "identifier_value, jurisdiction, manifest_version, notice_hash, evidence, typeof(at), typeof(granted) "
            "FROM consent_events WHERE event_id LIKE ? ORDER BY event_id",
            (prefix + "%",),
        ).all()
    return [(row[0].removeprefix(prefix), *row[1:]) for row in rows]


def test_rows_inserted_directly_are_stored_as_sqlalchemy_stores_them(sqlite_db: Database) -> None:
    recorded_at = dt.datetime(2025, 3, 2, 8, 0, 0, 500, tzinfo=dt.UTC)
    rows = [event_row(_event(f"lean-{n}", at), recorded_at) for n, at in enumerate(INSTANTS)]
    with sqlite_db.engine.begin() as conn:
        insert_rows(conn, consent_events, rows)
        conn.execute(sa.insert(consent_events), [{**row, "event_id": "core-" + row["event_id"][5:]} for row in rows])
    lean, core = _raw(sqlite_db, "lean-"), _raw(sqlite_db, "core-")
    assert lean == core and len(lean) == len(INSTANTS)
    # and in the format SQLAlchemy's own SQLite DATETIME writes, which SQL compares as text
    reference = sqlite.DATETIME().bind_processor(sqlite.dialect())
    assert [row[6] for row in lean] == [reference(at.astimezone(dt.UTC).replace(tzinfo=None)) for at in INSTANTS]


def test_instants_read_back_as_the_same_instants_in_utc(sqlite_db: Database) -> None:
    consents = SqlConsents(sqlite_db)
    recorded_at = dt.datetime(2025, 3, 2, 8, 0, tzinfo=PARIS)
    consents.append([_event(f"e{n}", at) for n, at in enumerate(INSTANTS)], recorded_at)
    history = consents.history("ann")
    assert sorted(r.event.at for r in history) == sorted(INSTANTS)
    assert all(r.event.at.tzinfo == dt.UTC and r.recorded_at == recorded_at for r in history)


def test_instants_written_without_microseconds_elsewhere_are_read(sqlite_db: Database) -> None:
    """Text another writer left (SQLite's own CURRENT_TIMESTAMP has no fraction) is read all the same."""
    consents = SqlConsents(sqlite_db)
    consents.append([_event("e1", INSTANTS[1])], INSTANTS[1])
    with sqlite_db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS consent_events_no_update")  # the ledger refuses updates
        conn.exec_driver_sql("UPDATE consent_events SET recorded_at = '2025-03-01 09:00:00'")
    assert [r.recorded_at for r in consents.history("ann")] == [INSTANTS[0]]


def test_returning_spans_several_statements(sqlite_db: Database) -> None:
    at = INSTANTS[0]
    rows = [event_row(_event(f"many-{n:05}", at), at) for n in range(2_345)]
    with sqlite_db.engine.begin() as conn:
        inserted = insert_rows(conn, consent_events, rows, conflict=("event_id",), returning=("event_id", "seq"))
        again = insert_rows(conn, consent_events, rows[:10], conflict=("event_id",), returning=("event_id",))
    assert sorted(r.event_id for r in inserted) == [row["event_id"] for row in rows]
    assert len({r.seq for r in inserted}) == len(rows)
    assert again == []  # all ten were there already
