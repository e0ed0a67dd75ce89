"""The journal of anonymised records on SQLite and PostgreSQL: recorded once per record, read per collection,
left by records privet deletes, and built by the migration as declared."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from privet.retention.journal import Anonymised, Journaled
from privet.store import Database
from privet.store.database import VERSION_TABLE, head, revision
from privet.store.journal import CHUNK, SqlRetentionJournal
from privet.store.journal_tables import retention_journal
from privet.store.tables import metadata
from tests.store.conftest import DATABASES

T0 = dt.datetime(2025, 6, 30, 3, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Database:
    database: Database = request.getfixturevalue(DATABASES[request.param])
    return database


def entry(key: str, collection: str = "crm_db.customers", at: dt.datetime = T0, run: str = "retention-2025-06-30",
          rule: str = "relationship") -> Anonymised:  # fmt: skip
    return Anonymised("crm", collection, key, rule, run, at)


def test_the_migration_builds_the_journal_as_declared_and_is_the_head(db: Database) -> None:
    assert revision(db.engine) == head()
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": lambda name, *_: name != VERSION_TABLE})
        diff = [d for d in compare_metadata(context, metadata) if retention_journal.name in repr(d)]
    assert diff == []


def test_entries_are_kept_per_system_collection_and_key(db: Database) -> None:
    journal = SqlRetentionJournal(db)
    journal.record([entry("1"), entry("6"), entry("10", "crm_db.addresses")])
    journal.record([entry("6", at=T0 + DAY, run="retention-2025-07-01")])  # masked again after a crash: the newer
    assert journal.entries("crm", "crm_db.customers") == [entry("1"), entry("6", at=T0 + DAY, run="retention-2025-07-01")]
    assert journal.keys([("crm", "crm_db.customers"), ("crm", "crm_db.addresses"), ("crm", "crm_db.orders"),
                         ("shop", "crm_db.customers")]) == {"crm_db.customers": ["1", "6"], "crm_db.addresses": ["10"]}  # fmt: skip
    assert journal.summary([("crm", "crm_db.customers"), ("crm", "crm_db.addresses")]) == [
        Journaled("crm_db.customers", "relationship", 2, T0, T0 + DAY, "retention-2025-07-01"),
        Journaled("crm_db.addresses", "relationship", 1, T0, T0, "retention-2025-06-30"),
    ]
    assert journal.forget("crm", "crm_db.customers", ["6", "7"]) == 1  # 7 was never anonymised
    assert journal.keys([("crm", "crm_db.customers")]) == {"crm_db.customers": ["1"]}
    assert journal.summary([]) == [] and journal.keys([]) == {}


def test_a_large_batch_is_written_and_forgotten_in_chunks(db: Database) -> None:
    journal = SqlRetentionJournal(db)
    keys = [str(i) for i in range(CHUNK * 2 + 7)]
    journal.record([entry(k) for k in keys])
    assert sorted(journal.keys([("crm", "crm_db.customers")])["crm_db.customers"], key=int) == keys
    assert journal.forget("crm", "crm_db.customers", keys[1:]) == len(keys) - 1
    assert journal.keys([("crm", "crm_db.customers")]) == {"crm_db.customers": ["0"]}
