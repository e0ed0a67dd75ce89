"""Identity verification, pure: the standard the law sets, matching data points, one-time codes, sign-in tokens.

The caller passes the time, the secrets and what the company holds about the person; nothing here reads a
clock, a file or a database. Outcomes name the data points that matched, never their values, so they can be
stored and audited without becoming a second copy of the person's data.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import secrets
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

import phonenumbers

from privet.law.catalogue import catalogue
from privet.law.tables import Law, UnknownJurisdiction, VerificationPolicy, law_for, law_tables
from privet.law.vocabulary import Right
from privet.requests.lifecycle import RequestError
from privet.requests.model import NO_VERIFICATION


class VerificationError(RequestError):
    """Verification cannot proceed as asked; the message says why."""


class AccountTokenError(VerificationError):
    """A sign-in token from the company's auth system is malformed, altered, expired or for someone else."""


MIN_SECRET_BYTES = 32  # HMAC-SHA256 keys no shorter than the hash (RFC 7518 3.2)


def _check_secret(secret: bytes, what: str) -> None:
    if len(secret) < MIN_SECRET_BYTES:
        raise VerificationError(f"the {what} must be at least {MIN_SECRET_BYTES} random bytes; generate one with "
                                "secrets.token_bytes(32) and keep it in the settings")  # fmt: skip


