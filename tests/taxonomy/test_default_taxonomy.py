"""The shipped default taxonomy: it loads, its tree is whole, and its legal labels say what the law says."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import yaml

from privet.taxonomy import PurposeTag, Sensitivity, Taxonomy

SECTIONS = {"categories", "purposes", "subjects", "legal_bases", "special_conditions", "us_categories"}
ART9 = Sensitivity.GDPR_ART9
ART10 = Sensitivity.GDPR_ART10
US = Sensitivity.US_SENSITIVE
CHILD = Sensitivity.CHILD


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load keeps the last of two equal keys silently; a duplicated entry here is always a mistake."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise AssertionError(f"duplicate key {key!r} at line {key_node.start_mark.line + 1}")
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def _text() -> str:
    return resources.files("privet.taxonomy").joinpath("data/default.yml").read_text("utf-8")


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    data = yaml.load(_text(), Loader=_UniqueKeyLoader)
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def tax() -> Taxonomy:
    return Taxonomy.from_data(yaml.safe_load(_text()))


def _parent(key: str) -> str | None:
    return key.rpartition(".")[0] or None


def test_no_entry_is_written_twice() -> None:
    yaml.load(_text(), Loader=_UniqueKeyLoader)


def test_has_exactly_the_six_sections_and_none_is_empty(raw: dict[str, Any]) -> None:
    assert set(raw) == SECTIONS
    assert all(raw[section] for section in SECTIONS)


def test_keys_come_from_the_mapping_not_the_fields(raw: dict[str, Any]) -> None:
    written = [f"{section}.{key}" for section in SECTIONS for key, fields in raw[section].items() if "key" in fields]
    assert written == []


@pytest.mark.parametrize("section", ["categories", "purposes"])
def test_every_dotted_key_has_its_parent(tax: Taxonomy, section: str) -> None:
    keys = getattr(tax, section)
    orphans = [k for k in keys if (p := _parent(k)) is not None and p not in keys]
    assert orphans == []


def test_every_us_category_referenced_is_defined(tax: Taxonomy) -> None:
    unknown = {c.key: c.us_category for c in tax.categories.values() if c.us_category not in {None, *tax.us_categories}}
    assert unknown == {}


def test_the_twelve_ccpa_categories_are_defined_and_cited(tax: Taxonomy) -> None:
    assert set(tax.us_categories) == {
        "identifiers",
        "customer_records",
        "protected_characteristics",
        "commercial",
        "biometric",
        "internet_activity",
        "geolocation",
        "sensory",
        "professional",
        "education",
        "inferences",
        "sensitive",
    }
    letters = [entry.cite.split("(v)(1)(")[1][0] for entry in tax.us_categories.values() if entry.cite]
    assert letters == list("ABCDEFGHIJKL")
    assert "1798.80(e)" in (tax.us_categories["customer_records"].cite or "")


# Personal data with no CCPA (v)(1) category that fits; the US disclosure report must list them by name.
NO_US_CATEGORY = {"user.criminal_history"}


def test_every_personal_data_leaf_falls_under_a_us_category(tax: Taxonomy) -> None:
    cats = tax.categories
    leaves = [k for k in cats if k.startswith("user.") and not any(o.startswith(k + ".") for o in cats)]
    missing = [k for k in leaves if cats[k].us_category is None and k not in NO_US_CATEGORY]
    assert missing == []
    assert len(leaves) > 100


@pytest.mark.parametrize(
    "branch",
    [
        "user.health_and_medical",
        "user.biometric",
        "user.authorization.biometric",
        # the same branches under the keys of fideslang's IAB Tech Lab revision
        "user.health",
        "user.biometrics",
        "user.authorization.biometrics",
    ],
)
def test_special_category_branches_are_sensitive_all_the_way_down(tax: Taxonomy, branch: str) -> None:
    descendants = tax.descendants(branch)
    assert len(descendants) >= 1
    for key in descendants:
        assert {ART9, US} <= tax.categories[key].sensitive, key


def test_sensitivity_is_inherited_not_repeated(raw: dict[str, Any], tax: Taxonomy) -> None:
    # The body metrics say nothing of sensitivity in the file; they get it from user.health_and_medical.
    assert "sensitive" not in raw["categories"]["user.health_and_medical.body_metrics.weight"]
    assert tax.is_sensitive("user.health_and_medical.body_metrics.weight", ART9)


def test_known_child_data_is_child_and_us_sensitive(tax: Taxonomy) -> None:
    children = tax.descendants("user.childrens") + tax.descendants("user.children")  # older and revised key
    for key in children:
        assert {CHILD, US} <= tax.categories[key].sensitive, key
    assert {key for key, cat in tax.categories.items() if CHILD in cat.sensitive} == set(children)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("user.health_and_medical.genetic", {ART9, US}),
        ("user.biometric.face", {ART9, US}),
        ("user.biometric.fingerprint", {ART9, US}),
        ("user.demographic.race_ethnicity", {ART9, US}),
        ("user.demographic.religious_belief", {ART9, US}),
        ("user.demographic.sexual_orientation", {ART9, US}),
        ("user.demographic.sex_life", {ART9, US}),
        ("user.demographic.trade_union_membership", {ART9, US}),
        # Art. 9 names political opinions; no US state's list of sensitive data does.
        ("user.demographic.political_opinion", {ART9}),
        ("user.demographic.citizenship", {US}),
        ("user.demographic.transgender_status", {US}),
        ("user.location.precise", {US}),
        ("user.government_id.passport_number", {US}),
        ("user.government_id.drivers_license_number", {US}),
        ("user.government_id.national_identification_number", {US}),
        ("user.government_id.immigration", {US}),
        ("user.authorization.password", {US}),
        ("user.authorization.credentials.access_token", {US}),
        ("user.financial.credit_card", {US}),
        ("user.financial.bank_account", {US}),
        ("user.content.private.communications", {US}),
        ("user.criminal_history", {ART10}),
        ("user.childrens.baby.name", {CHILD, US}),
        ("user.childrens.baby.weight", {CHILD, US, ART9}),
        ("user.childrens.baby.vital_signs", {CHILD, US, ART9}),
        # Ordinary data must stay ordinary, or every rule keyed on sensitivity would fire on everything.
        ("user", set()),
        ("user.contact.email", set()),
        ("user.contact.address.installation", set()),
        ("user.location.imprecise", set()),
        ("user.demographic.gender", set()),
        ("user.demographic.date_of_birth", set()),
        ("user.government_id.vehicle_registration", set()),
        ("user.financial", set()),
        ("user.payment.invoice", set()),
        ("user.content.chat_transcript", set()),
        ("user.sensor.video", set()),
        ("user.device.mac_address", set()),
    ],
)
def test_sensitivity(tax: Taxonomy, key: str, expected: set[Sensitivity]) -> None:
    assert tax.categories[key].sensitive == expected


def test_categories_filed_as_ccpa_sensitive_are_flagged_us_sensitive(tax: Taxonomy) -> None:
    unflagged = [k for k, c in tax.categories.items() if c.us_category == "sensitive" and US not in c.sensitive]
    assert unflagged == []


@pytest.mark.parametrize(
    ("key", "us_category"),
    [
        ("user.contact.email", "identifiers"),
        ("user.contact.address.shipping", "identifiers"),
        ("user.contact.phone_number", "customer_records"),
        ("user.device.serial_number", "identifiers"),
        ("user.device.wifi_ssid", "internet_activity"),
        ("user.behavior.email_engagement", "internet_activity"),
        ("user.behavior.purchase_history", "commercial"),
        ("user.commercial.warranty", "commercial"),
        ("user.location.precise", "geolocation"),
        ("user.sensor.video", "sensory"),
        ("user.biometric.face", "biometric"),
        ("user.health_and_medical.genetic", "biometric"),
        ("user.workplace.business_information", "professional"),
        ("user.demographic.profile.interests", "inferences"),
        ("user.authorization.password", "sensitive"),
    ],
)
def test_us_category(tax: Taxonomy, key: str, us_category: str) -> None:
    assert tax.categories[key].us_category == us_category


FIDESLANG_SAMPLE = [
    "user.contact.email",
    "user.contact.address.postal_code",
    "user.name.first",
    "user.account.username",
    "user.authorization.credentials",
    "user.device.ip_address",
    "user.device.cookie_id",
    "user.behavior.browsing_history",
    "user.location.precise",
    "user.health_and_medical.genetic",
    "user.demographic.race_ethnicity",
    "user.government_id.passport_number",
    "user.unique_id.pseudonymous",
    "user.childrens",
    "user.privacy_preferences",
]


def test_fideslang_keys_are_present_and_marked(tax: Taxonomy) -> None:
    marked = {k for k, c in tax.categories.items() if c.fideslang}
    assert len(marked) >= 85
    assert set(FIDESLANG_SAMPLE) <= marked


EXTENSIONS = [
    "user.childrens.baby.name",
    "user.childrens.baby.gender",
    "user.childrens.baby.age_group",
    "user.childrens.baby.weight",
    "user.childrens.baby.photo",
    "user.childrens.baby.growth",
    "user.health_and_medical.body_metrics.weight",
    "user.health_and_medical.body_metrics.height",
    "user.health_and_medical.body_metrics.body_fat",
    "user.health_and_medical.body_metrics.bmi",
    "user.health_and_medical.body_metrics.energy_expenditure",
    "user.sensor.video",
    "user.sensor.audio",
    "user.biometric.face",
    "user.content.design_file",
    "user.device.mac_address",
    "user.device.serial_number",
    "user.device.name",
    "user.device.model",
    "user.device.operating_system",
    "user.device.browser",
    "user.device.wifi_ssid",
    "user.device.installed_applications",
    "user.device.open_udid",
    "user.device.ip_address.station",
    "user.device.operational_data",
    "user.device.log_data",
    "user.unique_id.uuid",
    "user.unique_id.session_id",
    "user.telemetry.performance",
    "user.behavior.referrer_url",
    "user.behavior.click_record",
    "user.behavior.email_engagement",
    "user.commercial.order",
    "user.commercial.return",
    "user.commercial.warranty",
    "user.commercial.loyalty",
    "user.commercial.referral",
    "user.commercial.discount_eligibility",
    "user.contact.address.shipping",
    "user.contact.address.installation",
    "user.contact.preferences",
    "user.payment.invoice",
    "user.authorization.credentials.access_token",
    "user.account.linked_account",
    "user.account.avatar",
    "user.name.alias",
    "user.social.community.post",
    "user.social.community.profile",
    "user.social.community.activity",
    "user.content.chat_transcript",
    "user.content.call_recording",
    "user.content.survey_response",
    "user.content.review",
    "user.workplace.business_information",
]


@pytest.mark.parametrize("key", EXTENSIONS)
def test_consumer_device_extensions_exist_and_are_not_claimed_as_fideslang(tax: Taxonomy, key: str) -> None:
    assert key in tax.categories
    assert not tax.categories[key].fideslang


def test_every_entry_has_a_name_and_a_description(tax: Taxonomy) -> None:
    for section in SECTIONS:
        for key, entry in getattr(tax, section).items():
            assert entry.name.strip(), f"{section}.{key}"
            assert entry.description.strip(), f"{section}.{key}"


def test_purpose_tags_are_known(raw: dict[str, Any]) -> None:
    known = {tag.value for tag in PurposeTag}
    used = {tag for fields in raw["purposes"].values() for tag in (fields.get("tags") or [])}
    assert used <= known
    assert used == known  # every tag the policy engine keys on has at least one default purpose


def _tagged(tax: Taxonomy, tag: PurposeTag) -> set[str]:
    return {k for k, p in tax.purposes.items() if tag in p.tags}


def test_advertising_purposes_carry_the_opt_out_tags(tax: Taxonomy) -> None:
    targeted = _tagged(tax, PurposeTag.TARGETED_ADVERTISING)
    assert {"marketing.advertising.third_party.targeted", "marketing.advertising.third_party.cross_context"} <= targeted
    # CCPA "sharing" is disclosure for cross-context behavioural advertising: always targeted advertising.
    assert _tagged(tax, PurposeTag.SHARING) <= targeted
    assert "marketing.advertising.third_party.cross_context" in _tagged(tax, PurposeTag.SHARING)
    assert tax.purposes["third_party_sharing.sale"].tags == {PurposeTag.SALE}


def test_essential_purposes_are_never_sale_or_advertising(tax: Taxonomy) -> None:
    risky = {PurposeTag.SALE, PurposeTag.SHARING, PurposeTag.TARGETED_ADVERTISING}
    clashing = [k for k, p in tax.purposes.items() if PurposeTag.ESSENTIAL in p.tags and p.tags & risky]
    assert clashing == []
    assert all(PurposeTag.ESSENTIAL in p.tags for k, p in tax.purposes.items() if k.startswith("essential"))


def test_storage_only_purpose_does_nothing_else(tax: Taxonomy) -> None:
    assert [k for k in tax.purposes if PurposeTag.STORAGE in tax.purposes[k].tags] == ["storage"]
    assert tax.purposes["storage"].tags == {PurposeTag.STORAGE}


@pytest.mark.parametrize(
    ("key", "tag"),
    [
        ("essential.service.account", PurposeTag.ESSENTIAL),
        ("essential.service.order_fulfilment", PurposeTag.ESSENTIAL),
        ("essential.service.device_control", PurposeTag.ESSENTIAL),
        ("essential.service.notifications.safety", PurposeTag.LEGAL_OBLIGATION),
        ("essential.service.security.audit", PurposeTag.SECURITY),
        ("essential.fraud_detection", PurposeTag.SECURITY),
        ("marketing.communications.email", PurposeTag.DIRECT_MARKETING),
        ("marketing.promotion.referral", PurposeTag.DIRECT_MARKETING),
        ("analytics.usage", PurposeTag.ANALYTICS),
        ("personalize.content.profiling", PurposeTag.PROFILING),
        ("legal.claims", PurposeTag.LEGAL_CLAIMS),
        ("legal.regulatory_compliance", PurposeTag.LEGAL_OBLIGATION),
    ],
)
def test_purpose_tag(tax: Taxonomy, key: str, tag: PurposeTag) -> None:
    assert tag in tax.purposes[key].tags


FIDESLANG_SUBJECTS = {
    "anonymous_user",
    "citizen_voter",
    "commuter",
    "consultant",
    "customer",
    "employee",
    "job_applicant",
    "next_of_kin",
    "passenger",
    "patient",
    "prospect",
    "shareholder",
    "supplier_vendor",
    "trainee",
    "visitor",
}


def test_subjects(tax: Taxonomy) -> None:
    assert set(tax.subjects) >= FIDESLANG_SUBJECTS
    assert {"app_user", "device_user", "family_member", "installer", "authorised_agent", "bystander"} <= set(
        tax.subjects
    )
    assert [k for k, s in tax.subjects.items() if s.minor] == ["child"]


def test_legal_bases_follow_article_6(tax: Taxonomy) -> None:
    bases = tax.legal_bases
    assert [b.article for b in bases.values()] == [f"GDPR Art. 6(1)({letter})" for letter in "abcdef"]
    assert {k for k, b in bases.items() if b.needs_consent} == {"consent"}
    assert {k for k, b in bases.items() if b.objectable} == {"public_task", "legitimate_interests"}


def test_special_conditions_follow_article_9_2(tax: Taxonomy) -> None:
    conditions = tax.special_conditions
    assert [c.article for c in conditions.values()] == [f"GDPR Art. 9(2)({letter})" for letter in "abcdefghij"]
    assert {k for k, c in conditions.items() if c.needs_consent} == {"explicit_consent"}
