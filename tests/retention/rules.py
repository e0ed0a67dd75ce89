"""Small rules and scopes for the retention tests, written as the manifest writes them."""

from __future__ import annotations

from typing import Any

from privet.law.catalogue import catalogue
from privet.manifest.processing import RetentionRule
from privet.retention.plan import Scope
from privet.retention.rules import CompiledRule, Fact, Hold, RetentionState, compile_rule

CLAIMS = [
    {"jurisdictions": ["eu"], "period": "P3Y", "cite": "BGB 195"},
    {"jurisdictions": ["uk"], "period": "P6Y"},
    {"jurisdictions": ["us_states"], "period": "P7Y"},
    {"period": "P6Y", "cite": "default"},
]


def rule(key: str = "relationship", **fields: Any) -> CompiledRule:
    raw = {"triggers": ["relationship_end"], "limitation_periods": CLAIMS, "grace": "P2M", **fields}
    return compile_rule(RetentionRule.model_validate({"key": key, **raw}), catalogue())


def scope(
    *rules: CompiledRule,
    facts: dict[Fact, str] | None = None,
    due: RetentionState = RetentionState.DUE_DELETE,
    holds: tuple[Hold, ...] = (),
    person_holds: dict[str, tuple[str, ...]] | None = None,
    masks: dict[str, str] | None = None,
) -> Scope:
    return Scope(
        collection="db.records",
        system="crm",
        key_field="id",
        rules=rules or (rule(),),
        activities=("accounts",),
        facts=facts if facts is not None else {f: f.value for f in Fact},
        due=due,
        masks=masks or {},
        holds=holds,
        person_holds=person_holds or {},
    )
