"""Who is calling: an API key (systems, scripts) or a signed session cookie (staff in the console), and what they
may do. Every endpoint declares its scope with `require(scope)`.

Cookie sessions are stateless (signed with the workspace secret, itsdangerous) but end early when the user's
`session_epoch` moves: signing out, disabling, a new role or password. State-changing requests made with a cookie
must repeat the session's CSRF token in the `X-CSRF-Token` header or a `csrf_token` form field; API-key requests
carry no ambient credential and are exempt.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from privet.api.credentials import check_password, normalise_email, token_digest
from privet.api.errors import CsrfRefused, Forbidden, Unauthenticated
from privet.api.roles import Scope, effective_scopes
from privet.store.staff import SqlStaff, StaffError, StaffUser

SESSION_COOKIE = "privet_session"
CSRF_COOKIE = "privet_csrf"  # readable by the console's scripts (double submit); the session cookie is not
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SESSION_TTL = dt.timedelta(hours=12)
CACHE_S = 5.0  # how long a key or user stays trusted without reading the database again
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    kind: str  # "key" or "user"
    id: str  # key id or user id
    name: str  # key name or user email
    role: str
    scopes: frozenset[Scope]
    via_cookie: bool = False
    csrf: str | None = None  # the session's CSRF token (cookie sessions only)

    @property
    def actor(self) -> str:
        """How the audit log names the caller."""
        return f"staff:{self.name}" if self.kind == "user" else f"key:{self.name}"

    def may(self, scope: Scope) -> bool:
        return scope in self.scopes


@dataclass
class _Cached:
    value: Any
    until: float


@dataclass
class Authenticator:
    staff: SqlStaff
    secret: bytes
    secure_cookies: bool
    now: Callable[[], dt.datetime]
    clock: Callable[[], float] = time.monotonic
    _keys: dict[str, _Cached] = field(default_factory=dict)
    _users: dict[str, _Cached] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._sessions = URLSafeTimedSerializer(self.secret, salt="privet.session")

    # -- API keys -------------------------------------------------------------------------------------------

    def cached_key(self, token: str) -> Principal | bool | None:
        """The principal of a key seen lately; False when it must be read from the database."""
        hit = self._keys.get(token_digest(token))
        if hit is None or hit.until < self.clock():
            return False
        principal: Principal | None = hit.value
        return principal

    def load_key(self, token: str) -> Principal | None:
        """Read the key (and note its use); a revoked key, or one whose user is disabled, is no key."""
        digest = token_digest(token)
        key = self.staff.key_by_digest(digest)
        principal = None
        if key is not None and key.active:
            owner = self.staff.user(key.user_id) if key.user_id else None
            if owner is None or not owner.disabled:
                principal = Principal("key", key.key_id, key.name, key.role, effective_scopes(key.role, key.scopes))
                self.staff.touch_keys({key.key_id: self.now()})
        with self._lock:
            if len(self._keys) > 10_000:
                self._keys.clear()
            self._keys[digest] = _Cached(principal, self.clock() + CACHE_S)
        return principal

    # -- sessions -------------------------------------------------------------------------------------------

    def login(self, email: str, password: str) -> tuple[StaffUser, str, str] | None:
        """The user, the session cookie value and its CSRF token; None for any failure (no hint which)."""
        try:
            address = normalise_email(email)
        except StaffError:
            address = ""
        user = self.staff.user_by_email(address) if address else None
        ok = check_password(user.password_hash if user else None, password)
        if user is None or not ok or user.disabled:
            return None
        user = self.staff.update_user(user.user_id, last_login_at=self.now())
        csrf = secrets.token_urlsafe(32)
        cookie = self._sessions.dumps({"u": user.user_id, "e": user.session_epoch, "c": csrf})
        self.forget_user(user.user_id)
        return user, cookie, csrf

    def logout(self, user_id: str) -> None:
        self.staff.update_user(user_id, end_sessions=True)
        self.forget_user(user_id)

    def session(self, cookie: str) -> tuple[str, int, str] | None:
        """(user id, epoch, csrf token) of a valid, unexpired session cookie."""
        try:
            data = self._sessions.loads(cookie, max_age=int(SESSION_TTL.total_seconds()))
        except (BadSignature, UnicodeError, ValueError):
            return None
        if not isinstance(data, dict):
            return None
        user_id, epoch, csrf = data.get("u"), data.get("e"), data.get("c")
        if not isinstance(user_id, str) or not isinstance(epoch, int) or not isinstance(csrf, str):
            return None
        return user_id, epoch, csrf

    def cached_user(self, user_id: str) -> StaffUser | bool | None:
        hit = self._users.get(user_id)
        if hit is None or hit.until < self.clock():
            return False
        user: StaffUser | None = hit.value
        return user

    def load_user(self, user_id: str) -> StaffUser | None:
        user = self.staff.user(user_id)
        with self._lock:
            if len(self._users) > 10_000:
                self._users.clear()
            self._users[user_id] = _Cached(user, self.clock() + CACHE_S)
        return user

    def forget_user(self, user_id: str) -> None:
        self._users.pop(user_id, None)

    def forget_keys(self) -> None:
        self._keys.clear()

    def set_cookies(self, response: Response, cookie: str, csrf: str) -> None:
        age = int(SESSION_TTL.total_seconds())
        response.set_cookie(SESSION_COOKIE, cookie, max_age=age, httponly=True, samesite="lax",
                            secure=self.secure_cookies, path="/")  # fmt: skip
        response.set_cookie(CSRF_COOKIE, csrf, max_age=age, httponly=False, samesite="lax",
                            secure=self.secure_cookies, path="/")  # fmt: skip

    def clear_cookies(self, response: Response) -> None:
        for name in (SESSION_COOKIE, CSRF_COOKIE):
            response.delete_cookie(name, path="/", secure=self.secure_cookies, samesite="lax")


# -- dependencies -----------------------------------------------------------------------------------------------
# Credentials are read from the request directly rather than through FastAPI's security classes: three fewer
# dependencies on every call. The OpenAPI document still describes them (SECURITY_SCHEMES, added by the app).

SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "An API key: Authorization: Bearer pvk_..."},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "An API key, another way"},
    "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                "description": "A staff session (POST /api/v1/session); changes need the X-CSRF-Token header"},
}  # fmt: skip


def authenticator(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.auth
    return auth


async def principal(request: Request, bearer: HTTPAuthorizationCredentials | None = None, api_key: str | None = None,
                    cookie: str | None = None) -> Principal | None:  # fmt: skip
    """The caller of these credentials, or None when there are none. Wrong credentials are refused (401)."""
    auth = authenticator(request)
    token = bearer.credentials if bearer is not None else api_key
    if token:
        found = auth.cached_key(token)
        if found is False:
            found = await run_in_threadpool(auth.load_key, token)
        if not isinstance(found, Principal):
            raise Unauthenticated("the API key is not valid (unknown, revoked, or its user is disabled)",
                                  {"WWW-Authenticate": "Bearer"})  # fmt: skip
        return found
    if cookie:
        session = auth.session(cookie)
        if session is None:
            raise Unauthenticated("the session has expired or is not valid; sign in again")
        user_id, epoch, csrf = session
        user = auth.cached_user(user_id)
        if user is False:
            user = await run_in_threadpool(auth.load_user, user_id)
        if not isinstance(user, StaffUser) or user.disabled or user.session_epoch != epoch:
            raise Unauthenticated("the session has ended; sign in again")
        return Principal("user", user.user_id, user.email, user.role, effective_scopes(user.role), True, csrf)
    return None


def api_key_of(request: Request) -> str | None:
    """The API key a request sends: Authorization: Bearer, else X-API-Key; None when it sends neither."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.headers.get("x-api-key") or None


