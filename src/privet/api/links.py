"""Signed, short-lived links: a request's status page and its access-package download.

A link carries the request id signed with the workspace secret and the time it was made (itsdangerous
TimestampSigner); it works for a limited time and for one purpose only (the salt differs per purpose).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

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
