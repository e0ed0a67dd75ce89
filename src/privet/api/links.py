"""Signed links privet hands out, for the API and the privacy center alike.

Short-lived links (`Links`): a request's status page and its access-package download, made by staff through the
API. Each carries the request id signed with the workspace secret and the time it was made (itsdangerous
TimestampSigner); it works for a limited time and for one purpose only (the salt differs per purpose).

Links in emails to people: the request status page, preference and unsubscribe links. Every key is derived from
the workspace's secret key with a label naming its use, so a token made for one purpose never passes as another
(a status link cannot download a package, a preference link cannot unsubscribe). Status links carry the request
id, itself 128 random bits, and a MAC over it: they last as long as the request, which may take months.
Preference and unsubscribe links are `consent.unsubscribe` tokens.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

from privet.consent.unsubscribe import TokenError, UnsubscribeToken, make_token, read_token

STATUS_TTL = dt.timedelta(hours=24)
DOWNLOAD_TTL = dt.timedelta(hours=72)


class LinkPurpose(StrEnum):
    STATUS = "status"
    DOWNLOAD = "download"


TTL = {LinkPurpose.STATUS: STATUS_TTL, LinkPurpose.DOWNLOAD: DOWNLOAD_TTL}


class LinkInvalid(Exception):
    """Altered, expired, or for another purpose; callers answer 404, whichever it is."""


class _Signer(TimestampSigner):
    clock: Callable[[], float] = time.time

    def get_timestamp(self) -> int:
        return int(self.clock())


@dataclass(frozen=True)
class SignedLink:
    token: str
    expires_at: dt.datetime


class Links:
    def __init__(self, secret: bytes, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._signers = {}
        for purpose in LinkPurpose:
            signer = _Signer(secret, salt=f"privet.link.{purpose.value}")
            signer.clock = clock
            self._signers[purpose] = signer

    def make(self, purpose: LinkPurpose, request_id: str) -> SignedLink:
        token = self._signers[purpose].sign(request_id).decode()
        expires = dt.datetime.fromtimestamp(int(self._clock()), dt.UTC) + TTL[purpose]
        return SignedLink(token, expires)

    def read(self, purpose: LinkPurpose, token: str) -> str:
        """The request id of a valid link."""
        try:
            value = self._signers[purpose].unsign(token, max_age=int(TTL[purpose].total_seconds()))
        except (SignatureExpired, BadSignature, UnicodeError) as exc:
            raise LinkInvalid(str(exc)) from None
        return value.decode()


# -- links in emails to people ----------------------------------------------------------------------------------

PREFERENCES_TTL = dt.timedelta(hours=24)
UNSUBSCRIBE_TTL = dt.timedelta(days=60)
PREFERENCES_CHANNEL = "preferences"  # the channel a magic preference link names: it unsubscribes from nothing
_MAC_CHARS = 22  # 128 bits of base64url


def derive_key(secret: bytes, purpose: str) -> bytes:
    return hmac.new(secret, b"privet web key\x00" + purpose.encode(), hashlib.sha256).digest()


def unsubscribe_keys(secret: bytes) -> list[bytes]:
    """The keys that sign and verify email unsubscribe links (`/u/<token>`); mailers sign with the first."""
    return [derive_key(secret, "unsubscribe")]


def preference_keys(secret: bytes) -> list[bytes]:
    return [derive_key(secret, "preferences")]


def _mac(key: bytes, text: str) -> str:
    digest = hmac.new(key, text.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()[:_MAC_CHARS]


def status_token(secret: bytes, request_id: str) -> str:
    return f"{request_id}.{_mac(derive_key(secret, 'status'), request_id)}"


def read_status_token(secret: bytes, token: str) -> str | None:
    """The request id a status link names, or None when the link was altered or made up."""
    request_id, dot, mac = token.rpartition(".")
    if not dot or not request_id or len(token) > 512:
        return None
    good = hmac.compare_digest(_mac(derive_key(secret, "status"), request_id), mac)
    return request_id if good else None


def preference_token(secret: bytes, subject_id: str, now: dt.datetime) -> str:
    return make_token(preference_keys(secret), subject_id, PREFERENCES_CHANNEL, None, now, PREFERENCES_TTL)


def unsubscribe_token(secret: bytes, subject_id: str, channel: str, campaign: str | None, now: dt.datetime) -> str:
    """What a mailer puts in `list_unsubscribe_headers(base_url, token)` and in the unsubscribe link."""
    return make_token(unsubscribe_keys(secret), subject_id, channel, campaign, now, UNSUBSCRIBE_TTL)


def read_preference_link(secret: bytes, token: str, now: dt.datetime) -> UnsubscribeToken | None:
    """A preference page may be opened from a magic link or from any unsubscribe link of an email."""
    try:
        return read_token([*preference_keys(secret), *unsubscribe_keys(secret)], token, now)
    except (TokenError, ValueError):
        return None


def read_unsubscribe_link(secret: bytes, token: str, now: dt.datetime) -> UnsubscribeToken | None:
    try:
        found = read_token(unsubscribe_keys(secret), token, now)
    except (TokenError, ValueError):
        return None
    return found if found.channel != PREFERENCES_CHANNEL else None