async def caller(request: Request) -> Principal | None:
    """The request's caller: an API key (Authorization: Bearer, or X-API-Key), else a session cookie, else None."""
    return await principal(request, None, api_key_of(request), request.cookies.get(SESSION_COOKIE))


async def check_csrf(request: Request, who: Principal) -> None:
    if not who.via_cookie or request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or who.csrf is None or not hmac.compare_digest(sent.encode(), who.csrf.encode()):
        raise CsrfRefused(f"send the session's CSRF token in the {CSRF_HEADER} header or a {CSRF_FIELD} form field")


def require(scope: Scope) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the caller, if authenticated, allowed `scope`, and (with a cookie) carrying the CSRF token."""

    async def dependency(request: Request) -> Principal:
        who = await caller(request)
        if who is None:
            raise Unauthenticated("authenticate with an API key (Authorization: Bearer ...) or a staff session",
                                  {"WWW-Authenticate": "Bearer"})  # fmt: skip
        if not who.may(scope):
            raise Forbidden(f"the {who.role} role may not do this (needs the scope {scope.value})")
        await check_csrf(request, who)
        return who

    dependency.scope = scope  # type: ignore[attr-defined]
    return dependency


async def signed_in(request: Request) -> Principal:
    """Any authenticated caller (whatever the scope), with the CSRF check for cookie sessions."""
    who = await caller(request)
    if who is None:
        raise Unauthenticated("not signed in", {"WWW-Authenticate": "Bearer"})
    await check_csrf(request, who)
    return who


signed_in.scope = "signed_in"  # type: ignore[attr-defined]


def csrf_token(request: Request) -> str | None:
    """The CSRF token of the request's session, for forms rendered by the console pages."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    session = authenticator(request).session(cookie)
    return session[2] if session else None
