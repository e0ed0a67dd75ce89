"""Manifest de-identification rules to a profile for one collection: category rules, column rules, and refusals."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from privet.deid.manifest_profiles import DeidConfigError, column_categories, resolve_profile
from privet.deid.profile import Drop, Generalise, Keep, Pseudonymise
from privet.manifest.model import Manifest
from privet.workspace.manifest_files import load_manifest
from tests.conftest import edited_manifest

PEOPLE = {
    "fields": {
        "id": {"primary_key": True, "categories": ["system.operations"]},
        "email": {"categories": ["user.contact.email"]},
        "user_id": {"categories": ["user.unique_id.user_id"]},
        "dob": {"data_type": "date", "categories": ["user.demographic.date_of_birth"]},
        "gender": {"categories": ["user.demographic.gender"]},
        "weight": {"categories": ["user.health_and_medical.body_metrics.weight"]},
        "notes": {},
        "address": {
            "categories": ["user.contact.address"],
            "fields": {"street": {}, "country": {"categories": ["user.contact.address.country"]}},
        },
    }
}
RULES: dict[str, Any] = {
    "user.contact": {"action": "drop"},
    "user.contact.address.country": {"action": "keep", "role": "quasi_identifier"},
    "user.unique_id": {"action": "pseudonymise", "domain": "user_id"},
    "user.demographic": {"action": "generalise", "generaliser": "year_band", "config": {"years": 10},
                         "role": "quasi_identifier"},
    "user.demographic.gender": {"action": "keep", "role": "quasi_identifier"},
    "user.health_and_medical": {"action": "keep", "role": "sensitive"},
    "system.operations": {"action": "keep"},
}  # fmt: skip


def manifest(tmp_path: Path, profile: dict[str, Any], rules: dict[str, Any] | None = None) -> Manifest:
    def edit(data: dict[str, Any]) -> None:
        data["datasets"]["shop_db"]["collections"]["people"] = PEOPLE

    folder = edited_manifest(tmp_path / "m", edit)
    section = {"rules": RULES if rules is None else rules, "profiles": {"analytics": profile}}
    (folder / "deidentification.yml").write_text(yaml.safe_dump({"deidentification": section}))
    return load_manifest(folder).manifest


def test_categories_map_to_actions_with_the_most_specific_rule(tmp_path: Path) -> None:
    m = manifest(tmp_path, {"k": 2, "unlisted": "drop"})
    resolved = resolve_profile(m, "analytics", "shop_db.people")
    p = resolved.profile
    assert isinstance(p.columns["email"], Drop)  # user.contact
    assert p.columns["user_id"] == Pseudonymise(domain="user_id")
    assert isinstance(p.columns["dob"], Generalise) and p.columns["dob"].generaliser == "year_band"
    assert isinstance(p.columns["gender"], Keep)  # its own rule, not user.demographic's
    assert "notes" not in p.columns and p.unlisted == "drop"  # no categories: unlisted
    assert p.quasi_identifiers == ("dob", "gender")
    plans = {c.column: c for c in resolved.columns}
    assert plans["gender"].source == "deidentification.rules.user.demographic.gender"
    assert plans["notes"].action == "drop (unlisted)" and plans["notes"].source == "no categories in the manifest"


def test_column_rules_win_and_profile_rules_merge_over_the_section(tmp_path: Path) -> None:
    profile = {
        "k": 1,
        "unlisted": "drop",
        "rules": {"user.contact.email": {"action": "pseudonymise", "domain": "email"}},
        "columns": {"shop_db.people.gender": {"action": "drop"}, "notes": {"action": "suppress"}},
    }
    p = resolve_profile(manifest(tmp_path, profile), "analytics", "shop_db.people").profile
    assert p.columns["email"] == Pseudonymise(domain="email")
    assert isinstance(p.columns["gender"], Drop)
    assert p.columns["notes"].action == "suppress"


def test_l_is_measured_on_the_one_sensitive_column(tmp_path: Path) -> None:
    p = resolve_profile(manifest(tmp_path, {"k": 2, "l": 2, "unlisted": "drop"}), "analytics", "shop_db.people").profile
    assert (p.l, p.sensitive) == (2, "weight")


def test_a_profile_over_the_table_columns_includes_flattened_nested_fields(tmp_path: Path) -> None:
    m = manifest(tmp_path, {"k": 2, "unlisted": "drop"})
    columns = ["id", "dob", "gender", "address.street", "address.country", "extra"]
    resolved = resolve_profile(m, "analytics", "shop_db.people", columns)
    p = resolved.profile
    assert isinstance(p.columns["address.street"], Drop)  # inherits user.contact.address
    assert isinstance(p.columns["address.country"], Keep)  # its own category
    assert "address.country" in p.quasi_identifiers
    assert any("email" in n and "not in the table" in n for n in resolved.notes)
    assert {c.column: c.source for c in resolved.columns}["extra"] == "not in the manifest"


def test_a_file_without_a_collection_uses_bare_column_rules(tmp_path: Path) -> None:
    profile = {"k": 2, "unlisted": "drop", "columns": {"age": {"action": "generalise", "generaliser": "age_band",
                                                              "role": "quasi_identifier"}}}  # fmt: skip
    p = resolve_profile(manifest(tmp_path, profile), "analytics", None, ["age", "name"]).profile
    assert list(p.columns) == ["age"] and p.quasi_identifiers == ("age",)


def test_column_categories_of_nested_fields(tmp_path: Path) -> None:
    m = manifest(tmp_path, {"k": 1})
    cats = column_categories(m.datasets["shop_db"].collections["people"].fields)
    assert cats["address"] == ("user.contact.address", "user.contact.address.country")
    assert cats["address.street"] == ("user.contact.address",)


@pytest.mark.parametrize(
    ("profile", "rules", "collection", "message"),
    [
        ({"k": 2}, None, "shop_db.people", "cannot decide what to do with notes (no categories in the manifest)"),
        ({"k": 2, "unlisted": "drop"}, None, "shop_db.peeple", "no collection 'shop_db.peeple' in the manifest's datasets; did you mean shop_db.people?"),
        ({"k": 2, "unlisted": "drop"}, {"user": {"action": "drop"}, "system": {"action": "keep"}}, "shop_db.people",
         "asks for k=2, but no column of shop_db.people is a quasi-identifier"),
        ({"k": 1, "l": 2, "unlisted": "drop"}, {**RULES, "user.health_and_medical": {"action": "drop"}},
         "shop_db.people", "asks for l=2, which is measured on one sensitive column; shop_db.people has none"),
        ({"k": 1, "unlisted": "drop"}, {**RULES, "user.unique_id": {"action": "pseudonymise"}}, "shop_db.people",
         "shop_db.people.user_id, from deidentification.rules.user.unique_id: pseudonymise needs a domain"),
        ({"k": 1, "unlisted": "drop"}, {**RULES, "user.demographic": {"action": "generalise", "generaliser": "decade"}},
         "shop_db.people", "no generaliser 'decade'"),
        ({"k": 1, "unlisted": "drop", "columns": {"address": {"action": "keep"}},
          "rules": {"user.contact.address.country": {"action": "keep"}}}, None, "shop_db.people", None),
    ],
)  # fmt: skip
def test_errors_name_the_place_and_the_fix(
    tmp_path: Path, profile: dict[str, Any], rules: dict[str, Any] | None, collection: str, message: str | None
) -> None:
    m = manifest(tmp_path, profile, rules)
    if message is None:
        resolve_profile(m, "analytics", collection)
        return
    with pytest.raises(DeidConfigError, match=re.escape(message)):
        resolve_profile(m, "analytics", collection)


def test_conflicting_categories_are_refused(tmp_path: Path) -> None:
    rules = {**RULES, "user.contact": {"action": "pseudonymise", "domain": "contact"}}
    with pytest.raises(DeidConfigError, match=r"address: its categories ask for different treatments.*columns"):
        resolve_profile(manifest(tmp_path, {"k": 1, "unlisted": "drop"}, rules), "analytics", "shop_db.people")


def test_unknown_profile_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(DeidConfigError, match="no de-identification profile 'analytic'; did you mean analytics"):
        resolve_profile(manifest(tmp_path, {"k": 1}), "analytic", "shop_db.people")
