"""Wrapped data keys on SQL (the DataKeyStore port): compare-and-set writes, atomic shredding, batched listing.

Only wrapped keys are stored; the KEK that unwraps them is never in the database. Shredding is one UPDATE that
clears the wrapped key and records the time and the receipt's digest, guarded by `shredded_at IS NULL`: of two
concurrent shreds exactly one changes the row (PostgreSQL re-checks the guard after waiting for the row lock;
SQLite writers are serialised), and every read after it commits sees the receipt.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from privet.crypto.keys import KeyCensus, ShredOutcome, ShredReceipt, WrappedKey
from privet.store import session
from privet.store.data_key_tables import data_keys
from privet.store.database import Database

LIST_BATCH = 1_000


def _entry(row: Any) -> WrappedKey | ShredReceipt:
    if row.shredded_at is not None:
        return ShredReceipt(row.subject_id, row.key_id, row.kek_id, row.shredded_at)
    return WrappedKey(row.subject_id, row.key_id, row.kek_id, bytes(row.wrapped))


def _is(key: WrappedKey) -> sa.ColumnElement[bool]:
    """The row holds exactly this wrapped key, not shredded."""
    c = data_keys.c
    return sa.and_(
        c.subject_id == key.subject_id,
        c.key_id == key.key_id,
        c.kek_id == key.kek_id,
        c.wrapped == key.wrapped,
        c.shredded_at.is_(None),
    )


_REPLACE = (
    sa.update(data_keys)
    .where(
        data_keys.c.subject_id == sa.bindparam("b_subject"),
        data_keys.c.key_id == sa.bindparam("b_key"),
        data_keys.c.kek_id == sa.bindparam("b_kek"),
        data_keys.c.wrapped == sa.bindparam("b_wrapped"),
        data_keys.c.shredded_at.is_(None),
    )
    .values(key_id=sa.bindparam("b_new_key"), kek_id=sa.bindparam("b_new_kek"), wrapped=sa.bindparam("b_new_wrapped"))
)


class SqlDataKeyStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def _insert(self, conn: Connection, row: dict[str, Any]) -> bool:
        """Insert unless the subject has a row; True when this call inserted it."""
        stmt: postgresql.Insert | sqlite.Insert
        if conn.dialect.name == "postgresql":
            stmt = postgresql.insert(data_keys)
        elif conn.dialect.name == "sqlite":
            stmt = sqlite.insert(data_keys)
        else:
            raise NotImplementedError(f"privet keeps data keys on SQLite or PostgreSQL, not {conn.dialect.name}")
        stmt = stmt.values(**row).on_conflict_do_nothing(index_elements=["subject_id"])
        return conn.execute(stmt.returning(data_keys.c.subject_id)).first() is not None

    @staticmethod
    def _current(conn: Connection, subject_id: str) -> WrappedKey | ShredReceipt | None:
        row = conn.execute(sa.select(data_keys).where(data_keys.c.subject_id == subject_id)).first()
        return _entry(row) if row is not None else None

    def get(self, subject_id: str) -> WrappedKey | ShredReceipt | None:
        return session.read(self._db, lambda conn: self._current(conn, subject_id))

    def _put(self, conn: Connection, key: WrappedKey, replacing: WrappedKey | None) -> WrappedKey | ShredReceipt:
        if replacing is None:
            row = {"subject_id": key.subject_id, "key_id": key.key_id, "kek_id": key.kek_id, "wrapped": key.wrapped}
            if self._insert(conn, row):
                return key
        elif replacing.subject_id == key.subject_id:
            values = {"key_id": key.key_id, "kek_id": key.kek_id, "wrapped": key.wrapped}
            if conn.execute(sa.update(data_keys).where(_is(replacing)).values(**values)).rowcount == 1:
                return key
        current = self._current(conn, key.subject_id)
        if current is None:
            raise ValueError(f"subject {key.subject_id!r} has no data key to replace; put it without `replacing`")
        return current

    def put(self, key: WrappedKey, replacing: WrappedKey | None = None) -> WrappedKey | ShredReceipt:
        return session.write(self._db, lambda conn: self._put(conn, key, replacing))

    def replace_many(self, moves: Sequence[tuple[WrappedKey, WrappedKey]]) -> int:
        """One compare-and-set UPDATE run for the whole batch (executemany), then one read of what is stored."""
        if not moves:
            return 0
        if any(old.subject_id != new.subject_id for old, new in moves):
            raise ValueError("a replacement keeps the subject: each (old, new) pair must name the same subject id")
        params = [
            {"b_subject": old.subject_id, "b_key": old.key_id, "b_kek": old.kek_id, "b_wrapped": old.wrapped,
             "b_new_key": new.key_id, "b_new_kek": new.kek_id, "b_new_wrapped": new.wrapped}
            for old, new in moves
        ]  # fmt: skip
        wanted = {new.subject_id: new for _, new in moves}

        def work(conn: Connection) -> int:
            conn.execute(_REPLACE, params)
            stored = conn.execute(sa.select(data_keys).where(data_keys.c.subject_id.in_(list(wanted))))
            return sum(1 for row in stored if _entry(row) == wanted[row.subject_id])

        return session.write(self._db, work)

    def destroy(self, subject_id: str, at: dt.datetime) -> ShredOutcome:
        c = data_keys.c

        def work(conn: Connection) -> ShredOutcome:
            fresh = ShredReceipt(subject_id, None, None, at)
            marker = {"subject_id": subject_id, "shredded_at": at, "receipt_sha256": fresh.digest}
            if self._insert(conn, marker):
                return ShredOutcome(fresh, already=False)
            live = sa.and_(c.subject_id == subject_id, c.shredded_at.is_(None))
            found = conn.execute(sa.select(c.key_id, c.kek_id).where(live)).first()
            if found is not None:
                receipt = ShredReceipt(subject_id, found.key_id, found.kek_id, at)
                shredded = conn.execute(
                    sa.update(data_keys).where(live).values(wrapped=None, shredded_at=at, receipt_sha256=receipt.digest)
                )
                if shredded.rowcount == 1:
                    return ShredOutcome(receipt, already=False)
            current = self._current(conn, subject_id)
            assert isinstance(current, ShredReceipt)
            return ShredOutcome(current, already=True)

        return session.write(self._db, work)

    def wrapped_by(self, kek_id: str) -> Iterator[WrappedKey]:
        """In pages of LIST_BATCH, each read on its own, so that a long rotation holds no transaction open."""
        c = data_keys.c
        after = ""
        while True:
            query = (
                sa.select(data_keys)
                .where(c.kek_id == kek_id, c.shredded_at.is_(None), c.subject_id > after)
                .order_by(c.subject_id)
                .limit(LIST_BATCH)
            )
            rows = session.read(self._db, lambda conn, q=query: conn.execute(q).all())  # type: ignore[misc]
            for row in rows:
                entry = _entry(row)
                assert isinstance(entry, WrappedKey)
                yield entry
            if len(rows) < LIST_BATCH:
                return
            after = rows[-1].subject_id

    def census(self) -> KeyCensus:
        c = data_keys.c
        live = sa.select(c.kek_id, sa.func.count()).where(c.shredded_at.is_(None)).group_by(c.kek_id)
        shredded = sa.select(sa.func.count()).where(c.shredded_at.is_not(None))

        def work(conn: Connection) -> KeyCensus:
            counts = {str(kek): int(n) for kek, n in conn.execute(live)}
            return KeyCensus(counts, int(conn.execute(shredded).scalar_one()))

        return session.read(self._db, work)

    def receipt_digest(self, subject_id: str) -> str | None:
        """The digest recorded when the subject's key was shredded (None when it was not)."""
        query = sa.select(data_keys.c.receipt_sha256).where(data_keys.c.subject_id == subject_id)
        return session.read(self._db, lambda conn: conn.execute(query).scalar_one_or_none())
