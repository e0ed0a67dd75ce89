"""Residence as written to a jurisdiction key, and each jurisdiction's zone for the day of receipt."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from privet.law.catalogue import catalogue
from privet.law.residence import UnknownResidence, residence_key


@pytest.mark.parametrize(
    ("written", "key"),
    [("eu", "eu"), ("EU", "eu"), ("DE", "eu"), ("de", "eu"), ("no", "eu"), ("IS", "eu"), ("gb", "uk"), ("UK", "uk"),
     ("CH", "ch"), ("US-CA", "us-ca"), ("us-ca", "us-ca"), ("US_TX", "us-tx"), (" Virginia ", "us-va"),
     ("united kingdom", "uk")],
)  # fmt: skip
def test_known_residences(written: str, key: str) -> None:
    assert residence_key(written) == key


@pytest.mark.parametrize(
    ("written", "says"),
    [("mars", "unknown residence 'mars'. Known jurisdictions: eu, uk, ch, us-ca"), ("US", "name the state, e.g. US-CA"),
     ("us-fl", "leave the residence out"), ("JP", "unknown residence 'JP'"), ("ca", "a US state is written US-CA"),
     ("us_states", "a group of jurisdictions (us-ca, us-va")],
)  # fmt: skip
def test_unknown_residences_are_refused_with_what_is_known(written: str, says: str) -> None:
    with pytest.raises(UnknownResidence) as refused:
        residence_key(written)
    assert says in str(refused.value)


def test_every_jurisdiction_has_a_real_zone() -> None:
    for j in catalogue().jurisdictions.values():
        assert ZoneInfo(j.zone).key == j.zone, j.key


@pytest.mark.parametrize(
    ("key", "utc", "day"),
    [("us-ca", dt.datetime(2025, 2, 1, 1), dt.date(2025, 1, 31)),  # 17:00 PST
     ("us-ny-less", dt.datetime(2025, 2, 1, 1), dt.date(2025, 2, 1)),  # not a jurisdiction: UTC's day
     ("uk", dt.datetime(2025, 7, 1, 23, 30), dt.date(2025, 7, 2)),  # 00:30 BST
     ("ch", dt.datetime(2025, 1, 31, 23, 30), dt.date(2025, 2, 1)),
     ("us-tx", dt.datetime(2025, 2, 1, 6, 30), dt.date(2025, 1, 31)),  # 23:30 in El Paso, already 1 Feb in Houston
     ("eu", dt.datetime(2025, 2, 1, 3), dt.date(2025, 1, 31))],  # 23:00 in Guadeloupe
)  # fmt: skip
def test_the_day_of_receipt_in_the_jurisdictions_zone(key: str, utc: dt.datetime, day: dt.date) -> None:
    assert catalogue().local_date(key, utc.replace(tzinfo=dt.UTC)) == day
    assert catalogue().local_date(key, utc) == day  # naive: taken as UTC
