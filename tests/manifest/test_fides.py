from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from privet.manifest.datasets import Dataset, Direction
from privet.manifest.entities import System, SystemKind
from privet.manifest.fides import (
    FidesFormatError,
    FidesImport,
    export_fides_text,
    fides_to_manifest,
    import_fides_text,
    manifest_to_fides,
)
from privet.manifest.lint import lint
from privet.manifest.model import Manifest
from privet.manifest.processing import Activity
from privet.taxonomy import Sensitivity
from privet.workspace.manifest_files import load_manifest
from tests.conftest import edited_manifest

FIXTURES = Path(__file__).parent / "fixtures" / "fides"


def fixture(name: str) -> dict[str, Any]:
    data = yaml.safe_load((FIXTURES / name).read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def shop() -> dict[str, Any]:
    return {**fixture("shop_datasets.yml"), **fixture("shop_systems.yml")}


def manifest_of(sections: dict[str, Any]) -> Manifest:
    base = {"notice": {"jurisdictions": ["eu"]}, "organisation": {"name": "Shop", "legal_entities": {}}}
    return Manifest.model_validate({**base, **sections})


def normalised(value: Any) -> Any:
    """Fides treats a missing key, null, false and an empty list alike; compare without them."""
    if isinstance(value, dict):
        out = {k: normalised(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, False, "", [], {})}
    if isinstance(value, list):
        return [normalised(v) for v in value]
    return value


# --- round trips ---------------------------------------------------------------------------------------


# A Fides file written against the revised fideslang keys that IAB Tech Lab published (user.health,
# user.children, user.biometrics, user.device.telemetry, user.settings ...).
REVISED_KEYS = {
    "user.health.condition": {Sensitivity.GDPR_ART9, Sensitivity.US_SENSITIVE},
    "user.health.symptons": {Sensitivity.GDPR_ART9, Sensitivity.US_SENSITIVE},  # spelt so in the taxonomy
    "user.biometrics.fingerprint": {Sensitivity.GDPR_ART9, Sensitivity.US_SENSITIVE},
    "user.authorization.biometrics": {Sensitivity.GDPR_ART9, Sensitivity.US_SENSITIVE},
    "user.children.children_under_thirteen": {Sensitivity.CHILD, Sensitivity.US_SENSITIVE},
    "user.children.thirteen_to_sixteen": {Sensitivity.CHILD, Sensitivity.US_SENSITIVE},
    "user.demographic.union_membership": {Sensitivity.GDPR_ART9, Sensitivity.US_SENSITIVE},
    "user.device.telemetry": set(),
    "user.settings": set(),
    "user.location.coarse": set(),
}
REVISED_FIDES = {
    "dataset": [
        {
            "fides_key": "clinic_db",
            "collections": [
                {
                    "name": "patients",
                    "fields": [{"name": key.rpartition(".")[2], "data_categories": [key]} for key in REVISED_KEYS],
                }
            ],
        }
    ],
    "system": [
        {
            "fides_key": "clinic_app",
            "name": "Clinic app",
            "system_type": "Application",
            "privacy_declarations": [
                {
                    "name": "Care",
                    "data_use": "essential.service",
                    "data_categories": list(REVISED_KEYS),
                    "data_subjects": ["customer"],
                    "legal_basis_for_processing": "Contract",
                    "processes_special_category_data": True,
                    "special_category_legal_basis": "Explicit consent",
                }
            ],
        }
    ],
}


def test_revised_fideslang_keys_import_and_check_with_their_legal_labels(tmp_path: Path) -> None:
    imported = import_fides_text(yaml.safe_dump(REVISED_FIDES), "clinic.yml")
    assert imported.warnings == ()
    folder = edited_manifest(tmp_path / "manifest")
    (folder / "fides-clinic.yml").write_text(imported.to_yaml())
    loaded = load_manifest(folder)
    assert loaded.manifest.activities["clinic_app_care"].categories == tuple(REVISED_KEYS)
    assert [d.render() for d in lint(loaded) if d.code == "R001"] == []
    taxonomy = loaded.manifest.taxonomy
    assert {key: set(taxonomy.categories[key].sensitive) for key in REVISED_KEYS} == REVISED_KEYS
    # And they go back out as they came in.
    exported = yaml.safe_load(export_fides_text(loaded.manifest))
    (declaration,) = next(s for s in exported["system"] if s["fides_key"] == "clinic_app")["privacy_declarations"]
    assert declaration["data_categories"] == list(REVISED_KEYS)


def test_datasets_round_trip_exactly() -> None:
    original = fixture("shop_datasets.yml")
    imported = fides_to_manifest(copy.deepcopy(original))
    assert imported.warnings == ()
    assert set(imported.sections) == {"datasets"}
    for key, value in imported.sections["datasets"].items():
        Dataset.model_validate({"key": key, **value})
    assert normalised(manifest_to_fides(manifest_of(imported.sections))) == normalised(original)


def test_datasets_and_systems_round_trip_exactly() -> None:
    original = shop()
    imported = fides_to_manifest(copy.deepcopy(original))
    assert imported.warnings == ()
    for key, value in imported.sections["systems"].items():
        System.model_validate({"key": key, **value})
    for key, value in imported.sections["activities"].items():
        Activity.model_validate({"key": key, **value})
    assert normalised(manifest_to_fides(manifest_of(imported.sections))) == normalised(original)


def test_round_trip_through_yaml_text(tmp_path: Path) -> None:
    imported = import_fides_text((FIXTURES / "shop_datasets.yml").read_text("utf-8"), "shop_datasets.yml")
    sections = yaml.safe_load(imported.to_yaml())
    assert sections == imported.sections
    text = export_fides_text(manifest_of(sections))
    assert normalised(yaml.safe_load(text)) == normalised(fixture("shop_datasets.yml"))


# --- what the import keeps -----------------------------------------------------------------------------


def test_dataset_details_are_kept() -> None:
    sections = fides_to_manifest(shop()).sections
    shop_db = Dataset.model_validate({"key": "shop_db", **sections["datasets"]["shop_db"]})
    assert shop_db.system == "webshop"
    customer = shop_db.collections["customer"]
    email = customer.fields["email"]
    assert email.identity == "email"
    assert email.categories == ("user.contact.email",)
    assert [(r.to, r.direction) for r in email.references] == [("mailer_db.subscriber.address", Direction.TO)]
    assert customer.fields["id"].primary_key
    assert customer.fields["full_name"].masking == "random_string_rewrite"
    assert customer.fields["full_name"].length == 80
    assert customer.fields["address"].fields["geo"].fields["lat"].data_type == "float"
    orders = shop_db.collections["orders"]
    assert orders.after == ("shop_db.customer",)
    assert orders.erase_after == ("shop_db.payment_card",)
    assert orders.fields["shipping"].fields["phone"].identity == "phone_number"
    refs = shop_db.collections["payment_card"].fields["customer_id"].references
    assert [(r.to, r.direction) for r in refs] == [
        ("shop_db.customer.id", Direction.FROM),
        ("mailer_db.subscriber.customer_ref", None),
    ]
    assert shop_db.collections["audit_log"].skip_processing
    paths = [(c, ".".join(p)) for c, p, _ in shop_db.walk_fields()]
    assert ("customer", "address.geo.lon") in paths


def test_systems_and_declarations_become_systems_and_activities() -> None:
    sections = fides_to_manifest(shop()).sections
    assert sections["systems"]["webshop"] == {
        "name": "Web shop",
        "description": "The public storefront and its back office.",
        "kind": SystemKind.SITE.value,
    }
    assert sections["systems"]["mailer"]["kind"] == "service"
    activities = sections["activities"]
    assert list(activities) == [
        "webshop_take_and_deliver_orders",
        "webshop_fraud_checks",
        "mailer_newsletter",
        "mailer_analytics_reporting",
    ]
    assert activities["mailer_newsletter"] == {
        "name": "Newsletter",
        "purposes": ["marketing.communications.email"],
        "bases": [{"basis": "consent"}],
        "categories": ["user.contact.email"],
        "subjects": ["customer", "prospect"],
        "systems": ["mailer"],
    }
    assert activities["webshop_fraud_checks"]["bases"] == [{"basis": "legitimate_interests"}]


def test_declaration_without_legal_basis_asks_for_one() -> None:
    data = fixture("shop_systems.yml")
    del data["system"][1]["privacy_declarations"][0]["legal_basis_for_processing"]
    imported = fides_to_manifest(data)
    assert "bases" not in imported.sections["activities"]["mailer_newsletter"]
    assert any(
        w.startswith("system[1].privacy_declarations[0]: ") and "mailer_newsletter has no legal basis" in w
        for w in imported.warnings
    )


def test_special_category_basis_round_trips() -> None:
    declaration = {
        "name": "Weight tracking",
        "data_use": "essential.service",
        "data_categories": ["user.health_and_medical"],
        "data_subjects": ["customer"],
        "legal_basis_for_processing": "Consent",
        "processes_special_category_data": True,
        "special_category_legal_basis": "Explicit consent",
    }
    original = {"system": [{"fides_key": "scale", "system_type": "Device", "privacy_declarations": [declaration]}]}
    imported = fides_to_manifest(copy.deepcopy(original))
    assert imported.warnings == ()
    assert imported.sections["activities"]["scale_weight_tracking"]["special_condition"] == "explicit_consent"
    assert normalised(manifest_to_fides(manifest_of(imported.sections))) == normalised(original)
    del declaration["special_category_legal_basis"]
    (warning,) = fides_to_manifest(original).warnings
    assert "add its `special_condition`" in warning


def test_activity_keys_stay_unique() -> None:
    declaration = {
        "name": "Analytics",
        "data_use": "analytics",
        "data_categories": [],
        "legal_basis_for_processing": "Consent",
    }
    data = {"system": [{"fides_key": "app", "system_type": "Application", "privacy_declarations": [declaration] * 3}]}
    assert list(fides_to_manifest(data).sections["activities"]) == [
        "app_analytics",
        "app_analytics_2",
        "app_analytics_3",
    ]


# --- what is lost, and said ----------------------------------------------------------------------------


def test_lossy_input_warns_for_every_loss() -> None:
    imported = fides_to_manifest(fixture("lossy.yml"))
    contact = imported.sections["datasets"]["crm"]["collections"]["contact"]
    assert contact["fields"]["email"] == {"categories": ["user.contact.email"], "identity": "email"}
    assert contact["fields"]["phone"]["masking"] == "hash"
    assert imported.sections["datasets"]["crm"]["system"] == "crm_app"
    assert imported.sections["systems"]["crm_app"]["kind"] == "service"
    expected = [
        "policy: Fides `policy` resources are not imported",
        "dataset[0].data_categories: `data_categories` of dataset crm is dropped",
        "dataset[0].fides_meta: `fides_meta` of dataset crm is dropped",
        "dataset[0].collections[0].fidesops_meta.masking_strategy_override: "
        "`masking_strategy_override` of collection crm.contact is dropped",
        "dataset[0].collections[0].fields[0].fidesops_meta.read_only: `read_only` of field crm.contact.email",
        "dataset[0].collections[0].fields[0].data_uses: `data_uses` of field crm.contact.email",
        "dataset[0].collections[0].fields[1].fides_meta.identity: identity 'loyalty_id' of crm.contact.loyalty_number",
        "dataset[0].collections[0].fields[2].fides_meta.masking_strategy_override.configuration: "
        'masking configuration of crm.contact.phone is dropped, only \'hash\' is kept: {"algorithm": "SHA-512"}',
        "fields[3].fides_meta.return_all_elements: `return_all_elements` of field crm.contact.emails",
        "system[0].system_type: system_type 'Third Party' of crm_app read as service",
        "system[0].administrating_department: `administrating_department` of system crm_app",
        "system[0].egress: `egress` of system crm_app",
        "system[0].privacy_declarations[0]: activity crm_app_sales_follow_up has no legal basis",
        "system[0].privacy_declarations[0].dataset_references[0]: dataset crm is linked to the whole system crm_app",
        "system[0].privacy_declarations[0].dataset_references[1]: dataset warehouse is not in this file",
        "system[0].privacy_declarations[0].retention_period: `retention_period` of activity crm_app_sales_follow_up",
    ]
    for fragment in expected:
        assert any(fragment in w for w in imported.warnings), fragment
    assert len(imported.warnings) == len(expected)
    assert not any("organization_fides_key" in w or "processes_personal_data" in w for w in imported.warnings)


def test_text_import_puts_file_lines_on_warnings() -> None:
    imported = import_fides_text((FIXTURES / "lossy.yml").read_text("utf-8"), "lossy.yml")
    masking = next(w for w in imported.warnings if "masking configuration" in w)
    assert masking.startswith("lossy.yml:29:17: dataset[0].collections[0].fields[2]")


def test_export_splits_activities_with_several_purposes() -> None:
    sections = {
        "systems": {"app": {"kind": "app"}},
        "activities": {
            "support": {
                "name": "Support",
                "purposes": ["essential.service", "improve.system"],
                "bases": [
                    {"basis": "contract", "purposes": ["essential.service"]},
                    {"basis": "legitimate_interests", "purposes": ["improve.system"]},
                ],
                "categories": ["user.contact.email"],
                "systems": ["app", "elsewhere"],
            }
        },
    }
    (system,) = manifest_to_fides(manifest_of(sections))["system"]
    assert system["system_type"] == "Application"
    assert [(d["data_use"], d["legal_basis_for_processing"]) for d in system["privacy_declarations"]] == [
        ("essential.service", "Contract"),
        ("improve.system", "Legitimate interests"),
    ]


def test_to_yaml_lists_warnings_as_comments() -> None:
    imported = FidesImport({"systems": {"a": {"kind": "app"}}}, ("x: something was dropped",))
    text = imported.to_yaml()
    assert text.startswith("# Imported from Fides.\n# Review before use:\n#   - x: something was dropped\n")
    assert yaml.safe_load(text) == imported.sections


# --- malformed input -----------------------------------------------------------------------------------


def _field(**extra: Any) -> dict[str, Any]:
    return {"dataset": [{"fides_key": "d", "collections": [{"name": "c", "fields": [{"name": "f", **extra}]}]}]}


FIELD = "dataset[0].collections[0].fields[0]"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, "top level: a Fides file must be a mapping, not nothing"),
        ([1, 2], "top level: a Fides file must be a mapping, not a list"),
        ({"policy": []}, "top level: no `dataset:` or `system:` list"),
        ({"dataset": {"fides_key": "d"}}, "dataset: `dataset` must be a list, not a mapping"),
        ({"dataset": ["d"]}, "dataset[0]: a dataset must be a mapping, not text"),
        ({"dataset": [{"collections": []}]}, "dataset[0]: dataset has no fides_key"),
        ({"dataset": [{"fides_key": "a b", "collections": []}]}, "dataset[0].fides_key: 'a b' is not a fides_key"),
        ({"dataset": [{"fides_key": "a.b", "collections": []}]}, "dataset[0].fides_key: dataset key 'a.b' contains"),
        ({"dataset": [{"fides_key": "d"}]}, "dataset[0]: `collections` is missing"),
        (
            {"dataset": [{"fides_key": "d", "collections": []}, {"fides_key": "d", "collections": []}]},
            "dataset[1].fides_key: dataset 'd' is defined twice",
        ),
        (
            {"dataset": [{"fides_key": "d", "collections": [{"fields": []}]}]},
            "dataset[0].collections[0]: collection has no name",
        ),
        (
            {"dataset": [{"fides_key": "d", "collections": [{"name": "c"}]}]},
            "dataset[0].collections[0]: `fields` is missing",
        ),
        (
            {"dataset": [{"fides_key": "d", "collections": [{"name": "c", "fields": [{"name": "f"}, {}]}]}]},
            "dataset[0].collections[0].fields[1]: field has no name",
        ),
        (
            {"dataset": [{"fides_key": "d", "collections": [{"name": "c", "fields": [{"name": "f"}, {"name": "f"}]}]}]},
            "dataset[0].collections[0].fields[1].name: field 'f' appears twice in d.c",
        ),
        (_field(name=3), f"{FIELD}.name: field name must be text, not a number"),
        (_field(name="a.b"), f"{FIELD}.name: field name 'a.b' contains '.'"),
        (_field(data_categories="user"), f"{FIELD}.data_categories: `data_categories` must be a list, not text"),
        (_field(data_categories=[None]), f"{FIELD}.data_categories[0]: each entry of `data_categories` must be text"),
        (_field(fides_meta=[]), f"{FIELD}.fides_meta: `fides_meta` must be a mapping, not a list"),
        (
            _field(fides_meta={"primary_key": "yes"}),
            f"{FIELD}.fides_meta.primary_key: `primary_key` must be true or false",
        ),
        (_field(fides_meta={"length": 0}), f"{FIELD}.fides_meta.length: length must be a positive whole number"),
        (_field(fides_meta={"length": True}), f"{FIELD}.fides_meta.length: length must be a positive whole number"),
        (_field(fides_meta={"identity": 5}), f"{FIELD}.fides_meta.identity: `identity` must be text, not a number"),
        (
            _field(fides_meta={"references": [{"dataset": "d"}]}),
            f"{FIELD}.fides_meta.references[0]: `field` is missing",
        ),
        (
            _field(fides_meta={"references": [{"dataset": "d", "field": "id"}]}),
            f"{FIELD}.fides_meta.references[0].field: 'id' must name collection.field",
        ),
        (
            _field(fides_meta={"references": [{"dataset": "d", "field": "c.id", "direction": "both"}]}),
            f"{FIELD}.fides_meta.references[0].direction: direction must be `from` or `to`, not 'both'",
        ),
        (
            _field(fides_meta={"masking_strategy_override": {"configuration": {}}}),
            f"{FIELD}.fides_meta.masking_strategy_override: `strategy` is missing",
        ),
        (
            _field(fides_meta={"masking_strategy_override": {"strategy": "hash", "configuration": "x"}}),
            f"{FIELD}.fides_meta.masking_strategy_override.configuration: a masking configuration must be a mapping",
        ),
        (_field(fields={"name": "x"}), f"{FIELD}.fields: `fields` must be a list, not a mapping"),
        (_field(fields=[{"description": "x"}]), f"{FIELD}.fields[0]: field has no name"),
        (
            {
                "dataset": [
                    {"fides_key": "d", "collections": [{"name": "c", "fides_meta": {"after": ["c"]}, "fields": []}]}
                ]
            },
            "dataset[0].collections[0].fides_meta.after[0]: 'c' must name dataset.collection",
        ),
        ({"system": [{"fides_key": "s", "privacy_declarations": []}]}, "system[0]: `system_type` is missing"),
        ({"system": [{"fides_key": "s", "system_type": "Service"}]}, "system[0]: `privacy_declarations` is missing"),
        (
            {
                "system": [
                    {"fides_key": "s", "system_type": "Service", "privacy_declarations": [{"data_categories": []}]}
                ]
            },
            "system[0].privacy_declarations[0]: `data_use` is missing",
        ),
        (
            {"system": [{"fides_key": "s", "system_type": "Service", "privacy_declarations": [{"data_use": "x"}]}]},
            "system[0].privacy_declarations[0]: `data_categories` is missing",
        ),
        (
            {
                "system": [
                    {
                        "fides_key": "s",
                        "system_type": "Service",
                        "privacy_declarations": [
                            {"data_use": "x", "data_categories": [], "legal_basis_for_processing": "Because"}
                        ],
                    }
                ]
            },
            "system[0].privacy_declarations[0].legal_basis_for_processing: 'Because' is not one of Consent, Contract",
        ),
        (
            {
                "system": [
                    {"fides_key": "s", "system_type": "Service", "privacy_declarations": [], "dataset_references": "d"}
                ]
            },
            "system[0].dataset_references: `dataset_references` must be a list, not text",
        ),
        (
            {"system": [{"fides_key": "s", "system_type": "Service", "privacy_declarations": []}] * 2},
            "system[1].fides_key: system 's' is defined twice",
        ),
    ],
)
def test_malformed_input_is_named(data: Any, message: str) -> None:
    with pytest.raises(FidesFormatError) as caught:
        fides_to_manifest(data)
    assert str(caught.value).startswith(message), str(caught.value)


