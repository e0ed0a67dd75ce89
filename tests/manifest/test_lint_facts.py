"""L013 and L014: retention facts name declared columns, and every system under a retention rule says when its
clock starts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from privet.manifest.diagnostics import Severity
from privet.manifest.lint import lint
from privet.workspace.manifest_files import load_manifest
from tests.conftest import edited_manifest

Edit = Callable[[dict[str, Any]], None]


def customers(facts: dict[str, str], closed: bool = True) -> Edit:
    """The minimal manifest's customers with a closing date (or not) and the given facts."""

    def edit(data: dict[str, Any]) -> None:
        collection = data["datasets"]["shop_db"]["collections"]["customers"]
        if closed:
            collection["fields"]["closed_at"] = {"data_type": "timestamp", "categories": ["system.operations"]}
        collection["facts"] = facts

    return edit


def fact_findings(tmp_path: Path, edit: Edit) -> list[tuple[str, Severity, str]]:
    folder = edited_manifest(tmp_path / "m", edit)
    return [(d.code, d.severity, d.render()) for d in lint(load_manifest(folder)) if d.code in ("L013", "L014")]


def test_a_system_whose_collection_says_when_the_clock_starts_is_clean(tmp_path: Path) -> None:
    assert fact_findings(tmp_path, customers({"relationship_end": "closed_at", "person": "id"})) == []


def test_a_fact_naming_an_undeclared_column_is_caught_at_the_fact(tmp_path: Path) -> None:
    (found,) = fact_findings(tmp_path, customers({"relationship_end": "closed_on"}))
    code, severity, text = found
    assert (code, severity) == ("L013", Severity.ERROR)
    assert "processing.yml:" in text
    assert "shop_db.customers: fact relationship_end names column closed_on, which the collection does not list" in text
    assert "add closed_on to the collection's fields" in text


def test_a_system_under_a_rule_with_no_fact_for_its_trigger_is_warned_per_activity(tmp_path: Path) -> None:
    # Facts that start no clock of the rule (only whose record it is) do not help.
    found = fact_findings(tmp_path, customers({"person": "id"}, closed=False))
    assert [(code, severity) for code, severity, _ in found] == [("L014", Severity.WARNING)] * 2
    accounts, newsletter = (text for _, _, text in found)
    assert "retention rule relationship of accounts starts its clock at relationship_end" in accounts
    assert "no collection of system shop says which column holds it" in accounts
    assert "add facts: {relationship_end: COLUMN} to the collections of that system" in accounts
    assert "retention rule relationship of newsletter" in newsletter


def test_another_trigger_of_the_rule_is_enough(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["retention"]["relationship"]["triggers"] = ["relationship_end", "consent_withdrawn"]
        customers({"consent_withdrawn": "closed_at"})(data)

    assert fact_findings(tmp_path, edit) == []


def test_a_system_without_datasets_is_not_asked_for_facts(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        data["systems"]["crm"] = {"name": "CRM", "kind": "service", "countries": ["IE"]}
        data["activities"]["accounts"]["systems"] = ["shop", "crm"]
        customers({"relationship_end": "closed_at"})(data)

    assert fact_findings(tmp_path, edit) == []
