"""One contract, every connector: SQLite, PostgreSQL, MariaDB, Parquet files, CSV files, an HTTP service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from privet.fulfilment.ports import ColumnType, ConnectorError, Row, Update
from tests.connectors.conftest import ORDERS, USERS, Harness

EMAILS = ["ada@example.test", "cy@example.test", "ed@example.test", "flo@example.test", "nobody@example.test"]


def by_id(rows: Sequence[Row]) -> list[dict[str, Any]]:
    return sorted((dict(r) for r in rows), key=lambda r: r["id"])


def test_describe_reports_the_live_columns(harness: Harness) -> None:
    users = harness.connector.describe("users")
    orders = harness.connector.describe("orders")

    assert users is not None and orders is not None
    assert {n: c.type for n, c in users.items()} == {
        "id": ColumnType.INTEGER,
        "email": ColumnType.TEXT,
        "name": ColumnType.TEXT,
    }
    assert {n: c.type for n, c in orders.items()} == {
        "id": ColumnType.INTEGER,
        "user_id": ColumnType.INTEGER,
        "total": ColumnType.FLOAT,
    }
    assert all(c.name == n for n, c in users.items())


def test_describing_many_collections_at_once_answers_as_one_by_one(harness: Harness) -> None:
    many = getattr(harness.connector, "describe_many", None)
    if many is None:
        pytest.skip("this connector describes one collection at a time")
    at_once = many(["users", "orders", "no_such_table"])
    harness.connector.close()  # nothing cached: each answer below comes from the live schema again
    assert at_once == {name: harness.connector.describe(name) for name in ("users", "orders", "no_such_table")}
    assert at_once["no_such_table"] is None and at_once["users"] is not None and at_once["users"]["id"].type.value


def test_a_missing_collection_is_described_as_none(harness: Harness) -> None:
    assert harness.connector.describe("no_such_table") is None


def test_select_finds_rows_by_a_field_one_query_per_batch(harness: Harness) -> None:
    harness.connector.describe("users")  # reflection is not part of the count
    before = harness.reads("users") if harness.reads else 0

    rows = harness.connector.select("users", "email", EMAILS)

    assert by_id(rows) == [u for u in USERS if u["email"] in EMAILS]
    if harness.reads:  # 5 keys in batches of 2
        assert harness.reads("users") - before == 3


def test_select_returns_the_columns_asked_for(harness: Harness) -> None:
    rows = harness.connector.select("orders", "user_id", [1, 2, 3, 4, 5], columns=["id", "total"])

    assert by_id(rows) == [{"id": o["id"], "total": o["total"]} for o in ORDERS if o["user_id"] in (1, 2, 3, 4, 5)]


def test_select_and_count_of_nothing(harness: Harness) -> None:
    assert harness.connector.select("users", "email", []) == []
    assert harness.connector.count("users", "email", []) == 0
    assert harness.connector.select("users", "email", ["nobody@example.test"]) == []


def test_count_counts_matching_rows_once_per_key(harness: Harness) -> None:
    assert harness.connector.count("orders", "user_id", [1, 2, 99, 1]) == 3


def test_update_sets_each_rows_own_values(harness: Harness) -> None:
    changed = harness.connector.update(
        "users",
        "id",
        [
            Update(1, {"name": "Ada L."}),
            Update(2, {"name": "Bo B.", "email": "bo.b@example.test"}),
            Update(4, {"email": "di.d@example.test"}),
            Update(99, {"name": "nobody"}),
        ],
    )

    assert changed == 3
    rows = by_id(harness.connector.select("users", "id", [1, 2, 3, 4]))
    assert rows == [
        {"id": 1, "email": "ada@example.test", "name": "Ada L."},
        {"id": 2, "email": "bo.b@example.test", "name": "Bo B."},
        {"id": 3, "email": "cy@example.test", "name": "Cy"},
        {"id": 4, "email": "di.d@example.test", "name": "Di"},
    ]


def test_update_can_erase_a_value(harness: Harness) -> None:
    assert harness.connector.update("users", "id", [Update(3, {"name": None})]) == 1

    assert harness.connector.select("users", "id", [3], columns=["name"]) == [{"name": None}]


def test_update_all_sets_the_same_values_on_every_row_with_those_keys(harness: Harness) -> None:
    before = by_id(harness.connector.select("users", "id", [1, 2, 3, 4, 5]))
    keys = [1, 3, 5, 3, 99]  # a key twice counts once; an unknown key changes nothing

    assert harness.connector.update_all("users", "id", keys, {"name": None, "email": "gone@example.test"}) == 3

    after = by_id(harness.connector.select("users", "id", [1, 2, 3, 4, 5]))
    expected = [r | {"name": None, "email": "gone@example.test"} if r["id"] in keys else r for r in before]
    assert after == expected
    assert harness.connector.update_all("users", "id", [], {"name": "x"}) == 0


def test_delete_removes_only_the_rows_with_those_keys(harness: Harness) -> None:
    assert harness.connector.delete("orders", "id", [10, 12, 14, 99]) == 3

    left = harness.connector.select("orders", "user_id", [1, 2, 3, 4, 5, 6])
    assert by_id(left) == [o for o in ORDERS if o["id"] in (11, 13, 15)]
    assert harness.connector.count("users", "id", [1, 2, 3, 4, 5, 6]) == 6


def test_an_error_inside_a_transaction_undoes_its_changes(harness: Harness) -> None:
    with pytest.raises(RuntimeError, match="midway"), harness.connector.transaction():
        harness.connector.update("users", "id", [Update(5, {"name": "changed"})])
        harness.connector.delete("orders", "id", [15])
        raise RuntimeError("midway")

    name = harness.connector.select("users", "id", [5], columns=["name"])
    left = harness.connector.count("orders", "id", [15])
    if harness.transactional:
        assert (name, left) == ([{"name": "Ed"}], 1)
    else:  # documented: a service without transactions keeps each change as it is made
        assert (name, left) == ([{"name": "changed"}], 0)


def test_a_transaction_commits_everything_inside(harness: Harness) -> None:
    with harness.connector.transaction():
        harness.connector.update("users", "id", [Update(5, {"name": "Eddie"})])
        harness.connector.delete("orders", "id", [14])

    assert harness.connector.select("users", "id", [5], columns=["name"]) == [{"name": "Eddie"}]
    assert harness.connector.count("orders", "user_id", [5]) == 0


def test_a_missing_column_is_named_in_the_error(harness: Harness) -> None:
    with pytest.raises(ConnectorError, match="shoe_size") as error:
        harness.connector.select("users", "email", ["ada@example.test"], columns=["id", "shoe_size"])
    assert harness.kind in str(error.value)

    with pytest.raises(ConnectorError, match="shoe_size"):
        harness.connector.select("users", "shoe_size", [42])
    with pytest.raises(ConnectorError, match="shoe_size"):
        harness.connector.update("users", "id", [Update(1, {"shoe_size": 42})])


def test_a_missing_collection_is_an_error_for_reads_and_changes(harness: Harness) -> None:
    with pytest.raises(ConnectorError, match="no_such_table"):
        harness.connector.select("no_such_table", "id", [1])
    with pytest.raises(ConnectorError, match="no_such_table"):
        harness.connector.delete("no_such_table", "id", [1])
