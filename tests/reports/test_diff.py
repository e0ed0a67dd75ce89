"""Manifest diffs: every material class is caught with its reason; wording is not material; order is stable."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from privet.law.vocabulary import Right
from privet.manifest.model import Manifest
from privet.reports.diff import Change, ChangeKind, diff_manifests, render_diff
from privet.workspace.manifest_files import load_manifest
from tests.conftest import MINIMAL

Edit = Callable[[dict[str, Any]], None]
MakeManifest = Callable[[Edit | None], Path]


@pytest.fixture(scope="module")
def base() -> Manifest:
    return load_manifest(MINIMAL).manifest


def changes(make_manifest: MakeManifest, edit: Edit, start: Edit | None = None) -> list[Change]:
    old = load_manifest(make_manifest(start)).manifest

    def both(data: dict[str, Any]) -> None:
        if start is not None:
            start(data)
        edit(data)

    return diff_manifests(old, load_manifest(make_manifest(both)).manifest)


def at(found: list[Change], where: str) -> Change:
    hits = [c for c in found if ".".join(p for p in (c.section, c.key, c.field) if p) == where]
    assert len(hits) == 1, found
    return hits[0]


def act(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda data: data["activities"][name]


def new_activity(d: dict[str, Any]) -> None:
    d["activities"]["analytics"] = {"name": "Analytics", "purposes": ["analytics"], "categories": ["user.device"]}


def sensitive_accounts(d: dict[str, Any]) -> None:
    d["activities"]["accounts"]["categories"].append("user.health_and_medical")


def to_us(d: dict[str, Any]) -> None:
    d["transfers"] = {"us": {"to": "US", "recipients": ["mailer"], "mechanisms": ["scc"]}}


def grace(value: str) -> Edit:
    return lambda d: d["retention"]["relationship"].update(grace=value)


def limitation(value: str) -> Edit:
    return lambda d: d["retention"]["relationship"].update(limitation_periods=[{"period": value}])


def longer_rule(d: dict[str, Any]) -> None:
    d["retention"]["long"] = {"triggers": ["relationship_end"], "limitation_periods": [{"period": "P10Y"}]}
    d["activities"]["newsletter"]["retention"] = "long"


def system_with_host(d: dict[str, Any]) -> None:
    d["recipients"]["host"] = {"name": "Host", "kind": "processor", "countries": ["IE"]}
    d["systems"]["crm"] = {"name": "CRM", "recipients": ["host"]}


def shop_with_ad_tag(d: dict[str, Any]) -> None:
    """The shop, which both activities run on, carries the tag of an ad network that buys data."""
    d["recipients"]["ads"] = {"name": "Ads", "kind": "ad_network", "countries": ["IE"], "sale": True}
    d["systems"]["shop"]["recipients"] = ["ads"]
    act("newsletter")(d)["recipients"].append("ads")


def crm_with_ad_tag(d: dict[str, Any]) -> None:
    """A CRM carrying the tag of an ad network that buys data; only the newsletter sends it data."""
    d["recipients"]["ads"] = {"name": "Ads", "kind": "ad_network", "countries": ["IE"], "sale": True}
    d["systems"]["crm"] = {"name": "CRM", "recipients": ["ads"]}
    act("newsletter")(d)["recipients"].append("ads")


MATERIAL: list[tuple[str, Edit, Edit | None, str, str]] = [
    ("new activity", new_activity, None, "activities.analytics", "new processing activity: purposes Analytics"),
    (
        "new purpose",
        lambda d: act("accounts")(d)["purposes"].append("analytics"),
        None,
        "activities.accounts.purposes",
        "new purpose for this activity: Analytics",
    ),
    (
        "category newly collected",
        lambda d: act("accounts")(d)["categories"].append("user.device"),
        None,
        "activities.accounts.categories",
        "category Device data newly collected",
    ),
    (
        "known category used for another activity",
        lambda d: act("accounts")(d)["categories"].append("user.device"),
        lambda d: act("newsletter")(d)["categories"].append("user.device"),
        "activities.accounts.categories",
        "category Device data now used for this activity's purposes (Provide the service)",
    ),
    (
        "sensitive category newly used",
        sensitive_accounts,
        None,
        "activities.accounts.categories",
        "sensitive category Health and medical data newly collected",
    ),
    (
        "sensitive category used for a new purpose",
        lambda d: act("accounts")(d)["purposes"].append("analytics"),
        sensitive_accounts,
        "activities.accounts.purposes",
        "new purpose for this activity: Analytics, using sensitive categories Health and medical data (sensitive)",
    ),
    (
        "recipient newly receiving data",
        lambda d: act("accounts")(d).update(recipients=["mailer"]),
        None,
        "activities.accounts.recipients",
        "mailer newly receives this activity's data",
    ),
    (
        "new recipient",
        lambda d: d["recipients"].update(ads={"name": "Ads", "kind": "ad_network", "countries": ["US"]}),
        None,
        "recipients.ads",
        "new recipient (ad network in US)",
    ),
    (
        "recipient through a new system",
        lambda d: act("newsletter")(d)["systems"].append("crm"),
        system_with_host,
        "activities.newsletter.systems",
        "data now reaches host through this system",
    ),
    (
        "ad network on the activity's system newly sent the activity's data",
        lambda d: act("accounts")(d).update(recipients=["ads"]),
        shop_with_ad_tag,
        "activities.accounts.recipients",
        "ads newly receives this activity's data (a sale)",
    ),
    (
        "recipient in a new country",
        lambda d: d["recipients"]["mailer"]["countries"].append("US"),
        None,
        "recipients.mailer.countries",
        "new transfer country: US, not named before",
    ),
    ("new transfer country", to_us, None, "transfers.us", "new transfer country: US"),
    (
        "longer grace",
        grace("P3M"),
        None,
        "retention.relationship.grace",
        "longer retention: the grace period grows from 2 months to 3 months",
    ),
    (
        "longer limitation period",
        limitation("P5Y"),
        None,
        "retention.relationship.limitation_periods.default",
        "longer retention: the limitation period by default grows from 3 years to 5 years",
    ),
    (
        "new jurisdiction's longer limitation period",
        lambda d: d["retention"]["relationship"]["limitation_periods"].append(
            {"jurisdictions": ["uk"], "period": "P6Y"}
        ),
        None,
        "retention.relationship.limitation_periods.uk",
        "longer retention: the limitation period in uk grows from 3 years to 6 years",
    ),
    (
        "later final action",
        lambda d: d["retention"]["relationship"].update(final_action="anonymise"),
        None,
        "retention.relationship.final_action",
        "at the end of retention data is now anonymised instead of deleted",
    ),
    (
        "activity moved to a longer rule",
        longer_rule,
        None,
        "activities.newsletter.retention",
        "kept longer: Kept until the relationship ends, then for the limitation period (default 10 years)",
    ),
    (
        "changed legal basis",
        lambda d: act("accounts")(d).update(bases=[{"basis": "legitimate_interests"}]),
        None,
        "activities.accounts.bases",
        "legal basis for Provide the service in eu, us-ca changed from contract to legitimate interests",
    ),
    (
        "consent basis removed",
        lambda d: act("newsletter")(d).update(bases=[{"basis": "legitimate_interests"}]),
        None,
        "activities.newsletter.bases",
        "consent basis removed for Marketing emails in eu, us-ca",
    ),
    (
        "recipient becomes a sale",
        lambda d: d["recipients"]["mailer"].update(sale=True),
        None,
        "recipients.mailer.sale",
        "disclosures to this recipient may now be a sale under US state laws",
    ),
    (
        "recipient becomes sharing",
        lambda d: d["recipients"]["mailer"].update(sharing=True),
        None,
        "recipients.mailer.sharing",
        "disclosures to this recipient may now be sharing for targeted ads",
    ),
    (
        "processor becomes a third party",
        lambda d: d["recipients"]["mailer"].update(kind="third_party"),
        None,
        "recipients.mailer.kind",
        "the recipient now uses data for its own purposes (processor -> third_party)",
    ),
]


@pytest.mark.parametrize(("edit", "start", "where", "reason"), [m[1:] for m in MATERIAL], ids=[m[0] for m in MATERIAL])
def test_material_change_is_detected_with_its_reason(
    make_manifest: MakeManifest, edit: Edit, start: Edit | None, where: str, reason: str
) -> None:
    change = at(changes(make_manifest, edit, start), where)
    assert change.material, change
    assert change.reason.startswith(reason), change.reason


NOT_MATERIAL: list[tuple[str, Edit, Edit | None, str, str]] = [
    (
        "activity renamed",
        lambda d: act("accounts")(d).update(name="Your account"),
        None,
        "activities.accounts.name",
        "wording",
    ),
    (
        "description and citation",
        lambda d: act("accounts")(d).update(description="Keeps your account.", cite="Section 2"),
        None,
        "activities.accounts.cite",
        "wording",
    ),
    (
        "recipient renamed",
        lambda d: d["recipients"]["mailer"].update(name="Mailer Inc"),
        None,
        "recipients.mailer.name",
        "wording",
    ),
    ("shorter grace", grace("P1M"), None, "retention.relationship.grace", "shorter retention"),
    (
        "shorter limitation",
        limitation("P1Y"),
        None,
        "retention.relationship.limitation_periods.default",
        "shorter retention",
    ),
    (
        "recipient removed from activity",
        lambda d: act("newsletter")(d).update(recipients=[]),
        None,
        "activities.newsletter.recipients",
        "the activity does less: recipient mailer dropped",
    ),
    (
        "purpose removed",
        lambda d: act("newsletter")(d)["purposes"].remove("analytics"),
        lambda d: act("newsletter")(d)["purposes"].append("analytics"),
        "activities.newsletter.purposes",
        "the activity does less: purpose analytics dropped",
    ),
    (
        "recipient entry removed",
        lambda d: d["recipients"].pop("host"),
        lambda d: d["recipients"].update(host={"name": "Host", "kind": "processor"}),
        "recipients.host",
        "recipient removed",
    ),
    (
        "basis added alongside",
        lambda d: act("accounts")(d)["bases"].append({"basis": "contract", "condition": "where you buy"}),
        None,
        "activities.accounts.bases",
        "wording or scope",
    ),
    (
        "system without new recipients",
        lambda d: d["systems"].update(crm={"name": "CRM", "countries": ["IE"]}),
        None,
        "systems.crm",
        "new internal system",
    ),
    (
        "recipient that hosts one of the activity's systems",
        lambda d: act("newsletter")(d)["recipients"].append("host"),
        lambda d: (system_with_host(d), act("newsletter")(d)["systems"].append("crm")),
        "activities.newsletter.recipients",
        "already received this activity's data: it operates or hosts one of the activity's systems",
    ),
    (
        "system whose tag belongs to an ad network the activity does not send to",
        lambda d: act("accounts")(d)["systems"].append("crm"),
        crm_with_ad_tag,
        "activities.accounts.systems",
        "internal system; no new recipient or country",
    ),
    (
        "editor's note",
        lambda d: act("accounts")(d).update(note="Row 2 of the annex is cut off."),
        None,
        "activities.accounts.note",
        "editor's note only",
    ),
    (
        "shorter retention rule",
        lambda d: act("newsletter")(d).update(retention="relationship"),
        longer_rule,
        "activities.newsletter.retention",
        "retention is the same length or shorter",
    ),
]


@pytest.mark.parametrize(
    ("edit", "start", "where", "reason"), [m[1:] for m in NOT_MATERIAL], ids=[m[0] for m in NOT_MATERIAL]
)
def test_non_material_change_says_why(
    make_manifest: MakeManifest, edit: Edit, start: Edit | None, where: str, reason: str
) -> None:
    change = at(changes(make_manifest, edit, start), where)
    assert not change.material, change
    assert reason in change.reason


def test_pure_wording_change_has_no_material_change(make_manifest: MakeManifest) -> None:
    def reword(d: dict[str, Any]) -> None:
        act("accounts")(d).update(name="Your account", description="Keeps your account", cite="Section 4")
        d["systems"]["shop"]["name"] = "Online shop"
        d["retention"]["relationship"]["name"] = "As long as you are a customer"

    found = changes(make_manifest, reword)
    assert len(found) == 5
    assert not any(c.material for c in found)


def test_new_rights_are_not_material_and_removed_rights_are(base: Manifest) -> None:
    offer = base.rights["gdpr"]
    more = offer.model_copy(update={"rights": (*offer.rights, Right.OBJECT_DIRECT_MARKETING)})
    added = diff_manifests(base, base.model_copy(update={"rights": {"gdpr": more}}))
    assert [(c.kind, c.new, c.material) for c in added] == [(ChangeKind.ADDED, "object_direct_marketing", False)]
    removed = diff_manifests(base.model_copy(update={"rights": {"gdpr": more}}), base)
    assert [(c.kind, c.old, c.material) for c in removed] == [(ChangeKind.REMOVED, "object_direct_marketing", True)]


def test_same_manifest_has_no_changes(base: Manifest) -> None:
    assert diff_manifests(base, base) == []
    assert diff_manifests(base, load_manifest(MINIMAL).manifest) == []
    assert render_diff([], "text") == "No changes.\n"


def test_order_is_stable_and_by_section_then_key(make_manifest: MakeManifest) -> None:
    def many(d: dict[str, Any]) -> None:
        new_activity(d)
        to_us(d)
        act("newsletter")(d).update(name="News")
        act("accounts")(d).update(name="Accounts")
        grace("P3M")(d)

    first, second = changes(make_manifest, many), changes(make_manifest, many)
    assert first == second
    assert [f"{c.section}.{c.key}" for c in first] == [
        "transfers.us",
        "activities.accounts",
        "activities.analytics",
        "activities.newsletter",
        "retention.relationship",
    ]


def test_renderings(make_manifest: MakeManifest) -> None:
    def edit(d: dict[str, Any]) -> None:
        to_us(d)
        act("accounts")(d).update(name="A | B")

    found = changes(make_manifest, edit)
    text = render_diff(found, "text")
    assert text.splitlines()[0] == "2 changes, 1 material."
    assert "  + transfers.us: added 'us'\n      new transfer country: US" in text
    md = render_diff(found, "md")
    assert "## Material changes" in md and "## Other changes" in md
    assert "| changed | `activities.accounts.name` | Customer accounts | A \\| B |" in md
    body = json.loads(render_diff(found, "json"))
    assert body["total"] == 2 and body["material"] == 1
    assert body["changes"][0] == {
        "kind": "added",
        "section": "transfers",
        "key": "us",
        "field": "",
        "old": None,
        "new": "us",
        "material": True,
        "reason": "new transfer country: US",
    }
    with pytest.raises(ValueError, match="unknown diff format"):
        render_diff(found, "html")  # type: ignore[arg-type]
