"""Roles and scopes: what each kind of caller may do. Every endpoint declares one scope; roles are sets of them."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    CONSENT_WRITE = "consent:write"  # record choices
    CONSENT_READ = "consent:read"  # a person's choices and their history
    DECIDE = "decide"  # policy decisions and GPP strings
    REQUESTS_READ = "requests:read"  # data-subject requests, their messages and access packages
    REQUESTS_WRITE = "requests:write"  # take in, verify, advance, extend, deny, appeal
    REPORTS_READ = "reports:read"  # ROPA, data-flow graph, request metrics
    AUDIT_READ = "audit:read"  # verify the audit chain
    STAFF_ADMIN = "staff:admin"  # staff users and API keys


class Role(StrEnum):
    ADMIN = "admin"
    PRIVACY_OFFICER = "privacy_officer"  # works requests
    ANALYST = "analyst"  # reads reports, metrics and decisions
    SYSTEM = "system"  # another system: decides and records consent, reads nothing about people


ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.ADMIN: frozenset(Scope),
    Role.PRIVACY_OFFICER: frozenset(Scope) - {Scope.STAFF_ADMIN},
    Role.ANALYST: frozenset({Scope.DECIDE, Scope.REPORTS_READ}),
    Role.SYSTEM: frozenset({Scope.CONSENT_WRITE, Scope.DECIDE}),
}


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower())
    except ValueError:
        raise ValueError(f"unknown role {text!r}; roles: {', '.join(r.value for r in Role)}") from None


def key_scopes(role: Role, requested: tuple[str, ...]) -> tuple[Scope, ...]:
    """The scopes a key of `role` is limited to; each must belong to the role. Empty: all of the role's."""
    scopes = []
    for text in requested:
        try:
            scope = Scope(text.strip())
        except ValueError:
            raise ValueError(f"unknown scope {text!r}; scopes: {', '.join(s.value for s in Scope)}") from None
        if scope not in ROLE_SCOPES[role]:
            raise ValueError(f"the {role.value} role does not have the scope {scope.value}")
        scopes.append(scope)
    return tuple(sorted(set(scopes)))


def effective_scopes(role: str, limited_to: tuple[str, ...] = ()) -> frozenset[Scope]:
    """What a caller may do: its role's scopes, narrowed to `limited_to` when given. Unknown roles get nothing."""
    try:
        granted = ROLE_SCOPES[Role(role)]
    except ValueError:
        return frozenset()
    if not limited_to:
        return granted
    return granted & {s for s in Scope if s.value in limited_to}
