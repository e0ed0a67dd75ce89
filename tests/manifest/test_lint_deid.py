"""The K-rules over the deidentification section, each caught at its place; the reference manifest passes strictly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from privet.manifest.diagnostics import ManifestUnreadable
from privet.manifest.lint import lint
from privet.workspace.manifest_files import load_manifest
from tests.conftest import MINIMAL, REPO, edited_manifest

GOOD: dict[str, Any] = {
    "rules": {
        "user.contact": {"action": "drop"},
        "user.contact.address.country": {"action": "keep", "role": "quasi_identifier"},
    },
    "profiles": {"analytics": {"k": 5, "unlisted": "drop"}},
}


def diagnostics(tmp_path: Path, section: dict[str, Any]) -> list[str]:
    folder = edited_manifest(tmp_path / "m")
    (folder / "deidentification.yml").write_text(yaml.safe_dump({"deidentification": section}, sort_keys=False))
    return [d.render() for d in lint(load_manifest(folder)) if d.code.startswith("K")]


def test_a_good_section_is_clean(tmp_path: Path) -> None:
    assert diagnostics(tmp_path, GOOD) == []


def test_the_reference_manifest_has_an_analytics_profile_and_no_findings_at_all() -> None:
    loaded = load_manifest(REPO / "examples" / "anker")
    assert "analytics" in loaded.manifest.deidentification.profiles
    assert [d.render() for d in lint(loaded)] == []  # strict: no warnings either


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"rules": {"user.contact.emial": {"action": "drop"}}},
         "deidentification.yml:3:5: K001 unknown data category user.contact.emial; did you mean user.contact.email?"),
        ({"profiles": {"a": {"k": 1, "categories": ["user.nme"]}}}, "K001 unknown data category user.nme"),
        ({"rules": {"user.name": {"action": "generalise", "generaliser": "age_bnd"}}},
         "K002 unknown generaliser age_bnd; did you mean age_band?"),
        ({"rules": {"user.name": {"action": "generalise"}}}, "K002 generalise needs a generaliser"),
        ({"rules": {"user.name": {"action": "generalise", "generaliser": "year_band", "config": {"years": 0}}}},
         "K002 year bands must be 1 to 100 years wide"),
        ({"rules": {"user.name": {"action": "pseudonymise"}}}, "K002 pseudonymise needs a domain"),
        ({"rules": {"user.name": {"action": "pseudonymise", "domain": "Bad Domain"}}}, "K002 pseudonym domain"),
        ({"rules": {"user.name": {"action": "keep", "domain": "email"}}}, "K002 domain is ignored by action keep"),
        ({"rules": {"user.name": {"action": "generalise", "generaliser": "postcode", "longitude_column": "lon"}}},
         "K002 longitude_column belongs to a column rule of the grid generaliser"),
        ({"rules": {"user.name": {"action": "drop", "role": "quasi_identifier"}}},
         "K003 a quasi-identifier is dropped, so k and l cannot be measured on it"),
        ({"profiles": {"a": {"k": 5}}}, "K004 profile a asks for k=5 but no rule is a quasi-identifier"),
        ({"rules": GOOD["rules"], "profiles": {"a": {"k": 5, "l": 2}}},
         "K004 profile a asks for l=2 but no rule is sensitive"),
        ({"profiles": {"a": {"k": 1, "columns": {"shop_db.customers.emial": {"action": "drop"}}}}},
         "K005 shop_db.customers has no field emial; did you mean email?"),
        ({"profiles": {"a": {"k": 1, "columns": {"shop_db.clients.email": {"action": "drop"}}}}},
         "K005 no collection of the datasets holds shop_db.clients.email"),
    ],
)  # fmt: skip
def test_each_rule_names_the_place(tmp_path: Path, section: dict[str, Any], expected: str) -> None:
    found = diagnostics(tmp_path, section)
    assert any(expected in f for f in found), found


def test_a_misshapen_section_is_unreadable_with_its_place(tmp_path: Path) -> None:
    folder = edited_manifest(tmp_path / "m")
    (folder / "deidentification.yml").write_text(
        "deidentification:\n  rules:\n    user.name: {action: blur}\n  profiles:\n    a: {k: 0, unlsited: drop}\n"
    )
    with pytest.raises(ManifestUnreadable) as caught:
        load_manifest(folder)
    text = str(caught.value)
    assert "deidentification.yml:3:25: S001 deidentification.rules.user.name.action" in text
    assert "unknown key 'unlsited' in deidentification.profiles.a; did you mean unlisted?" in text
    assert "deidentification.profiles.a.k: Input should be greater than or equal to 1" in text


def test_the_section_is_written_once(tmp_path: Path) -> None:
    folder = edited_manifest(tmp_path / "m")
    for name in ("a.yml", "b.yml"):
        (folder / name).write_text("deidentification:\n  rules: {}\n")
    with pytest.raises(ManifestUnreadable, match="deidentification is defined twice"):
        load_manifest(folder)
    assert MINIMAL.is_dir()
