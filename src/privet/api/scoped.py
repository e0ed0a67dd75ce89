"""The workspace database seen through one connection at a time, so that many small store calls share a transaction.

The consent stores open a transaction per call. Behind a web server that is one commit (and, on SQLite, one
fsync) per write, and one connection checkout per read. `ScopedDatabase` gives the same stores a scope: inside
`writing()` every read and write of this thread goes through one write transaction, with savepoints to keep one
caller's failure from undoing the others; inside `reading()` reads share one read transaction. Outside a scope it
behaves as the plain database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from sqlalchemy.engine import Connection

from privet.store.database import _WRITE, Database  # the flag that makes SQLite BEGIN IMMEDIATE

T = TypeVar("T")


class ScopedDatabase(Database):
    def __init__(self, db: Database) -> None:
        super().__init__(db.engine)
        self._plain = db
        self._current: ContextVar[Connection | None] = ContextVar(f"privet_scope_{id(self)}", default=None)

    def write(self, work: Callable[[Connection], T]) -> T:
        conn = self._current.get()
        return work(conn) if conn is not None else self._plain.write(work)

    def read(self, work: Callable[[Connection], T], *, snapshot: bool = False) -> T:
        conn = self._current.get()
        return work(conn) if conn is not None else self._plain.read(work, snapshot=snapshot)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """One write transaction for every store call inside; it commits when the block ends."""
        if self._current.get() is not None:
            yield
            return
        with self.engine.execution_options(**{_WRITE: True}).begin() as conn:
            token = self._current.set(conn)
            try:
                yield
            finally:
                self._current.reset(token)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Inside `writing()`: undo only this block's writes if it raises."""
        conn = self._current.get()
        if conn is None:
            yield
            return
        with conn.begin_nested():
            yield

    @contextmanager
    def reading(self) -> Iterator[None]:
        """One read transaction for every read inside."""
        if self._current.get() is not None:
            yield
            return
        with self.engine.connect() as conn, conn.begin():
            token = self._current.set(conn)
            try:
                yield
            finally:
                self._current.reset(token)
