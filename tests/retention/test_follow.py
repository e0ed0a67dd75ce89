"""Which collections follow which parent, in which order, and what a child record inherits from its parent's."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from privet.fulfilment.graph import DatasetGraph, build_graph
from privet.manifest.datasets import Dataset
from privet.retention import Evaluation, Fact, Missing, RetentionState, evaluate_rows, inherit
from privet.retention.follow import evaluation_order, keep, resolve
from privet.retention.plan import RetentionPlan, Scope
from tests.retention.rules import rule, scope

D = dt.date
RELATIONSHIP, OTHER = rule(), rule("other", triggers=["last_activity"], limitation_periods=[])


def graph(collections: dict[str, dict[str, Any]]) -> DatasetGraph:
    """One dataset `db` of collections, each field written as {"pk": True} or {"to": "db.x.y"}."""
    spelled = {
        name: {"fields": {f: {"primary_key": bool(spec.get("pk")), "categories": ["user.name"],
                              "references": [{"to": spec["to"]}] if "to" in spec else []}
                          for f, spec in fields.items()}}
        for name, fields in collections.items()
    }  # fmt: skip
    return build_graph({"db": Dataset.model_validate({"key": "db", "system": "crm", "collections": spelled})})


def scoped(name: str, key: str = "id", facts: dict[Fact, str] | None = None, *rules: Any) -> Scope:
    base = scope(*(rules or (RELATIONSHIP,)), facts=facts if facts is not None else {})
    return dataclasses.replace(base, collection=f"db.{name}", key_field=key)


CLOSED = {Fact.RELATIONSHIP_END: "closed_at"}


def test_a_chain_follows_up_to_the_collection_that_decides_children_first() -> None:
    g = graph({
        "users": {"id": {"pk": True}},
        "orders": {"id": {"pk": True}, "user_id": {"to": "db.users.id"}},
        "lines": {"id": {"pk": True}, "order_id": {"to": "db.orders.id"}},
    })  # fmt: skip
    users = scoped("users", "id", CLOSED, RELATIONSHIP, OTHER)
    got, notes = resolve([users, scoped("orders"), scoped("lines")], g)
    assert [s.collection for s in got] == ["db.lines", "db.orders", "db.users"]  # no parent before its follower
    lines, orders, top = got
    assert top.follows is None and notes == []
    assert orders.follows is not None and (orders.follows.parent, orders.follows.field) == ("db.users", "user_id")
    assert lines.follows is not None and (lines.follows.parent, lines.follows.field) == ("db.orders", "order_id")
    assert [r.key for r in lines.deciders] == ["relationship", "other"]  # its own, then its parents'
    assert lines.columns == ("id", "order_id") and not lines.person_unknown
    assert "each record follows the db.orders record its order_id names" in lines.notes[0]
    assert [s.collection for s in evaluation_order(got)] == ["db.users", "db.orders", "db.lines"]


def test_facts_of_its_own_win_and_a_reference_declared_on_the_parent_counts() -> None:
    g = graph({
        "users": {"id": {"pk": True, "to": "db.notes.user_id"}},
        "notes": {"id": {"pk": True}, "user_id": {}},
        "orders": {"id": {"pk": True}, "user_id": {"to": "db.users.id"}},
    })  # fmt: skip
    got, _ = resolve([scoped("notes"), scoped("orders", facts=CLOSED), scoped("users", facts=CLOSED)], g)
    notes, orders, _users = got
    assert notes.follows is not None and (notes.follows.parent, notes.follows.field) == ("db.users", "user_id")
    assert orders.follows is None  # it maps a trigger: its own clock
    person_only = scoped("orders", facts={Fact.PERSON: "user_id", Fact.RESTRICTED: "flag"})
    got, _ = resolve([person_only, scoped("users", facts=CLOSED)], g)
    assert got[0].follows is not None  # a person or a restriction flag starts no clock


def test_a_loop_of_followers_stops_and_the_plan_says_why() -> None:
    g = graph({
        "a": {"id": {"pk": True}, "b_id": {"to": "db.b.id"}},
        "b": {"id": {"pk": True}, "a_id": {"to": "db.a.id"}},
        "c": {"id": {"pk": True}, "c_id": {"to": "db.c.id"}},  # itself only
    })  # fmt: skip
    got, notes = resolve([scoped("a"), scoped("b"), scoped("c")], g)
    assert all(s.follows is None for s in got) and [s.collection for s in got] == ["db.a", "db.b", "db.c"]
    assert len(notes) == 2 and "loop" in notes[0] and "map a trigger (facts:) on it" in notes[0]
    # A loop with a way out: b follows a, which follows c.
    g = graph({
        "a": {"id": {"pk": True}, "b_id": {"to": "db.b.id"}, "c_id": {"to": "db.c.id"}},
        "b": {"id": {"pk": True}, "a_id": {"to": "db.a.id"}},
        "c": {"id": {"pk": True}},
    })  # fmt: skip
    got, notes = resolve([scoped("a"), scoped("b"), scoped("c", facts=CLOSED)], g)
    parents = {s.collection: s.follows.parent if s.follows else None for s in got}
    assert parents == {"db.a": "db.c", "db.b": "db.a", "db.c": None} and notes == []
    assert [s.collection for s in got] == ["db.b", "db.a", "db.c"]
    assert "it also references db.b, which it does not follow" in got[1].notes[0]


def test_one_system_is_evaluated_with_its_context_in_other_systems() -> None:
    g = graph({"users": {"id": {"pk": True}}, "orders": {"id": {"pk": True}, "user_id": {"to": "db.users.id"}},
               "lines": {"id": {"pk": True}, "order_id": {"to": "db.orders.id"}}})  # fmt: skip
    got, _ = resolve([scoped("orders"), dataclasses.replace(scoped("users", facts=CLOSED), system="accounts"),
                      dataclasses.replace(scoped("lines"), system="shop")], g)  # fmt: skip
    crm = RetentionPlan(D(2025, 1, 1), tuple(got), (), ()).only("crm")
    assert [s.collection for s in crm.scopes] == ["db.orders"]
    # users: the parent orders follow; lines: they follow orders, and a held line holds its order.
    assert sorted(s.collection for s in crm.context) == ["db.lines", "db.users"]
    assert [s.collection for s in crm.evaluation_order] == ["db.users", "db.orders", "db.lines"]
    accounts = RetentionPlan(D(2025, 1, 1), tuple(got), (), ()).only("accounts")
    assert [s.collection for s in accounts.scopes] == ["db.users"]
    assert [s.collection for s in accounts.evaluation_order] == ["db.users", "db.orders", "db.lines"]


PARENT_DUE = Evaluation(RetentionState.DUE_DELETE, RELATIONSHIP, D(2020, 1, 1), D(2023, 3, 1))


@pytest.mark.parametrize(
    ("parent", "kwargs", "state", "missing"),
    [
        (None, {}, RetentionState.UNDECIDABLE, Missing.PARENT),
        (PARENT_DUE, {}, RetentionState.DUE_ANONYMISE, None),  # the child's own final action
        (PARENT_DUE, {"holds": ("h-1",)}, RetentionState.HELD, None),  # the child's holds still apply
        (PARENT_DUE, {"claim": True}, RetentionState.HELD, None),
        (dataclasses.replace(PARENT_DUE, state=RetentionState.HELD, holds=("h-p",)), {}, RetentionState.HELD, None),
        (dataclasses.replace(PARENT_DUE, state=RetentionState.RESTRICTED), {}, RetentionState.RESTRICTED, None),
        (Evaluation(RetentionState.UNDECIDABLE, OTHER, missing=Missing.JURISDICTION), {}, RetentionState.UNDECIDABLE,
         Missing.JURISDICTION),
    ],
)  # fmt: skip
def test_a_child_record_takes_its_parents_outcome(
    parent: Evaluation | None, kwargs: dict[str, Any], state: RetentionState, missing: Missing | None
) -> None:
    ev = inherit(parent, RELATIONSHIP, due=RetentionState.DUE_ANONYMISE, **kwargs)
    assert (ev.state, ev.missing) == (state, missing)
    if parent is not None:
        assert (ev.rule, ev.delete_on, ev.limitation) == (parent.rule, parent.delete_on, parent.limitation)
    else:
        assert "the record it belongs to is not there" in ev.explain() and "nothing is deleted" in ev.explain()


def test_the_reference_path_needs_the_parents_evaluations() -> None:
    g = graph({"users": {"id": {"pk": True}}, "orders": {"id": {"pk": True}, "user_id": {"to": "db.users.id"}}})
    (orders, _), _ = resolve([scoped("orders"), scoped("users", facts=CLOSED)], g)
    with pytest.raises(ValueError, match=r"db\.orders follows db\.users: pass the parent's evaluations"):
        evaluate_rows(orders, D(2025, 1, 1), [{"id": 1, "user_id": 1}])


def test_a_held_child_record_keeps_a_due_parent_record() -> None:
    kept = keep(PARENT_DUE, ("h-1",))
    assert (kept.state, kept.holds, kept.delete_on) == (RetentionState.HELD, ("h-1",), PARENT_DUE.delete_on)
    restricted = dataclasses.replace(PARENT_DUE, state=RetentionState.RESTRICTED)
    assert keep(restricted, ("h-1",)) is restricted  # only what would be deleted is kept
