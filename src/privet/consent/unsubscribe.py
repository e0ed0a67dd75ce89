"""Email unsubscribe: signed, expiring tokens, and RFC 8058 one-click headers and request bodies.

A token is `u1.<key id>.<payload>.<signature>`, every part base64url without padding (so it sits in a URL
path as is). The payload is compact JSON `[subject, channel, campaign or null, issued, expires]` (Unix
seconds); the signature is HMAC-SHA256 over the text before it, truncated to 128 bits. The key id is derived
from the key, so rotation needs no configuration beyond the list of keys: the first (newest) signs, all
verify, and a retired key simply leaves the list. A token is good up to, not including, its expiry second.
The payload is signed, not encrypted: give it an opaque subject id, never an email address.

RFC 8058: the List-Unsubscribe header must carry one HTTPS URI (a mailto: may follow), List-Unsubscribe-Post
is exactly `List-Unsubscribe=One-Click`, and the receiver POSTs that pair as multipart/form-data (SHOULD) or
application/x-www-form-urlencoded (MAY). The message must be DKIM-signed over both headers: the mailer's job.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import Message
from email.parser import BytesParser

__all__ = [
    "ONE_CLICK",
    "TokenError",
    "TokenExpired",
    "TokenInvalid",
    "UnsubscribeToken",
    "is_one_click_body",
    "key_id",
    "list_unsubscribe_headers",
    "make_token",
    "read_token",
]

VERSION = "u1"
MIN_KEY_BYTES = 16
MAC_BYTES = 16
MAX_TOKEN_CHARS = 2048
MAX_BODY_BYTES = 8192
ONE_CLICK = "List-Unsubscribe=One-Click"
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_URL_SAFE = re.compile(r"[A-Za-z0-9._~-]+")

Keys = bytes | Sequence[bytes]  # one key, or newest first


class TokenError(ValueError):
    pass


class TokenInvalid(TokenError):
    """Malformed, altered, forged, or signed with a key no longer in the list."""


class TokenExpired(TokenError):
    def __init__(self, expires_at: datetime) -> None:
        super().__init__(f"unsubscribe token expired at {expires_at.isoformat()}; send the person a fresh link")
        self.expires_at = expires_at


@dataclass(frozen=True, slots=True)
class UnsubscribeToken:
    subject_id: str
    channel: str  # "email", ...
    campaign: str | None  # None: every campaign on the channel
    issued_at: datetime
    expires_at: datetime
    key_id: str

    @property
    def is_global(self) -> bool:
        return self.campaign is None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Strict: only the canonical spelling decodes, so no two token texts carry the same bytes."""
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise ValueError("not canonical base64url")
    return data


def key_id(key: bytes) -> str:
    return _b64(hashlib.sha256(b"privet unsubscribe key id\x00" + key).digest()[:6])


def _key_list(keys: Keys) -> list[bytes]:
    found = [keys] if isinstance(keys, bytes) else list(keys)
    if not found:
        raise ValueError("no unsubscribe signing key given")
    for key in found:
        if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES:
            raise ValueError(f"an unsubscribe key must be at least {MIN_KEY_BYTES} random bytes")
    return found


def _aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def _sign(key: bytes, body: str) -> bytes:
    return hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()[:MAC_BYTES]


def make_token(
    key: Keys, subject_id: str, channel: str, campaign: str | None, issued_at: datetime, ttl: timedelta
) -> str:
    """A token for one person's unsubscribe from a campaign (or, with campaign None, from the channel)."""
    signing = _key_list(key)[0]
    _aware(issued_at, "issued_at")
    if ttl <= timedelta(0):
        raise ValueError("an unsubscribe token needs a positive time to live")
    if not subject_id or not channel or campaign == "":
        raise ValueError("an unsubscribe token needs a subject and a channel, and a campaign or None")
    issued = math.floor(issued_at.timestamp())
    expires = math.floor((issued_at + ttl).timestamp())
    payload = json.dumps([subject_id, channel, campaign, issued, expires], separators=(",", ":"))
    body = f"{VERSION}.{key_id(signing)}.{_b64(payload.encode('ascii'))}"
    return f"{body}.{_b64(_sign(signing, body))}"


