"""De-identification profiles as frozen models: parsing, validation, refusal messages."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from privet.deid.kanon import KAnonymityReport
from privet.deid.profile import DeidProfile, DeidRefused, Generalise, Pseudonymise, describe_action, may_suppress

BASE: dict[str, Any] = {
    "name": "analytics-export",
    "k": 5,
    "quasi_identifiers": ["age", "postcode"],
    "columns": {
        "email": {"action": "pseudonymise", "domain": "email"},
        "age": {"action": "generalise", "generaliser": "age_band", "config": {"edges": [18, 30, 50]}},
        "postcode": {"action": "generalise", "generaliser": "postcode", "config": {"country": "GB"}},
        "name": {"action": "drop"},
        "notes": {"action": "suppress"},
        "diagnosis": {"action": "keep"},
    },
}


def profile(**changes: Any) -> DeidProfile:
    return DeidProfile.model_validate({**BASE, **changes})


def test_a_profile_parses_into_typed_actions() -> None:
    p = profile()
    assert isinstance(p.columns["email"], Pseudonymise) and p.columns["email"].domain == "email"
    age = p.columns["age"]
    assert isinstance(age, Generalise) and age.build().apply(40) == "30-49"
    assert p.output_columns() == ["email", "age", "postcode", "notes", "diagnosis"]
    assert [describe_action(a) for a in p.columns.values()] == [
        "pseudonymise:email", "generalise:age_band", "generalise:postcode", "drop", "suppress", "keep",
    ]  # fmt: skip
    assert p.max_suppressed_share == 0.05 and not p.suppress_small_classes and p.unlisted == "refuse"


def test_profiles_are_frozen() -> None:
    with pytest.raises(ValidationError):
        profile().k = 2  # type: ignore[misc]


def test_grid_over_two_columns() -> None:
    p = profile(
        quasi_identifiers=["lat", "lon"],
        columns={
            "lat": {"action": "generalise", "generaliser": "grid", "config": {"cell_km": 5}, "longitude_column": "lon"}
        },
    )
    assert p.partner_columns() == {"lat": "lon"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"k": 0}, "greater than or equal to 1"),
        ({"quasi_identifiers": []}, "k=5 needs the quasi-identifier columns"),
        ({"quasi_identifiers": ["age", "zip"]}, "'zip' is not one of the profile's columns"),
        ({"quasi_identifiers": ["age", "name"]}, "'name' is dropped, so it cannot be measured"),
        ({"l": 2}, "needs both l and the sensitive column"),
        ({"l": 2, "sensitive": "age"}, "cannot also be a quasi-identifier"),
        ({"l": 2, "sensitive": "name"}, "'name' is dropped"),
        ({"max_suppressed_share": 1.5}, "less than or equal to 1"),
        ({"unlisted": "keep"}, "'refuse' or 'drop'"),
        (
            {"columns": {**BASE["columns"], "age": {"action": "generalise", "generaliser": "age"}}},
            "no generaliser 'age'",
        ),
        (
            {
                "columns": {
                    **BASE["columns"],
                    "age": {"action": "generalise", "generaliser": "age_band", "config": {"edges": [3, 2]}},
                }
            },
            "must increase",
        ),
        (
            {
                "columns": {
                    **BASE["columns"],
                    "age": {"action": "generalise", "generaliser": "age_band", "longitude_column": "x"},
                }
            },
            "longitude_column is for the grid",
        ),
        (
            {"columns": {**BASE["columns"], "email": {"action": "pseudonymise", "domain": "E Mail"}}},
            "pseudonym domain 'E Mail'",
        ),
        ({"columns": {**BASE["columns"], "email": {"action": "hash"}}}, "does not match any of the expected tags"),
        (
            {"columns": {**BASE["columns"], "age": {"action": "keep", "generaliser": "x"}}},
            "Extra inputs are not permitted",
        ),
        (
            {
                "columns": {
                    **BASE["columns"],
                    "lat": {"action": "generalise", "generaliser": "grid", "longitude_column": "name"},
                }
            },
            "'name' is rewritten with 'lat' by the grid",
        ),
    ],
)
def test_invalid_profiles(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        profile(**changes)


def report(rows_at_risk: int, rows: int = 100) -> KAnonymityReport:
    return KAnonymityReport(("age",), 5, rows=rows, classes=10, smallest_class=2, classes_below_k=1,
                            rows_below_k=rows_at_risk, classes_at_risk=1, rows_at_risk=rows_at_risk, at_risk=())  # fmt: skip


@pytest.mark.parametrize(
    ("suppress", "at_risk", "allowed"),
    [(False, 1, False), (True, 5, True), (True, 6, False), (True, 0, True)],
)
def test_may_suppress(suppress: bool, at_risk: int, allowed: bool) -> None:
    assert may_suppress(profile(suppress_small_classes=suppress), report(at_risk)) is allowed


def test_refusal_says_what_to_do() -> None:
    refused = DeidRefused(profile(), report(6))
    assert refused.report.smallest_class == 2 and refused.profile == "analytics-export"
    assert str(refused) == (
        "de-identification profile 'analytics-export' refused: k=2 achieved (5 required) over 10 classes of 100 rows;"
        " 6 rows (6.0%) in 1 class are at risk; generalise further (wider bands, shorter postcode prefixes, coarser"
        " grid cells or dates), or allow suppress_small_classes"
    )
    with_suppression = DeidRefused(profile(suppress_small_classes=True), report(6))
    assert str(with_suppression).endswith(
        "; dropping the rows at risk would remove 6.0% of the rows, more than the 5.0% allowed"
    )
