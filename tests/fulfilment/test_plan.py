"""Access and erasure plans: multi-hop reads, directions, unreachable collections, loops, erase order."""

from __future__ import annotations

from typing import Any

import pytest

from privet.fulfilment.graph import build_graph
from privet.fulfilment.plan import AccessPlan, Input, PlanError, Unreachable, plan_access, plan_erasure
from privet.workspace.manifest_files import load_manifest
from tests.conftest import MINIMAL, REPO
from tests.fulfilment.shop import graph, pk, ref, shop


def test_minimal_fixture_plan_reads_readably() -> None:
    g = build_graph(load_manifest(MINIMAL).manifest.datasets)
    plan = plan_erasure(g, {"email": ["ann@example.test"]})
    assert plan.describe() == [
        "Read, starting from the request's email:",
        "  1. shop_db.customers [shop]",
        "       where email = the request's email",
        "  2. shop_db.orders [shop]",
        "       where customer_id = shop_db.customers.id (step 1)",
        "Then erase, children before parents:",
        "  1. shop_db.orders",
        "  2. shop_db.customers",
        "       after shop_db.orders: it holds the key (shop_db.orders.customer_id -> shop_db.customers.id)",
    ]


def test_multi_hop_from_email() -> None:
    plan = plan_access(graph(shop()), {"email": ["ann@example.test"], "phone_number": []})
    assert plan.identities == ("email",)  # an identity without values is not used
    assert plan.collections == ("shop.users", "shop.orders", "shop.reviews", "mail.subscribers", "shop.order_items")
    assert plan.step("shop.users").inputs == (
        Input("email", identity="email"),
        Input("profile.login_email", identity="email"),
    )
    assert plan.step("shop.orders").inputs == (Input("user_id", upstream="shop.users", upstream_field="id"),)
    assert plan.step("shop.order_items").inputs == (Input("order_id", upstream="shop.orders", upstream_field="id"),)
    # The reference declared on users with `to` reaches reviews.
    assert plan.step("shop.reviews").inputs == (Input("author_id", upstream="shop.users", upstream_field="id"),)
    # The undirected reference is followed away from the identity only: subscribers feed nothing back into users.
    assert plan.step("mail.subscribers").inputs == (
        Input("address", upstream="shop.users", upstream_field="profile.login_email"),
    )
    assert plan.step("mail.subscribers").system == "mailer"
    assert plan.step("shop.order_items").upstream == ("shop.orders",)


def test_unreachable_collections_say_why() -> None:
    plan = plan_access(graph(shop()), {"email": ["ann@example.test"]})
    assert plan.unreachable == (
        Unreachable("shop.audit_log", "it holds no identity and no reference leads into it"),
        Unreachable(
            "shop.devices",
            "it holds the identity device_serial, which the request does not give; no reference leads into it",
        ),
    )
    with pytest.raises(KeyError):
        plan.step("shop.devices")


def test_a_second_identity_reaches_more() -> None:
    plan = plan_access(graph(shop()), {"email": ["a@x.test"], "device_serial": ["SN1"]})
    assert plan.step("shop.devices").inputs == (Input("serial", identity="device_serial"),)
    assert [u.collection for u in plan.unreachable] == ["shop.audit_log"]


def test_reverse_direction_reads_the_other_way() -> None:
    # orders.user_id `to` users.id: values flow from orders to users, so with only an order id, users come second.
    raw = {
        "d": {
            "collections": {
                "users": {"fields": {"id": pk()}},
                "orders": {"fields": {"id": pk(identity="order_id"), "user_id": ref("d.users.id", "to")}},
            }
        }
    }
    plan = plan_access(graph(raw), {"order_id": ["o1"]})
    assert plan.collections == ("d.orders", "d.users")
    assert plan.step("d.users").inputs == (Input("id", upstream="d.orders", upstream_field="user_id"),)
    # With `from`, the same identity reaches nothing beyond orders.
    raw["d"]["collections"]["orders"]["fields"]["user_id"] = ref("d.users.id", "from")
    plan = plan_access(graph(raw), {"order_id": ["o1"]})
    assert plan.collections == ("d.orders",)
    assert plan.unreachable == (Unreachable("d.users", "it holds no identity and no reference leads into it"),)


def test_reached_only_from_unreached_collections() -> None:
    plan = plan_access(graph(shop()), {"device_serial": ["SN1"]})
    reasons = {u.collection: u.reason for u in plan.unreachable}
    assert reasons["shop.order_items"] == "the collections that lead into it (shop.orders) are not reached"
    assert reasons["shop.users"] == (
        "it holds the identity email, which the request does not give; "
        "the collections that lead into it (mail.subscribers) are not reached"
    )


def test_no_usable_identity() -> None:
    plan = plan_access(graph(shop()), {"cookie_id": ["c1"]})
    assert plan.steps == ()
    assert plan.notes == ("no collection holds the identity 'cookie_id'",)
    lines = plan.describe()
    assert lines[:2] == [
        "Read, starting from the request's cookie_id:",
        "  nothing: no collection holds an identity the request gives",
    ]
    assert "Notes:" in lines


def loop(after: list[str] | None = None) -> dict[str, dict[str, Any]]:
    return {
        "d": {
            "collections": {
                "a": {
                    "fields": {"id": pk(identity="email"), "b_code": ref("d.b.code", "to")},
                },
                "b": {
                    "after": after or [],
                    "fields": {"code": pk("string"), "a_ref": ref("d.a.id", "to")},
                },
            }
        }
    }


