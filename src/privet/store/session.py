"""A unit of work across stores: inside `unit_of_work(db)`, every store call on that database shares one transaction.

Stores run their SQL through `write(db, work)` and `read(db, work)`. Inside a unit of work they join its
connection (one commit, one fsync on SQLite, for everything inside); inside `reading(db)` reads share one read
transaction; outside both, each call opens a transaction of its own. Scopes are per database engine, so a unit
of work on one database never captures the stores of another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeVar

from sqlalchemy.engine import Connection, Engine

from privet.store.database import Database

T = TypeVar("T")


@dataclass(frozen=True)
class _Scope:
    conn: Connection
    writable: bool


_scopes: ContextVar[Mapping[Engine, _Scope]] = ContextVar("privet_unit_of_work", default=MappingProxyType({}))


def _joined(db: Database) -> _Scope | None:
    return _scopes.get().get(db.engine)


@contextmanager
def _entered(db: Database, conn: Connection, writable: bool) -> Iterator[None]:
    token = _scopes.set(MappingProxyType({**_scopes.get(), db.engine: _Scope(conn, writable)}))
    try:
        yield
    finally:
        _scopes.reset(token)


@contextmanager
def unit_of_work(db: Database) -> Iterator[None]:
    """Writes inside commit together when the block ends, or roll back together if it raises."""
    current = _joined(db)
    if current is not None:  # nested: the outer unit decides
        if not current.writable:
            raise RuntimeError("unit_of_work() inside reading(): start the unit of work outside the read scope")
        yield
        return
    # A write transaction (BEGIN IMMEDIATE on SQLite) that the stores below join through the context variable.
    with db.writer.begin() as conn, _entered(db, conn, True):
        yield


@contextmanager
def reading(db: Database) -> Iterator[None]:
    """Reads inside share one read transaction (inside a unit of work they use its connection)."""
    if _joined(db) is not None:
        yield
        return
    with db.engine.connect() as conn, conn.begin(), _entered(db, conn, False):
        yield


@contextmanager
def savepoint(db: Database) -> Iterator[None]:
    """Inside `unit_of_work(db)`: if the block raises, undo only its own writes and let the unit go on."""
    current = _joined(db)
    if current is None or not current.writable:
        raise RuntimeError("savepoint() works inside unit_of_work(db): open one around it")
    with current.conn.begin_nested():
        yield


def in_unit_of_work(db: Database) -> bool:
    current = _joined(db)
    return current is not None and current.writable


def write(db: Database, work: Callable[[Connection], T]) -> T:
    current = _joined(db)
    if current is None:
        return db.write(work)
    if not current.writable:
        raise RuntimeError("a store wrote inside reading(): writes belong in unit_of_work(db)")
    return work(current.conn)


def read(db: Database, work: Callable[[Connection], T], *, snapshot: bool = False) -> T:
    current = _joined(db)
    return work(current.conn) if current is not None else db.read(work, snapshot=snapshot)
