"""De-identification over Arrow: vectorised generalisers agree with the scalar ones; profiles apply or refuse."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privet.deid.generalise import GridConfig, make_generaliser
from privet.deid.profile import DeidProfile, DeidRefused, ProfileError
from privet.deid.pseudonymise import KeyRing, Pseudonymiser, PseudonymKey
from privet.engines.deid import apply_profile, generalise_array, grid_arrays, k_anonymity, pseudonymise_array

P = Pseudonymiser(KeyRing(PseudonymKey("k1", b"\x01" * 32)))
BERLIN = ZoneInfo("Europe/Berlin")


def scalar(name: str, options: dict[str, Any], values: list[Any]) -> list[Any]:
    generaliser = make_generaliser(name, options)
    return [generaliser.apply(v) for v in values]


def vector(name: str, options: dict[str, Any], array: pa.Array) -> list[Any]:
    return generalise_array(array, make_generaliser(name, options)).to_pylist()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("name", "options", "array"),
    [
        ("age_band", {}, pa.array([0, 17, 18, 44, 89, 90, 120, -3, None], pa.int16())),
        ("age_band", {"edges": [18, 65]}, pa.array([1.5, 17.999, 18.0, 64.9, 65.0, math.nan, None])),
        ("birth_year", {}, pa.array([dt.date(1984, 7, 9), None, dt.date(1900, 1, 1)])),
        (
            "birth_year",
            {},
            pa.array([dt.datetime(2000, 12, 31, 23, tzinfo=dt.UTC)], pa.timestamp("us", "Europe/Berlin")),
        ),
        ("postcode", {"country": "GB"}, pa.array(["SW1A 1AA", "sw1a1aa", " M1 1AE ", "EC1A", "nope", "", None])),
        ("postcode", {"country": "GB"}, pa.array(["SW1A 1AA", None], pa.large_string())),
        ("postcode", {"country": "GB"}, pa.array(["SW1A 1AA", "M1 1AE", "SW1A 1AA"]).dictionary_encode()),
        ("postcode", {"country": "US", "zeroed": ["036"]}, pa.array(["02134-1234", "03601", "2134", None])),
        ("postcode", {"country": "US"}, pa.array([2134, 90210, -5, 123456, None], pa.int64())),
        ("postcode", {"country": "DE"}, pa.array(["10115", "01067", "1011"])),
        ("timestamp", {}, pa.array([dt.datetime(2024, 5, 17, 13, 45), None], pa.timestamp("ms"))),
        ("timestamp", {"unit": "week"}, pa.array([dt.date(2024, 1, 1), dt.date(2023, 12, 31), dt.date(1969, 12, 31)])),
        (
            "timestamp",
            {"unit": "week"},
            pa.array([dt.datetime(2024, 3, 31, 1, tzinfo=dt.UTC)], pa.timestamp("us", "Europe/Berlin")),
        ),
        ("suppress", {}, pa.array(["a", None])),
    ],
)
def test_vectorised_agrees_with_scalar(name: str, options: dict[str, Any], array: pa.Array) -> None:
    expected = scalar(name, options, array.to_pylist())
    got = vector(name, options, array)
    assert [None if isinstance(v, float) and math.isnan(v) else v for v in got] == expected


@settings(max_examples=150, deadline=None)
@given(st.lists(st.none() | st.integers(-5, 150), max_size=30), st.sets(st.integers(0, 120), min_size=1, max_size=6))
def test_age_bands_agree(ages: list[int | None], edges: set[int]) -> None:
    options = {"edges": sorted(edges)}
    assert vector("age_band", options, pa.array(ages, pa.int64())) == scalar("age_band", options, ages)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["GB", "US", "DE", "NL", "CA", "FR"]),
    st.lists(
        st.none()
        | st.text(alphabet="0123456789ABCDEFKLMSWXabk -\t\nſßı", max_size=12)
        | st.from_regex(r"[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}", fullmatch=True)
        | st.from_regex(r"[0-9]{5}(-[0-9]{4})?", fullmatch=True),
        max_size=20,
    ),
)
def test_postcodes_agree(country: str, codes: list[str | None]) -> None:
    options = {"country": country}
    assert vector("postcode", options, pa.array(codes, pa.string())) == scalar("postcode", options, codes)


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(["day", "week"]),
    st.sampled_from([None, "UTC", "Europe/Berlin", "America/New_York"]),
    # Arrow's time zone data may differ from the system's before 1970 (wartime offsets) and ends in 2037.
    st.lists(st.none() | st.datetimes(dt.datetime(1970, 1, 1), dt.datetime(2037, 12, 1)), max_size=20),
)
def test_timestamps_agree(unit: str, tz: str | None, naive: list[dt.datetime | None]) -> None:
    values = [None if v is None else v if tz is None else v.replace(tzinfo=dt.UTC) for v in naive]
    array = pa.array(values, pa.timestamp("us", tz))
    assert vector("timestamp", {"unit": unit}, array) == scalar("timestamp", {"unit": unit}, array.to_pylist())


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-95, 95), st.floats(-185, 185)) | st.none(), max_size=30),
    st.sampled_from([0.5, 1, 10, 250, 20000]),
)
def test_grid_agrees(points: list[tuple[float, float] | None], cell_km: float) -> None:
    lat, lon = grid_arrays(
        pa.array([p and p[0] for p in points]), pa.array([p and p[1] for p in points]), GridConfig(cell_km)
    )
    expected = scalar("grid", {"cell_km": cell_km}, points)
    got = [None if a is None else (a, b) for a, b in zip(lat.to_pylist(), lon.to_pylist(), strict=True)]
    assert [g is None for g in got] == [e is None for e in expected]
    assert [g and pytest.approx(g) for g in got] == expected


def test_grid_over_a_struct_column() -> None:
    points = pa.array([{"lat": 51.5007, "lng": -0.1246}, None, {"lat": 100.0, "lng": 0.0}])
    got = vector("grid", {"cell_km": 10}, points)
    assert got[1:] == [None, None]
    assert (got[0]["lat"], got[0]["lng"]) == pytest.approx(
        make_generaliser("grid", {"cell_km": 10}).apply((51.5007, -0.1246))
    )


@pytest.mark.parametrize(
    ("name", "array", "message"),
    [
        ("age_band", pa.array(["42"]), "age_band generalises numbers, not string"),
        ("birth_year", pa.array([1984]), "birth_year generalises dates or timestamps, not int64"),
        ("postcode", pa.array([1.5]), "postcode generalises postcodes (text), not double"),
        ("grid", pa.array([1.5]), "grid generalises a struct of latitude and longitude, not double"),
        ("grid", pa.array([{"x": 1.0, "y": 2.0}]), "a field named one of lat, latitude"),
    ],
)
def test_vectorised_type_errors(name: str, array: pa.Array, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        generalise_array(array, make_generaliser(name))


def test_pseudonymise_array_matches_the_scalar_tokens() -> None:
    emails = pa.chunked_array([["Alice@Example.com", None], ["alice@example.com ", "bob@example.com"]])
    tokens = pseudonymise_array(emails, P, "email").to_pylist()
    assert tokens == [
        P.token("email", "alice@example.com"),
        None,
        P.token("email", "alice@example.com"),
        P.token("email", "bob@example.com"),
    ]
    assert pseudonymise_array(pa.array([7, 7]), P, "customer_id").to_pylist() == [P.token("customer_id", "7")] * 2


def people(n_rare: int = 1) -> pa.Table:
    ages = [21, 22, 23, 24, 31, 32, 33, 34] * 3 + [70] * n_rare
    return pa.table(
        {
            "email": [f"p{i}@example.com" for i in range(len(ages))],
            "name": [f"Person {i}" for i in range(len(ages))],
            "age": ages,
            "postcode": (["SW1A 1AA", "SW1A 2AA"] * 12 + ["M1 1AE"] * n_rare),
            "diagnosis": (["flu", "gout", "asthma", "flu"] * 6 + ["gout"] * n_rare),
        }
    )


def make_profile(**changes: Any) -> DeidProfile:
    data: dict[str, Any] = {
        "name": "research",
        "k": 5,
        "quasi_identifiers": ["age", "postcode"],
        "columns": {
            "email": {"action": "pseudonymise", "domain": "email"},
            "name": {"action": "drop"},
            "age": {"action": "generalise", "generaliser": "age_band", "config": {"edges": [18, 30, 50]}},
            "postcode": {"action": "generalise", "generaliser": "postcode", "config": {"country": "GB"}},
            "diagnosis": {"action": "keep"},
        },
    }
    return DeidProfile.model_validate({**data, **changes})


def test_apply_profile_generalises_pseudonymises_and_drops() -> None:
    out, report = apply_profile(people(n_rare=0), make_profile(), P)
    assert out.column_names == ["email", "age", "postcode", "diagnosis"]
    assert out.column("email")[0].as_py() == P.token("email", "p0@example.com")
    assert set(out.column("age").to_pylist()) == {"18-29", "30-49"}
    assert set(out.column("postcode").to_pylist()) == {"SW1A"}
    assert report.before.smallest_class == 12 and report.after == report.before
    assert (report.rows_in, report.rows_out, report.rows_suppressed) == (24, 24, 0)
    assert report.actions == {"email": "pseudonymise:email", "name": "drop", "age": "generalise:age_band",
                              "postcode": "generalise:postcode", "diagnosis": "keep"}  # fmt: skip
    assert report.cells_suppressed == {"age": 0, "postcode": 0}
    assert report.as_json()["after"]["k_achieved"] == 12


def test_apply_profile_refuses_when_k_is_not_met() -> None:
    with pytest.raises(DeidRefused, match="k=1 achieved \\(5 required\\)") as caught:
        apply_profile(people(n_rare=1), make_profile(), P)
    assert caught.value.report.rows_at_risk == 1
    assert caught.value.report.at_risk[0].values == {"age": "50+", "postcode": "M1"}


def test_apply_profile_suppresses_small_classes_within_the_budget() -> None:
    out, report = apply_profile(people(n_rare=1), make_profile(suppress_small_classes=True), P)
    assert (report.rows_in, report.rows_out, report.rows_suppressed) == (25, 24, 1)
    assert report.suppressed_share == pytest.approx(0.04)
    assert not report.before.ok and report.after.ok and report.after.smallest_class == 12
    assert "M1" not in out.column("postcode").to_pylist()


def test_apply_profile_refuses_when_suppression_would_drop_too_much() -> None:
    with pytest.raises(DeidRefused, match=r"would remove 11.1% of the rows, more than the 5.0% allowed"):
        apply_profile(people(n_rare=3), make_profile(suppress_small_classes=True), P)


def test_apply_profile_checks_l_diversity() -> None:
    profile = make_profile(l=4, sensitive="diagnosis", suppress_small_classes=True, max_suppressed_share=0.5)
    with pytest.raises(DeidRefused, match="l=3 achieved \\(4 required\\) on 'diagnosis'"):
        apply_profile(people(n_rare=0), profile, P)
    _, report = apply_profile(people(n_rare=0), make_profile(l=3, sensitive="diagnosis"), P)
    assert report.after.least_diverse == 3


def test_invalid_values_are_suppressed_and_counted() -> None:
    table = people(n_rare=0).set_column(3, "postcode", pa.array(["SW1A 1AA", "garbage"] * 12))
    out, report = apply_profile(table, make_profile(k=1, quasi_identifiers=[]), P)
    assert report.cells_suppressed["postcode"] == 12
    assert out.column("postcode").null_count == 12


def test_grid_over_two_columns_and_suppress() -> None:
    table = pa.table({"lat": [51.5007, 51.5033, 95.0], "lon": [-0.1246, -0.1195, 0.0], "note": ["a", "b", "c"]})
    grid = {"action": "generalise", "generaliser": "grid", "config": {"cell_km": 50}, "longitude_column": "lon"}
    profile = DeidProfile.model_validate(
        {
            "name": "map",
            "k": 1,
            "quasi_identifiers": ["lat", "lon"],
            "columns": {"lat": grid, "note": {"action": "suppress"}},
        }
    )
    out, report = apply_profile(table, profile)
    assert out.column("lat")[0] == out.column("lat")[1] and out.column("lat")[2].as_py() is None
    assert out.column("note").null_count == 3
    assert report.cells_suppressed == {"lat": 1, "lon": 1, "note": 3}
    assert report.actions["lon"] == "generalise:grid (with lat)"


def test_unlisted_and_missing_columns() -> None:
    table = people().append_column("phone", pa.array(["x"] * 25))
    with pytest.raises(ProfileError, match="does not say what to do with column\\(s\\) phone; give each an action"):
        apply_profile(table, make_profile(), P)
    out, report = apply_profile(table, make_profile(unlisted="drop", suppress_small_classes=True), P)
    assert "phone" not in out.column_names and report.unlisted_dropped == ("phone",)
    with pytest.raises(ProfileError, match="names column\\(s\\) the table lacks: name"):
        apply_profile(table.drop_columns(["name"]), make_profile(unlisted="drop"), P)


def test_pseudonymising_needs_keys() -> None:
    with pytest.raises(ProfileError, match="pseudonymises 'email': pass a Pseudonymiser"):
        apply_profile(people(n_rare=0), make_profile())


def test_a_column_of_the_wrong_type_is_named() -> None:
    table = people(n_rare=0).set_column(2, "age", pa.array(["21"] * 24))
    with pytest.raises(
        ProfileError, match="profile 'research', column 'age': age_band generalises numbers, not string"
    ):
        apply_profile(table, make_profile(), P)


def test_kanon_over_many_rows_is_columnar() -> None:
    n = 200_000
    table = pa.table(
        {
            "a": pa.array([i % 1000 for i in range(n)]),
            "b": pa.array([i % 7 for i in range(n)]),
            "s": [i % 3 for i in range(n)],
        }
    )
    report = k_anonymity(table, ["a", "b"], 10, l=2, sensitive="s")
    assert report.classes == 7000 and report.smallest_class == 28 and report.ok
