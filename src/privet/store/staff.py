"""Staff users and API keys on SQL. Secrets arrive already hashed: this module never sees a password or a key."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from privet.store.database import Database
from privet.store.staff_tables import staff_api_keys, staff_users


class StaffError(ValueError):
    """A staff user or key that cannot be stored or changed as asked."""


@dataclass(frozen=True, slots=True)
class StaffUser:
    user_id: str
    email: str
    role: str
    password_hash: str
    created_at: dt.datetime
    name: str | None = None
    disabled: bool = False
    session_epoch: int = 0
    last_login_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    name: str
    token_sha256: str
    role: str
    scopes: tuple[str, ...]  # empty: every scope of the role
    created_at: dt.datetime
    user_id: str | None = None
    last_used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _user(row: Any) -> StaffUser:
    return StaffUser(row.user_id, row.email, row.role, row.password_hash, row.created_at, row.name, row.disabled,
                     row.session_epoch, row.last_login_at)  # fmt: skip


def _key(row: Any) -> ApiKey:
    scopes = tuple(row.scopes.split()) if row.scopes else ()
    return ApiKey(row.key_id, row.name, row.token_sha256, row.role, scopes, row.created_at, row.user_id,
                  row.last_used_at, row.revoked_at)  # fmt: skip


class SqlStaff:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- users ----------------------------------------------------------------------------------------------

    def add_user(self, user: StaffUser) -> None:
        row = {
            "user_id": user.user_id,
            "email": user.email,
            "name": user.name,
            "role": user.role,
            "password_hash": user.password_hash,
            "disabled": user.disabled,
            "session_epoch": user.session_epoch,
            "created_at": user.created_at,
            "last_login_at": user.last_login_at,
        }
        try:
            self._db.write(lambda c: c.execute(sa.insert(staff_users), row))
        except IntegrityError:
            raise StaffError(f"a staff user with the email {user.email} exists already") from None

    def user(self, user_id: str) -> StaffUser | None:
        query = sa.select(staff_users).where(staff_users.c.user_id == user_id)
        row = self._db.read(lambda c: c.execute(query).first())
        return _user(row) if row is not None else None

    def user_by_email(self, email: str) -> StaffUser | None:
        query = sa.select(staff_users).where(staff_users.c.email == email)
        row = self._db.read(lambda c: c.execute(query).first())
        return _user(row) if row is not None else None

    def users(self) -> list[StaffUser]:
        query = sa.select(staff_users).order_by(staff_users.c.email)
        return self._db.read(lambda c: [_user(r) for r in c.execute(query)])

    def update_user(self, user_id: str, *, end_sessions: bool = False, **values: Any) -> StaffUser:
        """Change `values` (role, name, disabled, password_hash, last_login_at); `end_sessions` signs the user out."""
        allowed = {"role", "name", "disabled", "password_hash", "last_login_at"}
        unknown = set(values) - allowed
        if unknown:
            raise StaffError(f"cannot change {', '.join(sorted(unknown))} of a staff user")

        def work(conn: Connection) -> StaffUser:
            changes: dict[str, Any] = dict(values)
            if end_sessions:
                changes["session_epoch"] = staff_users.c.session_epoch + 1
            this = staff_users.c.user_id == user_id
            if changes and conn.execute(sa.update(staff_users).where(this).values(changes)).rowcount != 1:
                raise StaffError(f"no staff user {user_id}")
            row = conn.execute(sa.select(staff_users).where(this)).first()
            if row is None:
                raise StaffError(f"no staff user {user_id}")
            return _user(row)

        return self._db.write(work)

    # -- API keys -------------------------------------------------------------------------------------------

    def add_key(self, key: ApiKey) -> None:
        row = {
            "key_id": key.key_id,
            "name": key.name,
            "token_sha256": key.token_sha256,
            "role": key.role,
            "scopes": " ".join(key.scopes),
            "user_id": key.user_id,
            "created_at": key.created_at,
            "last_used_at": key.last_used_at,
            "revoked_at": key.revoked_at,
        }
        try:
            self._db.write(lambda c: c.execute(sa.insert(staff_api_keys), row))
        except IntegrityError:
            raise StaffError(f"an API key {key.key_id} exists already, or names an unknown user") from None

    def key(self, key_id: str) -> ApiKey | None:
        query = sa.select(staff_api_keys).where(staff_api_keys.c.key_id == key_id)
        row = self._db.read(lambda c: c.execute(query).first())
        return _key(row) if row is not None else None

    def key_by_digest(self, token_sha256: str) -> ApiKey | None:
        query = sa.select(staff_api_keys).where(staff_api_keys.c.token_sha256 == token_sha256)
        row = self._db.read(lambda c: c.execute(query).first())
        return _key(row) if row is not None else None

    def api_keys(self) -> list[ApiKey]:
        query = sa.select(staff_api_keys).order_by(staff_api_keys.c.created_at, staff_api_keys.c.key_id)
        return self._db.read(lambda c: [_key(r) for r in c.execute(query)])

    def revoke_key(self, key_id: str, at: dt.datetime) -> ApiKey:
        def work(conn: Connection) -> ApiKey:
            this = staff_api_keys.c.key_id == key_id
            conn.execute(sa.update(staff_api_keys).where(this, staff_api_keys.c.revoked_at.is_(None)).values(
                revoked_at=at))  # fmt: skip
            row = conn.execute(sa.select(staff_api_keys).where(this)).first()
            if row is None:
                raise StaffError(f"no API key {key_id}")
            return _key(row)

        return self._db.write(work)

    def touch_keys(self, used: dict[str, dt.datetime]) -> None:
        """Record when keys were last used (batched by the caller, so that reading with a key is not a write)."""
        if not used:
            return

        def work(conn: Connection) -> None:
            for key_id, at in used.items():
                conn.execute(sa.update(staff_api_keys).where(staff_api_keys.c.key_id == key_id).values(last_used_at=at))

        self._db.write(work)
