"""The law tables: complete for every jurisdiction privet names, cited row by row, and read as the law says."""

from __future__ import annotations

from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, TypeAdapter

import privet.law
from privet.law import (
    Activity,
    Law,
    LawTableError,
    MinorEffect,
    Right,
    Unit,
    UnknownJurisdiction,
    VerificationPolicy,
    catalogue,
    law_for,
    law_tables,
)
from privet.law.tables import Period, PeriodText, Row, _load

REQUIRED = [*catalogue().groups["us_states"], *catalogue().groups["gdpr_like"]]


@cache
def raw_tables() -> dict[str, dict[str, Any]]:
    folder = resources.files("privet.law").joinpath("data/tables")
    return {
        f.name.removesuffix(".yml"): yaml.safe_load(f.read_text("utf-8"))
        for f in folder.iterdir()
        if f.name.endswith(".yml")
    }


def rows(value: object) -> list[Row]:
    """Every cited row inside a model, however deeply nested."""
    found: list[Row] = []
    if isinstance(value, Row):
        found.append(value)
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            found += rows(getattr(value, name))
    elif isinstance(value, dict):
        for item in value.values():
            found += rows(item)
    elif isinstance(value, tuple | list):
        for item in value:
            found += rows(item)
    return found


@pytest.mark.parametrize("key", REQUIRED)
def test_every_named_jurisdiction_has_a_table(key: str) -> None:
    assert law_for(key).key == key


@pytest.mark.parametrize("key", REQUIRED)
def test_every_table_states_every_section_even_when_empty(key: str) -> None:
    raw = raw_tables()[key]
    stated = set(raw)
    assert stated == set(Law.model_fields), f"{key}.yml misses {set(Law.model_fields) - stated}"
    default = next(rule for rule in raw["requests"] if "rights" not in rule)
    assert {"period", "extension", "confirm_receipt", "cite"} <= set(default)


@pytest.mark.parametrize("key", sorted(law_tables()))
def test_every_row_is_cited_and_every_key_is_catalogued(key: str) -> None:
    law = law_for(key)
    assert catalogue().known(key)
    assert all(len(row.cite) >= 3 for row in rows(law))
    assert law.effective.start <= date(2026, 1, 1), "the tables cover laws in force by 2026"


@pytest.mark.parametrize("key", sorted(law_tables()))
def test_request_rules_only_name_rights_the_law_grants(key: str) -> None:
    law = law_for(key)
    for rule in law.requests:
        assert set(rule.rights or ()) <= set(law.rights)
        if rule.extension and rule.extension.period:
            assert rule.extension.period.unit is rule.period.unit


def test_the_package_exports_what_it_lists() -> None:
    assert privet.law.__all__ == sorted(privet.law.__all__)
    assert all(hasattr(privet.law, name) for name in privet.law.__all__)


@pytest.mark.parametrize(
    ("key", "kind", "amount", "unit", "extension"),
    [
        ("eu", Right.ACCESS, 1, Unit.MONTHS, 2),
        ("uk", Right.DELETION, 1, Unit.MONTHS, 2),
        ("ch", Right.ACCESS, 30, Unit.CALENDAR_DAYS, None),
        ("us-ca", Right.ACCESS, 45, Unit.CALENDAR_DAYS, 45),
        ("us-ca", Right.OPT_OUT_SALE, 15, Unit.BUSINESS_DAYS, None),
        ("us-ca", Right.LIMIT_SENSITIVE, 15, Unit.BUSINESS_DAYS, None),
        ("us-va", Right.DELETION, 45, Unit.CALENDAR_DAYS, 45),
        ("us-ia", Right.ACCESS, 90, Unit.CALENDAR_DAYS, 45),
        ("us-ct", Right.WITHDRAW_CONSENT, 15, Unit.CALENDAR_DAYS, None),
        ("us-nv", Right.OPT_OUT_SALE, 60, Unit.CALENDAR_DAYS, 30),
    ],
)
def test_response_periods(key: str, kind: Right, amount: int, unit: Unit, extension: int | None) -> None:
    rule = law_for(key).rule_for(kind)
    assert (rule.period.amount, rule.period.unit) == (amount, unit)
    ext = rule.extension.period if rule.extension else None
    assert (ext.amount if ext else None) == extension