def test_text_errors_carry_file_and_line() -> None:
    text = (
        "dataset:\n  - fides_key: d\n    collections:\n      - name: c\n        fields:\n          - description: x\n"
    )
    with pytest.raises(FidesFormatError) as caught:
        import_fides_text(text, "bad.yml")
    assert str(caught.value) == "bad.yml:6:13: dataset[0].collections[0].fields[0]: field has no name"
    assert caught.value.path == ("dataset", 0, "collections", 0, "fields", 0)


def test_yaml_syntax_errors_are_fides_format_errors() -> None:
    with pytest.raises(FidesFormatError) as caught:
        import_fides_text("dataset:\n  - fides_key: [unclosed\n", "broken.yml")
    assert str(caught.value).startswith("broken.yml:")
    with pytest.raises(FidesFormatError):
        import_fides_text("dataset: []\ndataset: []\n", "twice.yml")


def _nodes(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _nodes(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _nodes(v, (*path, i))
    return out


_SHOP = shop()
_SHOP_NODES = _nodes(_SHOP)[1:]
_junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(where=st.sampled_from(_SHOP_NODES), junk=_junk)
def test_any_damage_gives_a_named_error_or_an_import(where: tuple[Any, ...], junk: Any) -> None:
    data = copy.deepcopy(_SHOP)
    parent = data
    for step in where[:-1]:
        parent = parent[step]
    parent[where[-1]] = junk
    try:
        result = fides_to_manifest(data)
    except FidesFormatError as exc:
        assert exc.problem
        assert "does not fit privet's model" not in exc.problem  # the importer, not the safety net, must catch it
        return
    manifest_to_fides(manifest_of(result.sections))
