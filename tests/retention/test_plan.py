"""The retention plan over the reference manifest: which rules govern which collections, with a generated table."""

from __future__ import annotations

import datetime as dt
import random
from functools import cache

import pyarrow as pa
import pytest

from privet.engines.retention import due, sweep
from privet.fulfilment.erasure import ActionKind, ReasonCode
from privet.fulfilment.graph import build_graph
from privet.fulfilment.ports import Column, ColumnType
from privet.manifest.model import Manifest
from privet.manifest.processing import FinalAction
from privet.retention import (
    Fact,
    FactsError,
    Hold,
    HoldScope,
    Missing,
    RetentionState,
    evaluate_plan,
    evaluate_rows,
    governing,
    legal_holds_for,
    plan_retention,
)
from privet.retention.plan import manifest_facts
from privet.retention.report import RetentionReport, report_lines
from privet.retention.rules import TRIGGER_FACTS
from privet.workspace.manifest_files import load_manifest
from tests.conftest import REPO

AS_OF = dt.date(2025, 6, 30)
T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
FACTS = {
    "accounts_db.users": {"relationship_end": "closed_at", "jurisdiction": "country", "person": "user_id",
                          "purpose_fulfilled": "last_order_done", "legal_claim": "claim"},
    "orders_db.orders": {"purpose_fulfilled": "delivered_at", "jurisdiction": "country", "person": "user_id"},
}  # fmt: skip


@cache
def anker() -> Manifest:
    return load_manifest(REPO / "examples" / "anker").manifest


def hold(scope: HoldScope, target: str, hold_id: str = "hold-1") -> Hold:
    return Hold(hold_id, scope, target, "warranty dispute", "legal", T0)


def test_activities_bring_their_rules_to_the_collections_of_their_systems() -> None:
    governed = governing(anker(), build_graph(anker().datasets))
    assert set(governed["accounts_db.users"]) == {"relationship", "purpose"}
    assert set(governed["orders_db.orders"]) == {"statutory_records", "purpose"}
    assert "transactions_and_payment" in governed["orders_db.payments"]["statutory_records"]
    assert set(governed["support_db.chats"]) == {"purpose"}
    assert set(governed["health_db.measurements"]) == {"relationship"}


def test_the_plan_orders_children_before_parents_and_lists_what_no_rule_governs() -> None:
    plan = plan_retention(anker(), FACTS, AS_OF)
    order = [s.collection for s in plan.scopes]
    assert order.index("accounts_db.addresses") < order.index("accounts_db.users")
    assert order.index("orders_db.payments") < order.index("orders_db.orders")
    assert plan.ungoverned == () and plan.skipped == {}
    users = plan.scope("accounts_db.users")
    assert users.key_field == "user_id" and users.columns[0] == "user_id"
    assert {"user_accounts", "social_login"} <= set(users.activities)
    assert plan.only("order_management").scopes[0].system == "order_management"


def test_a_wrong_facts_mapping_lists_every_problem() -> None:
    with pytest.raises(FactsError) as err:
        plan_retention(anker(), {"nope.table": {}, "accounts_db.users": {"closed": "x", "person": ""}}, AS_OF)
    assert len(err.value.problems) == 3
    assert "nope.table: no such collection" in str(err.value)
    assert "accounts_db.users.closed: not a fact" in str(err.value)


def test_holds_cover_collections_by_system_category_and_name() -> None:
    holds = [hold(HoldScope.SYSTEM, "order_management", "h-sys"), hold(HoldScope.CATEGORY, "user.health_and_medical",
             "h-cat"), hold(HoldScope.COLLECTION, "support_db.chats", "h-col"), hold(HoldScope.PERSON, "u7", "h-p")]  # fmt: skip
    plan = plan_retention(anker(), FACTS, AS_OF, holds)
    assert plan.holds == tuple(holds)
    assert plan.scope("orders_db.payments").hold_ids == ("h-sys",)
    assert plan.scope("health_db.measurements").hold_ids == ("h-cat",)
    assert plan.scope("health_db.profiles").hold_ids == ("h-cat",)
    assert plan.scope("support_db.chats").hold_ids == ("h-col",)
    assert plan.scope("accounts_db.users").hold_ids == ()
    assert plan.scope("accounts_db.users").person_holds == {"u7": ("h-p",)}
    assert plan.scope("orders_db.payments").person_unknown  # no person column mapped: due rows stay undecidable
    assert not plan.scope("accounts_db.addresses").person_unknown  # it follows users, whose records say whose