def test_a_loop_is_an_error_naming_it() -> None:
    with pytest.raises(PlanError) as caught:
        plan_access(graph(loop()), {"email": ["a@x.test"]})
    assert str(caught.value) == (
        "dataset references form a loop: d.a -> d.b -> d.a (d.a.b_code -> d.b.code; d.b.a_ref -> d.a.id); "
        "give one of these collections `after:` (for reading) or `erase_after:` (for erasing) to order them"
    )


def test_after_orders_a_loop() -> None:
    plan = plan_access(graph(loop(after=["d.a"])), {"email": ["a@x.test"]})
    assert plan.collections == ("d.a", "d.b")
    assert plan.step("d.b").inputs == (Input("code", upstream="d.a", upstream_field="b_code"),)
    assert plan.notes == ("d.b.a_ref -> d.a.id is not followed: `after` reads d.a before d.b",)


def test_after_orders_reads_without_a_reference() -> None:
    raw = shop()
    raw["shop"]["collections"]["users"]["after"] = ["mail.subscribers"]
    raw["mail"]["collections"]["subscribers"]["fields"]["address"]["identity"] = "email"
    plan = plan_access(graph(raw), {"email": ["a@x.test"]})
    assert plan.collections.index("mail.subscribers") < plan.collections.index("shop.users")


def test_after_can_leave_a_collection_unreached() -> None:
    raw = loop(after=["d.a"])
    raw["d"]["collections"]["a"]["fields"]["id"].pop("identity")
    raw["d"]["collections"]["b"]["fields"]["code"]["identity"] = "email"
    plan = plan_access(graph(raw), {"email": ["a@x.test"]})
    assert plan.collections == ("d.b",)
    assert plan.unreachable == (Unreachable("d.a", "only references that `after` orders the other way lead into it"),)


def test_skipped_and_self_references() -> None:
    raw = shop()
    raw["shop"]["collections"]["orders"]["skip_processing"] = True
    raw["shop"]["collections"]["reviews"]["fields"]["reply_to"] = ref("shop.reviews.id", "from")
    plan = plan_access(graph(raw), {"email": ["a@x.test"]})
    assert "shop.orders" not in plan.collections
    assert Unreachable("shop.orders", "skip_processing is set") in plan.unreachable
    assert "shop.reviews.id -> shop.reviews.reply_to stays within one collection and is not followed" in plan.notes


def test_plan_is_a_frozen_value() -> None:
    plan = plan_access(graph(shop()), {"email": ["a@x.test"]})
    assert isinstance(plan, AccessPlan)
    with pytest.raises(AttributeError):
        plan.steps = ()  # type: ignore[misc]
    assert plan == plan_access(graph(shop()), {"email": ["b@x.test"]})  # the plan depends on identity types only


def test_erasure_children_before_parents() -> None:
    plan = plan_erasure(graph(shop()), {"email": ["a@x.test"]})
    order = plan.order
    assert order.index("shop.order_items") < order.index("shop.orders") < order.index("shop.users")
    # Declared on users (`to`), but reviews holds the key users.id: reviews is the child.
    assert order.index("shop.reviews") < order.index("shop.users")
    users = next(s for s in plan.steps if s.collection == "shop.users")
    assert dict(users.after) == {
        "shop.orders": "it holds the key (shop.orders.user_id -> shop.users.id)",
        "shop.reviews": "it holds the key (shop.users.id -> shop.reviews.author_id)",
    }
    assert "Then erase, children before parents:" in plan.describe()


def test_erase_after_adds_order() -> None:
    raw = shop()
    raw["shop"]["collections"]["reviews"]["erase_after"] = ["mail.subscribers"]
    plan = plan_erasure(graph(raw), {"email": ["a@x.test"]})
    assert plan.order.index("mail.subscribers") < plan.order.index("shop.reviews")
    reviews = next(s for s in plan.steps if s.collection == "shop.reviews")
    assert reviews.after == (("mail.subscribers", "erase_after"),)


def keys_loop(erase_after: list[str] | None = None) -> dict[str, dict[str, Any]]:
    # a holds b's key and b holds a's: reading is ordered by `after`, erasing is not.
    return {
        "d": {
            "collections": {
                "a": {
                    "erase_after": erase_after or [],
                    "fields": {"id": pk(identity="email"), "b_id": ref("d.b.id", "to")},
                },
                "b": {"after": ["d.a"], "fields": {"id": pk(), "a_id": ref("d.a.id", "to")}},
            }
        }
    }


def test_erasure_key_loop_is_an_error() -> None:
    with pytest.raises(PlanError, match=r"keys held between collections form a loop: d\.(a|b) -> d\.(a|b) -> d\."):
        plan_erasure(graph(keys_loop()), {"email": ["a@x.test"]})


def test_erase_after_breaks_a_key_loop() -> None:
    plan = plan_erasure(graph(keys_loop(erase_after=["d.b"])), {"email": ["a@x.test"]})
    assert plan.order == ("d.b", "d.a")
    assert plan.notes == ("d.b is erased before d.a, which holds its key (d.a.b_id -> d.b.id): erase_after says so",)


def test_the_reference_example_is_reached_from_an_email() -> None:
    m = load_manifest(REPO / "examples" / "anker").manifest
    plan = plan_erasure(build_graph(m.datasets), {"email": ["ann@example.test"]})
    assert plan.access.unreachable == ()
    assert plan.order[-1] == "accounts_db.users"  # every account collection holds its key
