"""Merging files into one manifest; schema errors mapped back to file:line with suggestions."""

from __future__ import annotations

import pytest

from privet.manifest.diagnostics import ManifestUnreadable
from privet.manifest.loader import load
from privet.manifest.source import parse_yaml
from privet.taxonomy import Taxonomy

TAX = Taxonomy.from_data(
    {
        "categories": {"user": {"name": "User"}, "user.contact": {"name": "Contact"}},
        "purposes": {"essential": {"name": "Essential"}},
        "subjects": {"customer": {"name": "Customer"}},
    }
)

HEAD = """\
notice:
  jurisdictions: [eu]
organisation:
  name: Example
  legal_entities:
    ex: {name: Example Ltd}
"""


def errors(*files: str) -> list[str]:
    docs = [parse_yaml(text, f"f{i}.yml") for i, text in enumerate(files)]
    with pytest.raises(ManifestUnreadable) as info:
        load(docs, TAX)
    return [d.render() for d in info.value.diagnostics]


def test_files_merge_by_section_and_key() -> None:
    docs = [
        parse_yaml(HEAD + "brands:\n  a: {name: A}\n", "f0.yml"),
        parse_yaml("brands:\n  b: {name: B}\n", "f1.yml"),
    ]
    loaded = load(docs, TAX)
    assert list(loaded.manifest.brands) == ["a", "b"]
    assert loaded.manifest.brands["b"].key == "b"
    assert str(loaded.index.locate(("brands", "b", "name"))) == "f1.yml:2:13"
    assert loaded.manifest.organisation.legal_entities["ex"].key == "ex"


def test_unknown_section_suggests_the_nearest() -> None:
    (msg,) = errors(HEAD + "activites:\n  x: {}\n")
    assert msg.startswith("f0.yml:7:1: S002 unknown section 'activites'; did you mean activities?")


def test_key_defined_twice_across_files_names_both_places() -> None:
    (msg,) = errors(HEAD + "brands:\n  a: {name: A}\n", "brands:\n  a: {name: Again}\n")
    assert msg.startswith("f1.yml:2:3: D001 brands.a is defined twice; first at f0.yml:8:3")


def test_singular_section_defined_twice() -> None:
    (msg,) = errors(HEAD, "notice:\n  jurisdictions: [uk]\n")
    assert "D001 notice is defined twice" in msg


def test_unknown_field_suggests_and_lists_allowed_keys() -> None:
    (msg,) = errors(HEAD + "brands:\n  a: {name: A, descripton: typo}\n")
    assert msg.startswith("f0.yml:8:16: S002 unknown key 'descripton' in brands.a; did you mean description?")
    assert "allowed:" in msg


def test_wrong_type_points_at_the_value() -> None:
    (msg,) = errors(HEAD + "systems:\n  s: {kind: spaceship}\n")
    assert msg.startswith("f0.yml:8:13: S001 systems.s.kind:")
    assert "'site'" in msg


def test_missing_required_key() -> None:
    (msg,) = errors("organisation:\n  name: X\n  legal_entities: {}\n")
    assert "S003 missing required key 'notice'" in msg


def test_bad_period_is_explained() -> None:
    text = HEAD + "retention:\n  r:\n    triggers: [relationship_end]\n    grace: two moons\n"
    (msg,) = errors(text)
    assert msg.startswith("f0.yml:10:12: S001 retention.r.grace")
    assert "P2M" in msg


def test_taxonomy_additions_merge_and_clashes_are_refused() -> None:
    docs = [parse_yaml(HEAD + "data_categories:\n  user.contact.baby_name: {name: Baby name}\n", "f0.yml")]
    loaded = load(docs, TAX)
    assert "user.contact.baby_name" in loaded.manifest.taxonomy.categories
    (msg,) = errors(HEAD + "purposes:\n  essential: {name: Mine}\n")
    assert "D002 purposes 'essential' is already in the default taxonomy" in msg


def test_every_problem_is_reported_at_once() -> None:
    found = errors(HEAD + "brands:\n  a: {nme: A}\n  b: {nam: B}\nsytems: {}\n")
    assert len(found) == 1  # structural problems stop before the schema pass
    found = errors(HEAD + "brands:\n  a: {nme: A}\n  b: {nam: B}\n")
    assert len(found) == 2
