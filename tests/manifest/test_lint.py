"""Each lint rule: a manifest that breaks it is caught at the right place, the fixed one is clean."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from privet.manifest.diagnostics import Severity
from privet.manifest.lint import builtin_rules, lint
from privet.workspace.manifest_files import load_manifest

MakeManifest = Callable[..., Path]


def findings(folder: Path) -> list[str]:
    return [d.render() for d in lint(load_manifest(folder))]


def codes(folder: Path) -> list[str]:
    return sorted(d.code for d in lint(load_manifest(folder)))


def test_the_minimal_manifest_is_clean(make_manifest: MakeManifest) -> None:
    assert findings(make_manifest()) == []


def test_rules_have_unique_codes_and_rationales() -> None:
    rules = builtin_rules()
    assert len({r.code for r in rules}) == len(rules)
    assert all(r.rationale.endswith(".") and len(r.rationale) < 120 for r in rules)


def edit_activity(key: str, **changes: Any) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        data["activities"][key].update(changes)

    return edit


def test_unknown_category_suggests_the_nearest(make_manifest: MakeManifest) -> None:
    folder = make_manifest(edit_activity("accounts", categories=["user.contact.emial"]))
    (msg,) = findings(folder)
    assert "processing.yml:" in msg
    assert "R001 unknown data category user.contact.emial; did you mean user.contact.email?" in msg


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("purposes", ["essential.servise"], "unknown purpose essential.servise; did you mean essential.service?"),
        ("subjects", ["custmer"], "unknown subject custmer; did you mean customer?"),
        ("systems", ["shopp"], "unknown system shopp; did you mean shop?"),
        ("retention", "relationshp", "unknown retention rule relationshp; did you mean relationship?"),
        ("jurisdictions", ["us-cx"], "unknown jurisdiction us-cx"),
    ],
)
def test_unknown_references(make_manifest: MakeManifest, field: str, value: Any, expected: str) -> None:
    messages = findings(make_manifest(edit_activity("accounts", **{field: value})))
    assert any(expected in m for m in messages), messages


def test_unresolved_dataset_reference(make_manifest: MakeManifest) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["datasets"]["shop_db"]["collections"]["orders"]["fields"]["customer_id"]["references"][0]["to"] = (
            "shop_db.customer.id"
        )

    (msg,) = findings(make_manifest(edit))
    assert (
        "unknown dataset field (dataset.collection.field) shop_db.customer.id; did you mean shop_db.customers.id?"
        in msg
    )


def test_L001_basis_missing_for_a_gdpr_jurisdiction(make_manifest: MakeManifest) -> None:
    folder = make_manifest(edit_activity("accounts", bases=[{"basis": "contract", "jurisdictions": ["uk"]}]))
    assert codes(folder) == ["L001"]
    assert "no legal basis in eu for essential.service" in findings(folder)[0]
    # US states need no GDPR-style basis: an activity running only there is fine without one.
    assert codes(make_manifest(edit_activity("accounts", bases=[], jurisdictions=["us-ca"]))) == []


def test_L002_consent_basis_needs_a_consent_key(make_manifest: MakeManifest) -> None:
    assert codes(make_manifest(edit_activity("newsletter", bases=[{"basis": "consent"}]))) == ["L002", "L010"]
    assert codes(make_manifest(edit_activity("newsletter", bases=[{"basis": "consent"}], consent="newsletter"))) == []


def test_L003_sensitive_data_never_for_targeted_ads(make_manifest: MakeManifest) -> None:
    folder = make_manifest(
        edit_activity(
            "newsletter",
            categories=["user.health_and_medical"],
            purposes=["marketing.advertising.third_party.targeted"],
            special_condition="explicit_consent",
        )
    )
    assert "L003" in codes(folder)


def test_L004_special_categories_need_an_art9_condition(make_manifest: MakeManifest) -> None:
    folder = make_manifest(edit_activity("accounts", categories=["user.health_and_medical"]))
    assert codes(folder) == ["L004"]
    fixed = make_manifest(
        edit_activity("accounts", categories=["user.health_and_medical"], special_condition="explicit_consent")
    )
    assert codes(fixed) == []


def test_L005_transfer_without_adequacy_needs_a_safeguard(make_manifest: MakeManifest) -> None:
    def to_china(data: dict[str, Any]) -> None:
        data["recipients"]["mailer"]["countries"] = ["CN"]

    assert codes(make_manifest(to_china)) == ["L005"]

    def with_scc(data: dict[str, Any]) -> None:
        to_china(data)
        data["transfers"] = {"cn": {"to": "CN", "recipients": ["mailer"], "mechanisms": ["scc"]}}

    assert codes(make_manifest(with_scc)) == []

    def false_adequacy(data: dict[str, Any]) -> None:
        to_china(data)
        data["transfers"] = {"cn": {"to": "CN", "recipients": ["mailer"], "mechanisms": ["adequacy"]}}

    assert codes(make_manifest(false_adequacy)) == ["L005", "L005"]


def test_L006_collected_categories_are_used(make_manifest: MakeManifest) -> None:
    def family(data: dict[str, Any]) -> None:
        data["product_families"] = {"scales": {"collects": {"provided": ["user.contact.email", "user.name"]}}}

    folder = make_manifest(family)
    assert codes(folder) == ["L006"]
    assert "user.name is collected by scales but no activity uses it" in findings(folder)[0]


def test_L007_recipients_are_disclosed(make_manifest: MakeManifest) -> None:
    def undisclosed(data: dict[str, Any]) -> None:
        data["systems"]["shop"]["recipients"] = ["mailer"]
        data["activities"]["newsletter"]["recipients"] = []

    assert codes(make_manifest(undisclosed)) == ["L007"]


def test_L008_every_activity_has_retention(make_manifest: MakeManifest) -> None:
    def no_retention(data: dict[str, Any]) -> None:
        del data["activities"]["accounts"]["retention"]

    assert codes(make_manifest(no_retention)) == ["L008"]


def test_L009_reference_cycle_unless_ordered(make_manifest: MakeManifest) -> None:
    def cycle(data: dict[str, Any]) -> None:
        customers = data["datasets"]["shop_db"]["collections"]["customers"]["fields"]
        # orders.customer_id already takes its value from customers.id: customers -> orders.
        customers["last_order"] = {"references": [{"to": "shop_db.orders.id", "direction": "from"}]}

    folder = make_manifest(cycle)
    assert codes(folder) == ["L009"]
    assert "cycle: shop_db.customers -> shop_db.orders -> shop_db.customers" in findings(folder)[0]

    def ordered(data: dict[str, Any]) -> None:
        cycle(data)
        data["datasets"]["shop_db"]["collections"]["orders"]["after"] = ["shop_db.customers"]

    assert codes(make_manifest(ordered)) == []


def test_L010_unused_consent_is_a_warning(make_manifest: MakeManifest) -> None:
    def spare(data: dict[str, Any]) -> None:
        data["consents"]["spare"] = {"kind": "setting"}

    (diag,) = lint(load_manifest(make_manifest(spare)))
    assert (diag.code, diag.severity) == ("L010", Severity.WARNING)


def test_L011_basis_purposes_belong_to_the_activity(make_manifest: MakeManifest) -> None:
    folder = make_manifest(edit_activity("accounts", bases=[{"basis": "contract", "purposes": ["analytics"]}]))
    assert "L011" in codes(folder)


def test_L012_children_data_never_for_targeted_ads(make_manifest: MakeManifest) -> None:
    folder = make_manifest(
        edit_activity("newsletter", subjects=["child"], purposes=["marketing.advertising.third_party.targeted"])
    )
    assert "L012" in codes(folder)


def test_L001_a_basis_limited_to_some_categories_covers_only_those(make_manifest: MakeManifest) -> None:
    def split(data: dict[str, Any]) -> None:
        act = data["activities"]["accounts"]
        act["categories"] = ["user.contact.email", "user.name"]
        act["bases"] = [{"basis": "contract", "categories": ["user.contact"]}]

    assert codes(make_manifest(split)) == ["L001"]

    def covered(data: dict[str, Any]) -> None:
        split(data)
        data["activities"]["accounts"]["bases"].append({"basis": "legitimate_interests", "categories": ["user.name"]})

    assert codes(make_manifest(covered)) == []