def _check_aware(now: dt.datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise VerificationError("`now` must carry a time zone (e.g. datetime.now(UTC)), so expiry means one instant")


# Standards ----------------------------------------------------------------------------------------------------

# Where the law names a certainty but no number of data points, privet asks for two: CCPA's floor for a
# "reasonable degree of certainty" (11 CCR 7062(b)), the most concrete reading any table gives.
DEFAULT_DATA_POINTS = 2


class Requirement(StrEnum):
    REQUIRED = "required"  # verify to the standard before acting
    NOT_REQUIRED = "not_required"  # the law allows asking, but the request never waits on it (model.NO_VERIFICATION)
    PROHIBITED = "prohibited"  # the law forbids asking for proof of identity; ask only what is needed to act


@dataclass(frozen=True, slots=True)
class Standard:
    """The verification the law sets for one kind of request, with its words and its citation."""

    kind: Right
    jurisdiction: str | None  # the table it comes from
    requirement: Requirement
    data_points: int  # identifying data points that must match; 0 when none may be asked
    signed_declaration: bool  # a declaration, signed under penalty of perjury, that the requester is the person
    certainty: str
    text: str
    cites: tuple[str, ...]
    points_from_law: bool = True  # False: the law names no number and DEFAULT_DATA_POINTS applies
    strictest_of_all: bool = False  # the residence was unknown; the strictest table's standard was taken
    inferred: bool = False

    @property
    def required(self) -> bool:
        return self.requirement is Requirement.REQUIRED

    @property
    def level(self) -> str:
        """A short name of the standard, for the request's `verification_level`."""
        where = f"strictest:{self.jurisdiction}" if self.strictest_of_all else self.jurisdiction or "none"
        if not self.required:
            return f"{where}/{self.kind.value}: {self.requirement.value}"
        extra = " + signed declaration" if self.signed_declaration else ""
        return f"{where}/{self.kind.value}: {self.data_points} data points{extra}"


def required_standard(kind: Right, jurisdiction: str | None) -> Standard:
    """The standard for `kind` under `jurisdiction`; unknown or without a table: the strictest of all tables."""
    if jurisdiction is not None:
        try:
            return _from_law(kind, law_for(jurisdiction))
        except UnknownJurisdiction:
            return _strictest(kind, f"no law table for {jurisdiction!r}")
    return _strictest(kind, "residence unknown")


def _from_law(kind: Right, law: Law) -> Standard:
    rules = law.verification
    level = next((lv for lv in rules.levels if kind in lv.rights), None)
    cites = (rules.cite,) if level is None else (rules.cite, level.cite)
    inferred = rules.inferred or (level is not None and level.inferred)
    if kind in NO_VERIFICATION:
        prohibited = rules.opt_out is VerificationPolicy.PROHIBITED
        certainty = level.certainty if level else (
            "no verification may be asked; only what is needed to act on the request" if prohibited
            else "no verification: the request is honoured without waiting on proof of identity")  # fmt: skip
        return Standard(kind, law.key, Requirement.PROHIBITED if prohibited else Requirement.NOT_REQUIRED, 0, False,
                        certainty, f"{law.title}: {certainty}", cites, inferred=inferred)  # fmt: skip
    points = level.data_points if level is not None else None
    text = f"{law.title}: {rules.standard}"
    if level is not None and level.note:
        text += f"; {level.note}"
    if points is None:
        text += f"; the law names no number of data points, so privet asks for {DEFAULT_DATA_POINTS}"
    return Standard(
        kind, law.key, Requirement.REQUIRED, points if points is not None else DEFAULT_DATA_POINTS,
        level.signed_declaration if level is not None else False,
        level.certainty if level is not None else rules.standard, text, cites,
        points_from_law=points is not None, inferred=inferred,
    )  # fmt: skip


def _strictest(kind: Right, why: str) -> Standard:
    tables = law_tables()
    granting = [law for law in tables.values() if kind in law.rights] or list(tables.values())
    candidates = [_from_law(kind, law) for law in granting]
    if kind in NO_VERIFICATION:  # strictest for the person: never asked for proof where any law forbids it
        choice = next((s for s in candidates if s.requirement is Requirement.PROHIBITED), candidates[0])
    else:
        choice = max(candidates, key=lambda s: (s.data_points, s.signed_declaration, s.points_from_law))
    text = f"{why}: the strictest standard of privet's law tables for {kind.value} requests applies ({choice.text})"
    return replace(choice, text=text, strictest_of_all=True)


# Matching data points -----------------------------------------------------------------------------------------

# Which kinds of data point identify a person (and count towards a standard), and which only narrow the search.
IDENTIFYING: Mapping[str, bool] = {
    "email": True, "phone": True, "name": True, "postal_address": True, "date_of_birth": True,
    "order_number": True, "device_serial": True, "account_id": True, "username": True,
    "country": False, "region": False, "city": False, "postcode": False, "language": False, "gender": False,
}  # fmt: skip
ALIASES: Mapping[str, str] = {
    "email_address": "email", "e_mail": "email", "phone_number": "phone", "mobile": "phone", "telephone": "phone",
    "full_name": "name", "address": "postal_address", "last_order_number": "order_number", "order": "order_number",
    "serial_number": "device_serial", "device_serial_number": "device_serial", "dob": "date_of_birth",
    "birth_date": "date_of_birth", "zip": "postcode", "zip_code": "postcode", "postal_code": "postcode",
    "state": "region", "province": "region",
}  # fmt: skip


def point_name(name: str) -> str:
    key = "_".join(name.strip().lower().replace("-", " ").split())
    return ALIASES.get(key, key)


def _fold(text: str) -> str:
    """Case, spacing, punctuation and accents ignored: "  Zoë  O'Brien-Ávila" folds to "zoe o brien avila"."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join("".join(c if c.isalnum() else " " for c in bare).split())


def _email(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower()


def _name(text: str) -> str:
    return " ".join(sorted(_fold(text).split()))  # "Doe, Jane" is "Jane Doe"


def _code(text: str) -> str:
    return "".join(_fold(text).split())  # order numbers and serials: "SN 12-ab" is "sn12ab"


def _date(text: str) -> str:
    try:
        return dt.date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        return _fold(text)


_NORMALISE: Mapping[str, Callable[[str], str]] = {
    "email": _email, "name": _name, "postal_address": _fold, "date_of_birth": _date,
    "order_number": _code, "device_serial": _code, "account_id": _code, "username": _email,
}  # fmt: skip


def _phones(text: str, regions: Iterable[str | None]) -> set[str]:
    out: set[str] = set()
    for region in regions:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            out.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return out


def _region_of(jurisdiction: str | None) -> str | None:
    place = catalogue().jurisdictions.get(jurisdiction or "")
    return place.country if place is not None and len(place.country) == 2 else None


@dataclass(frozen=True, slots=True)
class MatchOutcome:
    """Which of the requester's data points matched what the company holds: names and counts, never values."""

    matched: tuple[str, ...]
    mismatched: tuple[str, ...]  # held, but what was given differs
    not_held: tuple[str, ...]  # identifying, but the company holds nothing of that kind to compare
    ignored: tuple[str, ...]  # not identifying (a country) or unknown: does not count
    required: int
    declaration_required: bool
    declaration_given: bool
    met: bool
    level: str
    reasons: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.matched)


def _normalised(point: str, value: str, regions: Iterable[str | None]) -> set[str]:
    """The comparable forms of one value; empty when it proves nothing (blank, or an unreadable number)."""
    forms = _phones(value, regions) if point == "phone" else {_NORMALISE[point](value)}
    return forms - {""}


def _held_values(held: Mapping[str, str | Sequence[str]], region: str | None) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for name, values in held.items():
        point = point_name(name)
        if IDENTIFYING.get(point, False):
            for value in [values] if isinstance(values, str) else values:
                out.setdefault(point, set()).update(_normalised(point, value, {region, None}))
    return out


