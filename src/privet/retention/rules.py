"""Retention rules compiled for evaluation: the facts they read, their periods by jurisdiction, and legal holds.

A rule of the manifest says what starts its clock (triggers), how long data stay in use after that, which
limitation period follows in which jurisdiction, the grace period after it, and what happens at the end. Compiling
resolves jurisdiction groups and country codes once, so that a record's jurisdiction finds its period by a set
lookup here and by a CASE expression in the bulk engine, with the same answer.

Periods are calendar periods: each is added as whole months (the same day, or the month's last day where it is
shorter), then days; and the rule's periods are added one after the other (after the trigger, then the limitation
period, then the grace period), as the notice reads them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from privet.fulfilment.erasure import LegalHold
from privet.fulfilment.graph import CollectionNode, DatasetGraph, under
from privet.law.catalogue import Catalogue
from privet.law.counting import add_months
from privet.manifest.datasets import Fact as Fact  # the vocabulary lives with the datasets that declare facts
from privet.manifest.period import Period
from privet.manifest.processing import FinalAction, RetentionRule, RetentionTrigger

TRIGGER_FACTS: Mapping[RetentionTrigger, Fact] = {
    RetentionTrigger.RELATIONSHIP_END: Fact.RELATIONSHIP_END,
    RetentionTrigger.PURPOSE_FULFILLED: Fact.PURPOSE_FULFILLED,
    RetentionTrigger.LAST_ACTIVITY: Fact.LAST_ACTIVITY,
    RetentionTrigger.CONSENT_WITHDRAWN: Fact.CONSENT_WITHDRAWN,
    RetentionTrigger.COLLECTED: Fact.COLLECTED,
}
# Events that may not have happened yet: an empty value means "not yet" (the account is still open), so the rule
# keeps the record in use. The other dates exist for every record: an empty value means nobody knows it.
EVENT_FACTS = frozenset({Fact.RELATIONSHIP_END, Fact.PURPOSE_FULFILLED, Fact.CONSENT_WITHDRAWN})
DATE_FACTS = (Fact.RELATIONSHIP_END, Fact.PURPOSE_FULFILLED, Fact.LAST_ACTIVITY, Fact.CONSENT_WITHDRAWN,
              Fact.COLLECTED)  # fmt: skip


class RetentionState(StrEnum):
    ACTIVE = "active"  # in use for its purpose
    RESTRICTED = "restricted"  # within the limitation period plus grace: storage and security only
    DUE_DELETE = "due_delete"
    DUE_ANONYMISE = "due_anonymise"
    ANONYMISED = "anonymised"  # anonymised by privet (its journal says so): never due to be anonymised again
    HELD = "held"  # due, but a legal hold or an open legal claim keeps it
    UNDECIDABLE = "undecidable"  # a fact the rule needs is missing: never deleted


class Missing(StrEnum):
    """The fact whose absence makes a record undecidable."""

    TRIGGER = "trigger"  # the collection maps none of the rule's triggers
    LAST_ACTIVITY = "last_activity"
    COLLECTED = "collected"
    JURISDICTION = "jurisdiction"
    LIMITATION_PERIOD = "limitation_period"  # no period for the person's jurisdiction, and no default
    PERSON = "person"  # a hold names a person, and the collection cannot say whose record this is
    PARENT = "parent"  # the record follows the record it references, and that record is not there


def add_period(day: dt.date, period: Period | None) -> dt.date:
    """`day` plus `period`: whole months first (clamped to the month's end), then days."""
    if period is None:
        return day
    return add_months(day, period.years * 12 + period.months) + dt.timedelta(days=period.days)


@dataclass(frozen=True, slots=True)
class Limitation:
    index: int  # position in the rule's list; -1 for "no limitation period"
    period: Period
    matches: frozenset[str]  # lower-case jurisdiction keys and country codes; empty: the default entry
    cite: str | None = None
    inferred: bool = False

    @property
    def months(self) -> int:
        return self.period.years * 12 + self.period.months


NO_LIMITATION = Limitation(-1, Period(), frozenset())


@dataclass(frozen=True, slots=True)
class CompiledRule:
    key: str
    title: str
    cite: str | None
    triggers: tuple[Fact, ...]
    after: Period
    limitations: tuple[Limitation, ...]
    grace: Period
    restrict: bool  # restricted to storage during the limitation period and grace
    claims_extend: bool
    final_action: FinalAction

    @property
    def needs_jurisdiction(self) -> bool:
        return any(lim.matches for lim in self.limitations)

    @property
    def default(self) -> Limitation | None:
        if not self.limitations:
            return NO_LIMITATION
        return next((lim for lim in self.limitations if not lim.matches), None)

    def limitation_for(self, jurisdiction: str) -> Limitation | None:
        """The first entry naming the jurisdiction (as written), else the default; None when neither exists."""
        value = jurisdiction.strip().lower()
        return next((lim for lim in self.limitations if value in lim.matches), self.default)

    def trigger_text(self) -> str:
        return " or ".join(t.value.replace("_", " ") for t in self.triggers)


def jurisdiction_aliases(catalogue: Catalogue) -> dict[str, frozenset[str]]:
    """Every value a record may hold for a jurisdiction key or group: itself, its members, their country codes."""
    countries: dict[str, list[str]] = {}
    for key, j in catalogue.jurisdictions.items():
        countries.setdefault(j.country.lower(), []).append(key)
    own: dict[str, set[str]] = {key: {key} for key in catalogue.jurisdictions}
    for country, keys in countries.items():
        if len(keys) == 1:  # US is every state's country: it names none of them
            own[keys[0]].add(country)
    for key, j in catalogue.jurisdictions.items():
        if j.country == "EEA":
            own[key] |= {c.lower() for c in catalogue.eea_members}
    out = {key: frozenset(values) for key, values in own.items()}
    for group, members in catalogue.groups.items():
        out[group] = frozenset({group}).union(*(out.get(m, frozenset({m})) for m in members))
    return out


def compile_rule(rule: RetentionRule, catalogue: Catalogue) -> CompiledRule:
    aliases = jurisdiction_aliases(catalogue)
    limitations = tuple(
        Limitation(
            i,
            lim.period,
            frozenset().union(*(aliases.get(j.lower(), frozenset({j.lower()})) for j in lim.jurisdictions)),
            lim.cite,
            lim.inferred,
        )
        for i, lim in enumerate(rule.limitation_periods)
    )
    return CompiledRule(
        key=rule.key,
        title=rule.title,
        cite=rule.cite,
        triggers=tuple(dict.fromkeys(TRIGGER_FACTS[t] for t in rule.triggers)),
        after=rule.after_trigger or Period(),
        limitations=limitations,
        grace=rule.grace or Period(),
        restrict=rule.restrict_during_limitation,
        claims_extend=rule.legal_claims_extend,
        final_action=rule.final_action,
    )


# -- legal holds ------------------------------------------------------------------------------------------------


class HoldScope(StrEnum):
    PERSON = "person"  # target: the person's id as the company's data hold it (user id, email)
    SYSTEM = "system"  # target: a system key of the manifest
    CATEGORY = "category"  # target: a data category; covers collections with a field of it (or under it)
    COLLECTION = "collection"  # target: "dataset.collection"


@dataclass(frozen=True, slots=True)
class Hold:
    """Data that must not be destroyed while the hold lasts (a pending claim, an authority's order)."""

    hold_id: str
    scope: HoldScope
    target: str
    reason: str
    owner: str
    created_at: dt.datetime
    released_at: dt.datetime | None = None

    def active(self, at: dt.datetime) -> bool:
        return self.created_at <= at and (self.released_at is None or at < self.released_at)

    def covers(self, node: CollectionNode) -> bool:
        """Whether the hold covers every record of the collection (person holds cover records, not collections)."""
        if self.scope is HoldScope.SYSTEM:
            return node.system == self.target
        if self.scope is HoldScope.COLLECTION:
            return node.key == self.target
        if self.scope is HoldScope.CATEGORY:
            return any(under(c, self.target) or under(self.target, c) for f in node.fields for c in f.categories)
        return False

    def __str__(self) -> str:
        return f"{self.hold_id} on {self.scope.value} {self.target}: {self.reason} (owner {self.owner})"


def legal_holds_for(
    holds: Iterable[Hold], graph: DatasetGraph, person_ids: Sequence[str], at: dt.datetime
) -> list[LegalHold]:
    """The holds an erasure request must respect, as fulfilment's LegalHold: `person_ids` are every id the request
    gives or the person is known by (subject id, email, user id)."""
    ids = set(person_ids)
    out = []
    for hold in holds:
        if not hold.active(at):
            continue
        if hold.scope is HoldScope.PERSON:
            if hold.target in ids:
                out.append(LegalHold(hold.hold_id, hold.reason))
        elif hold.scope is HoldScope.CATEGORY:
            out.append(LegalHold(hold.hold_id, hold.reason, categories=(hold.target,)))
        else:
            covered = tuple(k for k, node in graph.collections.items() if hold.covers(node))
            if covered:
                out.append(LegalHold(hold.hold_id, hold.reason, collections=covered))
    return out
