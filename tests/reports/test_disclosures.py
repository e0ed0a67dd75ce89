"""The US state disclosures: what is collected, from where, why, to whom, sold or shared, derived from the manifest."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from privet.manifest.model import Manifest
from privet.reports.disclosures import UsCategoryRow, UsDisclosures, disclosures, render_disclosures
from privet.workspace.manifest_files import load_manifest
from tests.conftest import MINIMAL
from tests.reports.test_notice import ANKER, XSS, parse

MakeManifest = Callable[[Callable[[dict[str, Any]], None] | None], Path]


def rows(d: UsDisclosures) -> dict[str, UsCategoryRow]:
    return {r.key: r for r in d.categories}


def load(folder: Path) -> UsDisclosures:
    return disclosures(load_manifest(folder).manifest)


@pytest.fixture(scope="module")
def minimal() -> Manifest:
    return load_manifest(MINIMAL).manifest


def with_ads(
    *, sale: bool = False, sharing: bool = False, kind: str = "ad_network"
) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        data["recipients"]["ads"] = {"name": "Ad partner", "kind": kind, "sale": sale, "sharing": sharing}
        data["activities"]["ads"] = {
            "name": "Advertising",
            "purposes": ["marketing.advertising.serving"],
            "categories": ["user.device.cookie_id", "user.behavior.browsing_history"],
            "recipients": ["ads"],
            "bases": [{"basis": "consent", "consent": "newsletter"}],
            "retention": "relationship",
        }

    return edit


def test_collected_categories_map_to_us_categories(minimal: Manifest) -> None:
    d = disclosures(minimal)
    by_key = rows(d)
    assert list(by_key) == list(minimal.taxonomy.us_categories)  # every category is listed, collected or not
    assert [k for k, r in by_key.items() if r.collected] == ["identifiers"]
    ident = by_key["identifiers"]
    assert [e.key for e in ident.examples] == ["user.contact.email"]
    assert [p.key for p in ident.purposes] == ["essential.service", "marketing.communications.email"]
    assert [p.key for p in ident.disclosed_to] == ["mailer"]
    assert [r.key for r in ident.retention] == ["relationship"]
    assert ident.activities == ("accounts", "newsletter")
    assert not by_key["customer_records"].examples and not by_key["customer_records"].purposes
    assert d.jurisdictions == ("us-ca",)
    assert not d.sells and not d.shares


def test_product_families_collect_with_their_sources(make_manifest: MakeManifest) -> None:
    def family(data: dict[str, Any]) -> None:
        data["sources"] = {"installer": {"name": "Installers", "kind": "third_party"}}
        data["product_families"] = {
            "chargers": {
                "collects": {
                    "provided": ["user.contact.email"],
                    "automatic": ["user.behavior.browsing_history"],
                    "third_party": [{"source": "installer", "categories": ["user.contact.email"]}],
                }
            }
        }

    by_key = rows(load(make_manifest(family)))
    assert by_key["internet_activity"].collected  # collected by the family, though no activity lists it
    assert [(g.kind, [s.key for s in g.sources]) for g in by_key["identifiers"].sources] == [
        ("subject", []),
        ("third_party", ["installer"]),
    ]
    assert [g.kind for g in by_key["internet_activity"].sources] == ["automatic"]


def test_sale_derives_from_recipients(make_manifest: MakeManifest) -> None:
    d = load(make_manifest(with_ads(sale=True)))
    by_key = rows(d)
    assert by_key["identifiers"].sold and [p.key for p in by_key["identifiers"].sold_to] == ["ads"]
    assert by_key["internet_activity"].sold
    assert not by_key["identifiers"].shared and by_key["identifiers"].shared_with == ()
    assert "ads" not in [p.key for p in by_key["identifiers"].disclosed_to]
    assert [p.key for p in by_key["identifiers"].disclosed_to] == ["mailer"]
    assert d.sells and not d.shares


def test_sharing_derives_from_recipients(make_manifest: MakeManifest) -> None:
    by_key = rows(load(make_manifest(with_ads(sharing=True))))
    assert by_key["internet_activity"].shared and [p.key for p in by_key["internet_activity"].shared_with] == ["ads"]
    assert not by_key["internet_activity"].sold


def test_sharing_derives_from_purpose_tags(make_manifest: MakeManifest) -> None:
    def targeted(data: dict[str, Any]) -> None:
        with_ads(kind="processor")(data)
        data["recipients"]["partner"] = {"kind": "business_partner"}
        data["activities"]["ads"]["purposes"] = ["marketing.advertising.third_party.targeted"]
        data["activities"]["ads"]["recipients"] = ["ads", "partner"]

    row = rows(load(make_manifest(targeted)))["internet_activity"]
    assert row.shared and not row.sold
    # A processor acts on the business's behalf: receiving data for its purpose is not sharing by itself.
    assert [p.key for p in row.shared_with] == ["partner"]
    assert [p.key for p in row.disclosed_to] == ["ads"]


def test_sensitive_categories_are_listed(make_manifest: MakeManifest) -> None:
    def password(data: dict[str, Any]) -> None:
        data["activities"]["accounts"]["categories"].append("user.authorization.password")

    d = load(make_manifest(password))
    (row,) = d.sensitive
    assert row.key == "user.authorization.password" and row.activities == ("accounts",)
    assert [u.key for u in row.uses] == ["essential.service"]
    assert not row.sold and not row.shared
    assert rows(d)["sensitive"].collected


def test_sensitive_data_sold_is_reported_not_hidden(make_manifest: MakeManifest) -> None:
    def sold(data: dict[str, Any]) -> None:
        with_ads(sale=True)(data)
        data["activities"]["ads"]["categories"].append("user.authorization.password")

    d = load(make_manifest(sold))
    assert [(r.key, r.sold) for r in d.sensitive] == [("user.authorization.password", True)]
    assert "Sensitive personal information that may be sold or shared: Password." in render_disclosures(
        load_manifest(make_manifest(sold)).manifest, "md"
    )


def test_unmapped_categories_are_flagged(make_manifest: MakeManifest) -> None:
    def criminal(data: dict[str, Any]) -> None:
        data["activities"]["accounts"]["categories"].append("user.criminal_history")

    assert [u.key for u in load(make_manifest(criminal)).unmapped] == ["user.criminal_history"]


def test_rights_and_minors_per_us_jurisdiction(make_manifest: MakeManifest, minimal: Manifest) -> None:
    def us_rights(data: dict[str, Any]) -> None:
        data["rights"] = {
            "us": {
                "jurisdictions": ["us_states"],
                "rights": ["know", "deletion", "opt_out_sale", "appeal"],
                "channels": ["privacy_email"],
                "appeal": "Reply to our answer.",
            }
        }
        data["minors"] = {"no_sale_under": 16}

    d = load(make_manifest(us_rights))
    (ca,) = d.rights
    assert (ca.jurisdiction, ca.rights, ca.offers) == ("us-ca", ("know", "deletion", "opt_out_sale", "appeal"), ("us",))
    assert [c.key for c in ca.channels] == ["privacy_email"] and ca.appeal == "Reply to our answer."
    assert d.minors.no_sale_under == 16
    assert disclosures(minimal).rights[0].rights == ()  # the minimal manifest offers no US rights


def test_json_is_stable_and_sorted(minimal: Manifest) -> None:
    text = render_disclosures(minimal, "json")
    assert text == render_disclosures(minimal, "json")
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    ident = next(c for c in data["categories"] if c["key"] == "identifiers")
    assert ident["collected"] is True and ident["sold"] is False and ident["shared"] is False
    assert [e["key"] for e in ident["examples"]] == ["user.contact.email"]
    assert data["sensitive"] == [] and data["jurisdictions"] == ["us-ca"]


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_renders_are_deterministic_and_escaped(make_manifest: MakeManifest, fmt: Any) -> None:
    def hostile(data: dict[str, Any]) -> None:
        data["recipients"]["mailer"]["name"] = XSS

    m = load_manifest(make_manifest(hostile)).manifest
    text = render_disclosures(m, fmt)
    assert text == render_disclosures(m, fmt)
    assert "<script" not in text.replace("\\<script", "")
    if fmt == "html":
        page = parse(text)
        assert page.problems == []
        assert "&lt;script&gt;" in text
        assert all(attrs.get("scope") in {"col", "row"} for tag, attrs in page.tags if tag == "th")


def test_unknown_format_is_refused(minimal: Manifest) -> None:
    with pytest.raises(ValueError, match="unknown format"):
        render_disclosures(minimal, "xml")  # type: ignore[arg-type]


@pytest.mark.skipif(not ANKER.is_dir(), reason="no examples/anker")
def test_reference_manifest() -> None:
    m = load_manifest(ANKER).manifest
    d = disclosures(m)
    by_key = rows(d)
    # The notice: identifiers, internet activity and inferences reach ad networks (a sale and sharing) ...
    for key in ("identifiers", "internet_activity", "inferences"):
        assert by_key[key].sold and by_key[key].shared, key
    # ... sensitive data is never sold or shared, and nothing is sold under 16.
    assert d.sensitive and not any(r.sold or r.shared for r in d.sensitive)
    assert d.minors.no_sale_under == 16
    assert parse(render_disclosures(m, "html")).problems == []
    assert render_disclosures(m, "json") == render_disclosures(m, "json")
