"""The policy compiled from a manifest: decisions are evaluated once per (use, subject profile) and memoised.

A subject's *profile* is what decisions depend on: jurisdiction, minor or not, and the state of every consent
key and signal. Many people share a profile, so the memo stays small and a decision is one dictionary lookup.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from privet.consent.events import Signal
from privet.consent.ports import Subject
from privet.consent.state import SubjectChoices
from privet.law.catalogue import Catalogue, catalogue
from privet.manifest.model import Manifest
from privet.manifest.processing import Activity, ConsentDefault
from privet.manifest.suggest import did_you_mean
from privet.policy.decision import Decision, Outcome, Rule
from privet.policy.evaluate import Evaluation, evaluate

# (jurisdiction, minor, ((key, granted), ...)) with keys sorted; absent keys are never chosen.
ProfileKey = tuple[str | None, bool, tuple[tuple[str, bool], ...]]


class PolicyError(ValueError):
    """A question the policy cannot answer as asked (an unknown purpose, category or recipient)."""


@dataclass(frozen=True, slots=True)
class SubjectView:
    subject_id: str
    jurisdiction: str | None
    minor: bool
    choices: SubjectChoices
    profile: int

    def evidence(self, decision: Decision) -> str | None:
        """The id of the ledger event behind the decision's consent key or signal, if there is one."""
        if decision.consent_key is None:
            return None
        choice = self.choices.choice(decision.consent_key)
        return choice.event_id if choice else None


@dataclass
class CompiledPolicy:
    manifest: Manifest
    law: Catalogue = field(default_factory=catalogue)
    _memo: dict[tuple[str, str, str | None, int], Decision] = field(default_factory=dict, init=False)
    _profiles: dict[ProfileKey, int] = field(default_factory=dict, init=False)
    _profile_keys: list[ProfileKey] = field(default_factory=list, init=False)
    _by_purpose: dict[str, tuple[Activity, ...]] = field(default_factory=dict, init=False)
    _tracked: frozenset[str] = field(default=frozenset(), init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        by_purpose: dict[str, list[Activity]] = {}
        for activity in self.manifest.activities.values():
            for purpose in activity.purposes:
                by_purpose.setdefault(purpose, []).append(activity)
        self._by_purpose = {p: tuple(a) for p, a in by_purpose.items()}
        self._tracked = frozenset(self.manifest.consents) | {s.value for s in Signal}

    # -- subjects -------------------------------------------------------------------------------------------

    def view(self, subject: Subject | None, choices: SubjectChoices, today: dt.date) -> SubjectView:
        """Everything about a person that decisions depend on, with its profile number."""
        jurisdiction = subject.jurisdiction if subject else None
        minor = self._is_minor(subject, today)
        state = tuple(
            sorted(
                (key, c.granted) for (key, scope), c in choices.choices.items() if not scope and key in self._tracked
            )
        )
        return SubjectView(choices.subject_id, jurisdiction, minor, choices, self.intern((jurisdiction, minor, state)))

    def intern(self, key: ProfileKey) -> int:
        """The profile number of a (jurisdiction, minor, choices) signature; bulk compilation calls this directly."""
        profile = self._profiles.get(key)
        if profile is None:
            with self._lock:  # two threads must never number two profiles alike
                profile = self._profiles.get(key)
                if profile is None:
                    profile = len(self._profile_keys)
                    self._profile_keys.append(key)
                    self._profiles[key] = profile
        return profile

    def is_tracked(self, key: str) -> bool:
        return key in self._tracked

    def minor_on(self, birth_date: dt.date | None, known_minor: bool, today: dt.date) -> bool:
        line = self.manifest.minors.no_sale_under
        if known_minor:
            return True
        if line is None or birth_date is None:
            return False
        b = birth_date
        return today.year - b.year - ((today.month, today.day) < (b.month, b.day)) < line

    def _is_minor(self, subject: Subject | None, today: dt.date) -> bool:
        return subject is not None and self.minor_on(subject.birth_date, subject.known_minor, today)

    def profile_count(self) -> int:
        return len(self._profile_keys)

    # -- decisions ------------------------------------------------------------------------------------------

    def decide(self, subject: SubjectView, category: str, purpose: str, recipient: str | None = None) -> Decision:
        decision = self._memo.get((purpose, category, recipient, subject.profile))
        if decision is None:
            decision = self._decide_profile(subject.profile, category, purpose, recipient)
        return decision

    def decide_profile(self, profile: int, category: str, purpose: str, recipient: str | None = None) -> Decision:
        decision = self._memo.get((purpose, category, recipient, profile))
        return decision if decision is not None else self._decide_profile(profile, category, purpose, recipient)

    def _decide_profile(self, profile: int, category: str, purpose: str, recipient: str | None) -> Decision:
        self.validate(category, purpose, recipient)
        jurisdiction, minor, state = self._profile_keys[profile]
        facts = Evaluation(
            manifest=self.manifest,
            law=self.law,
            jurisdiction=jurisdiction,
            minor=minor,
            choices=dict(state),
            defaults={k: c.default is ConsentDefault.OPT_OUT for k, c in self.manifest.consents.items()},
        )
        decision = evaluate(facts, self._by_purpose.get(purpose, ()), category, purpose, recipient)
        self._memo[(purpose, category, recipient, profile)] = decision
        return decision

    def validate(self, category: str, purpose: str, recipient: str | None) -> None:
        tax = self.manifest.taxonomy
        if purpose not in tax.purposes:
            raise PolicyError(f"unknown purpose {purpose!r}{did_you_mean(purpose, tax.purposes)}")
        if category not in tax.categories:
            raise PolicyError(f"unknown data category {category!r}{did_you_mean(category, tax.categories)}")
        if recipient is not None and recipient not in self.manifest.recipients:
            raise PolicyError(f"unknown recipient {recipient!r}{did_you_mean(recipient, self.manifest.recipients)}")

    def outcomes(self, profiles: Iterable[int], category: str, purpose: str, recipient: str | None) -> list[bool]:
        """Allowed or not for each profile: the bulk engine's table for one column."""
        return [self.decide_profile(p, category, purpose, recipient).outcome is Outcome.ALLOW for p in profiles]


def compile_policy(manifest: Manifest, law: Catalogue | None = None) -> CompiledPolicy:
    return CompiledPolicy(manifest, law or catalogue())


__all__ = ["CompiledPolicy", "PolicyError", "Rule", "SubjectView", "compile_policy"]
