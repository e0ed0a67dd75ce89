"""The journal of anonymised records on SQL (`privet.retention.journal`): written when a batch of a retention run
is checkpointed, read when a sweep evaluates."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from privet.retention.journal import Anonymised, Journaled
from privet.store import session
from privet.store.database import Database
from privet.store.journal_tables import retention_journal

CHUNK = 5000  # keys per statement: well under SQLite's limit on parameters
T = retention_journal.c


def _place(system: str, collection: str) -> sa.ColumnElement[bool]:
    return sa.and_(T.system == system, T.collection == collection)


class SqlRetentionJournal:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, entries: Sequence[Anonymised]) -> None:
        """Add the entries; a record journaled before takes the newer rule, run and time (it was masked again)."""
        if not entries:
            return
        rows = [{"system": e.system, "collection": e.collection, "record_key": e.key, "rule": e.rule, "run": e.run,
                 "at": e.at} for e in entries]  # fmt: skip

        def work(conn: Connection) -> None:
            dialect = conn.dialect.name
            if dialect in ("sqlite", "postgresql"):
                insert = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(retention_journal)
                statement: Any = insert.on_conflict_do_update(
                    index_elements=[T.system, T.collection, T.record_key],
                    set_={"rule": insert.excluded.rule, "run": insert.excluded.run, "at": insert.excluded.at},
                )
                for start in range(0, len(rows), CHUNK):
                    conn.execute(statement, rows[start : start + CHUNK])
                return
            for (system, collection), part in groupby(entries, key=lambda e: (e.system, e.collection)):
                self._forget(conn, system, collection, [e.key for e in part])
            conn.execute(sa.insert(retention_journal), rows)

        session.write(self._db, work)

    def forget(self, system: str, collection: str, keys: Sequence[str]) -> int:
        """Remove the entries of records that are gone (privet deleted them); how many there were."""
        if not keys:
            return 0
        return session.write(self._db, lambda conn: self._forget(conn, system, collection, keys))

    @staticmethod
    def _forget(conn: Connection, system: str, collection: str, keys: Sequence[str]) -> int:
        removed = 0
        for start in range(0, len(keys), CHUNK):
            chosen = list(keys[start : start + CHUNK])
            result = conn.execute(sa.delete(retention_journal).where(_place(system, collection),
                                                                     T.record_key.in_(chosen)))  # fmt: skip
            removed += result.rowcount
        return removed

    def keys(self, places: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
        """collection -> the keys journaled for each (system, collection); collections with none are left out."""
        wanted = list(dict.fromkeys(places))
        if not wanted:
            return {}

        def work(conn: Connection) -> dict[str, list[str]]:
            out: dict[str, list[str]] = {}
            for system, collection in wanted:
                query = sa.select(T.record_key).where(_place(system, collection))
                found = list(conn.execute(query).scalars())
                if found:
                    out[collection] = found
            return out

        return session.read(self._db, work)

    def summary(self, places: Iterable[tuple[str, str]]) -> list[Journaled]:
        """Per collection and rule: how many records, first and last time, and the last run, in the given order."""
        wanted = list(dict.fromkeys(places))
        if not wanted:
            return []
        # min() and max() take the column's type, so instants come back as the column reads them.
        columns = (T.system, T.collection, T.rule, sa.func.count(), sa.func.min(T.at), sa.func.max(T.at),
                   sa.func.max(T.run))  # fmt: skip
        query = (
            sa.select(*columns)
            .where(sa.or_(*(_place(s, c) for s, c in wanted)))
            .group_by(T.system, T.collection, T.rule)
        )
        rows = session.read(self._db, lambda conn: list(conn.execute(query)))
        order = {place: i for i, place in enumerate(wanted)}
        rows.sort(key=lambda r: (order[(r[0], r[1])], r[2]))
        return [Journaled(r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows]

    def entries(self, system: str, collection: str) -> list[Anonymised]:
        """Every entry of one collection, by key (as text)."""
        query = sa.select(retention_journal).where(_place(system, collection)).order_by(T.record_key)
        return session.read(self._db, lambda conn: [
            Anonymised(r.system, r.collection, r.record_key, r.rule, r.run, r.at) for r in conn.execute(query)
        ])  # fmt: skip
