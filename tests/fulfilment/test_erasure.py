"""Retention-aware erasure: what to do to each record found (delete, mask, or keep restricted) and why."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from privet.fulfilment.erasure import (
    REQUESTED,
    Action,
    ActionKind,
    ErasureError,
    LegalHold,
    ReasonCode,
    erasure_actions,
)
from privet.fulfilment.graph import build_graph
from privet.fulfilment.plan import plan_erasure
from privet.fulfilment.ports import Column, ColumnType
from privet.manifest.model import Manifest
from privet.workspace.manifest_files import load_manifest

Edit = Callable[[dict[str, Any]], None]
ON = dt.date(2025, 6, 1)
INVOICE_TEXT = (
    "We must keep this to comply with a legal obligation (Invoicing). Until 1 August 2035 it is only stored and"
    " kept secure, and not used for anything else; then it is deleted or anonymised."
)


def shop(data: dict[str, Any]) -> None:
    """The minimal manifest with personal fields, an invoice collection and an invoicing activity required by law."""
    collections = data["datasets"]["shop_db"]["collections"]
    collections["customers"]["fields"] |= {
        "phone": {"data_type": "string", "categories": ["user.contact.phone_number"]},
        "customer_no": {"data_type": "string", "categories": ["user.unique_id"]},
    }
    collections["invoices"] = {
        "fields": {
            "number": {"primary_key": True, "data_type": "string", "categories": ["user.payment.invoice"]},
            "customer_id": {
                "data_type": "string",
                "categories": ["user.unique_id.user_id"],
                "references": [{"to": "shop_db.customers.id", "direction": "from"}],
            },
            "billing_address": {"data_type": "string", "categories": ["user.contact.address.billing"]},
            "amount": {"data_type": "decimal", "categories": ["user.payment.record"]},
            "created": {"data_type": "timestamp", "categories": ["system.operations"]},
        }
    }
    data["retention"]["statutory"] = {
        "name": "Statutory records",
        "triggers": ["purpose_fulfilled"],
        "limitation_periods": [{"jurisdictions": ["eu"], "period": "P10Y"}, {"period": "P7Y"}],
        "grace": "P2M",
        "final_action": "delete_or_anonymise",
    }
    data["activities"]["invoicing"] = {
        "name": "Invoicing",
        "purposes": ["essential.service"],
        "categories": ["user.payment.invoice", "user.contact.address.billing"],
        "subjects": ["customer"],
        "systems": ["shop"],
        "bases": [{"basis": "legal_obligation"}],
        "retention": "statutory",
        "cite": "Section 8",
    }


MakeManifest = Callable[[Edit | None], Path]

ROWS: dict[str, list[dict[str, Any]]] = {
    "shop_db.customers": [{"id": 1, "email": "ann@example.test", "phone": "+353 1", "customer_no": "C-1"}],
    "shop_db.orders": [{"id": 7, "customer_id": 1}],
    "shop_db.invoices": [
        {"number": "INV-1", "customer_id": "1", "billing_address": "1 Main St", "amount": 10, "created": "2024"},
        {"number": "INV-2", "customer_id": "1", "billing_address": "1 Main St", "amount": 12, "created": "2024"},
    ],
}


def manifest(make: MakeManifest, *edits: Edit) -> Manifest:
    def edit(data: dict[str, Any]) -> None:
        shop(data)
        for more in edits:
            more(data)

    return load_manifest(make(edit)).manifest


def actions(m: Manifest, rows: dict[str, list[dict[str, Any]]] = ROWS, **options: Any) -> list[Action]:
    plan = plan_erasure(build_graph(m.datasets), {"email": ["ann@example.test"]})
    options.setdefault("on", ON)
    return erasure_actions(plan, rows, m, options.pop("holds", ()), **options)


def test_invoices_are_kept_restricted_and_the_rest_is_masked(make_manifest: MakeManifest) -> None:
    found = actions(manifest(make_manifest), jurisdictions=("eu",))
    restricted = [a for a in found if a.kind is ActionKind.RESTRICT]
    assert [(a.collection, a.key, a.fields, a.until) for a in restricted] == [
        ("shop_db.invoices", "INV-1", ("number", "billing_address"), dt.date(2035, 8, 1)),
        ("shop_db.invoices", "INV-2", ("number", "billing_address"), dt.date(2035, 8, 1)),
    ]
    reason = restricted[0].reason
    assert (reason.code, reason.source, reason.cite, reason.text) == (
        ReasonCode.LEGAL_OBLIGATION,
        "invoicing",
        "Section 8",
        INVOICE_TEXT,
    )
    # Erase order: invoices and orders (children) before customers. Orders hold nothing personal: no action.
    assert [
        (a.collection, a.key, a.kind, a.fields, a.strategy) for a in found if a.kind is not ActionKind.RESTRICT
    ] == [
        ("shop_db.invoices", "INV-1", ActionKind.MASK, ("customer_id",), "hmac"),
        ("shop_db.invoices", "INV-1", ActionKind.MASK, ("amount",), "null"),
        ("shop_db.invoices", "INV-2", ActionKind.MASK, ("customer_id",), "hmac"),
        ("shop_db.invoices", "INV-2", ActionKind.MASK, ("amount",), "null"),
        ("shop_db.customers", 1, ActionKind.MASK, ("email", "phone"), "null"),
        ("shop_db.customers", 1, ActionKind.MASK, ("customer_no",), "hmac"),
    ]
    assert all(a.reason == REQUESTED and a.key_field in ("number", "id") for a in found if a.kind is ActionKind.MASK)
    assert (
        str(found[0])
        == f"restrict shop_db.invoices number='INV-1' number, billing_address until 2035-08-01: {INVOICE_TEXT}"
    )


def test_the_obligation_end_follows_the_jurisdiction(make_manifest: MakeManifest) -> None:
    m = manifest(make_manifest)
    assert {a.until for a in actions(m, jurisdictions=("us-ca",)) if a.kind is ActionKind.RESTRICT} == {
        dt.date(2032, 8, 1)
    }
    assert {a.until for a in actions(m) if a.kind is ActionKind.RESTRICT} == {dt.date(2032, 8, 1)}  # the default

    def eu_only(data: dict[str, Any]) -> None:
        data["retention"]["statutory"]["limitation_periods"] = [{"jurisdictions": ["eu"], "period": "P10Y"}]

    restricted = [
        a for a in actions(manifest(make_manifest, eu_only), jurisdictions=("us-ca",)) if a.kind is ActionKind.RESTRICT
    ]
    assert {a.until for a in restricted} == {None}
    assert "Until the obligation ends it is only stored" in restricted[0].reason.text


def test_an_activity_of_another_jurisdiction_keeps_nothing(make_manifest: MakeManifest) -> None:
    def eu_basis(data: dict[str, Any]) -> None:
        data["activities"]["invoicing"]["bases"] = [{"basis": "legal_obligation", "jurisdictions": ["eu"]}]

    m = manifest(make_manifest, eu_basis)
    assert not [a for a in actions(m, jurisdictions=("us-ca",)) if a.kind is ActionKind.RESTRICT]
    assert [a for a in actions(m, jurisdictions=("eu",)) if a.kind is ActionKind.RESTRICT]


def test_without_the_obligation_invoices_are_deleted(make_manifest: MakeManifest) -> None:
    def contract(data: dict[str, Any]) -> None:
        data["activities"]["invoicing"]["bases"] = [{"basis": "contract"}]

    found = actions(manifest(make_manifest, contract))
    # The invoice number is the key and personal itself: masking cannot de-identify the row, so it is deleted.
    assert [(a.collection, a.key, a.kind) for a in found if a.collection == "shop_db.invoices"] == [
        ("shop_db.invoices", "INV-1", ActionKind.DELETE),
        ("shop_db.invoices", "INV-2", ActionKind.DELETE),
    ]


def test_a_purpose_for_legal_claims_keeps_its_data(make_manifest: MakeManifest) -> None:
    def claims(data: dict[str, Any]) -> None:
        data["activities"]["claims"] = {
            "name": "Claims",
            "purposes": ["legal.claims"],
            "categories": ["user.contact.email"],
            "subjects": ["customer"],
            "bases": [{"basis": "legitimate_interests"}],
            "retention": "relationship",
        }

    found = actions(manifest(make_manifest, claims), jurisdictions=("eu",))
    customer = [(a.kind, a.fields, a.until) for a in found if a.collection == "shop_db.customers"]
    assert customer == [
        (ActionKind.RESTRICT, ("email",), dt.date(2028, 8, 1)),  # relationship: P3Y + P2M
        (ActionKind.MASK, ("phone",), None),
        (ActionKind.MASK, ("customer_no",), None),
    ]


def test_all_of_the_above_for_claims_keeps_nothing_by_itself(make_manifest: MakeManifest) -> None:
    def everything(data: dict[str, Any]) -> None:
        data["activities"]["legal"] = {
            "name": "Legal",
            "purposes": ["legal.claims"],
            "all_categories": True,
            "subjects": ["customer"],
            "bases": [{"basis": "legal_obligation"}],
            "retention": "relationship",
        }

    found = actions(manifest(make_manifest, everything), jurisdictions=("eu",))
    assert not [a for a in found if a.kind is ActionKind.RESTRICT and a.collection == "shop_db.customers"]


def test_a_legal_hold_keeps_what_it_covers(make_manifest: MakeManifest) -> None:
    hold = LegalHold(
        "h-17", "a pending warranty dispute", collections=("shop_db.customers",), categories=("user.contact",)
    )
    found = actions(manifest(make_manifest), holds=[hold], jurisdictions=("eu",))
    customer = [a for a in found if a.collection == "shop_db.customers"]
    assert [(a.kind, a.fields, a.strategy, a.until) for a in customer] == [
        (ActionKind.RESTRICT, ("email", "phone"), None, None),
        (ActionKind.MASK, ("customer_no",), "hmac", None),
    ]
    assert customer[0].reason.code is ReasonCode.LEGAL_HOLD
    assert customer[0].reason.source == "h-17"
    assert customer[0].reason.text == (
        "We must keep this because of a legal hold (a pending warranty dispute). Until the hold is lifted it is only"
        " stored and kept secure, and not used for anything else."
    )
    # An open-ended hold outlasts the statutory period on the invoice fields it also covers.
    everything = LegalHold("h-18", "an order of the court", until=dt.date(2040, 1, 1))
    invoices = [a for a in actions(manifest(make_manifest), holds=[everything]) if a.collection == "shop_db.invoices"]
    assert invoices[0].fields == ("number", "customer_id", "billing_address", "amount")
    assert invoices[0].until == dt.date(2040, 1, 1)
    assert "Until 1 January 2040" in invoices[0].reason.text


def test_delete_row_override_deletes_unless_something_is_kept(make_manifest: MakeManifest) -> None:
    def delete_customers(data: dict[str, Any]) -> None:
        data["datasets"]["shop_db"]["collections"]["customers"]["fields"]["phone"]["masking"] = "delete_row"

    m = manifest(make_manifest, delete_customers)
    assert [a for a in actions(m) if a.collection == "shop_db.customers"] == [
        Action("shop_db.customers", "id", 1, ActionKind.DELETE)
    ]
    # Part of the row must stay: the field falls back to its category's strategy.
    hold = LegalHold("h", "a claim", categories=("user.contact.email",))
    customer = [(a.kind, a.fields, a.strategy) for a in actions(m, holds=[hold]) if a.collection == "shop_db.customers"]
    assert customer == [
        (ActionKind.RESTRICT, ("email",), None),
        (ActionKind.MASK, ("phone",), "null"),
        (ActionKind.MASK, ("customer_no",), "hmac"),
    ]


def test_rows_that_stay_let_go_of_the_rows_deleted_with_them(make_manifest: MakeManifest) -> None:
    """Customers are deleted: the order (nothing personal) and the invoices (kept, restricted) that name them have
    that link emptied, not hashed; a link that takes no NULL deletes its row instead, unless part of it must stay."""

    def delete_customers(data: dict[str, Any]) -> None:
        data["datasets"]["shop_db"]["collections"]["customers"]["fields"]["phone"]["masking"] = "delete_row"

    m = manifest(make_manifest, delete_customers)
    found = [(a.collection, a.kind, a.fields, a.strategy) for a in actions(m, jurisdictions=("eu",))
             if a.kind is not ActionKind.RESTRICT and a.key in ("INV-1", 7, 1)]  # fmt: skip
    assert found == [
        ("shop_db.orders", ActionKind.MASK, ("customer_id",), "null"),
        ("shop_db.invoices", ActionKind.MASK, ("amount", "customer_id"), "null"),  # not a keyed hash any more
        ("shop_db.customers", ActionKind.DELETE, (), None),
    ]
    fixed = {"shop_db.orders": {"customer_id": Column("customer_id", ColumnType.INTEGER, nullable=False)},
             "shop_db.invoices": {"customer_id": Column("customer_id", ColumnType.TEXT, nullable=False)}}  # fmt: skip
    found = [(a.collection, a.kind, a.fields) for a in actions(m, jurisdictions=("eu",), columns=fixed)
             if a.key in ("INV-1", 7)]  # fmt: skip
    assert ("shop_db.orders", ActionKind.DELETE, ()) in found  # nothing of it must stay
    assert all(kind is not ActionKind.DELETE for c, kind, _ in found if c == "shop_db.invoices")  # it must stay


def test_the_live_schema_decides_and_problems_are_listed_before_anything_changes(make_manifest: MakeManifest) -> None:
    columns = {
        "shop_db.customers": {"email": Column("email", ColumnType.TEXT, nullable=False, max_length=6)},
        "shop_db.invoices": {
            "customer_id": Column("customer_id", ColumnType.INTEGER),
            "amount": Column("amount", ColumnType.FLOAT, nullable=False),
        },
    }
    with pytest.raises(ErasureError) as caught:
        actions(manifest(make_manifest), columns=columns)
    assert caught.value.problems == (
        "shop_db.invoices.customer_id: hmac writes text or bytes, not into column 'customer_id' (integer); use null,"
        " fixed or random",
        "shop_db.invoices.amount: null cannot erase column 'amount' (float, NOT NULL); give the field masking: fixed,"
        " hmac or random",
        "shop_db.customers.email: fixed value '[erased]' is longer than column 'email' (text, NOT NULL) allows (6);"
        " configure a shorter one",
    )


def test_not_null_contact_fields_get_the_fixed_text(make_manifest: MakeManifest) -> None:
    columns = {"shop_db.customers": {"email": Column("email", ColumnType.TEXT, nullable=False)}}
    customer = [
        (a.fields, a.strategy)
        for a in actions(manifest(make_manifest), columns=columns)
        if a.collection == "shop_db.customers"
    ]
    assert customer == [(("email",), "fixed"), (("phone",), "null"), (("customer_no",), "hmac")]


def test_rows_that_cannot_be_addressed_are_errors(make_manifest: MakeManifest) -> None:
    def no_key(data: dict[str, Any]) -> None:
        data["datasets"]["shop_db"]["collections"]["customers"]["fields"]["id"]["primary_key"] = False

    rows: dict[str, list[dict[str, Any]]] = {"shop_db.customers": [{"email": "a"}], "shop_db.audit": [{"id": 1}]}
    with pytest.raises(ErasureError) as caught:
        actions(manifest(make_manifest, no_key), rows=rows)
    assert caught.value.problems == (
        "rows were found in shop_db.audit, which the plan does not reach",
        "shop_db.customers has no primary-key field, so its rows cannot be addressed one by one; mark exactly one"
        " field primary_key: true",
    )
    with pytest.raises(ErasureError, match=r"a row of shop_db\.customers has no value in its primary key 'id'"):
        actions(manifest(make_manifest), rows={"shop_db.customers": [{"email": "a"}]})