def test_only_california_requires_a_receipt_confirmation() -> None:
    confirming = {key for key, law in law_tables().items() if any(r.confirm_receipt for r in law.requests)}
    assert confirming == {"us-ca"}
    confirm = law_for("us-ca").rule_for(Right.DELETION).confirm_receipt
    assert confirm is not None and confirm.period == Period(amount=10, unit=Unit.BUSINESS_DAYS)
    assert law_for("us-ca").rule_for(Right.OPT_OUT_SHARING).confirm_receipt is None


@pytest.mark.parametrize(
    ("key", "period", "extension"),
    [
        ("us-va", 60, None), ("us-co", 45, 60), ("us-ct", 60, None), ("us-tx", 60, None), ("us-or", 45, None),
        ("us-mt", 60, None), ("us-de", 60, None), ("us-ia", 60, None), ("us-ne", 60, None), ("us-nh", 60, None),
        ("us-nj", 45, 45), ("us-tn", 60, None), ("us-mn", 45, 60), ("us-md", 60, None), ("us-in", 60, None),
        ("us-ky", 60, None), ("us-ri", 60, None),
    ],
)  # fmt: skip
def test_appeal_periods(key: str, period: int, extension: int | None) -> None:
    appeal = law_for(key).appeal
    assert appeal is not None and appeal.period.amount == period
    ext = appeal.extension.period if appeal.extension else None
    assert (ext.amount if ext else None) == extension


@pytest.mark.parametrize("key", ["eu", "uk", "ch", "us-ca", "us-ut", "us-nv"])
def test_no_appeal_to_the_controller(key: str) -> None:
    assert law_for(key).appeal is None
    assert Right.APPEAL not in law_for(key).rights


@pytest.mark.parametrize(
    ("key", "since"),
    [
        ("us-ca", date(2020, 8, 14)), ("us-co", date(2024, 7, 1)), ("us-ct", date(2025, 1, 1)),
        ("us-tx", date(2025, 1, 1)), ("us-or", date(2026, 1, 1)), ("us-mt", date(2025, 1, 1)),
        ("us-de", date(2026, 1, 1)), ("us-ne", date(2025, 1, 1)), ("us-nh", date(2025, 1, 1)),
        ("us-nj", date(2025, 7, 15)), ("us-mn", date(2025, 7, 31)), ("us-md", date(2025, 10, 1)),
    ],
)  # fmt: skip
def test_universal_opt_out_signals_from(key: str, since: date) -> None:
    law = law_for(key)
    assert law.universal_opt_out_required(since)
    assert not law.universal_opt_out_required(date.fromordinal(since.toordinal() - 1))


@pytest.mark.parametrize("key", ["eu", "uk", "ch", "us-va", "us-ut", "us-ia", "us-tn", "us-in", "us-ky", "us-ri"])
def test_no_universal_opt_out_duty(key: str) -> None:
    assert not law_for(key).universal_opt_out_required(date(2026, 6, 1))