def match_points(provided: Mapping[str, str], held: Mapping[str, str | Sequence[str]], standard: Standard, *,
                 declaration: bool = False, phone_region: str | None = None) -> MatchOutcome:  # fmt: skip
    """Compare the requester's data points with those held, normalised, against `standard`.

    `declaration`: the requester gave the signed declaration the standard may need. `phone_region`: the
    country to read numbers without a country code in (default: the jurisdiction's, then each held number's).
    """
    region = phone_region or _region_of(standard.jurisdiction)
    held_values = _held_values(held, region)
    regions = {region, None} | {phonenumbers.region_code_for_number(phonenumbers.parse(p))
                                for p in held_values.get("phone", ())}  # fmt: skip
    matched: set[str] = set()
    compared: set[str] = set()
    not_held: set[str] = set()
    ignored: set[str] = set()
    for name, value in provided.items():
        point = point_name(name)
        given = _normalised(point, value, regions) if IDENTIFYING.get(point, False) else set()
        if not given:  # not identifying, unknown, blank or unreadable: proves nothing
            ignored.add(point)
        elif not held_values.get(point):
            not_held.add(point)
        else:
            compared.add(point)
            if given & held_values[point]:
                matched.add(point)
    mismatched = compared - matched
    declaration_missing = standard.signed_declaration and not declaration
    met = not standard.required or (len(matched) >= standard.data_points and not declaration_missing)
    return MatchOutcome(
        matched=tuple(sorted(matched)),
        mismatched=tuple(sorted(mismatched)),
        not_held=tuple(sorted(not_held - compared)),
        ignored=tuple(sorted(ignored - compared - not_held)),
        required=standard.data_points,
        declaration_required=standard.signed_declaration,
        declaration_given=declaration,
        met=met,
        level=standard.level,
        reasons=_match_reasons(standard, matched, mismatched, declaration_missing),
    )


def _match_reasons(standard: Standard, matched: set[str], mismatched: set[str], declaration_missing: bool
                   ) -> tuple[str, ...]:  # fmt: skip
    if not standard.required:
        return (f"no verification is needed for a {standard.kind.value} request ({standard.requirement.value})",)
    names = ", ".join(sorted(matched)) or "none"
    reasons = [f"{len(matched)} identifying data point(s) matched ({names}); the standard needs {standard.data_points}"]
    if mismatched:
        reasons.append(f"did not match what is held: {', '.join(sorted(mismatched))}")
    if declaration_missing:
        reasons.append("the signed declaration that the requester is the person is missing")
    return tuple(reasons)


# One-time email codes -----------------------------------------------------------------------------------------

CODE_TTL = dt.timedelta(minutes=15)
MAX_ATTEMPTS = 5


class CodeStatus(StrEnum):
    OK = "ok"
    WRONG = "wrong"
    EXPIRED = "expired"
    LOCKED = "locked"  # too many wrong tries: send a new code
    USED = "used"  # a code proves identity once


@dataclass(frozen=True, slots=True)
class CodeRecord:
    """What the store keeps about a code sent to the person: its keyed hash, never the code."""

    request_id: str
    digest: str  # HMAC-SHA256 of the code, keyed by the secret and the request id
    expires_at: dt.datetime
    attempts: int = 0
    max_attempts: int = MAX_ATTEMPTS
    used: bool = False

    @property
    def locked(self) -> bool:
        return self.attempts >= self.max_attempts


@dataclass(frozen=True, slots=True)
class IssuedCode:
    code: str = field(repr=False)  # goes into the message to the person, and nowhere else
    record: CodeRecord


@dataclass(frozen=True, slots=True)
class CodeResult:
    status: CodeStatus
    attempts_left: int

    @property
    def ok(self) -> bool:
        return self.status is CodeStatus.OK


def _code_digest(secret: bytes, request_id: str, code: str) -> str:
    key = hmac.new(secret, b"privet email code\x00" + request_id.encode(), hashlib.sha256).digest()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def issue_code(secret: bytes, request_id: str, now: dt.datetime, ttl: dt.timedelta = CODE_TTL) -> IssuedCode:
    _check_secret(secret, "code secret")
    _check_aware(now)
    if ttl <= dt.timedelta(0):
        raise VerificationError("a code's time to live must be positive")
    code = f"{secrets.randbelow(10**6):06d}"
    return IssuedCode(code, CodeRecord(request_id, _code_digest(secret, request_id, code), now + ttl))


