"""Retention: rules evaluated per record, legal holds, and the actions due records need (pure, no I/O)."""

from privet.retention.evaluate import Evaluation, Record, RuleOutcome, evaluate, evaluate_rule, final_state
from privet.retention.follow import Follows, inherit
from privet.retention.journal import Anonymised, Journaled, JournalKeys, settled
from privet.retention.plan import (
    FactsError,
    RetentionPlan,
    Scope,
    action_sets_for,
    governing,
    parse_facts,
    plan_retention,
)
from privet.retention.report import RetentionReport, ScopeResult, Tally, evaluate_plan, evaluate_rows
from privet.retention.rules import (
    CompiledRule,
    Fact,
    Hold,
    HoldScope,
    Limitation,
    Missing,
    RetentionState,
    add_period,
    compile_rule,
    legal_holds_for,
)

__all__ = [
    "Anonymised",
    "CompiledRule",
    "Evaluation",
    "Fact",
    "FactsError",
    "Follows",
    "Hold",
    "HoldScope",
    "JournalKeys",
    "Journaled",
    "Limitation",
    "Missing",
    "Record",
    "RetentionPlan",
    "RetentionReport",
    "RetentionState",
    "RuleOutcome",
    "Scope",
    "ScopeResult",
    "Tally",
    "action_sets_for",
    "add_period",
    "compile_rule",
    "evaluate",
    "evaluate_plan",
    "evaluate_rows",
    "evaluate_rule",
    "final_state",
    "governing",
    "inherit",
    "legal_holds_for",
    "parse_facts",
    "plan_retention",
    "settled",
]
