"""SqlDataKeyStore: the DataKeyStore contract on SQLite and PostgreSQL, plus what only a database can show."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from privet.crypto import (
    KekRing,
    KeyShredded,
    LocalKek,
    WrappedKey,
    decrypt_field,
    encrypt_field,
    open_subject,
    rewrap,
    shred,
)
from privet.store import Database
from privet.store import data_keys as data_keys_module
from privet.store.data_key_tables import data_keys
from privet.store.data_keys import SqlDataKeyStore
from privet.store.database import VERSION_TABLE, open_database
from privet.store.tables import metadata
from tests.crypto.keystore_contract import *  # noqa: F403 (the contract's tests, run here against the SQL store)
from tests.crypto.keystore_contract import AT
from tests.store.conftest import DATABASES

KEK = LocalKek("kek-1", bytes(range(32)))
AAD = b"crm.customers.phone"


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Database:
    database: Database = request.getfixturevalue(DATABASES[request.param])
    return database


@pytest.fixture
def store(db: Database) -> SqlDataKeyStore:
    return SqlDataKeyStore(db)


def test_the_migration_builds_the_data_keys_table_as_declared(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": lambda name, *_: name != VERSION_TABLE})
        diff = [d for d in compare_metadata(context, metadata) if data_keys.name in repr(d)]
    assert diff == []


def test_only_the_wrapped_key_is_stored(store: SqlDataKeyStore, db: Database) -> None:
    encrypt_field(store, KEK, "alice", b"secret", AAD)
    stored = store.get("alice")
    assert isinstance(stored, WrappedKey)
    data_key = KEK.unwrap(stored.wrapped, b"alice")
    with db.engine.connect() as conn:
        row = conn.execute(sa.select(data_keys)).one()
    assert bytes(row.wrapped) == stored.wrapped
    assert all(data_key not in (bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()) for v in row)
    assert data_key.hex().encode() not in b"".join(str(v).encode() for v in row)


@pytest.mark.parametrize(
    "row",
    [
        {"subject_id": "x", "key_id": "00", "kek_id": "k", "wrapped": b"w", "shredded_at": AT},  # both
        {"subject_id": "x", "key_id": "00", "kek_id": "k"},  # neither
    ],
)
def test_a_row_holds_a_wrapped_key_or_a_receipt(db: Database, row: dict[str, object]) -> None:
    with (
        pytest.raises(IntegrityError, match=r"ck_data_keys_wrapped_or_shredded|CHECK constraint"),
        db.engine.begin() as c,
    ):
        c.execute(sa.insert(data_keys), row)


def test_the_shredded_row_keeps_its_receipt_digest(store: SqlDataKeyStore) -> None:
    encrypt_field(store, KEK, "alice", b"secret", AAD)
    outcome = shred(store, "alice", AT)
    assert store.receipt_digest("alice") == outcome.receipt.digest
    assert store.receipt_digest("bob") is None


def test_an_open_elsewhere_after_the_shred_fails(store: SqlDataKeyStore, db: Database) -> None:
    blob = encrypt_field(store, KEK, "alice", b"secret", AAD)
    other = open_database(db.url if db.dialect == "sqlite" else db.engine.url.render_as_string(hide_password=False))
    try:
        elsewhere = SqlDataKeyStore(other)  # another process, its own connections
        assert decrypt_field(elsewhere, KEK, "alice", blob, AAD) == b"secret"
        shred(store, "alice", AT)
        with pytest.raises(KeyShredded, match="cannot decrypt for subject 'alice'"):
            decrypt_field(elsewhere, KEK, "alice", blob, AAD)
        with pytest.raises(KeyShredded, match="cannot encrypt for subject 'alice'"):
            open_subject(elsewhere, KEK, "alice", create=True)
    finally:
        other.close()


def test_concurrent_shreds_shred_once(store: SqlDataKeyStore) -> None:
    encrypt_field(store, KEK, "alice", b"secret", AAD)
    start = threading.Barrier(6)
    outcomes = []

    def run() -> None:
        start.wait()
        outcomes.append(store.destroy("alice", AT))

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.already for o in outcomes) == [False] + [True] * 5
    assert len({o.receipt for o in outcomes}) == 1


def test_rotation_in_batches_keeps_every_value_readable(
    store: SqlDataKeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(data_keys_module, "LIST_BATCH", 2)  # listing pages too, not only writing batches
    subjects = [f"s{i}" for i in range(7)]
    blobs = {s: encrypt_field(store, KEK, s, s.encode(), AAD) for s in subjects}
    shred(store, "s3", AT)
    new = LocalKek("kek-2", b"\x42" * 32)
    sizes: list[int] = []
    report = rewrap(store, KEK, new, batch=3, progress=sizes.append)
    assert (report.rewrapped, report.skipped, sizes) == (6, 0, [3, 3])
    ring = KekRing(new)
    for s in subjects:
        if s == "s3":
            with pytest.raises(KeyShredded):
                decrypt_field(store, ring, s, blobs[s], AAD)
        else:
            assert decrypt_field(store, ring, s, blobs[s], AAD) == s.encode()
    assert store.census().live == {"kek-2": 6}
