"""The datasets graph: nodes, seeds, edges by direction, nested fields, and dangling names reported at once."""

from __future__ import annotations

import pytest

from privet.fulfilment.graph import Edge, GraphError, Seed, build_graph
from privet.workspace.manifest_files import load_manifest
from tests.conftest import MINIMAL
from tests.fulfilment.shop import graph, pk, ref, shop


def test_minimal_fixture_compiles() -> None:
    g = build_graph(load_manifest(MINIMAL).manifest.datasets)
    assert list(g.collections) == ["shop_db.customers", "shop_db.orders"]
    assert g.seeds == (Seed("email", "shop_db.customers", "email"),)
    # `direction: from` on orders.customer_id: values flow from customers.id into it, one way only.
    assert g.edges == (Edge("shop_db.customers", "id", "shop_db.orders", "customer_id", directed=True),)
    assert g.node("shop_db.customers").system == "shop"
    assert g.node("shop_db.orders").primary_key == ("id",)


def test_directions_give_edges() -> None:
    g = graph(shop())
    edges = {str(e): e.directed for e in g.edges}
    assert edges == {
        "shop.users.id -> shop.reviews.author_id": True,  # declared on users with `to`
        "shop.users.id -> shop.orders.user_id": True,  # declared on orders with `from`
        "shop.orders.id -> shop.order_items.order_id": True,
        # no direction: both ways, and a nested field is addressed with dots
        "mail.subscribers.address -> shop.users.profile.login_email": False,
        "shop.users.profile.login_email -> mail.subscribers.address": False,
    }
    assert g.outgoing("shop.orders") == (Edge("shop.orders", "id", "shop.order_items", "order_id", True),)
    assert {e.source for e in g.incoming("shop.users")} == {"mail.subscribers"}


def test_nested_fields_are_addressed_with_dots_and_inherit_categories() -> None:
    users = graph(shop()).node("shop.users")
    assert [f.path for f in users.fields] == [
        "id",
        "email",
        "name",
        "profile",
        "profile.login_email",
        "profile.address",
        "profile.address.city",
    ]
    profile, login, address, city = (
        users.field(p) for p in ("profile", "profile.login_email", "profile.address", "profile.address.city")
    )
    assert profile is not None and not profile.leaf
    assert login is not None and login.leaf and login.categories == ("user.account",)  # from the enclosing object
    assert address is not None and address.categories == ("user.account",) and not address.leaf
    assert city is not None and city.categories == ("user.contact.address.city",)
    assert [f.path for f in users.leaves] == ["id", "email", "name", "profile.login_email", "profile.address.city"]


def test_seeds_include_nested_identities() -> None:
    g = graph(shop())
    assert g.seeds == (
        Seed("email", "shop.users", "email"),
        Seed("email", "shop.users", "profile.login_email"),
        Seed("device_serial", "shop.devices", "serial"),
    )
    assert g.identity_types == ("email", "device_serial")


def test_reference_declared_from_both_ends_keeps_the_direction() -> None:
    g = graph(
        {
            "d": {
                "collections": {
                    "a": {"fields": {"id": pk(identity="user_id", references=[{"to": "d.b.a_id"}])}},
                    "b": {"fields": {"id": pk(), "a_id": ref("d.a.id", "from")}},
                }
            }
        }
    )
    assert {str(e): e.directed for e in g.edges} == {"d.a.id -> d.b.a_id": True, "d.b.a_id -> d.a.id": False}


def test_personal_means_a_category_outside_system() -> None:
    g = graph(
        {
            "d": {
                "collections": {
                    "c": {
                        "fields": {
                            "id": pk(categories=["system.operations"]),
                            "note": {"categories": ["system.operations", "user.content"]},
                            "plain": {},
                        }
                    }
                }
            }
        }
    )
    node = g.node("d.c")
    assert [f.path for f in node.fields if f.personal] == ["note"]


def test_dangling_names_are_all_reported() -> None:
    raw = {
        "d": {
            "collections": {
                "a": {
                    "after": ["d.nowhere"],
                    "fields": {
                        "id": pk(),
                        "x": ref("d.missing.id"),
                        "y": ref("d.b.nope"),
                        "z": ref("d.b"),
                    },
                },
                "b": {"erase_after": ["x.y"], "fields": {"id": pk()}},
            }
        }
    }
    with pytest.raises(GraphError) as caught:
        graph(raw)
    assert caught.value.problems == (
        "d.a.x references d.missing.id, but no collection 'd.missing' exists",
        "d.a.y references d.b.nope, but d.b has no field 'nope'",
        "d.a.z references d.b, but d.b has no field ''",
        "d.a has after: d.nowhere, which is no collection",
        "d.b has erase_after: x.y, which is no collection",
    )


def test_unknown_collection() -> None:
    with pytest.raises(GraphError, match=r"no collection 'x\.y'"):
        graph(shop()).node("x.y")


def test_key_links_name_the_fields_that_hold_another_collections_key_whichever_end_declares_them() -> None:
    g = graph(shop())
    assert g.key_links("shop.orders") == {"user_id": "shop.users"}  # declared by the holder
    assert g.key_links("shop.reviews") == {"author_id": "shop.users"}  # declared by the users' key
    assert g.key_links("shop.users") == {}  # it is referenced, it holds no other key
    assert g.key_links("shop.order_items") == {"order_id": "shop.orders"}
    assert g.key_links("mail.subscribers") == {}  # it names users by an email inside them, not by their key
