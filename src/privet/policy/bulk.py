"""Bulk enforcement as a plan: which profiles may appear in the output, which columns each may show.

The plan is pure data computed from the compiled policy. An engine (Arrow/NumPy locally, Spark on a cluster)
maps each row's subject to its profile and applies the plan column by column; it never decides anything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from privet.consent.identifiers import IdentifierKind
from privet.policy.compiled import CompiledPolicy, ProfileKey
from privet.policy.decision import Decision

# The category a row's subject identifier itself belongs to, when the caller does not say.
IDENTIFIER_CATEGORIES = {
    IdentifierKind.EMAIL: "user.contact.email",
    IdentifierKind.PHONE: "user.contact.phone_number",
    IdentifierKind.USER_ID: "user.unique_id.user_id",
    IdentifierKind.DEVICE_SERIAL: "user.device.serial_number",
    IdentifierKind.BROWSER: "user.device.cookie_id",
}

UNKNOWN_SUBJECT: ProfileKey = (None, False, ())  # a row whose subject privet has never heard of


class PlanError(ValueError):
    pass


@dataclass(frozen=True)
class ColumnPlan:
    name: str
    category: str
    allowed: tuple[bool, ...]  # per profile
    decisions: tuple[Decision, ...]  # per profile

    @property
    def drop(self) -> bool:
        """Denied for every profile: the column leaves the output entirely."""
        return not any(self.allowed)

    @property
    def keep_all(self) -> bool:
        return all(self.allowed)


@dataclass(frozen=True)
class BulkPlan:
    purpose: str
    recipient: str | None
    subject_column: str
    subject_category: str
    unknown_profile: int
    rows: tuple[bool, ...]  # per profile: may the subject's rows be used at all
    row_decisions: tuple[Decision, ...]
    columns: tuple[ColumnPlan, ...]
    passthrough: tuple[str, ...] = field(default=())  # columns carrying no personal data

    def describe(self) -> list[str]:
        lines = [f"purpose {self.purpose}" + (f", recipient {self.recipient}" if self.recipient else "")]
        denied = Counter(d.rule.value for d, ok in zip(self.row_decisions, self.rows, strict=True) if not ok)
        lines.append(f"rows: {len(self.rows)} profile(s), {sum(self.rows)} allowed; denied by {dict(denied) or 'none'}")
        for col in self.columns:
            state = "dropped" if col.drop else "kept" if col.keep_all else "nulled for some subjects"
            lines.append(f"column {col.name} ({col.category}): {state}")
        return lines


def plan_enforcement(
    policy: CompiledPolicy,
    purpose: str,
    recipient: str | None,
    subject_column: str,
    subject_category: str,
    columns: Mapping[str, str],
    passthrough: Sequence[str] = (),
) -> BulkPlan:
    """Decide every (profile, column) once. Profiles interned later (new subjects) need a new plan."""
    unknown = policy.intern(UNKNOWN_SUBJECT)
    profiles = range(policy.profile_count())
    policy.validate(subject_category, purpose, recipient)
    for column, category in columns.items():
        try:
            policy.validate(category, purpose, recipient)
        except ValueError as exc:
            raise PlanError(f"column {column}: {exc}") from None
    row_decisions = tuple(policy.decide_profile(p, subject_category, purpose, recipient) for p in profiles)
    plans = []
    for column, category in columns.items():
        decisions = tuple(policy.decide_profile(p, category, purpose, recipient) for p in profiles)
        plans.append(ColumnPlan(column, category, tuple(d.allowed for d in decisions), decisions))
    return BulkPlan(
        purpose=purpose,
        recipient=recipient,
        subject_column=subject_column,
        subject_category=subject_category,
        unknown_profile=unknown,
        rows=tuple(d.allowed for d in row_decisions),
        row_decisions=row_decisions,
        columns=tuple(plans),
        passthrough=tuple(passthrough),
    )
