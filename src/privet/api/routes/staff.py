"""Staff sessions (sign in with a password, get a cookie and a CSRF token) and, for admins, users and API keys."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from fastapi import Path as PathParam
from pydantic import Field, StringConstraints

from privet.api.auth import Principal, require, signed_in
from privet.api.credentials import create_key
from privet.api.deps import ServicesDep, rate_limit
from privet.api.errors import Forbidden, NotFound, Unauthenticated, problem_responses
from privet.api.models import Input, Line, Output
from privet.api.roles import Role, Scope, effective_scopes
from privet.store.staff import ApiKey, StaffUser

router = APIRouter(prefix="/api/v1", tags=["staff"])

ADMIN = Depends(require(Scope.STAFF_ADMIN))
WRONG = "the email address or the password is wrong, or the account is disabled"


class SessionIn(Input):
    email: Annotated[str, StringConstraints(min_length=1, max_length=320)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1_000)]


class UserOut(Output):
    user_id: str
    email: str
    name: str | None
    role: str
    disabled: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None

    @classmethod
    def of(cls, u: StaffUser) -> UserOut:
        return cls(user_id=u.user_id, email=u.email, name=u.name, role=u.role, disabled=u.disabled,
                   created_at=u.created_at, last_login_at=u.last_login_at)  # fmt: skip


class WhoAmIOut(Output):
    kind: str = Field(description="user (a session) or key")
    id: str
    name: str
    role: str
    scopes: list[str]
    csrf_token: str | None = Field(description="Send it back in X-CSRF-Token with every change (sessions only)")


class KeyIn(Input):
    name: Line = Field(min_length=1, description="Who uses the key, e.g. crm-sync")
    role: Role
    scopes: list[Scope] = Field(default_factory=list, max_length=len(Scope), description="Narrower than the role")


class KeyOut(Output):
    key_id: str
    name: str
    role: str
    scopes: list[str]
    user_id: str | None
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @classmethod
    def of(cls, k: ApiKey) -> KeyOut:
        return cls(key_id=k.key_id, name=k.name, role=k.role, scopes=list(k.scopes), user_id=k.user_id,
                   created_at=k.created_at, last_used_at=k.last_used_at, revoked_at=k.revoked_at)  # fmt: skip


class KeyCreatedOut(Output):
    key: KeyOut
    token: str = Field(description="The key itself: shown this once, never stored")


def _whoami(who: Principal) -> WhoAmIOut:
    return WhoAmIOut(kind=who.kind, id=who.id, name=who.name, role=who.role,
                     scopes=sorted(s.value for s in who.scopes), csrf_token=who.csrf)  # fmt: skip


@router.post("/session", response_model=WhoAmIOut, responses=problem_responses(401, 422, 429),
             dependencies=[Depends(rate_limit("login"))])  # fmt: skip
def sign_in(body: SessionIn, response: Response, services: ServicesDep) -> WhoAmIOut:
    """Sign in: a session cookie (HttpOnly, SameSite=Lax) and the CSRF token to send with every change."""
    found = services.auth.login(body.email, body.password)
    if found is None:
        raise Unauthenticated(WRONG)
    user, cookie, csrf = found
    services.auth.set_cookies(response, cookie, csrf)
    return _whoami(Principal("user", user.user_id, user.email, user.role, effective_scopes(user.role), True, csrf))


@router.get("/session", response_model=WhoAmIOut, responses=problem_responses(401))
def whoami(who: Principal = Depends(signed_in)) -> WhoAmIOut:
    """Who the credentials belong to, and what they may do."""
    return _whoami(who)


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(401, 403))
def sign_out(response: Response, services: ServicesDep,
             who: Principal = Depends(signed_in)) -> Response:  # fmt: skip
    """Sign out: ends every session of the user."""
    if who.kind != "user":
        raise Forbidden("an API key has no session to end; revoke the key instead")
    services.auth.logout(who.id)
    done = Response(status_code=status.HTTP_204_NO_CONTENT)
    services.auth.clear_cookies(done)
    return done


@router.get("/staff/users", response_model=list[UserOut], responses=problem_responses(401, 403))
def users(services: ServicesDep, _: Principal = ADMIN) -> list[UserOut]:
    """Staff users (make them with privet users add)."""
    return [UserOut.of(u) for u in services.auth.staff.users()]


@router.get("/staff/keys", response_model=list[KeyOut], responses=problem_responses(401, 403))
def keys(services: ServicesDep, _: Principal = ADMIN) -> list[KeyOut]:
    """API keys, revoked ones included; never the keys themselves."""
    return [KeyOut.of(k) for k in services.auth.staff.api_keys()]


@router.post("/staff/keys", status_code=status.HTTP_201_CREATED, response_model=KeyCreatedOut,
             responses=problem_responses(401, 403, 422))  # fmt: skip
def new_key(body: KeyIn, services: ServicesDep, who: Principal = ADMIN) -> KeyCreatedOut:
    """A new API key for a system; the response is the only time the key is shown."""
    owner = who.id if who.kind == "user" else None
    key, token = create_key(services.auth.staff, body.name, body.role.value, services.runtime.now(),
                            tuple(s.value for s in body.scopes), owner)  # fmt: skip
    return KeyCreatedOut(key=KeyOut.of(key), token=token)


@router.delete("/staff/keys/{key_id}", response_model=KeyOut, responses=problem_responses(401, 403, 404))
def revoke_key(key_id: Annotated[str, PathParam(min_length=1, max_length=40)],
               services: ServicesDep, _: Principal = ADMIN) -> KeyOut:  # fmt: skip
    """Revoke a key: it stops working at once in this server, within seconds in others."""
    staff = services.auth.staff
    if staff.key(key_id) is None:
        raise NotFound(f"no API key {key_id}")
    revoked = staff.revoke_key(key_id, services.runtime.now())
    services.auth.forget_keys()
    return KeyOut.of(revoked)