def test_anonymising_where_preferred_and_possible() -> None:
    live = {"support_db.tickets": {"email": Column("email", ColumnType.TEXT, nullable=False)}}
    plan = plan_retention(anker(), FACTS, AS_OF, live=live, prefer=FinalAction.ANONYMISE)
    tickets = plan.scope("support_db.tickets")
    assert tickets.due is RetentionState.DUE_ANONYMISE
    assert tickets.masks["email"] == "fixed" and tickets.masks["user_id"] == "null"  # an id is nulled, not hashed
    assert "ticket_id" not in tickets.masks and "mailing_address" in tickets.masks
    users = plan.scope("accounts_db.users")  # its key is personal: only deleting removes it
    assert users.due is RetentionState.DUE_DELETE and users.masks == {}
    assert any("is personal data" in n for n in users.notes)
    assert plan_retention(anker(), FACTS, AS_OF).scope("support_db.tickets").due is RetentionState.DUE_DELETE


def generated(seed: int, n: int) -> dict[str, pa.Table]:
    rnd = random.Random(seed)

    def day(p_empty: float) -> dt.date | None:
        return None if rnd.random() < p_empty else dt.date(2012, 1, 1) + dt.timedelta(days=rnd.randrange(4900))

    countries = ["DE", "FR", "GB", "CH", "us-ca", "us-tx", "JP", None]
    users = [{"user_id": f"u{i}", "closed_at": day(0.3), "last_order_done": day(0.1), "country": rnd.choice(countries),
              "claim": rnd.random() < 0.05} for i in range(n)]  # fmt: skip
    orders = [{"order_id": f"o{i}", "user_id": f"u{rnd.randrange(n)}", "delivered_at": day(0.05),
               "country": rnd.choice(countries)} for i in range(2 * n)]  # fmt: skip
    telemetry = [{"id": i, "serial_number": f"s{i}"} for i in range(n)]
    owners = [f"u{i}" for i in range(n)] + [None, "nobody"]  # an empty reference, and one naming no user
    addresses = [{"id": i, "user_id": rnd.choice(owners)} for i in range(n)]
    return {"accounts_db.users": pa.Table.from_pylist(users), "orders_db.orders": pa.Table.from_pylist(orders),
            "devices_db.telemetry": pa.Table.from_pylist(telemetry),
            "accounts_db.addresses": pa.Table.from_pylist(addresses)}  # fmt: skip


def test_a_sweep_of_generated_tables_matches_the_record_by_record_evaluation() -> None:
    tables = generated(7, 3000)
    plan = plan_retention(anker(), FACTS, AS_OF, [hold(HoldScope.PERSON, "u7")])
    report = sweep(plan, tables)
    expected, _ = evaluate_plan(plan, {k: t.to_pylist() for k, t in tables.items()})
    assert report == expected
    users = report.result("accounts_db.users")
    assert users is not None and users.total == 3000
    for state in (RetentionState.ACTIVE, RetentionState.RESTRICTED, RetentionState.DUE_DELETE, RetentionState.HELD,
                  RetentionState.UNDECIDABLE):  # fmt: skip
        assert users.count(state) > 0, state
    addresses = report.result("accounts_db.addresses")  # they follow the users they belong to
    assert addresses is not None and addresses.total == 3000
    assert addresses.count(RetentionState.DUE_DELETE) and addresses.count(RetentionState.HELD)
    orphans = [t for t in addresses.tallies if t.missing is Missing.PARENT]
    assert orphans and orphans[0].state is RetentionState.UNDECIDABLE and orphans[0].rule == "relationship"
    telemetry = report.result("devices_db.telemetry")  # it follows devices, which were not read
    assert telemetry is not None
    assert telemetry.error == "it follows devices_db.devices, which could not be evaluated (not read)"
    assert report.result("support_db.chats") is not None and report.result("support_db.chats").error == "not read"  # type: ignore[union-attr]
    rows = report.rows()
    jp = [r for r in rows if r["collection"] == "accounts_db.users" and r.get("missing") == "jurisdiction"]
    assert jp and "empty or not mapped" in jp[0]["why"]
    assert any(r.get("limitation", "").startswith("3 years (Regular limitation period") for r in rows)
    summary = report.as_json()
    assert summary["holds"] == ["hold-1 on person u7: warranty dispute (owner legal)"]
    assert summary["totals"]["due_delete"] == sum(r["count"] for r in rows if r["state"] == "due_delete")


