"""A unit of work across stores: inside `unit_of_work(db)`, every store write shares one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from sqlalchemy.engine import Connection

from privet.store.database import _WRITE, Database

T = TypeVar("T")
_current: ContextVar[Connection | None] = ContextVar("privet_unit_of_work", default=None)


@contextmanager
def unit_of_work(db: Database) -> Iterator[None]:
    """Writes inside commit together when the block ends, or roll back together if it raises."""
    if _current.get() is not None:  # nested: the outer unit decides
        yield
        return
    # A write transaction (BEGIN IMMEDIATE on SQLite) that the stores below join through the context variable.
    with db.engine.execution_options(**{_WRITE: True}).begin() as conn:
        token = _current.set(conn)
        try:
            yield
        finally:
            _current.reset(token)


def write(db: Database, work: Callable[[Connection], T]) -> T:
    conn = _current.get()
    return work(conn) if conn is not None else db.write(work)


def read(db: Database, work: Callable[[Connection], T]) -> T:
    conn = _current.get()
    return work(conn) if conn is not None else db.read(work)
