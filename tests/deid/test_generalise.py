"""Generalisers, one value at a time: tables of inputs and outputs, idempotence, configuration errors."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privet.deid.generalise import (
    KM_PER_DEGREE,
    REGISTRY,
    AgeBandConfig,
    GeneraliseError,
    GridConfig,
    make_generaliser,
)

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("name", "options", "value", "expected"),
    [
        ("age_band", {}, 0, "0-17"),
        ("age_band", {}, 17, "0-17"),
        ("age_band", {}, 17.99, "0-17"),
        ("age_band", {}, 18, "18-24"),
        ("age_band", {}, 89, "75-89"),
        ("age_band", {}, 90, "90+"),
        ("age_band", {}, 130, "90+"),
        ("age_band", {}, -1, None),
        ("age_band", {}, math.nan, None),
        ("age_band", {}, None, None),
        ("age_band", {"edges": [18, 65]}, 12, "<18"),
        ("age_band", {"edges": [18, 65]}, 40, "18-64"),
        ("age_band", {"edges": [18, 65]}, 65, "65+"),
        ("birth_year", {}, dt.date(1984, 7, 9), 1984),
        ("birth_year", {}, dt.datetime(1984, 12, 31, 23, 59), 1984),
        ("birth_year", {}, None, None),
        ("postcode", {"country": "GB"}, "SW1A 1AA", "SW1A"),
        ("postcode", {"country": "UK"}, "sw1a1aa", "SW1A"),
        ("postcode", {"country": "GB"}, " M1 1AE ", "M1"),
        ("postcode", {"country": "GB"}, "M11AE", "M1"),
        ("postcode", {"country": "GB"}, "B33 8TH", "B33"),
        ("postcode", {"country": "GB"}, "CR2 6XH", "CR2"),
        ("postcode", {"country": "GB"}, "DN55 1PT", "DN55"),
        ("postcode", {"country": "GB"}, "W1A 0AX", "W1A"),
        ("postcode", {"country": "GB"}, "EC1A", "EC1A"),
        ("postcode", {"country": "GB"}, "not a postcode", None),
        ("postcode", {"country": "GB"}, "SW1A 1AA\nX", None),
        ("postcode", {"country": "US"}, "02134", "021"),
        ("postcode", {"country": "US"}, "02134-1234", "021"),
        ("postcode", {"country": "US"}, "021341234", "021"),
        ("postcode", {"country": "US"}, 2134, "021"),  # a ZIP stored as a number lost its leading zero
        ("postcode", {"country": "US"}, "2134", None),
        ("postcode", {"country": "US", "zeroed": ["036", "059"]}, "03601", "000"),
        ("postcode", {"country": "DE"}, "10115", "10"),
        ("postcode", {"country": "de"}, 1067, "01"),
        ("postcode", {"country": "DE"}, "1011", None),
        ("postcode", {"country": "FR"}, "75008", "75"),
        ("postcode", {"country": "NL"}, "1012 ab", "1012"),
        ("postcode", {"country": "CA"}, "k1a 0b1", "K1A"),
        ("postcode", {"country": "GB"}, None, None),
        ("timestamp", {}, dt.datetime(2024, 5, 17, 13, 45, 12, 5), dt.datetime(2024, 5, 17)),
        ("timestamp", {"unit": "week"}, dt.datetime(2024, 5, 17, 13, 45), dt.datetime(2024, 5, 13)),
        ("timestamp", {"unit": "week"}, dt.date(2024, 1, 1), dt.date(2024, 1, 1)),  # a Monday
        ("timestamp", {"unit": "week"}, dt.date(2023, 12, 31), dt.date(2023, 12, 25)),
        ("timestamp", {}, dt.datetime(2024, 3, 31, 12, tzinfo=BERLIN), dt.datetime(2024, 3, 31, tzinfo=BERLIN)),
        ("timestamp", {}, None, None),
        ("grid", {"cell_km": 20000}, (51.5, -0.12), (0.0, -90.0)),  # two cells: the western hemisphere
        ("grid", {}, (91.0, 0.0), None),
        ("grid", {}, (0.0, 180.5), None),
        ("grid", {}, (math.nan, 0.0), None),
        ("grid", {}, None, None),
        ("suppress", {}, "anything", None),
    ],
)
def test_generalisers(name: str, options: dict[str, Any], value: Any, expected: Any) -> None:
    assert make_generaliser(name, options).apply(value) == expected


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("nope", {}, "no generaliser 'nope'; use one of age_band, birth_year, grid, postcode, suppress, timestamp"),
        ("age_band", {"edges": [18, 18]}, "must increase"),
        ("age_band", {"edges": []}, "whole years"),
        ("age_band", {"edges": [1.5]}, "whole years"),
        ("age_band", {"bands": 3}, "bad options"),
        ("postcode", {"country": "XX"}, "no postcode rule for country 'XX'; known: CA, DE, FR, GB, NL, US"),
        ("timestamp", {"unit": "month"}, "'day' or 'week'"),
        ("grid", {"cell_km": 0}, "between 0 and 20000"),
    ],
)
def test_bad_configuration(name: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(GeneraliseError, match=message):
        make_generaliser(name, options)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("age_band", "42", "age_band generalises ages in years"),
        ("age_band", True, "age_band generalises ages in years"),
        ("birth_year", "1984-07-09", "birth_year generalises dates"),
        ("postcode", 12345, "postcode generalises postcodes (text), not int"),  # GB codes are never numbers
        ("timestamp", 1700000000, "timestamp generalises dates or timestamps"),
        ("grid", 51.5, "grid generalises (latitude, longitude) pairs"),
    ],
)
def test_wrong_types_raise(name: str, value: Any, message: str) -> None:
    with pytest.raises(GeneraliseError, match=re.escape(message)):
        make_generaliser(name).apply(value)


def test_age_band_labels() -> None:
    assert AgeBandConfig((0, 18, 25)).labels == ("<0", "0-17", "18-24", "25+")


def test_registry_holds_the_built_ins() -> None:
    assert set(REGISTRY) == {"age_band", "birth_year", "year_band", "postcode", "timestamp", "grid", "suppress"}


@pytest.mark.parametrize(
    ("years", "value", "expected"),
    [
        (20, dt.date(1961, 5, 1), "1960-1979"),
        (20, dt.datetime(1979, 12, 31, 23, 59), "1960-1979"),
        (10, dt.date(2000, 1, 1), "2000-2009"),
        (1, dt.date(1984, 2, 3), "1984"),
        (20, None, None),
    ],
)
def test_year_band(years: int, value: Any, expected: str | None) -> None:
    assert make_generaliser("year_band", {"years": years}).apply(value) == expected


@pytest.mark.parametrize(("options", "message"), [({"years": 0}, "1 to 100 years"), ({"years": True}, "1 to 100")])
def test_year_band_configuration(options: dict[str, Any], message: str) -> None:
    with pytest.raises(GeneraliseError, match=message):
        make_generaliser("year_band", options)


def test_year_band_refuses_text() -> None:
    with pytest.raises(GeneraliseError, match="year_band generalises dates"):
        make_generaliser("year_band").apply("1980-01-01")


POSTCODES = st.one_of(
    st.from_regex(r"[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}", fullmatch=True).map(lambda s: ("GB", s)),
    st.from_regex(r"[0-9]{5}(-[0-9]{4})?", fullmatch=True).map(lambda s: ("US", s)),
    st.from_regex(r"[0-9]{5}", fullmatch=True).map(lambda s: ("DE", s)),
    st.tuples(st.sampled_from(["GB", "US", "DE", "NL", "CA", "FR"]), st.text(max_size=10)),
)


@given(POSTCODES)
def test_postcode_is_idempotent(case: tuple[str, str]) -> None:
    country, code = case
    generaliser = make_generaliser("postcode", {"country": country})
    once = generaliser.apply(code)
    assert generaliser.apply(once) == once


@given(st.datetimes(timezones=st.none() | st.just(dt.UTC) | st.just(BERLIN)), st.sampled_from(["day", "week"]))
def test_timestamp_is_idempotent_and_never_later(value: dt.datetime, unit: str) -> None:
    generaliser = make_generaliser("timestamp", {"unit": unit})
    once = generaliser.apply(value)
    assert generaliser.apply(once) == once
    assert once.replace(tzinfo=None) <= value.replace(tzinfo=None)
    assert once.weekday() == (0 if unit == "week" else value.weekday())


LAT = st.floats(-90, 90)
LON = st.floats(-180, 180)


@given(LAT, LON, st.sampled_from([0.5, 1, 5, 10, 50, 1000]))
def test_grid_is_idempotent_and_near(lat: float, lon: float, cell_km: float) -> None:
    generaliser = make_generaliser("grid", {"cell_km": cell_km})
    once = generaliser.apply((lat, lon))
    assert generaliser.apply(once) == once
    step = 180 / GridConfig(cell_km).lat_bands
    assert abs(once[0] - lat) <= step / 2 + 1e-9  # the centre of the band holding the latitude
    if abs(lat) < 80:  # away from the poles, a cell is about cell_km wide
        east_west_km = abs(((once[1] - lon + 180) % 360) - 180) * KM_PER_DEGREE * math.cos(math.radians(once[0]))
        assert east_west_km <= cell_km * 1.5


@given(st.integers(0, 130), st.integers(0, 130))
def test_age_bands_are_monotone(a: int, b: int) -> None:
    generaliser = make_generaliser("age_band")
    order = [*AgeBandConfig().labels]
    if a <= b:
        assert order.index(generaliser.apply(a)) <= order.index(generaliser.apply(b))


@pytest.mark.parametrize(
    ("a", "b", "cell_km", "same"),
    [
        ((51.5007, -0.1246), (51.5033, -0.1195), 10, True),  # Westminster and Downing Street (hardly a cell apart)
        ((51.5007, -0.1246), (52.2053, 0.1218), 10, False),  # London and Cambridge, 80 km
        ((51.5007, -0.1246), (52.2053, 0.1218), 1000, True),
    ],
)
def test_grid_groups_near_places(a: tuple[float, float], b: tuple[float, float], cell_km: float, same: bool) -> None:
    generaliser = make_generaliser("grid", {"cell_km": cell_km})
    assert (generaliser.apply(a) == generaliser.apply(b)) is same
