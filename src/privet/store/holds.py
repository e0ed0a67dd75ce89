"""Legal holds on SQL. A hold is added and later released, never deleted: the table is its own history."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from privet.retention.rules import Hold, HoldScope
from privet.store import session
from privet.store.database import Database
from privet.store.hold_tables import legal_holds


class HoldError(ValueError):
    """A hold that cannot be added or released as asked; the message says what to do instead."""


def _hold(row: Any) -> Hold:
    return Hold(row.hold_id, HoldScope(row.scope), row.target, row.reason, row.owner, row.created_at, row.released_at)


def new_hold_id() -> str:
    return f"hold-{secrets.token_hex(4)}"  # starts with a letter, so a command line never reads it as an option


class SqlHolds:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, scope: HoldScope, target: str, reason: str, owner: str, at: dt.datetime,
            hold_id: str | None = None) -> Hold:  # fmt: skip
        for name, value in (("target", target), ("reason", reason), ("owner", owner)):
            if not value.strip():
                raise HoldError(f"a legal hold needs a {name}")
        hold = Hold(hold_id or new_hold_id(), scope, target.strip(), reason.strip(), owner.strip(), at)
        row = {"hold_id": hold.hold_id, "scope": hold.scope.value, "target": hold.target, "reason": hold.reason,
               "owner": hold.owner, "created_at": at, "released_at": None}  # fmt: skip

        def work(conn: Connection) -> None:
            if conn.execute(sa.select(legal_holds.c.hold_id).where(legal_holds.c.hold_id == hold.hold_id)).first():
                raise HoldError(f"a legal hold {hold.hold_id} exists already")
            conn.execute(sa.insert(legal_holds), row)

        session.write(self._db, work)
        return hold

    def get(self, hold_id: str) -> Hold | None:
        query = sa.select(legal_holds).where(legal_holds.c.hold_id == hold_id)
        row = session.read(self._db, lambda c: c.execute(query).first())
        return _hold(row) if row is not None else None

    def release(self, hold_id: str, at: dt.datetime) -> Hold:
        def work(conn: Connection) -> Hold:
            this = legal_holds.c.hold_id == hold_id
            row = conn.execute(sa.select(legal_holds).where(this)).first()
            if row is None:
                raise HoldError(f"no legal hold {hold_id}; privet holds list shows them")
            if row.released_at is not None:
                raise HoldError(f"legal hold {hold_id} was released on {row.released_at.isoformat()} already")
            if at < row.created_at:
                raise HoldError(f"legal hold {hold_id} cannot be released before it was added")
            conn.execute(sa.update(legal_holds).where(this).values(released_at=at))
            return _hold(conn.execute(sa.select(legal_holds).where(this)).one())

        return session.write(self._db, work)

    def active(self, as_of: dt.datetime) -> list[Hold]:
        """Holds added by `as_of` and not released by then, oldest first."""
        c = legal_holds.c
        query = (
            sa.select(legal_holds)
            .where(c.created_at <= as_of, sa.or_(c.released_at.is_(None), c.released_at > as_of))
            .order_by(c.created_at, c.hold_id)
        )
        return session.read(self._db, lambda conn: [_hold(r) for r in conn.execute(query)])

    def all(self) -> list[Hold]:
        query = sa.select(legal_holds).order_by(legal_holds.c.created_at, legal_holds.c.hold_id)
        return session.read(self._db, lambda conn: [_hold(r) for r in conn.execute(query)])
