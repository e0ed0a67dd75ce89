"""Decisions: may purpose P use category C of subject S, sent to recipient R? One at a time or in bulk."""

from privet.policy.compiled import CompiledPolicy, SubjectView, compile_policy
from privet.policy.decision import Decision, Outcome, Rule

__all__ = ["CompiledPolicy", "Decision", "Outcome", "Rule", "SubjectView", "compile_policy"]
