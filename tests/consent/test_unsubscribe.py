"""Unsubscribe tokens (signing, tampering, expiry, key rotation) and RFC 8058 one-click headers and bodies."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from privet.consent.unsubscribe import (
    ONE_CLICK,
    TokenError,
    TokenExpired,
    TokenInvalid,
    UnsubscribeToken,
    is_one_click_body,
    key_id,
    list_unsubscribe_headers,
    make_token,
    read_token,
)

OLD = b"old-key-0123456789abcdef0123456"
NEW = b"new-key-fedcba9876543210fedcba9"
ISSUED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TTL = timedelta(days=60)
EXPIRES = ISSUED + TTL
NOW = ISSUED + timedelta(days=1)


def token(campaign: str | None = "spring-sale", key: bytes = NEW) -> str:
    return make_token(key, "subj-42", "email", campaign, ISSUED, TTL)


def test_round_trip_per_campaign_and_global() -> None:
    assert read_token(NEW, token(), NOW) == UnsubscribeToken(
        "subj-42", "email", "spring-sale", ISSUED, EXPIRES, key_id(NEW)
    )
    everything = read_token(NEW, token(campaign=None), NOW)
    assert everything.is_global and everything.campaign is None
    assert not read_token(NEW, token(), NOW).is_global


def test_tokens_are_compact_and_url_safe() -> None:
    text = token()
    assert text.startswith(f"u1.{key_id(NEW)}.")
    assert len(text) < 120
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_unicode_subjects_survive() -> None:
    text = make_token(NEW, "sujet-é-✓", "sms", "rentrée", ISSUED, TTL)
    assert read_token(NEW, text, NOW).subject_id == "sujet-é-✓"


def test_changing_any_one_character_is_refused() -> None:
    text = token()
    for i, ch in enumerate(text):
        for other in {"A", "B", "-", "_", "."} - {ch}:
            altered = text[:i] + other + text[i + 1 :]
            with pytest.raises(TokenInvalid):
                read_token(NEW, altered, NOW)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "malformed unsubscribe token"),
        ("u1.a.b", "malformed unsubscribe token"),
        ("u2.a.b.c", "malformed unsubscribe token"),
        ("u1." + "x" * 3000 + ".b.c", "malformed unsubscribe token"),
        ("u1.nokey.b.c", "unknown or retired key (key id 'nokey')"),
        (f"u1.{key_id(NEW)}.e30.!!", "the signature is not base64url"),
        (f"u1.{key_id(NEW)}.e30.AAAAAAAAAAAAAAAAAAAAAA", "signature does not match"),
    ],
)
def test_malformed_tokens(text: str, message: str) -> None:
    with pytest.raises(TokenInvalid, match=re.escape(message)):
        read_token(NEW, text, NOW)


def test_a_token_signed_over_an_unreadable_payload_is_invalid() -> None:
    # Only the key holder can produce this; it still fails cleanly rather than with a traceback.
    import privet.consent.unsubscribe as module

    body = f"u1.{key_id(NEW)}.{module._b64(b'[1,2]')}"
    forged = f"{body}.{module._b64(module._sign(NEW, body))}"
    with pytest.raises(TokenInvalid, match="payload is unreadable"):
        read_token(NEW, forged, NOW)


def test_expiry_boundary() -> None:
    text = token()
    assert read_token(NEW, text, EXPIRES - timedelta(microseconds=1)).expires_at == EXPIRES
    with pytest.raises(TokenExpired, match="expired at 2026-04-30T12:00:00\\+00:00") as caught:
        read_token(NEW, text, EXPIRES)
    assert caught.value.expires_at == EXPIRES
    assert isinstance(caught.value, TokenError)
    with pytest.raises(TokenExpired):
        read_token(NEW, text, EXPIRES + timedelta(days=400))


def test_sub_second_issue_times_never_extend_the_life() -> None:
    issued = ISSUED + timedelta(milliseconds=700)
    text = make_token(NEW, "s", "email", None, issued, timedelta(hours=1))
    read = read_token(NEW, text, issued)
    assert read.issued_at == ISSUED and read.expires_at == ISSUED + timedelta(hours=1)


def test_other_time_zones_mean_the_same_instant() -> None:
    tokyo = timezone(timedelta(hours=9))
    text = make_token(NEW, "s", "email", None, ISSUED.astimezone(tokyo), TTL)
    assert read_token(NEW, text, NOW.astimezone(tokyo)).expires_at == EXPIRES


def test_key_rotation_newest_signs_all_verify() -> None:
    rotated = [NEW, OLD]
    old_token = token(key=OLD)
    assert read_token(rotated, old_token, NOW).key_id == key_id(OLD)
    fresh = make_token(rotated, "subj-42", "email", None, ISSUED, TTL)
    assert read_token(NEW, fresh, NOW).key_id == key_id(NEW)
    with pytest.raises(TokenInvalid, match="unknown or retired key"):
        read_token([NEW], old_token, NOW)
    with pytest.raises(TokenInvalid, match="unknown or retired key"):
        read_token(OLD, fresh, NOW)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"key": b"short"}, "at least 16 random bytes"),
        ({"key": []}, "no unsubscribe signing key"),
        ({"issued_at": datetime(2026, 3, 1)}, "issued_at must be timezone-aware"),
        ({"ttl": timedelta(0)}, "positive time to live"),
        ({"subject_id": ""}, "needs a subject"),
        ({"campaign": ""}, "a campaign or None"),
    ],
)
def test_make_token_refuses_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "key": NEW,
        "subject_id": "s",
        "channel": "email",
        "campaign": None,
        "issued_at": ISSUED,
        "ttl": TTL,
    }
    with pytest.raises(ValueError, match=message):
        make_token(**{**arguments, **kwargs})  # type: ignore[arg-type]


def test_read_token_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        read_token(NEW, token(), datetime(2026, 3, 2))


def test_list_unsubscribe_headers() -> None:
    text = token()
    assert list_unsubscribe_headers("https://privacy.example.com/", text) == {
        "List-Unsubscribe": f"<https://privacy.example.com/u/{text}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    with_mail = list_unsubscribe_headers("https://privacy.example.com", text, mailto="unsubscribe@example.com")
    assert with_mail["List-Unsubscribe"] == (
        f"<https://privacy.example.com/u/{text}>, <mailto:unsubscribe@example.com?subject=unsubscribe%20{text}>"
    )


@pytest.mark.parametrize(
    ("base_url", "tok", "mailto"),
    [
        ("http://privacy.example.com", "t", None),  # RFC 8058 requires HTTPS
        ("https://privacy.example.com/a b", "t", None),
        ("https://privacy.example.com/a>b", "t", None),
        ("https://privacy.example.com", "t/../x?y", None),
        ("https://privacy.example.com", "t", "not an address"),
        ("https://privacy.example.com", "t", "a@b.com>, <https://evil.example"),
    ],
)
def test_list_unsubscribe_headers_refuse_unsafe_input(base_url: str, tok: str, mailto: str | None) -> None:
    with pytest.raises(ValueError):
        list_unsubscribe_headers(base_url, tok, mailto=mailto)


MULTIPART = (
    b'--b0undary\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--b0undary--\r\n'
)


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (ONE_CLICK, "application/x-www-form-urlencoded", True),
        (b"List-Unsubscribe=One-Click", "application/x-www-form-urlencoded; charset=utf-8", True),
        ("List-Unsubscribe=One-Click\r\n", "Application/X-WWW-Form-Urlencoded", True),
        (MULTIPART, "multipart/form-data; boundary=b0undary", True),
        (MULTIPART.decode(), 'multipart/form-data; boundary="b0undary"', True),
        # wrong bodies
        ("", "application/x-www-form-urlencoded", False),
        ("List-Unsubscribe=one-click", "application/x-www-form-urlencoded", False),
        ("List-Unsubscribe=One-Click&x=1", "application/x-www-form-urlencoded", False),
        ("List-Unsubscribe=", "application/x-www-form-urlencoded", False),
        ("unsubscribe", "application/x-www-form-urlencoded", False),
        (ONE_CLICK, "text/plain", False),
        (ONE_CLICK, "application/json", False),
        (ONE_CLICK, "", False),
        (ONE_CLICK + " " * 9000, "application/x-www-form-urlencoded", False),
        (ONE_CLICK, "application/x-www-form-urlencoded\r\nX-Injected: 1", False),
        (MULTIPART.replace(b"One-Click", b"Two-Clicks"), "multipart/form-data; boundary=b0undary", False),
        (
            MULTIPART.replace(b'name="List-Unsubscribe"', b'name="other"'),
            "multipart/form-data; boundary=b0undary",
            False,
        ),
        (MULTIPART.replace(b"--b0undary--\r\n", b""), "multipart/form-data; boundary=b0undary", False),
        (MULTIPART, "multipart/form-data; boundary=other", False),
        (MULTIPART, "multipart/form-data", False),
        (MULTIPART, "multipart/form-data; boundary=b0undary\u2603", False),
        (
            MULTIPART.replace(
                b"--b0undary--", b'--b0undary\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--b0undary--'
            ),
            "multipart/form-data; boundary=b0undary",
            False,
        ),
    ],
)
def test_one_click_body(body: bytes | str, content_type: str, expected: bool) -> None:
    assert is_one_click_body(body, content_type) is expected
