"""Identity verification: standards from the law tables, data-point matching, one-time codes, account tokens."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privet.law.tables import law_tables
from privet.law.vocabulary import Right
from privet.requests.model import NO_VERIFICATION
from privet.requests.verification import (
    AUDIENCE,
    AccountTokenError,
    CodeStatus,
    Requirement,
    Standard,
    VerificationError,
    check_code,
    issue_code,
    make_account_token,
    match_points,
    required_standard,
    verify_account_token,
)

NOW = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)
SECRET = b"s" * 32
KEY = b"k" * 32
OTHER_KEY = b"o" * 32

# Standards -----------------------------------------------------------------------------------------------------


GDPR = "GDPR Art. 11(2), 12(2), 12(6); Recital 64"


# fmt: off
STANDARDS = [
    (Right.KNOW, "us-ca", Requirement.REQUIRED, 2, False, True, "11 CCR 7062(b)"),
    (Right.ACCESS, "us-ca", Requirement.REQUIRED, 3, True, True, "11 CCR 7062(c)"),
    (Right.PORTABILITY, "us-ca", Requirement.REQUIRED, 3, True, True, "11 CCR 7062(c)"),
    (Right.DELETION, "us-ca", Requirement.REQUIRED, 2, False, False, "11 CCR 7062(d)-(e)"),
    (Right.OPT_OUT_SALE, "us-ca", Requirement.PROHIBITED, 0, False, True, "11 CCR 7026(d), 7027(e)"),
    (Right.LIMIT_SENSITIVE, "us-ca", Requirement.PROHIBITED, 0, False, True, "11 CCR 7026(d), 7027(e)"),
    (Right.ACCESS, "eu", Requirement.REQUIRED, 2, False, False, GDPR),
    (Right.WITHDRAW_CONSENT, "eu", Requirement.NOT_REQUIRED, 0, False, True, GDPR),
    (Right.OPT_OUT_TARGETED_ADVERTISING, "us-co", Requirement.PROHIBITED, 0, False, True,
     "Colo. Rev. Stat. 6-1-1306(1); 4 CCR 904-3 Rule 4"),
    (Right.OPT_OUT_TARGETED_ADVERTISING, "us-va", Requirement.NOT_REQUIRED, 0, False, True,
     "Va. Code 59.1-577(B)(5)"),
]
# fmt: on


@pytest.mark.parametrize(
    ("kind", "jurisdiction", "requirement", "points", "declaration", "from_law", "cite"), STANDARDS
)
def test_standard_per_jurisdiction(
    kind: Right, jurisdiction: str, requirement: Requirement, points: int, declaration: bool, from_law: bool, cite: str
) -> None:
    s = required_standard(kind, jurisdiction)
    assert (s.jurisdiction, s.requirement, s.data_points, s.signed_declaration) == (
        jurisdiction, requirement, points, declaration)  # fmt: skip
    assert s.points_from_law is from_law
    assert cite in s.cites
    assert not s.strictest_of_all


def test_standard_words_come_from_the_table() -> None:
    access = required_standard(Right.ACCESS, "us-ca")
    assert access.certainty == "reasonably high degree of certainty"
    assert "signed under penalty of perjury" in access.text
    assert access.level == "us-ca/access: 3 data points + signed declaration"
    eu = required_standard(Right.ACCESS, "eu")
    assert eu.text.endswith("the law names no number of data points, so privet asks for 2")
    assert required_standard(Right.OPT_OUT_SALE, "us-ca").level == "us-ca/opt_out_sale: prohibited"


@pytest.mark.parametrize(
    ("jurisdiction", "why"), [(None, "residence unknown"), ("jp", "no law table for 'jp'")]
)  # fmt: skip
def test_unknown_jurisdiction_takes_the_strictest_level(jurisdiction: str | None, why: str) -> None:
    s = required_standard(Right.ACCESS, jurisdiction)
    assert (s.data_points, s.signed_declaration, s.jurisdiction, s.strictest_of_all) == (3, True, "us-ca", True)
    assert s.text.startswith(f"{why}: the strictest standard of privet's law tables for access requests applies")
    assert "11 CCR 7062(c)" in s.cites
    assert s.level == "strictest:us-ca/access: 3 data points + signed declaration"


def test_unknown_jurisdiction_opt_out_is_never_verified() -> None:
    s = required_standard(Right.OPT_OUT_SALE, None)
    assert (s.requirement, s.data_points, s.strictest_of_all) == (Requirement.PROHIBITED, 0, True)


@pytest.mark.parametrize("kind", [r for r in Right if r not in (Right.APPEAL, Right.COMPLAIN)])
def test_every_table_gives_a_standard_and_unknown_is_at_least_as_strict(kind: Right) -> None:
    strictest = required_standard(kind, None)
    for key in law_tables():
        s = required_standard(kind, key)
        assert s.required is (kind not in NO_VERIFICATION)
        assert s.cites and s.text
        assert (s.data_points, s.signed_declaration) <= (strictest.data_points, strictest.signed_declaration)
        if not s.required:
            assert s.data_points == 0


# Matching ------------------------------------------------------------------------------------------------------

KNOW_CA = required_standard(Right.KNOW, "us-ca")
ACCESS_CA = required_standard(Right.ACCESS, "us-ca")
ACCESS_EU = required_standard(Right.ACCESS, "eu")


# fmt: off
NORMALISING = [
    ({"email": "  Ann.Lee@Example.TEST "}, {"email": "ann.lee@example.test"}, KNOW_CA, ("email",)),
    ({"E-Mail": "ann@example.test"}, {"email_address": "ANN@example.test"}, KNOW_CA, ("email",)),
    ({"phone": "(415) 555-0100"}, {"phone": "+1 415 555 0100"}, KNOW_CA, ("phone",)),  # region from us-ca
    ({"phone": "0151 23456789"}, {"phone": "+49 151 23456789"}, ACCESS_EU, ("phone",)),  # the held number's region
    ({"phone": "+44 20 7946 0958"}, {"phone": "+1 415 555 0100"}, KNOW_CA, ()),
    ({"name": "ZOË   O'Brien"}, {"name": "Zoe O Brien"}, KNOW_CA, ("name",)),
    ({"name": "Doe, Jane"}, {"full_name": "jane doe"}, KNOW_CA, ("name",)),
    ({"name": "Jane Doe"}, {"name": "John Doe"}, KNOW_CA, ()),
    ({"address": "1 Main St., Apt 4"}, {"postal_address": ["9 Elm Rd", "1  main st apt 4"]}, KNOW_CA,
     ("postal_address",)),
    ({"last_order_number": "ORD-123 456"}, {"order_number": "ord123456"}, KNOW_CA, ("order_number",)),
    ({"device_serial": "T8410-P 1234"}, {"serial_number": "t8410p1234"}, KNOW_CA, ("device_serial",)),
    ({"date_of_birth": " 1990-01-02"}, {"dob": "1990-01-02"}, KNOW_CA, ("date_of_birth",)),
    ({"email": "", "name": "  "}, {"email": "", "name": ""}, KNOW_CA, ()),  # blanks never match blanks
    ({"phone": "not a number"}, {"phone": "also not"}, KNOW_CA, ()),
    ({"country": "US", "postcode": "94105"}, {"country": "us", "postcode": "94105"}, KNOW_CA, ()),  # not identifying
]
# fmt: on


@pytest.mark.parametrize(("provided", "held", "standard", "matched"), NORMALISING)
def test_points_match_after_normalising(
    provided: dict[str, str], held: dict[str, str | list[str]], standard: Standard, matched: tuple[str, ...]
) -> None:
    assert match_points(provided, held, standard).matched == matched


def test_outcome_sorts_every_point_it_was_given() -> None:
    outcome = match_points(
        {"email": "ann@example.test", "name": "Ann Lee", "date_of_birth": "1990-01-02", "phone": "+1 415 555 0100",
         "country": "US", "shoe_size": "42"},
        {"email": "ann@example.test", "name": "Ann Li", "date_of_birth": "1990-01-02", "country": "US"},
        KNOW_CA,
    )  # fmt: skip
    assert outcome.matched == ("date_of_birth", "email")
    assert outcome.mismatched == ("name",)
    assert outcome.not_held == ("phone",)
    assert outcome.ignored == ("country", "shoe_size")
    assert (outcome.count, outcome.required, outcome.met) == (2, 2, True)
    assert outcome.reasons == (
        "2 identifying data point(s) matched (date_of_birth, email); the standard needs 2",
        "did not match what is held: name",
    )


PERSON = {"email": "ann@example.test", "name": "Ann Lee", "postal_address": "1 Main St", "order_number": "A-17"}


@pytest.mark.parametrize(
    ("standard", "given", "declaration", "met"),
    [
        (KNOW_CA, ["email", "name"], False, True),
        (KNOW_CA, ["email"], False, False),
        (ACCESS_CA, ["email", "name"], True, False),
        (ACCESS_CA, ["email", "name", "order_number"], False, False),  # the declaration is missing
        (ACCESS_CA, ["email", "name", "order_number"], True, True),
        (ACCESS_EU, ["email", "postal_address"], False, True),
        (required_standard(Right.OPT_OUT_SALE, "us-ca"), [], False, True),
    ],
)
def test_standard_is_met_by_count_and_declaration(
    standard: Standard, given: list[str], declaration: bool, met: bool
) -> None:
    outcome = match_points({k: PERSON[k] for k in given}, PERSON, standard, declaration=declaration)
    assert outcome.met is met
    assert outcome.count == len(given)
    if standard.signed_declaration and not declaration:
        assert "the signed declaration that the requester is the person is missing" in outcome.reasons


def test_outcome_never_holds_raw_values() -> None:
    provided = {"email": "Ann.Secret@example.test", "phone": "+1 415 555 0199", "name": "Annabel Secretary",
                "device_serial": "SN-998877", "country": "Narnia"}  # fmt: skip
    held = {"email": "ann.secret@example.test", "phone": "+14155550199", "name": "annabel secretary"}
    outcome = match_points(provided, held, KNOW_CA)
    text = repr(outcome) + repr(dataclasses.asdict(outcome))
    for value in [*provided.values(), *held.values(), "4155550199", "ann.secret", "secretary", "narnia"]:
        assert value.lower() not in text.lower()


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["email", "name", "phone", "order_number", "country", "note"]),
                       st.text(alphabet="0123456789", min_size=6, max_size=12), min_size=1))  # fmt: skip
def test_no_value_reaches_the_outcome(values: dict[str, str]) -> None:
    outcome = match_points(values, values, ACCESS_CA)
    text = repr(outcome) + repr(dataclasses.asdict(outcome))
    assert not any(v in text for v in values.values())


# One-time codes ------------------------------------------------------------------------------------------------


def test_issued_code_is_six_digits_and_only_its_hash_is_kept() -> None:
    issued = issue_code(SECRET, "r1", NOW)
    assert len(issued.code) == 6 and issued.code.isdigit()
    record = issued.record
    assert (record.request_id, record.expires_at, record.attempts, record.max_attempts) == (
        "r1", NOW + dt.timedelta(minutes=15), 0, 5)  # fmt: skip
    assert issued.code not in repr(record) + repr(dataclasses.asdict(record)) + repr(issued)
    assert len({issue_code(SECRET, "r1", NOW).code for _ in range(30)}) > 1


def test_correct_code_verifies_once() -> None:
    issued = issue_code(SECRET, "r1", NOW)
    record, result = check_code(SECRET, issued.record, issued.code, NOW + dt.timedelta(minutes=1))
    assert result.ok and result.status is CodeStatus.OK
    assert record.used
    _, again = check_code(SECRET, record, issued.code, NOW + dt.timedelta(minutes=2))
    assert again.status is CodeStatus.USED


def test_code_typed_with_spaces_is_accepted() -> None:
    issued = issue_code(SECRET, "r1", NOW)
    typed = f" {issued.code[:3]} {issued.code[3:]} "
    assert check_code(SECRET, issued.record, typed, NOW)[1].ok


@pytest.mark.parametrize(
    ("after", "status"),
    [
        (dt.timedelta(minutes=15) - dt.timedelta(microseconds=1), CodeStatus.OK),
        (dt.timedelta(minutes=15), CodeStatus.EXPIRED),
        (dt.timedelta(days=1), CodeStatus.EXPIRED),
    ],
)
def test_code_expiry_boundary(after: dt.timedelta, status: CodeStatus) -> None:
    issued = issue_code(SECRET, "r1", NOW)
    assert check_code(SECRET, issued.record, issued.code, NOW + after)[1].status is status


def test_five_wrong_attempts_lock_and_a_correct_code_stays_locked() -> None:
    issued = issue_code(SECRET, "r1", NOW)
    wrong = f"{(int(issued.code) + 1) % 10**6:06d}"
    record = issued.record
    seen = []
    for _ in range(5):
        record, result = check_code(SECRET, record, wrong, NOW)
        seen.append((result.status, result.attempts_left))
    assert seen == [(CodeStatus.WRONG, 4), (CodeStatus.WRONG, 3), (CodeStatus.WRONG, 2), (CodeStatus.WRONG, 1),
                    (CodeStatus.LOCKED, 0)]  # fmt: skip
    assert record.attempts == 5 and record.locked
    record, result = check_code(SECRET, record, issued.code, NOW)
    assert result.status is CodeStatus.LOCKED
    assert record.attempts == 5


@pytest.mark.parametrize("attempt", ["", "abcdef", "1234567", "12345"])
def test_malformed_attempts_count_as_wrong(attempt: str) -> None:
    issued = issue_code(SECRET, "r1", NOW)
    record, result = check_code(SECRET, issued.record, attempt, NOW)
    assert (result.status, record.attempts) == (CodeStatus.WRONG, 1)


def test_code_is_bound_to_its_request_and_secret() -> None:
    issued = issue_code(SECRET, "r1", NOW)
    moved = dataclasses.replace(issued.record, request_id="r2")
    assert check_code(SECRET, moved, issued.code, NOW)[1].status is CodeStatus.WRONG
    assert check_code(OTHER_KEY, issued.record, issued.code, NOW)[1].status is CodeStatus.WRONG


@pytest.mark.parametrize(
    ("secret", "now"), [(b"short", NOW), (SECRET, NOW.replace(tzinfo=None))], ids=["short secret", "naive now"]
)
def test_code_inputs_are_checked(secret: bytes, now: dt.datetime) -> None:
    with pytest.raises(VerificationError):
        issue_code(secret, "r1", now)


# Account tokens ------------------------------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def handmade_token(payload: object, key: bytes = KEY) -> str:
    """The documented format, built independently of make_account_token."""
    body = _b64(json.dumps(payload).encode())
    return body + "." + _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())


def test_token_round_trip() -> None:
    token = make_account_token(KEY, "acct-42", NOW, dt.timedelta(minutes=5))
    claim = verify_account_token([KEY], token, NOW + dt.timedelta(minutes=1), "acct-42")
    assert (claim.subject, claim.issued_at, claim.expires_at) == ("acct-42", NOW, NOW + dt.timedelta(minutes=5))


def test_handmade_token_in_the_documented_format_verifies() -> None:
    iat = int(NOW.timestamp())
    token = handmade_token({"sub": "acct-42", "iat": iat, "exp": iat + 60, "aud": AUDIENCE})
    assert verify_account_token([KEY], token, NOW).subject == "acct-42"


def test_changing_any_one_character_is_refused() -> None:
    token = make_account_token(KEY, "acct-42", NOW)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
    for i, char in enumerate(token):
        for other in {alphabet[(alphabet.index(char) + 1) % len(alphabet)], "A" if char != "A" else "B"}:
            tampered = token[:i] + other + token[i + 1 :]
            with pytest.raises(AccountTokenError):
                verify_account_token([KEY], tampered, NOW)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"sub": "acct-42", "iat": 0, "exp": 60, "aud": "other-app"}, "meant for 'other-app', not 'privet'"),
        ({"sub": "acct-42", "iat": 0, "exp": 60}, "meant for None"),
        ({"iat": 0, "exp": 60, "aud": AUDIENCE}, "names no subject"),
        ({"sub": "acct-42", "iat": True, "exp": 60, "aud": AUDIENCE}, "whole-second 'iat' and 'exp'"),
        ({"sub": "acct-42", "iat": 0, "exp": 10**20, "aud": AUDIENCE}, "not a usable time"),
        (["sub", "acct-42"], "not a JSON object"),
    ],
)
def test_bad_payloads_are_refused(payload: object, message: str) -> None:
    at = dt.datetime.fromtimestamp(30, dt.UTC)
    with pytest.raises(AccountTokenError, match=message.replace("(", r"\(")):
        verify_account_token([KEY], handmade_token(payload), at)


def test_expired_token_is_refused_at_the_expiry_instant() -> None:
    token = make_account_token(KEY, "acct-42", NOW, dt.timedelta(minutes=5))
    verify_account_token([KEY], token, NOW + dt.timedelta(minutes=5) - dt.timedelta(seconds=1))
    with pytest.raises(AccountTokenError, match="expired at 2025-03-03T09:05:00"):
        verify_account_token([KEY], token, NOW + dt.timedelta(minutes=5))


def test_token_from_the_future_is_refused_beyond_the_leeway() -> None:
    token = make_account_token(KEY, "acct-42", NOW + dt.timedelta(seconds=30))
    verify_account_token([KEY], token, NOW)
    with pytest.raises(AccountTokenError, match="issued in the future"):
        verify_account_token([KEY], token, NOW, leeway=dt.timedelta(seconds=10))


def test_token_for_another_account_is_refused() -> None:
    token = make_account_token(KEY, "acct-42", NOW)
    with pytest.raises(AccountTokenError, match="different account"):
        verify_account_token([KEY], token, NOW, expected_subject="acct-43")


def test_keys_rotate() -> None:
    token = make_account_token(OTHER_KEY, "acct-42", NOW)
    assert verify_account_token([KEY, OTHER_KEY], token, NOW).subject == "acct-42"
    with pytest.raises(AccountTokenError, match="signature does not match"):
        verify_account_token([KEY], token, NOW)


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "é.abc", ".abc", "abc."])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(AccountTokenError):
        verify_account_token([KEY], token, NOW)


def test_token_configuration_is_checked() -> None:
    token = make_account_token(KEY, "acct-42", NOW)
    with pytest.raises(VerificationError, match="no account token keys"):
        verify_account_token([], token, NOW)
    with pytest.raises(VerificationError, match="at least 32 random bytes"):
        verify_account_token([b"short"], token, NOW)
