"""Staff credentials: argon2 password hashes, API keys (shown once, kept as SHA-256), and making users and keys.

Used by the API and by the `privet users` / `privet keys` commands alike.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from privet.api.roles import Role, key_scopes, parse_role
from privet.store.staff import ApiKey, SqlStaff, StaffError, StaffUser

KEY_PREFIX = "pvk"
MIN_PASSWORD = 12


@cache
def hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id with the library's current recommended parameters


@cache
def _dummy_hash() -> str:
    return hasher().hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"a password needs at least {MIN_PASSWORD} characters")
    return hasher().hash(password)


def check_password(stored_hash: str | None, password: str) -> bool:
    """Whether `password` matches. Without a user (`stored_hash` None) a hash is still checked: timing tells nothing."""
    try:
        return hasher().verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def normalise_email(email: str) -> str:
    value = email.strip().lower()
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in value):
        raise StaffError(f"{email!r} is not an email address")
    return value


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A key id (public, for lists and logs) and the key itself: the id and 32 random bytes."""
    key_id = secrets.token_hex(6)
    return key_id, f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"


def create_user(staff: SqlStaff, email: str, password: str, role: str, now: dt.datetime,
                name: str | None = None) -> StaffUser:  # fmt: skip
    try:
        checked_role = parse_role(role)
    except ValueError as exc:
        raise StaffError(str(exc)) from None
    user = StaffUser(uuid.uuid4().hex, normalise_email(email), checked_role.value, hash_password(password), now, name)
    staff.add_user(user)
    return user


def create_key(staff: SqlStaff, name: str, role: str, now: dt.datetime, scopes: tuple[str, ...] = (),
               user_id: str | None = None) -> tuple[ApiKey, str]:  # fmt: skip
    """A new key and its token; the token is returned this once and never stored."""
    if not name.strip():
        raise StaffError("an API key needs a name that says who uses it")
    try:
        checked_role: Role = parse_role(role)
        limited = key_scopes(checked_role, scopes)
    except ValueError as exc:
        raise StaffError(str(exc)) from None
    key_id, token = new_token()
    key = ApiKey(key_id, name.strip(), token_digest(token), checked_role.value, tuple(s.value for s in limited), now,
                 user_id)  # fmt: skip
    staff.add_key(key)
    return key, token