def read_token(keys: Keys, token: str, now: datetime) -> UnsubscribeToken:
    """The verified token; raises TokenInvalid (malformed, altered, unknown key) or TokenExpired."""
    _aware(now, "now")
    parts = token.split(".") if len(token) <= MAX_TOKEN_CHARS else []
    if len(parts) != 4 or parts[0] != VERSION:
        raise TokenInvalid(f"malformed unsubscribe token: expected {VERSION}.<key id>.<payload>.<signature>")
    _, kid, payload_text, signature_text = parts
    candidates = [k for k in _key_list(keys) if hmac.compare_digest(key_id(k), kid)]
    if not candidates:
        raise TokenInvalid(f"unsubscribe token signed with an unknown or retired key (key id {kid[:16]!r})")
    try:
        signature = _unb64(signature_text)
    except (ValueError, binascii.Error):
        raise TokenInvalid("malformed unsubscribe token: the signature is not base64url") from None
    body = token.rsplit(".", 1)[0]
    if not any(hmac.compare_digest(_sign(k, body), signature) for k in candidates):
        raise TokenInvalid("unsubscribe token signature does not match: the link was altered or forged")
    try:
        subject_id, channel, campaign, issued, expires = json.loads(_unb64(payload_text))
        if not (isinstance(subject_id, str) and isinstance(channel, str) and isinstance(campaign, str | None)):
            raise ValueError("field types")
        issued_at, expires_at = (datetime.fromtimestamp(int(t), UTC) for t in (issued, expires))
    except (ValueError, TypeError, binascii.Error, OverflowError, OSError):
        raise TokenInvalid("unsubscribe token payload is unreadable") from None
    if now >= expires_at:
        raise TokenExpired(expires_at)
    return UnsubscribeToken(subject_id, channel, campaign, issued_at, expires_at, kid)


def list_unsubscribe_headers(base_url: str, token: str, *, mailto: str | None = None) -> dict[str, str]:
    """RFC 2369 / RFC 8058 headers for one message: the HTTPS link `<base_url>/u/<token>`, then the mailto."""
    if not base_url.lower().startswith("https://") or re.search(r"[\s<>,\"]", base_url):
        raise ValueError(f"List-Unsubscribe needs an https:// base URL without spaces, <, > or commas: {base_url!r}")
    if not _URL_SAFE.fullmatch(token):
        raise ValueError("an unsubscribe token must be URL-safe text")
    links = [f"<{base_url.rstrip('/')}/u/{token}>"]
    if mailto is not None:
        if not re.fullmatch(r"[^\s<>,?@\"]+@[^\s<>,?@\"]+", mailto):
            raise ValueError(f"not a plain email address for the mailto: link: {mailto!r}")
        links.append(f"<mailto:{mailto}?subject=unsubscribe%20{token}>")
    return {"List-Unsubscribe": ", ".join(links), "List-Unsubscribe-Post": ONE_CLICK}


def is_one_click_body(body: bytes | str, content_type: str) -> bool:
    """Whether a POST body is exactly the one-click pair, in one of the two encodings RFC 8058 allows."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if len(raw) > MAX_BODY_BYTES or "\r" in content_type or "\n" in content_type:
        return False
    header = Message()
    header["Content-Type"] = content_type
    media = header.get_content_type()
    if media == "application/x-www-form-urlencoded":
        return raw.strip() == ONE_CLICK.encode("ascii")
    if media == "multipart/form-data":
        return _multipart_is_one_click(raw, content_type)
    return False


def _multipart_is_one_click(raw: bytes, content_type: str) -> bool:
    try:
        head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    except UnicodeEncodeError:
        return False
    message = BytesParser(policy=policy.HTTP).parsebytes(head + raw)
    if message.defects or not message.is_multipart():
        return False
    parts = message.get_payload()
    if not isinstance(parts, list) or len(parts) != 1:
        return False
    part = parts[0]
    if not isinstance(part, Message):
        return False
    name = part.get_param("name", header="content-disposition")
    return (
        not part.defects
        and not part.is_multipart()
        and part.get_content_disposition() == "form-data"
        and name == "List-Unsubscribe"
        and part.get_payload(decode=True) == b"One-Click"
    )
