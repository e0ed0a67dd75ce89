"""Identifiers a person is known by, normalised so the same person matches however they typed it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import phonenumbers


class IdentifierKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    USER_ID = "user_id"
    DEVICE_SERIAL = "device_serial"
    BROWSER = "browser"  # a cookie or browser id, as a consent banner knows a visitor


class InvalidIdentifier(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Identifier:
    kind: IdentifierKind
    value: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.value}"

    @classmethod
    def parse(cls, text: str, default_region: str | None = None) -> Identifier:
        """`kind:value`, e.g. email:Ann@Example.com, phone:+44 20 7946 0000, user_id:42."""
        kind, sep, value = text.partition(":")
        if not sep:
            raise InvalidIdentifier(f"{text!r} is not kind:value; kinds: {', '.join(k.value for k in IdentifierKind)}")
        try:
            ident_kind = IdentifierKind(kind.strip().lower())
        except ValueError:
            raise InvalidIdentifier(
                f"unknown identifier kind {kind!r}; kinds: {', '.join(k.value for k in IdentifierKind)}"
            ) from None
        return normalise(ident_kind, value, default_region)


def normalise(kind: IdentifierKind, raw: str, default_region: str | None = None) -> Identifier:
    value = raw.strip()
    if not value:
        raise InvalidIdentifier(f"empty {kind.value}")
    if len(value) > 320:
        raise InvalidIdentifier(f"{kind.value} longer than 320 characters")
    if kind is IdentifierKind.EMAIL:
        local, at, domain = value.rpartition("@")
        if not at or not local or "." not in domain or any(c.isspace() for c in value):
            raise InvalidIdentifier(f"{value!r} is not an email address")
        # Domains are case-insensitive; local parts are in theory not, but every real provider treats them so.
        return Identifier(kind, f"{local.lower()}@{domain.lower()}")
    if kind is IdentifierKind.PHONE:
        try:
            number = phonenumbers.parse(value, default_region)
        except phonenumbers.NumberParseException as exc:
            raise InvalidIdentifier(f"{value!r} is not a phone number ({exc}); write it with +country code") from None
        if not phonenumbers.is_possible_number(number):
            raise InvalidIdentifier(f"{value!r} is not a possible phone number")
        return Identifier(kind, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    if kind is IdentifierKind.DEVICE_SERIAL:
        return Identifier(kind, value.upper().replace(" ", ""))
    return Identifier(kind, value)
