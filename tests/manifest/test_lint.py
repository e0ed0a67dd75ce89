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


def located(folder: Path) -> list[tuple[str, str, str]]:
    """Each finding as (code, the text of the line it points at, message)."""
    out = []
    for d in lint(load_manifest(folder)):
        assert d.location is not None, d.render()
        line = (folder / Path(d.location.file).name).read_text().splitlines()[d.location.line - 1]
        out.append((d.code, line.strip(), d.message))
    return out


def edit_recipient(key: str, **changes: Any) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        data["recipients"][key].update(changes)

    return edit


def both(*edits: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        for e in edits:
            e(data)

    return edit


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
    assert msg.endswith(
        "(use a key of the default taxonomy (privet taxonomy categories) or define it under data_categories:)"
    )


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


GENETIC = "user.health_and_medical.genetic"  # a leaf: special under GDPR Art. 9 and sensitive under US law
TARGETED = "marketing.advertising.third_party.targeted"  # tagged sharing and targeted advertising


def test_L003_sensitive_data_never_for_targeted_ads(make_manifest: MakeManifest) -> None:
    sensitive = edit_activity("newsletter", categories=[GENETIC], special_condition="explicit_consent")
    folder = make_manifest(both(sensitive, edit_activity("newsletter", purposes=[TARGETED])))
    assert located(folder) == [
        (
            "L003",
            f"- {GENETIC}",
            f"activity newsletter uses sensitive {GENETIC} for sharing, targeted_advertising",
        )
    ]
    # The same data for the newsletter's own purpose, sent to a processor, is fine.
    assert located(make_manifest(sensitive)) == []


def test_L003_sensitive_data_never_goes_to_a_recipient_that_buys_it(make_manifest: MakeManifest) -> None:
    sensitive = edit_activity("newsletter", categories=[GENETIC], special_condition="explicit_consent")
    folder = make_manifest(both(sensitive, edit_recipient("mailer", sale=True)))
    assert located(folder) == [
        ("L003", f"- {GENETIC}", f"activity newsletter uses sensitive {GENETIC} for recipient mailer (sale/sharing)")
    ]
    assert located(make_manifest(both(sensitive, edit_recipient("mailer", sale=False, sharing=False)))) == []


def test_L003_a_parent_key_brings_in_the_sensitive_categories_below_it(make_manifest: MakeManifest) -> None:
    folder = make_manifest(
        edit_activity("newsletter", categories=["user"], purposes=[TARGETED], special_condition="explicit_consent")
    )
    (l003,) = [f for f in located(folder) if f[0] == "L003"]
    assert l003[1] == "- user"
    assert l003[2].startswith("activity newsletter uses sensitive user (covering user.")
    assert l003[2].endswith(" more) for sharing, targeted_advertising")
    # A parent with no sensitive category below it is not sensitive.
    assert located(make_manifest(edit_activity("newsletter", categories=["user.contact"], purposes=[TARGETED]))) == []


def test_L003_all_categories_brings_in_every_sensitive_category_collected(make_manifest: MakeManifest) -> None:
    accounts = edit_activity(
        "accounts", categories=["user.contact.email", GENETIC], special_condition="explicit_consent"
    )
    everything = edit_activity(
        "newsletter", categories=[], all_categories=True, special_condition="explicit_consent", purposes=[TARGETED]
    )
    folder = make_manifest(both(accounts, everything))
    assert located(folder) == [
        (
            "L003",
            "all_categories: true",
            f"activity newsletter uses sensitive all_categories (covering {GENETIC}) for sharing, targeted_advertising",
        )
    ]
    # Nothing sensitive collected anywhere: "all of the above" is not sensitive either.
    assert located(make_manifest(everything)) == []


def test_L004_special_categories_need_an_art9_condition(make_manifest: MakeManifest) -> None:
    folder = make_manifest(edit_activity("accounts", categories=["user.health_and_medical"]))
    assert codes(folder) == ["L004"]
    fixed = make_manifest(
        edit_activity("accounts", categories=["user.health_and_medical"], special_condition="explicit_consent")
    )
    assert codes(fixed) == []


def test_L004_a_parent_key_or_all_categories_brings_in_special_categories(make_manifest: MakeManifest) -> None:
    # user.childrens is not itself special, but the baby's weight, growth and vital signs below it are.
    folder = make_manifest(edit_activity("accounts", categories=["user.childrens"]))
    assert located(folder) == [
        (
            "L004",
            "- user.childrens",
            "activity accounts processes special categories (user.childrens (covering user.childrens.baby.growth, "
            "user.childrens.baby.vital_signs, user.childrens.baby.weight)) in eu without an Art. 9(2) condition",
        )
    ]
    everything = both(
        edit_activity("newsletter", categories=[GENETIC], special_condition="explicit_consent"),
        edit_activity("accounts", categories=[], all_categories=True),
    )
    assert located(make_manifest(everything)) == [
        (
            "L004",
            "all_categories: true",
            f"activity accounts processes special categories (all_categories (covering {GENETIC})) in eu "
            "without an Art. 9(2) condition",
        )
    ]
    fixed = both(everything, edit_activity("accounts", special_condition="legal_claims"))
    assert located(make_manifest(fixed)) == []


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
    used = both(family, edit_activity("accounts", categories=["user.contact.email", "user.name"]))
    assert codes(make_manifest(used)) == []


def test_L007_recipients_are_disclosed(make_manifest: MakeManifest) -> None:
    def undisclosed(data: dict[str, Any]) -> None:
        data["systems"]["shop"]["recipients"] = ["mailer"]
        data["activities"]["newsletter"]["recipients"] = []

    assert codes(make_manifest(undisclosed)) == ["L007"]
    disclosed = both(undisclosed, edit_activity("accounts", recipients=["mailer"]))
    assert codes(make_manifest(disclosed)) == []


def test_L008_every_activity_has_retention(make_manifest: MakeManifest) -> None:
    def no_retention(data: dict[str, Any]) -> None:
        del data["activities"]["accounts"]["retention"]

    assert codes(make_manifest(no_retention)) == ["L008"]

    def own_rule(data: dict[str, Any]) -> None:
        no_retention(data)
        data["retention"]["order_records"] = {"triggers": ["relationship_end"], "after_trigger": "P6Y"}
        data["activities"]["accounts"]["retention"] = "order_records"

    assert codes(make_manifest(own_rule)) == []


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
    assert codes(make_manifest(both(spare, edit_activity("accounts", consent="spare")))) == []


def test_L011_basis_purposes_belong_to_the_activity(make_manifest: MakeManifest) -> None:
    both_purposes = [{"basis": "contract", "purposes": ["essential.service", "analytics"]}]
    folder = make_manifest(edit_activity("accounts", bases=both_purposes))
    assert located(folder) == [
        ("L011", "- analytics", "basis contract of accounts names purpose analytics, which the activity does not list")
    ]
    fixed = edit_activity("accounts", purposes=["essential.service", "analytics"], bases=both_purposes)
    assert located(make_manifest(fixed)) == []


def test_L012_children_data_never_for_targeted_ads(make_manifest: MakeManifest) -> None:
    folder = make_manifest(edit_activity("newsletter", subjects=["child"], purposes=[TARGETED]))
    assert located(folder) == [
        ("L012", f"- {TARGETED}", "activity newsletter processes children's data (child) for sale or targeted ads")
    ]
    assert located(make_manifest(edit_activity("newsletter", subjects=["child"]))) == []


def test_L012_children_data_never_goes_to_a_recipient_that_buys_it(make_manifest: MakeManifest) -> None:
    folder = make_manifest(
        both(edit_activity("newsletter", subjects=["child"]), edit_recipient("mailer", sharing=True))
    )
    assert located(folder) == [
        (
            "L012",
            "- mailer",
            "activity newsletter processes children's data (child) for recipient mailer (sale/sharing)",
        )
    ]


def test_L012_a_parent_key_brings_in_children_data(make_manifest: MakeManifest) -> None:
    folder = make_manifest(
        edit_activity(
            "newsletter", categories=["user.childrens.baby"], purposes=[TARGETED], special_condition="explicit_consent"
        )
    )
    (l012,) = [f for f in located(folder) if f[0] == "L012"]
    assert l012[2].startswith("activity newsletter processes children's data (user.childrens.baby (covering ")
    assert codes(folder) == ["L003", "L012"]


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
