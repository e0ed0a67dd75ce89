"""Pseudonyms: keyed HMAC-SHA256 tokens that stand in for an identifier.

The same key, domain and (normalised) value give the same token in every system, so tables pseudonymised
separately still join. The domain ("email", "phone", "customer_id") separates token spaces: the same text as an
email and as a name gives unrelated tokens. Each token starts with the id of the key that made it (`k1:...`), so
keys can rotate: tokens of a previous key are still recognised and can be re-issued under the active one.

Keys are passed in (from settings or a KMS), never read here. Without the key a token cannot be reversed or
recomputed from a guessed value; with it, anyone can check a guess, so the key is as sensitive as the data.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_DOMAIN = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
_TOKEN_BYTES = 20  # 160 bits, 40 hex digits: collisions are out of reach for any table that exists
_MIN_SECRET = 32


class PseudonymError(ValueError):
    """A key, domain or token is unusable; the message names the fix."""


@dataclass(frozen=True, slots=True)
class PseudonymKey:
    key_id: str
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not _KEY_ID.fullmatch(self.key_id):
            raise PseudonymError(f"pseudonym key id {self.key_id!r} must be 1-32 letters, digits, _ or -")
        if len(self.secret) < _MIN_SECRET:
            raise PseudonymError(
                f"pseudonym key {self.key_id!r} has a {len(self.secret)}-byte secret; use at least {_MIN_SECRET}"
                " random bytes (secrets.token_bytes(32))"
            )


@dataclass(frozen=True, slots=True)
class KeyRing:
    """The key new tokens are made with, and previous keys whose tokens are still recognised."""

    active: PseudonymKey
    previous: Sequence[PseudonymKey] = ()

    def __post_init__(self) -> None:
        ids = [k.key_id for k in (self.active, *self.previous)]
        if len(set(ids)) != len(ids):
            raise PseudonymError(f"pseudonym key ids must be distinct, got {ids}")

    def get(self, key_id: str) -> PseudonymKey:
        for key in (self.active, *self.previous):
            if key.key_id == key_id:
                return key
        known = ", ".join(k.key_id for k in (self.active, *self.previous))
        raise PseudonymError(f"the token was made with key {key_id!r}, which is not in the key ring ({known})")


def _email(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip().lower()


def _phone(value: str) -> str:
    """Digits only, with a leading + kept: "+44 (20) 7946-0000" and "+442079460000" are one person."""
    text = unicodedata.normalize("NFKC", value).strip()
    digits = "".join(c for c in text if c.isascii() and c.isdigit())
    return "+" + digits if text.startswith("+") else digits


def _text(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip()


# How each domain's values are made comparable before hashing. A domain not listed here gets `_text`.
NORMALISERS: dict[str, Callable[[str], str]] = {"email": _email, "phone": _phone}


def check_domain(domain: str) -> str:
    if not _DOMAIN.fullmatch(domain):
        raise PseudonymError(f"pseudonym domain {domain!r} must be lower-case letters, digits or _.- (like 'email')")
    return domain


def normalise(domain: str, value: str) -> str:
    return NORMALISERS.get(domain, _text)(value)


class Pseudonymiser:
    def __init__(self, keys: KeyRing) -> None:
        self.keys = keys

    def _prepared(self, key: PseudonymKey, domain: str) -> Callable[[str], str]:
        """A function from value to token for one key and domain: the keyed state is set up once, then copied."""
        keyed = hmac.new(key.secret, b"privet.pseudonym.v1\x00" + check_domain(domain).encode() + b"\x00", "sha256")
        clean = NORMALISERS.get(domain, _text)
        prefix = key.key_id + ":"

        def token(value: str) -> str:
            mac = keyed.copy()
            mac.update(clean(value).encode("utf-8", "surrogatepass"))
            return prefix + mac.digest()[:_TOKEN_BYTES].hex()

        return token

    def token(self, domain: str, value: str) -> str:
        return self._prepared(self.keys.active, domain)(value)

    def tokens(self, domain: str, values: Iterable[str]) -> list[str]:
        """Tokens for many values of one domain, at a fraction of the cost of one `token` call each."""
        make = self._prepared(self.keys.active, domain)
        return [make(v) for v in values]

    def key_id_of(self, token: str) -> str:
        key_id, sep, body = token.partition(":")
        if not sep or not body or not _KEY_ID.fullmatch(key_id):
            raise PseudonymError(f"{token!r} is not a pseudonym token (expected 'keyid:...')")
        return key_id

    def matches(self, domain: str, token: str, value: str) -> bool:
        """Was `token` made from `value` in `domain`, by any key in the ring?"""
        key = self.keys.get(self.key_id_of(token))
        return hmac.compare_digest(self._prepared(key, domain)(value), token)

    def rotate(self, domain: str, token: str, value: str) -> str:
        """The active key's token for `value`, after checking that `token` (of any known key) is `value`'s."""
        if not self.matches(domain, token, value):
            raise PseudonymError(f"token {token!r} was not made from this {domain} value; it cannot be rotated")
        return self.token(domain, value)