@pytest.mark.parametrize(
    ("key", "activity", "age", "on", "effect"),
    [
        ("us-ca", Activity.SALE, 12, date(2025, 1, 1), MinorEffect.CONSENT),
        ("us-ca", Activity.SALE, 15, date(2025, 1, 1), MinorEffect.CONSENT),
        ("us-ca", Activity.SALE, 16, date(2025, 1, 1), None),
        ("us-ct", Activity.TARGETED_ADVERTISING, 17, date(2024, 9, 30), None),
        ("us-ct", Activity.TARGETED_ADVERTISING, 17, date(2024, 10, 1), MinorEffect.CONSENT),
        ("us-de", Activity.SALE, 17, date(2025, 6, 1), MinorEffect.CONSENT),
        ("us-nj", Activity.PROFILING, 16, date(2025, 6, 1), MinorEffect.CONSENT),
        ("us-md", Activity.TARGETED_ADVERTISING, 17, date(2026, 6, 1), MinorEffect.PROHIBITED),
        ("us-co", Activity.SALE, 17, date(2025, 9, 30), None),
        ("us-co", Activity.SALE, 17, date(2025, 10, 1), MinorEffect.CONSENT),
        ("us-va", Activity.PROCESSING, 12, date(2025, 1, 1), MinorEffect.PARENTAL_CONSENT),
        ("eu", Activity.ONLINE_SERVICE_CONSENT, 15, date(2025, 1, 1), MinorEffect.PARENTAL_CONSENT),
        ("uk", Activity.ONLINE_SERVICE_CONSENT, 13, date(2025, 1, 1), None),
    ],
)
def test_age_thresholds(key: str, activity: Activity, age: int, on: date, effect: MinorEffect | None) -> None:
    rule = law_for(key).minor_rule(activity, age, on)
    assert (rule.effect if rule else None) == effect
    assert rule is None or rule.cite


def test_california_verification_standards() -> None:
    levels = {right: level for level in law_for("us-ca").verification.levels for right in level.rights}
    assert levels[Right.KNOW].data_points == 2
    assert levels[Right.ACCESS].data_points == 3 and levels[Right.ACCESS].signed_declaration
    assert law_for("us-ca").verification.opt_out is VerificationPolicy.PROHIBITED


def test_record_keeping_and_free_requests() -> None:
    kept = {key: law.record_keeping.months for key, law in law_tables().items() if law.record_keeping}
    assert kept == {"us-ca": 24, "us-co": 24}
    assert law_for("us-ca").free_requests.per_12_months == 2
    assert law_for("us-ct").free_requests.per_12_months == 1
    assert law_for("eu").free_requests.per_12_months is None


def test_rights_are_versioned() -> None:
    ca = law_for("us-ca")
    assert not ca.grants(Right.CORRECTION, date(2022, 12, 31))
    assert ca.grants(Right.CORRECTION, date(2023, 1, 1))
    assert Right.OPT_OUT_SALE in ca.rights_on(date(2020, 1, 1))
    assert not law_for("us-in").grants(Right.ACCESS, date(2025, 12, 31))
    assert not law_for("us-ia").grants(Right.CORRECTION, date(2026, 1, 1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("45 days", (45, Unit.CALENDAR_DAYS)), ("10 business days", (10, Unit.BUSINESS_DAYS)),
     ("1 month", (1, Unit.MONTHS)), ("2 months", (2, Unit.MONTHS)), ("30 calendar days", (30, Unit.CALENDAR_DAYS))],
)  # fmt: skip
def test_periods_read_as_written(text: str, expected: tuple[int, Unit]) -> None:
    parsed = TypeAdapter(PeriodText).validate_python(text)
    assert (parsed.amount, parsed.unit) == expected


def test_a_malformed_table_names_the_file_and_the_key() -> None:
    text = yaml.safe_dump(
        {**raw_tables()["us-va"], "requests": [{"period": "soon", "cite": "a cite"}]}, sort_keys=False
    )
    with pytest.raises(LawTableError, match=r"us-va\.yml: requests\.0\.period"):
        _load("us-va.yml", text)


def test_a_table_must_be_named_for_its_key() -> None:
    with pytest.raises(LawTableError, match=r"name the file us-va\.yml"):
        _load("virginia.yml", yaml.safe_dump(raw_tables()["us-va"]))


def test_an_unknown_jurisdiction_lists_the_known_ones() -> None:
    with pytest.raises(UnknownJurisdiction, match="known: ch, eu"):
        law_for("us-zz")
