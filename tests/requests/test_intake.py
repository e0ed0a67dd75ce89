"""Intake: the applicable law decides the deadlines; a right the law does not grant is to be denied."""

from __future__ import annotations

import datetime as dt

import pytest

from privet.law.vocabulary import Right
from privet.manifest.model import Manifest
from privet.requests.intake import ResidenceError, Submission, add_period, appeal_terms, dedupe_key, receive
from privet.requests.lifecycle import RequestError
from privet.requests.model import Requester, State
from privet.workspace.manifest_files import load_manifest
from tests.conftest import MINIMAL

NOW = dt.datetime(2025, 1, 31, 10, tzinfo=dt.UTC)
ANN = Requester(email="Ann@Example.test")


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest(MINIMAL).manifest


def test_gdpr_month_from_31_january(manifest: Manifest) -> None:
    intake = receive(Submission(Right.ACCESS, ANN, "eu"), manifest, "r1", NOW)
    r = intake.request
    assert r.state is State.RECEIVED and not intake.ineligible
    assert r.dates.due == dt.date(2025, 2, 28)
    assert r.dates.extended_due is not None and r.dates.extended_due > r.dates.due
    assert any("Art. 12(3)" in c for c in r.dates.cites)


def test_ccpa_confirmation_and_45_days(manifest: Manifest) -> None:
    r = receive(Submission(Right.DELETION, ANN, "us-ca"), manifest, "r2", NOW).request
    assert r.dates.due == dt.date(2025, 3, 17)  # 45 days is Sunday 16 March: next business day
    assert r.dates.confirm_by is not None


def test_a_right_the_law_does_not_grant_is_marked_ineligible(manifest: Manifest) -> None:
    intake = receive(Submission(Right.RESTRICTION, ANN, "us-ca"), manifest, "r3", NOW)
    assert intake.ineligible and "grants no restriction right" in intake.ineligible[0]


def test_unknown_residence_takes_the_strictest_deadline(manifest: Manifest) -> None:
    r = receive(Submission(Right.DELETION, ANN, None), manifest, "r4", NOW).request
    eu = receive(Submission(Right.DELETION, ANN, "eu"), manifest, "r5", NOW).request
    ca = receive(Submission(Right.DELETION, ANN, "us-ca"), manifest, "r6", NOW).request
    assert r.dates.due == min(eu.dates.due, ca.dates.due)
    assert "residence unknown" in r.notes[0]


@pytest.mark.parametrize(("written", "key"), [("DE", "eu"), ("de", "eu"), ("FR", "eu"), ("GB", "uk"), ("ch", "ch"),
                                             ("US-CA", "us-ca"), ("us_va", "us-va"), ("California", "us-ca")])  # fmt: skip
def test_a_residence_is_taken_as_the_jurisdiction_it_names(manifest: Manifest, written: str, key: str) -> None:
    intake = receive(Submission(Right.ACCESS, ANN, written), manifest, "r10", NOW)
    assert intake.request.jurisdiction == key and not intake.ineligible


@pytest.mark.parametrize("written", ["mars", "US", "us-fl", "gdpr_like"])
def test_an_unknown_residence_is_refused_not_denied(manifest: Manifest, written: str) -> None:
    with pytest.raises(ResidenceError, match=r"us-ca|eu, uk, ch"):  # every refusal names what is known
        receive(Submission(Right.ACCESS, ANN, written), manifest, "r11", NOW)


def test_the_day_of_receipt_is_the_jurisdictions_own() -> None:
    manifest = load_manifest(MINIMAL).manifest
    evening_in_california = dt.datetime(2025, 1, 31, 17, tzinfo=dt.timezone(dt.timedelta(hours=-8)))  # 1 Feb UTC
    r = receive(Submission(Right.DELETION, ANN, "us-ca"), manifest, "r12", evening_in_california).request
    assert evening_in_california.astimezone(dt.UTC).date() == dt.date(2025, 2, 1)
    assert r.dates.due == dt.date(2025, 3, 17)  # 45 days from 31 January, as at 10:00 UTC that day
    morning_in_berlin = dt.datetime(2025, 3, 3, 0, 30, tzinfo=dt.UTC)  # 01:30 in Berlin, 20:30 on 2 March in the
    eu = receive(Submission(Right.ACCESS, ANN, "eu"), manifest, "r13", morning_in_berlin).request  # EU's Caribbean
    assert eu.dates.due == dt.date(2025, 4, 2)  # counted from 2 March: a day early for Berlin, never late anywhere


def test_a_request_needs_a_way_to_reach_the_person(manifest: Manifest) -> None:
    with pytest.raises(RequestError, match="a way to reach the person"):
        receive(Submission(Right.ACCESS, Requester(), "eu"), manifest, "r7", NOW)


def test_duplicates_share_a_key() -> None:
    assert dedupe_key(Right.ACCESS, Requester(email="ann@example.test")) == dedupe_key(Right.ACCESS, ANN)
    assert dedupe_key(Right.ACCESS, ANN) != dedupe_key(Right.DELETION, ANN)


def test_appeal_terms(manifest: Manifest) -> None:
    eu = receive(Submission(Right.ACCESS, ANN, "eu"), manifest, "r8", NOW).request
    assert appeal_terms(manifest, eu, NOW) == (None, None)  # GDPR: complain to the authority instead
    va = receive(Submission(Right.ACCESS, ANN, "us-va"), manifest, "r9", NOW).request
    dates, window = appeal_terms(manifest, va, NOW)
    assert dates is not None and dates.due == dt.date(2025, 4, 1)  # 60 days
    assert window == dt.date(2025, 4, 1)  # privet's default window: 60 days after the decision


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [(dt.date(2025, 1, 31), 1, dt.date(2025, 2, 28)), (dt.date(2028, 1, 31), 1, dt.date(2028, 2, 29)),
     (dt.date(2025, 12, 15), 2, dt.date(2026, 2, 15))],
)  # fmt: skip
def test_add_period_months(start: dt.date, months: int, expected: dt.date) -> None:
    from privet.manifest.period import Period

    assert add_period(start, Period(months=months)) == expected