def test_due_users_are_deleted_for_a_reason_that_cites_the_notice() -> None:
    tables = generated(8, 500)
    plan = plan_retention(anker(), FACTS, AS_OF)
    scope = plan.scope("accounts_db.users")
    _, evaluations = evaluate_rows(scope, AS_OF, tables["accounts_db.users"].to_pylist())
    actions = [a for batch in due(scope, tables["accounts_db.users"], AS_OF).batches(50) for a in batch]
    assert sorted(k for a in actions for k in a.keys) == sorted(
        k for k, ev in evaluations if ev.state is RetentionState.DUE_DELETE
    )
    assert {a.kind for a in actions} == {ActionKind.DELETE}
    assert all(a.reason.code is ReasonCode.RETENTION and a.reason.cite and "Section 8" in a.reason.cite
               for a in actions)  # fmt: skip


def test_holds_become_erasure_holds_for_the_person_they_name() -> None:
    graph = build_graph(anker().datasets)
    released = Hold("h-old", HoldScope.PERSON, "ann@example.com", "settled", "legal", T0, T0 + dt.timedelta(days=1))
    holds = [hold(HoldScope.PERSON, "ann@example.com", "h-ann"), hold(HoldScope.PERSON, "bob@example.com", "h-bob"),
             hold(HoldScope.SYSTEM, "order_management", "h-sys"), hold(HoldScope.CATEGORY, "user.payment", "h-cat"),
             released]  # fmt: skip
    got = legal_holds_for(holds, graph, ["ann@example.com", "u1"], T0 + dt.timedelta(days=2))
    assert [h.key for h in got] == ["h-ann", "h-sys", "h-cat"]
    assert got[0].collections == () and got[2].categories == ("user.payment",)
    assert "orders_db.orders" in got[1].collections and "accounts_db.users" not in got[1].collections


def test_the_reference_datasets_start_every_clock_where_they_declare_facts() -> None:
    """Where a collection declares facts, each rule governing it finds a trigger and a jurisdiction; the collections
    declaring none are children whose rows follow a parent row (the plan shows them undecidable, never due)."""
    manifest = anker()
    graph = build_graph(manifest.datasets)
    facts = manifest_facts(manifest)
    without = []
    for key, rules in governing(manifest, graph).items():
        if key not in facts:
            without.append(key)
            assert any(e.source != key for e in graph.incoming(key)), f"{key} is no child and declares no facts"
            continue
        assert Fact.JURISDICTION in facts[key], key
        for rule in rules:
            triggers = {TRIGGER_FACTS[t] for t in manifest.retention[rule].triggers}
            assert triggers & set(facts[key]), (key, rule)
    assert len(without) < len(facts)
    assert {"accounts_db.users", "orders_db.orders", "devices_db.devices", "support_db.tickets",
            "marketing_db.subscribers", "forum_db.members"} <= set(facts)  # fmt: skip