def check_code(secret: bytes, record: CodeRecord, attempt: str, now: dt.datetime) -> tuple[CodeRecord, CodeResult]:
    """The record to store back, and the result. Every wrong try counts; a locked record stays locked."""
    _check_secret(secret, "code secret")
    _check_aware(now)
    left = max(record.max_attempts - record.attempts, 0)
    if record.locked:
        return record, CodeResult(CodeStatus.LOCKED, 0)
    if record.used:
        return record, CodeResult(CodeStatus.USED, left)
    if now >= record.expires_at:
        return record, CodeResult(CodeStatus.EXPIRED, left)
    typed = "".join(attempt.split()).replace("-", "")
    if hmac.compare_digest(_code_digest(secret, record.request_id, typed), record.digest):
        return replace(record, used=True), CodeResult(CodeStatus.OK, left)
    counted = replace(record, attempts=record.attempts + 1)
    if counted.locked:
        return counted, CodeResult(CodeStatus.LOCKED, 0)
    return counted, CodeResult(CodeStatus.WRONG, left - 1)


# Signed-in accounts -------------------------------------------------------------------------------------------

AUDIENCE = "privet"
_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True, slots=True)
class AccountClaim:
    """The company's auth system vouches that the person is signed in as `subject`."""

    subject: str
    issued_at: dt.datetime
    expires_at: dt.datetime


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _mac(key: bytes, body: str) -> str:
    return _b64encode(hmac.new(key, body.encode("ascii"), hashlib.sha256).digest())


def make_account_token(key: bytes, subject: str, now: dt.datetime, ttl: dt.timedelta = dt.timedelta(minutes=5)) -> str:
    """A token the company's auth system hands the signed-in person's browser: base64url(json) "." base64url(mac)."""
    _check_secret(key, "account token key")
    _check_aware(now)
    if not subject:
        raise AccountTokenError("an account token needs a subject (the account id)")
    iat = int(now.timestamp())
    payload = {"sub": subject, "iat": iat, "exp": iat + int(ttl.total_seconds()), "aud": AUDIENCE}
    body = _b64encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_mac(key, body)}"


def verify_account_token(keys: Sequence[bytes], token: str, now: dt.datetime, expected_subject: str | None = None,
                         *, leeway: dt.timedelta = dt.timedelta(seconds=60)) -> AccountClaim:  # fmt: skip
    """The claim in `token`, or AccountTokenError. Several keys allow rotation: any of them may have signed it.

    `leeway` forgives the auth system's clock running ahead when it stamps `iat`; expiry is exact.
    """
    if not keys:
        raise VerificationError("no account token keys are configured; add the key the auth system signs with")
    for key in keys:
        _check_secret(key, "account token key")
    _check_aware(now)
    body, dot, signature = token.strip().partition(".")
    if not dot or not body or not signature or not set(body + signature) <= _B64URL:
        raise AccountTokenError("the account token is malformed: expected base64url(payload) '.' base64url(signature)")
    # Compare the encoded text, not decoded bytes: base64 padding bits would let two strings carry one signature.
    valid = [hmac.compare_digest(_mac(key, body).encode(), signature.encode()) for key in keys]
    if not any(valid):
        raise AccountTokenError("the account token's signature does not match: it was altered or signed with "
                                "another key; ask the person to sign in again")  # fmt: skip
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise AccountTokenError("the account token's payload is not base64url-encoded JSON") from exc
    if not isinstance(payload, dict):
        raise AccountTokenError("the account token's payload is not a JSON object")
    sub, iat, exp, aud = (payload.get(k) for k in ("sub", "iat", "exp", "aud"))
    if not isinstance(sub, str) or not sub:
        raise AccountTokenError("the account token names no subject ('sub')")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (iat, exp)):
        raise AccountTokenError("the account token needs whole-second 'iat' and 'exp' times")
    assert isinstance(iat, int) and isinstance(exp, int)
    if aud != AUDIENCE:
        raise AccountTokenError(f"the account token is meant for {aud!r}, not {AUDIENCE!r}; the auth system must "
                                f"set aud to {AUDIENCE!r}")  # fmt: skip
    try:
        issued, expires = (dt.datetime.fromtimestamp(t, dt.UTC) for t in (iat, exp))
    except (OverflowError, OSError, ValueError) as exc:
        raise AccountTokenError("the account token's 'iat' or 'exp' is not a usable time") from exc
    if issued > now + leeway:
        raise AccountTokenError("the account token was issued in the future; check the auth system's clock")
    if now >= expires:
        raise AccountTokenError(f"the account token expired at {expires.isoformat()}; ask the person to sign in again")
    if expected_subject is not None and not hmac.compare_digest(sub.encode(), expected_subject.encode()):
        raise AccountTokenError("the account token is for a different account than the request's")
    return AccountClaim(sub, issued, expires)
