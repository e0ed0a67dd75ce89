"""Synthetic company data: one SQLite database per system, the same people everywhere, references that resolve."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from privet.connectors.registry import connector_for
from privet.fulfilment.executor import NeedsReview, check_schema, collect
from privet.fulfilment.graph import DatasetGraph, build_graph
from privet.fulfilment.plan import plan_access
from privet.manifest.datasets import Dataset
from privet.manifest.model import Manifest
from privet.workspace.manifest_files import load_manifest
from privet.workspace.seed import RESTRICTED_COLUMN, SeedResult, connector_settings, seed_company_data

ANKER = Path(__file__).parent.parent.parent / "examples" / "anker"


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest(ANKER).manifest


@pytest.fixture(scope="module")
def graph(manifest: Manifest) -> DatasetGraph:
    return build_graph(manifest.datasets)


@pytest.fixture(scope="module")
def seeded(manifest: Manifest, tmp_path_factory: pytest.TempPathFactory) -> SeedResult:
    return seed_company_data(manifest, tmp_path_factory.mktemp("company"))


def database(result: SeedResult, system: str) -> sqlite3.Connection:
    return sqlite3.connect(result.urls[system].removeprefix("sqlite:///"))


def table_rows(result: SeedResult, collection: str) -> Iterator[dict[str, Any]]:
    system, table = result.tables[collection]
    conn = database(result, system)
    conn.row_factory = sqlite3.Row
    try:
        yield from (dict(r) for r in conn.execute(f'SELECT * FROM "{table}"'))
    finally:
        conn.close()


def dump(result: SeedResult) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for collection in result.tables:
        out[collection] = [tuple(r.items()) for r in table_rows(result, collection)]
    return out


def test_the_same_seed_gives_the_same_rows(manifest: Manifest, tmp_path: Path) -> None:
    first = seed_company_data(manifest, tmp_path / "a", people=30)
    second = seed_company_data(manifest, tmp_path / "b", people=30)
    other = seed_company_data(manifest, tmp_path / "c", people=30, seed=8)
    assert dump(first) == dump(second)
    assert first.people == second.people
    assert first.row_counts == second.row_counts
    assert dump(first) != dump(other)


def test_seeding_again_replaces_the_databases(manifest: Manifest, tmp_path: Path) -> None:
    first = seed_company_data(manifest, tmp_path, people=5, shared_rows=0)
    again = seed_company_data(manifest, tmp_path, people=5, shared_rows=0)
    assert dump(first) == dump(again)
    assert not list(tmp_path.glob("*.partial"))


def test_the_default_company_has_two_hundred_people(manifest: Manifest, tmp_path: Path) -> None:
    # Speed belongs in benchmarks, not in tests: this only checks the default size.
    result = seed_company_data(manifest, tmp_path)
    assert len(result.people) == 200 and len({p.email for p in result.people}) == 200


def test_one_database_per_system_and_every_collection_a_table(seeded: SeedResult, graph: DatasetGraph) -> None:
    systems = {node.system for node in graph.collections.values()}
    assert set(seeded.urls) == systems
    for system, url in seeded.urls.items():
        assert url == f"sqlite:///{seeded.folder.resolve() / system}.db"
    assert seeded.skipped == ()
    for key, node in graph.collections.items():
        system, table = seeded.tables[key]
        assert (system, table) == (node.system, node.name)
        conn = database(seeded, system)
        info = {r[1]: r for r in conn.execute(f'PRAGMA table_info("{table}")')}  # cid, name, type, notnull, default, pk
        conn.close()
        leaves = [f.path for f in node.leaves]
        assert list(info) == [*leaves, RESTRICTED_COLUMN], key
        assert [n for n, r in info.items() if r[5]] == list(node.primary_key), key
        assert info[RESTRICTED_COLUMN][2:5] == ("BOOLEAN", 1, "0")


def test_columns_take_their_sql_type_from_data_type(seeded: SeedResult) -> None:
    conn = database(seeded, "anker_account")
    users = {r[1]: r[2] for r in conn.execute('PRAGMA table_info("users")')}
    addresses = {r[1]: r[2] for r in conn.execute('PRAGMA table_info("addresses")')}
    conn.close()
    assert users["user_id"] == "TEXT"
    assert users["date_of_birth"] == "DATE"
    assert users["created_at"] == "DATETIME"
    assert users["communication_preferences"] == "JSON"  # an object with no declared fields: one JSON column
    assert addresses["id"] == "INTEGER"
    # Nested fields are flattened under their dotted path; the enclosing object has no column.
    assert "address" not in addresses
    assert addresses["address.city"] == "TEXT"


def test_the_live_schema_matches_the_datasets(seeded: SeedResult, graph: DatasetGraph) -> None:
    connectors = {s: connector_for(s, c) for s, c in connector_settings(seeded).items()}
    identities = {kind: ["nobody"] for kind in graph.identity_types}
    assert check_schema(plan_access(graph, identities), graph, connectors) == []


def test_connector_settings_are_sql_urls(seeded: SeedResult) -> None:
    settings = connector_settings(seeded)
    assert settings["anker_account"] == {"kind": "sql", "url": seeded.urls["anker_account"]}
    connector = connector_for("anker_account", settings["anker_account"])
    assert connector.count("users", "email", [seeded.people[0].email]) == 1
    connector.close()


def test_a_person_is_the_same_person_in_every_system(seeded: SeedResult) -> None:
    everywhere = {key: list(table_rows(seeded, key)) for key in seeded.tables}
    for person in seeded.people[:25]:
        by_email = {key for key, rows in everywhere.items() if any(person.email in r.values() for r in rows)}
        systems = {seeded.tables[key][0] for key in by_email}
        assert len(systems) >= 2, person.email
        (user,) = [r for r in everywhere["accounts_db.users"] if r["user_id"] == person.user_id]
        assert (user["email"], user["phone"], user["name"]) == (person.email, person.phone, person.name)
        # Email and phone columns elsewhere hold this person's values only in rows of this person.
        for row in everywhere["orders_db.orders"]:
            if row["user_id"] == person.user_id:
                assert row["email"] == person.email
        for serial in person.device_serials:
            devices = [r for r in everywhere["devices_db.devices"] if r["serial_number"] == serial]
            claims = [r for r in everywhere["orders_db.warranty_claims"] if r["device_serial"] == serial]
            assert devices or claims
            assert all(r["owner_user_id"] == person.user_id for r in devices)
            assert all(r["email"] == person.email for r in claims)


def test_identity_values_are_unique_per_person(seeded: SeedResult) -> None:
    for kind in ("email", "phone_number", "user_id", "device_serial", "order_id"):
        values = [v for p in seeded.people for v in p.identities.get(kind, ())]
        assert len(values) == len(set(values)), kind
    assert len({p.locale for p in seeded.people}) == 3


def test_people_have_several_orders_devices_and_tickets(seeded: SeedResult) -> None:
    people = len(seeded.people)
    assert seeded.row_counts["accounts_db.users"] == people
    assert seeded.row_counts["orders_db.orders"] >= 1.5 * people
    assert seeded.row_counts["devices_db.devices"] >= 1.5 * people
    assert seeded.row_counts["support_db.tickets"] >= 0.5 * people
    assert seeded.row_counts["orders_db.payments"] > 0
    invoices = [r["invoice_number"] for r in table_rows(seeded, "orders_db.payments")]
    assert all(i and i.startswith("INV-") for i in invoices)


def test_row_counts_are_the_rows_in_the_tables(seeded: SeedResult) -> None:
    for key, count in seeded.row_counts.items():
        assert sum(1 for _ in table_rows(seeded, key)) == count, key


def test_every_reference_resolves(seeded: SeedResult, graph: DatasetGraph) -> None:
    assert graph.links
    for link in graph.links:
        child, child_field, parent, parent_field = link.holder, link.holder_field, link.target, link.target_field
        parents = {r[parent_field] for r in table_rows(seeded, parent)}
        values = [r[child_field] for r in table_rows(seeded, child)]
        if child != "support_db.chats":  # the shared address rows of chats reference nothing
            assert values, str(link)
        dangling = [v for v in values if v is not None and v not in parents]
        assert dangling == [], str(link)


def test_identity_and_reference_columns_are_indexed(seeded: SeedResult, graph: DatasetGraph) -> None:
    linked = {(link.holder, link.holder_field) for link in graph.links}
    for key, node in graph.collections.items():
        system, table = seeded.tables[key]
        conn = database(seeded, system)
        first_columns = set()
        for index in conn.execute(f'PRAGMA index_list("{table}")'):
            first_columns.add(conn.execute(f'PRAGMA index_info("{index[1]}")').fetchone()[2])
        lone_integer_key = {
            r[1] for r in conn.execute(f'PRAGMA table_info("{table}")') if r[5] and r[2] == "INTEGER"
        }  # the rowid itself
        conn.close()
        for fld in node.fields:
            if fld.identity or (key, fld.path) in linked:
                assert fld.path in first_columns | lone_integer_key, f"{key}.{fld.path}"


def test_the_shared_address_fills_three_hundred_rows(seeded: SeedResult) -> None:
    assert seeded.shared_address == "info@example.com"
    assert seeded.shared_collection == "support_db.chats"
    assert seeded.shared_rows == 300
    rows = [r for r in table_rows(seeded, "support_db.chats") if r["email"] == seeded.shared_address]
    assert len(rows) == 300
    assert all(seeded.shared_address not in p.identities["email"] for p in seeded.people)


def test_fulfilment_finds_a_person_and_stops_at_the_shared_address(seeded: SeedResult, graph: DatasetGraph) -> None:
    connectors = {s: connector_for(s, c) for s, c in connector_settings(seeded).items()}
    person = seeded.people[3]
    identities = {"email": [person.email]}
    plan = plan_access(graph, identities)
    found = collect(plan, graph, connectors, identities)
    assert len(found["accounts_db.users"]) == 1
    assert len({graph.node(k).system for k, rows in found.items() if rows}) >= 5
    with pytest.raises(NeedsReview, match=r"support_db\.chats: 300 rows"):
        collect(plan, graph, connectors, {"email": [seeded.shared_address]})
    for connector in connectors.values():
        connector.close()


def test_restriction_flag_defaults_to_not_restricted(seeded: SeedResult) -> None:
    assert {r[RESTRICTED_COLUMN] for r in table_rows(seeded, "orders_db.orders")} == {0}


def small(manifest: Manifest, datasets: dict[str, Any]) -> Manifest:
    parsed = {k: Dataset.model_validate({"key": k, **v}) for k, v in datasets.items()}
    return manifest.model_copy(update={"datasets": parsed})


def test_any_manifest_can_be_seeded(manifest: Manifest, tmp_path: Path) -> None:
    custom = small(
        manifest,
        {
            "crm": {
                "system": "crm",
                "collections": {
                    "contacts": {
                        "fields": {
                            "contact_email": {"primary_key": True, "identity": "email", "data_type": "string"},
                            "score": {"data_type": "float"},
                            "vip": {"data_type": "boolean"},
                            "notes": {"data_type": "string[]"},
                            # values flow from this field into the referenced one
                            "account": {
                                "data_type": "string",
                                "references": [{"to": "crm.accounts.owner", "direction": "to"}],
                            },
                        }
                    },
                    "accounts": {"fields": {"owner": {"data_type": "string"}, "limit": {"data_type": "mystery"}}},
                },
            },
            "paper": {"collections": {"forms": {"fields": {"email": {"identity": "email"}}}}},
        },
    )
    result = seed_company_data(custom, tmp_path, people=10)
    assert set(result.urls) == {"crm"}
    assert result.skipped == (
        "dataset paper: it names no system, so there is no database to seed",
        "the shared address info@example.com: no collection takes an email identity",
    )
    contacts = list(table_rows(result, "crm.contacts"))
    assert [r["contact_email"] for r in contacts] == [p.email for p in result.people]
    # `accounts` takes its owner from contacts.account, so it is filled after contacts.
    owners = {r["owner"] for r in table_rows(result, "crm.accounts")}
    assert owners <= {r["account"] for r in contacts}
    conn = database(result, "crm")
    types = {r[1]: r[2] for r in conn.execute('PRAGMA table_info("contacts")')}
    assert types["score"] == "REAL" and types["vip"] == "BOOLEAN" and types["notes"] == "JSON"
    assert {r[1]: r[2] for r in conn.execute('PRAGMA table_info("accounts")')}["limit"] == "TEXT"
    conn.close()
    # The primary key is an email, so the shared address has nowhere to go.
    assert result.shared_collection is None and result.shared_rows == 0


def test_end_dates_are_mostly_empty_for_relationships_and_mostly_set_for_work(seeded: SeedResult) -> None:
    def share_set(collection: str, column: str) -> float:
        values = [r[column] for r in table_rows(seeded, collection)]
        return sum(v is not None for v in values) / len(values)

    # Most people keep their account, subscription and devices: those ends are set for about a quarter of rows.
    for collection, column in (("accounts_db.users", "closed_at"), ("marketing_db.subscribers", "unsubscribed_at"),
                               ("devices_db.devices", "unbound_at"), ("forum_db.members", "left_at")):  # fmt: skip
        assert 0.1 < share_set(collection, column) < 0.4, (collection, column)
    # Most tickets are resolved, most chats over and most orders delivered; a few are still open.
    for collection, column in (("support_db.tickets", "resolved_at"), ("support_db.chats", "ended_at"),
                               ("orders_db.orders", "delivered_at")):  # fmt: skip
        assert 0.7 < share_set(collection, column) < 0.98, (collection, column)
    assert share_set("devices_db.devices", "last_seen_at") == 1.0  # not an end: always known


def test_an_imprecise_location_is_the_persons_country(seeded: SeedResult) -> None:
    countries = {r["country"] for r in table_rows(seeded, "analytics_events.events")}
    assert countries <= {"US", "GB", "DE"} and len(countries) == 3
