"""A decision is a value: allow or deny, the rule that decided, and the facts that led there."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


class Rule(StrEnum):
    COVERED = "covered"  # an activity covers the use and its legal basis holds
    NO_ACTIVITY = "no_activity"
    RECIPIENT_NOT_DISCLOSED = "recipient_not_disclosed"
    CONSENT_MISSING = "consent_missing"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    OBJECTION = "objection"
    RESTRICTION = "restriction"
    OPTED_OUT = "opted_out"  # of sale, sharing or targeted advertising (GPC included)
    SENSITIVE_NEVER_SOLD = "sensitive_never_sold"
    SENSITIVE_LIMITED = "sensitive_limited"
    ART9_CONDITION = "art9_condition"
    MINOR = "minor"
    NO_BASIS = "no_basis"


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    rule: Rule
    reasons: tuple[str, ...]
    purpose: str
    category: str
    recipient: str | None = None
    activity: str | None = None  # the activity that covers (or would cover) the use
    basis: str | None = None  # its legal basis in the subject's jurisdiction
    consent_key: str | None = None  # the consent key or signal whose event enables or blocks the use
    jurisdiction: str | None = None
    cites: tuple[str, ...] = field(default=())

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOW

    def as_json(self) -> dict[str, object]:
        return {
            "outcome": self.outcome.value,
            "rule": self.rule.value,
            "reasons": list(self.reasons),
            "purpose": self.purpose,
            "category": self.category,
            "recipient": self.recipient,
            "activity": self.activity,
            "basis": self.basis,
            "consent_key": self.consent_key,
            "jurisdiction": self.jurisdiction,
            "cites": list(self.cites),
        }