def test_the_report_reads_as_lines_grouped_by_system_and_collection() -> None:
    tables = generated(9, 400)
    plan = plan_retention(anker(), FACTS, AS_OF, [hold(HoldScope.PERSON, "u7")])
    report = sweep(plan, tables)
    lines = report_lines(report, "Retention plan as of 2025-06-30")
    assert lines[:3] == ["Retention plan as of 2025-06-30", "Legal holds in force: 1",
                         "  hold-1 on person u7: warranty dispute (owner legal)"]  # fmt: skip
    users = lines.index("anker_account: accounts_db.users")
    assert "  not swept: devices_db.telemetry: it follows devices_db.devices, which could not be evaluated " \
           "(not read)" in lines  # fmt: skip
    addresses = lines.index("anker_account: accounts_db.addresses")
    orphans = next(line for line in lines[addresses + 1 :] if " undecidable " in line and "belongs to" in line)
    assert orphans.endswith("(the record it belongs to is not there: its user_id is empty or names no record of "
                            "accounts_db.users)")  # fmt: skip
    assert "  note: accounts_db.addresses: maps no trigger of its own, so each record follows the accounts_db.users " \
           "record its user_id names (state, deciding rule and dates); a record naming none is undecidable" in lines  # fmt: skip
    rows = [line for line in lines[users + 1 :] if line.startswith("  ") and not line.startswith("   ")]
    assert any(" due_delete " in line and "limitation period 3 years" in line for line in rows[:12])
    (totals,) = [line for line in lines if line.startswith("Totals: ")]
    assert f"undecidable {report.totals()['undecidable']:,}" in totals
    assert "  not swept: support_db.chats: not read" in lines
    empty = report_lines(RetentionReport(plan.only("nonesuch"), ()), "nothing")
    assert empty == ["nothing", "Legal holds in force: 1", "  hold-1 on person u7: warranty dispute (owner legal)",
                     "Totals: no records read"]  # fmt: skip


def test_the_reference_children_follow_their_parents_and_are_erased_first() -> None:
    plan = plan_retention(anker(), FACTS, AS_OF)
    follows = {s.collection: s.follows.parent for s in plan.scopes if s.follows is not None}
    assert len(follows) == 14 and all(not manifest_facts(anker()).get(c) for c in follows)
    assert follows["accounts_db.addresses"] == "accounts_db.users"
    assert follows["orders_db.shipments"] == "orders_db.orders"
    assert follows["forum_db.posts"] == "forum_db.members"
    assert follows["accounts_db.loyalty"] == "accounts_db.users"  # its key is the user's: a one-to-one extension
    order = [s.collection for s in plan.scopes]
    assert all(order.index(child) < order.index(parent) for child, parent in follows.items())
    assert plan.notes == ()
    social = plan.scope("accounts_db.social_logins")  # governed by "relationship" only; users by "purpose" too
    assert [r.key for r in social.rules] == ["relationship"]
    assert [r.key for r in social.deciders] == ["relationship", "purpose"]
    # One system: the parents its collections follow elsewhere are evaluated, neither shown nor changed.
    devices = plan.only("device_cloud")
    assert "devices_db.telemetry" in [s.collection for s in devices.scopes]
    assert [s.collection for s in devices.context] == ["accounts_db.users"]  # design files follow users
    order = [s.collection for s in devices.evaluation_order]
    assert order.index("accounts_db.users") < order.index("devices_db.design_files")
    assert order.index("devices_db.devices") < order.index("devices_db.telemetry")


def test_anonymising_empties_the_links_to_peoples_records() -> None:
    """A measurement names its profile by an operational id, not personal data on its own; once anonymised it must
    not name the profile any more. A ticket whose order reference takes no NULL cannot let go: it is deleted."""
    live = {"support_db.tickets": {"order_id": Column("order_id", ColumnType.TEXT, nullable=False)}}
    plan = plan_retention(anker(), FACTS, AS_OF, live=live, prefer=FinalAction.ANONYMISE)
    measurements = plan.scope("health_db.measurements")
    assert measurements.due is RetentionState.DUE_ANONYMISE and measurements.masks["profile_id"] == "null"
    assert plan.scope("forum_db.posts").masks["member_id"] == "null"
    tickets = plan.scope("support_db.tickets")
    assert tickets.due is RetentionState.DUE_DELETE and tickets.masks == {}
    assert any("order_id links each row to a record of orders_db.orders and takes no NULL" in n for n in tickets.notes)
