"""privet users and privet keys: staff who sign in to the console, and API keys for systems and scripts."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from privet.commands.common import JsonOption, WorkspaceOption, fail, out, print_json, workspace

users_app = typer.Typer(help="Staff users of the console and the API (argon2 password hashes).", no_args_is_help=True)
keys_app = typer.Typer(help="API keys: shown once, kept as SHA-256, scoped by role, revocable.", no_args_is_help=True)

ROLES = "admin, privacy_officer, analyst or system"


def _password(given: str | None) -> str:
    if given is not None:
        return given
    first = getpass.getpass("Password (12 characters or more): ")
    if first != getpass.getpass("Again: "):
        fail("the two passwords differ; nothing was changed")
    return first


@users_app.command("add")
def add_user(
    email: Annotated[str, typer.Argument(help="The person's email address; it is the sign-in name.")],
    role: Annotated[str, typer.Option(help=ROLES)],
    name: Annotated[str | None, typer.Option(help="The person's name.")] = None,
    password: Annotated[
        str | None, typer.Option(envvar="PRIVET_NEW_PASSWORD", help="Default: asked for, without echo.")
    ] = None,
    ws: WorkspaceOption = Path(),
) -> None:
    """Add a staff user."""
    from privet.api.credentials import create_user
    from privet.store.staff import SqlStaff, StaffError

    with workspace(ws) as rt:
        try:
            user = create_user(SqlStaff(rt.db), email, _password(password), role, rt.now(), name)
        except StaffError as exc:
            fail(str(exc))
        out.print(f"added {user.email} ({user.role})", markup=False)


@users_app.command("list")
def list_users(ws: WorkspaceOption = Path(), as_json: JsonOption = False) -> None:
    """Staff users, with their roles and last sign-in."""
    from privet.store.staff import SqlStaff

    with workspace(ws) as rt:
        users = SqlStaff(rt.db).users()
        if as_json:
            print_json([{"user_id": u.user_id, "email": u.email, "name": u.name, "role": u.role,
                         "disabled": u.disabled, "last_login_at": u.last_login_at} for u in users])  # fmt: skip
            return
        for u in users:
            state = " (disabled)" if u.disabled else ""
            last = u.last_login_at.isoformat(timespec="minutes") if u.last_login_at else "never"
            out.print(f"{u.email:<40} {u.role:<16} last sign-in {last}{state}", markup=False)
        if not users:
            out.print("no staff users; add one with: privet users add EMAIL --role admin")


def _user_id(rt: object, email: str) -> str:
    from privet.api.credentials import normalise_email
    from privet.store.staff import SqlStaff, StaffError
    from privet.workspace.runtime import Runtime

    assert isinstance(rt, Runtime)
    try:
        user = SqlStaff(rt.db).user_by_email(normalise_email(email))
    except StaffError as exc:
        fail(str(exc))
    if user is None:
        fail(f"no staff user {email}; see privet users list")
    return user.user_id


@users_app.command("set-role")
def set_role(
    email: Annotated[str, typer.Argument(help="The user's email address.")],
    role: Annotated[str, typer.Argument(help=ROLES)],
    ws: WorkspaceOption = Path(),
) -> None:
    """Change a user's role; their sessions end, so the new role applies at once."""
    from privet.api.roles import parse_role
    from privet.store.staff import SqlStaff

    try:
        checked = parse_role(role)
    except ValueError as exc:
        fail(str(exc))
    with workspace(ws) as rt:
        user = SqlStaff(rt.db).update_user(_user_id(rt, email), end_sessions=True, role=checked.value)
        out.print(f"{user.email} is now {user.role}", markup=False)


@users_app.command("disable")
def disable(
    email: Annotated[str, typer.Argument(help="The user's email address.")],
    enable: Annotated[bool, typer.Option("--enable", help="Enable the user again instead.")] = False,
    ws: WorkspaceOption = Path(),
) -> None:
    """Disable a user: their sessions end and their API keys stop working (--enable undoes it)."""
    from privet.store.staff import SqlStaff

    with workspace(ws) as rt:
        user = SqlStaff(rt.db).update_user(_user_id(rt, email), end_sessions=True, disabled=not enable)
        out.print(f"{user.email} is {'disabled' if user.disabled else 'enabled'}", markup=False)


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Who uses the key, e.g. crm-sync.")],
    role: Annotated[str, typer.Option(help=ROLES)] = "system",
    scope: Annotated[list[str], typer.Option(help="Limit the key to a scope of its role (repeat).")] = [],  # noqa: B006
    user: Annotated[str | None, typer.Option(help="The staff user the key belongs to (it dies with them).")] = None,
    ws: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Create an API key. The key is printed this once; privet keeps only its SHA-256."""
    from privet.api.credentials import create_key
    from privet.store.staff import SqlStaff, StaffError

    with workspace(ws) as rt:
        owner = _user_id(rt, user) if user else None
        try:
            key, token = create_key(SqlStaff(rt.db), name, role, rt.now(), tuple(scope), owner)
        except StaffError as exc:
            fail(str(exc))
        if as_json:
            print_json({"key_id": key.key_id, "name": key.name, "role": key.role, "scopes": list(key.scopes),
                        "token": token})  # fmt: skip
            return
        out.print(f"key {key.key_id} ({key.role}) for {key.name}:", markup=False)
        out.print(token, markup=False)
        out.print("Store it now: it cannot be shown again. Send it as: Authorization: Bearer <key>", markup=False)


@keys_app.command("list")
def list_keys(ws: WorkspaceOption = Path(), as_json: JsonOption = False) -> None:
    """API keys (never the keys themselves), with when each was last used."""
    from privet.store.staff import SqlStaff

    with workspace(ws) as rt:
        keys = SqlStaff(rt.db).api_keys()
        if as_json:
            print_json([{"key_id": k.key_id, "name": k.name, "role": k.role, "scopes": list(k.scopes),
                         "user_id": k.user_id, "created_at": k.created_at, "last_used_at": k.last_used_at,
                         "revoked_at": k.revoked_at} for k in keys])  # fmt: skip
            return
        for k in keys:
            used = k.last_used_at.isoformat(timespec="minutes") if k.last_used_at else "never"
            state = f" revoked {k.revoked_at.date()}" if k.revoked_at else ""
            scopes = f" [{' '.join(k.scopes)}]" if k.scopes else ""
            out.print(f"{k.key_id}  {k.name:<24} {k.role:<16}{scopes} last used {used}{state}", markup=False)
        if not keys:
            out.print("no API keys; create one with: privet keys create NAME --role system")


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key id shown by privet keys list.")],
    ws: WorkspaceOption = Path(),
) -> None:
    """Revoke a key. Running servers stop accepting it within seconds."""
    from privet.store.staff import SqlStaff, StaffError

    with workspace(ws) as rt:
        try:
            key = SqlStaff(rt.db).revoke_key(key_id, rt.now())
        except StaffError as exc:
            fail(str(exc))
        out.print(f"key {key.key_id} ({key.name}) is revoked", markup=False)
