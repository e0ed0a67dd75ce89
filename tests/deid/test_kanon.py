"""k-anonymity and l-diversity: targets, the report, and the Arrow count checked against a brute-force count."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privet.deid.kanon import KAnonymityError, KAnonymityReport, RiskyClass, check_targets
from privet.engines.deid import k_anonymity

PEOPLE = pa.table(
    {
        "age": ["18-24", "18-24", "18-24", "25-34", "25-34", None, None],
        "postcode": ["SW1A", "SW1A", "SW1A", "M1", "M1", "M1", "M1"],
        "diagnosis": ["flu", "asthma", "flu", "flu", "flu", "gout", None],
    }
)


def test_counts_on_a_small_table() -> None:
    report = k_anonymity(PEOPLE, ["age", "postcode"], 3, l=2, sensitive="diagnosis")
    assert (report.rows, report.classes, report.smallest_class) == (7, 3, 2)
    assert (report.classes_below_k, report.rows_below_k) == (2, 4)
    # The 25-34/M1 class is flu only; the NULL/M1 class has one known diagnosis (a NULL is no value).
    assert (report.least_diverse, report.classes_below_l, report.rows_below_l) == (1, 2, 4)
    assert (report.classes_at_risk, report.rows_at_risk) == (2, 4)
    assert not report.meets_k and not report.meets_l and not report.ok
    assert report.at_risk == (
        RiskyClass({"age": "25-34", "postcode": "M1"}, 2, 1),
        RiskyClass({"age": None, "postcode": "M1"}, 2, 1),
    )
    assert report.describe() == (
        "k=2 achieved (3 required) over 3 classes of 7 rows, l=1 achieved (2 required) on 'diagnosis';"
        " 4 rows (57.1%) in 2 classes are at risk"
    )


def test_a_table_that_meets_its_target() -> None:
    report = k_anonymity(PEOPLE, ["postcode"], 3)
    assert report.ok and report.smallest_class == 3 and report.at_risk == ()
    assert report.describe() == "k=3 achieved (3 required) over 2 classes of 7 rows"


def test_l_alone_can_put_a_class_at_risk() -> None:
    report = k_anonymity(PEOPLE, ["postcode"], 2, l=3, sensitive="diagnosis")
    assert report.meets_k and not report.meets_l
    # SW1A has flu and asthma, M1 flu and gout: two each, not three. The smaller class comes first.
    assert [(c.values, c.distinct) for c in report.at_risk] == [({"postcode": "SW1A"}, 2), ({"postcode": "M1"}, 2)]


def test_empty_table() -> None:
    report = k_anonymity(PEOPLE.slice(0, 0), ["age"], 5, l=2, sensitive="diagnosis")
    assert (report.rows, report.classes, report.smallest_class, report.least_diverse) == (0, 0, None, None)
    assert report.ok and report.describe() == "the table is empty"


def test_the_list_of_classes_at_risk_is_bounded_smallest_first() -> None:
    table = pa.table({"id": [*range(30), 99, 99]})
    report = k_anonymity(table, ["id"], 3, limit=5)
    assert report.classes_at_risk == 31 and report.rows_at_risk == 32
    assert len(report.at_risk) == 5 and not report.listed_all
    assert [c.size for c in report.at_risk] == [1] * 5
    assert report.as_json()["at_risk"][0] == {"values": {"id": 0}, "size": 1}


def test_struct_and_date_quasi_identifiers() -> None:
    where = pa.array(
        [{"lat": 51.5, "lon": 0.0}, {"lat": 51.5, "lon": 0.0}, None],
        pa.struct([("lat", pa.float64()), ("lon", pa.float64())]),
    )
    table = pa.table({"where": where, "week": [dt.date(2024, 1, 1)] * 3})
    report = k_anonymity(table, ["where", "week"], 2)
    assert report.classes == 2
    assert report.at_risk == (RiskyClass({"where": None, "week": dt.date(2024, 1, 1)}, 1),)
    assert report.as_json()["at_risk"] == [{"values": {"where": None, "week": "2024-01-01"}, "size": 1}]


@pytest.mark.parametrize(
    ("qis", "k", "l", "sensitive", "message"),
    [
        (("a",), 0, None, None, "k must be 1 or more"),
        (("a", "a"), 2, None, None, "listed twice"),
        (("a",), 2, 2, None, "needs both l and the sensitive column"),
        (("a",), 2, None, "s", "needs both l and the sensitive column"),
        (("a",), 2, 0, "s", "l must be 1 or more"),
        (("a",), 2, 2, "a", "cannot also be a quasi-identifier"),
    ],
)
def test_bad_targets(qis: tuple[str, ...], k: int, l: int | None, sensitive: str | None, message: str) -> None:  # noqa: E741
    with pytest.raises(KAnonymityError, match=message):
        check_targets(qis, k, l, sensitive)


def test_missing_column() -> None:
    with pytest.raises(KAnonymityError, match="the table has no column 'zip'"):
        k_anonymity(PEOPLE, ["age", "zip"], 2)


def brute_force(
    rows: list[dict[str, Any]], qis: list[str], sensitive: str
) -> tuple[Counter[tuple[Any, ...]], dict[tuple[Any, ...], set[Any]]]:
    sizes: Counter[tuple[Any, ...]] = Counter()
    values: dict[tuple[Any, ...], set[Any]] = defaultdict(set)
    for row in rows:
        key = tuple(row[q] for q in qis)
        sizes[key] += 1
        if row[sensitive] is not None:
            values[key].add(row[sensitive])
    return sizes, values


COLUMN = st.sampled_from(
    [
        st.none() | st.integers(0, 3),
        st.none() | st.sampled_from(["a", "b", "c"]),
        st.booleans(),
        st.sampled_from([dt.date(2024, 1, 1), dt.date(2024, 1, 8)]),
        st.none() | st.sampled_from([0.5, 1.5]),
    ]
)


@st.composite
def tables(draw: st.DrawFn) -> list[dict[str, Any]]:
    strategies = [draw(COLUMN) for _ in range(draw(st.integers(1, 3)))]
    n = draw(st.integers(0, 40))
    return [
        {**{f"q{i}": draw(s) for i, s in enumerate(strategies)}, "s": draw(st.none() | st.integers(0, 3))}
        for _ in range(n)
    ]


@settings(max_examples=200, deadline=None)
@given(tables(), st.integers(1, 6), st.integers(1, 3))
def test_counts_equal_a_brute_force_count(rows: list[dict[str, Any]], k: int, l: int) -> None:  # noqa: E741
    if not rows:
        return
    qis = [c for c in rows[0] if c != "s"]
    table = pa.Table.from_pylist(rows)
    report = k_anonymity(table, qis, k, l=l, sensitive="s", limit=1000)
    sizes, values = brute_force(rows, qis, "s")
    at_risk = {key for key, size in sizes.items() if size < k or len(values[key]) < l}
    assert report.rows == len(rows)
    assert report.classes == len(sizes)
    assert report.smallest_class == min(sizes.values())
    assert report.least_diverse == min(len(values[key]) for key in sizes)
    assert report.rows_below_k == sum(size for size in sizes.values() if size < k)
    assert report.classes_below_k == sum(1 for size in sizes.values() if size < k)
    assert report.rows_below_l == sum(sizes[key] for key in sizes if len(values[key]) < l)
    assert report.rows_at_risk == sum(sizes[key] for key in at_risk)
    assert {tuple(c.values[q] for q in qis) for c in report.at_risk} == at_risk
    assert all(c.size == sizes[key] for c in report.at_risk for key in [tuple(c.values[q] for q in qis)])


def test_report_json_round_numbers() -> None:
    report = KAnonymityReport(("a",), 2, rows=4, classes=2, smallest_class=1, classes_below_k=1, rows_below_k=1,
                              classes_at_risk=1, rows_at_risk=1, at_risk=())  # fmt: skip
    assert report.share_at_risk == 0.25
    assert report.as_json()["k_achieved"] == 1 and report.as_json()["at_risk_listed_all"] is False
