"""Recording choices: validated against the manifest, resolved to a person, appended as evidence."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from privet.consent.events import SIGNALS, ConsentEvent, Evidence, LedgerError, Signal, Source, new_event_id
from privet.consent.identifiers import Identifier
from privet.consent.ports import AppendResult, ConsentStore, SubjectStore
from privet.consent.resolution import Resolver
from privet.consent.state import RecordedEvent, SubjectChoices
from privet.manifest.model import Manifest
from privet.manifest.processing import ConsentKind
from privet.manifest.suggest import did_you_mean

# A device clock a little ahead is normal; a choice dated far in the future is an error in the caller.
CLOCK_SKEW = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class ChoiceInput:
    """A choice as a caller reports it, before it is checked and tied to a subject."""

    key: str
    granted: bool
    source: Source
    subject_id: str | None = None
    identifier: Identifier | None = None
    scope: str = ""
    at: dt.datetime | None = None  # default: now
    event_id: str | None = None  # default: a new random id (no idempotency)
    jurisdiction: str | None = None
    evidence: Evidence = field(default_factory=Evidence)


@dataclass(frozen=True)
class Recorded:
    """What an append did: the person the choices were recorded for, and the ids of their events."""

    subject_id: str
    result: AppendResult
    event_ids: tuple[str, ...]


@dataclass(frozen=True)
class ChoiceSet:
    """One caller's choices, recorded whole or (if any is refused) not at all."""

    choices: tuple[ChoiceInput, ...]
    now: dt.datetime


class NotExact(Exception):
    """A joint append cannot say which caller's events were already recorded: record them one set at a time."""


class ConsentLedger:
    def __init__(self, manifest: Manifest, subjects: SubjectStore, store: ConsentStore, notice_hash: str | None = None):
        self.manifest = manifest
        self.subjects = subjects
        self.store = store
        self.notice_hash = notice_hash

    def known_keys(self) -> list[str]:
        return sorted(self.manifest.consents) + sorted(SIGNALS)

    def check_key(self, key: str, scope: str) -> None:
        if key in SIGNALS:
            if scope:
                raise LedgerError(f"{key} is a signal and has no campaign scope")
            return
        consent = self.manifest.consents.get(key)
        if consent is None:
            raise LedgerError(
                f"unknown consent key {key!r}{did_you_mean(key, self.known_keys())}; keys come from the manifest's "
                "consents: section, or are one of the signals " + ", ".join(sorted(SIGNALS))
            )
        if scope and consent.kind is not ConsentKind.MARKETING:
            raise LedgerError(f"consent key {key!r} is not a marketing consent; only those take a campaign scope")

    def resolve(
        self, subject_id: str | None, identifier: Identifier | None, now: dt.datetime, jurisdiction: str | None = None
    ) -> str:
        people = Resolver(self.subjects)
        found = self._resolve(people, subject_id, identifier, now, jurisdiction)
        people.flush()
        return people.final(found)

    def _resolve(self, people: Resolver, subject_id: str | None, identifier: Identifier | None, now: dt.datetime,
                 jurisdiction: str | None) -> str:  # fmt: skip
        if subject_id:
            subject = people.get(subject_id)
            if subject is None:
                raise LedgerError(f"unknown subject {subject_id!r}")
            if identifier is not None:
                return people.link(subject.subject_id, identifier, now)
            return subject.subject_id
        if identifier is None:
            raise LedgerError("a choice needs a subject id or an identifier")
        return people.person(identifier, now, jurisdiction)

    def check(self, choice: ChoiceInput, now: dt.datetime) -> dt.datetime:
        """Everything about a choice that can be checked without writing; returns its time."""
        return self._check(choice, now, Resolver(self.subjects))

    def _check(self, choice: ChoiceInput, now: dt.datetime, people: Resolver) -> dt.datetime:
        if now.tzinfo is None:
            raise LedgerError("now must be timezone-aware")
        at = choice.at or now
        if at.tzinfo is None:
            raise LedgerError("the time of a choice must carry a timezone (e.g. 2025-01-31T10:00:00+00:00)")
        if at > now + CLOCK_SKEW:
            raise LedgerError(f"the choice is dated {at.isoformat()}, in the future")
        self.check_key(choice.key, choice.scope)
        if choice.subject_id and people.get(choice.subject_id) is None:
            raise LedgerError(f"unknown subject {choice.subject_id!r}")
        if not choice.subject_id and choice.identifier is None:
            raise LedgerError("a choice needs a subject id or an identifier")
        return at

    def _plan(self, people: Resolver, given: ChoiceSet) -> list[tuple[ChoiceInput, dt.datetime, str]]:
        """Every choice checked first (a bad one stops the set before anything is written), then tied to a person."""
        times = [self._check(c, given.now, people) for c in given.choices]
        return [(c, at, self._resolve(people, c.subject_id, c.identifier, given.now, c.jurisdiction))
                for c, at in zip(given.choices, times, strict=True)]  # fmt: skip

    def _event(self, choice: ChoiceInput, at: dt.datetime, subject_id: str, now: dt.datetime) -> ConsentEvent:
        return ConsentEvent(
            event_id=choice.event_id or new_event_id(now),
            subject_id=subject_id,
            key=choice.key,
            granted=choice.granted,
            source=choice.source,
            at=at,
            scope=choice.scope,
            identifier=choice.identifier,
            jurisdiction=choice.jurisdiction,
            manifest_version=self.manifest.notice.version or None,
            notice_hash=self.notice_hash,
            evidence=choice.evidence,
        )

    def record(self, choices: Sequence[ChoiceInput], now: dt.datetime) -> Recorded:
        """Check every choice first, then append all of them at once: a bad one records nothing."""
        people = Resolver(self.subjects)
        plan = self._plan(people, ChoiceSet(tuple(choices), now))
        people.flush()
        events = tuple(self._event(c, at, people.final(sid), now) for c, at, sid in plan)
        result = self.store.append(events, now)
        return Recorded(events[0].subject_id if events else "", result, tuple(e.event_id for e in events))

    def record_many(self, sets: Sequence[ChoiceSet]) -> list[Recorded | LedgerError]:
        """Several callers' choices in one append (run it in one transaction). Each set is checked and tied to its
        people on its own: a refused set gets its error and records nothing, the others are recorded. The people
        of every set are read in a few queries, and the new ones created together.

        Raises NotExact, having appended, when some events were recorded before (an id sent again): the joint
        answer cannot tell whose. The caller then undoes the transaction and records the sets one by one."""
        people = Resolver(self.subjects)
        named = [c for given in sets for c in given.choices]
        people.read_ahead({c.subject_id for c in named if c.subject_id},
                          {c.identifier for c in named if c.identifier is not None and not c.subject_id})  # fmt: skip
        plans: list[list[tuple[ChoiceInput, dt.datetime, str]] | LedgerError] = []
        for given in sets:
            try:
                plans.append(self._plan(people, given))
            except LedgerError as exc:
                plans.append(exc)
        people.flush()
        outcomes: list[Recorded | LedgerError] = []
        events: list[ConsentEvent] = []
        for given, plan in zip(sets, plans, strict=True):
            if isinstance(plan, LedgerError):
                outcomes.append(plan)
                continue
            mine = tuple(self._event(c, at, people.final(sid), given.now) for c, at, sid in plan)
            events.extend(mine)
            ids = tuple(e.event_id for e in mine)
            outcomes.append(Recorded(mine[0].subject_id if mine else "", AppendResult(len(mine), 0), ids))
        if events:
            result = self.store.append(events, max(given.now for given in sets))
            if result.duplicates or result.appended != len(events):
                raise NotExact(f"{result.duplicates} of {len(events)} events were recorded before")
        return outcomes

    def choices(self, subject_id: str) -> SubjectChoices:
        subject = self.subjects.get(subject_id)
        if subject is None:
            raise LedgerError(f"unknown subject {subject_id!r}")
        return SubjectChoices(subject.subject_id, self.store.current(subject.subject_id))

    def history(self, subject_id: str) -> list[RecordedEvent]:
        return self.store.history(subject_id)


def gpc_choices(identifier: Identifier, now: dt.datetime, request_id: str | None = None) -> list[ChoiceInput]:
    """A `Sec-GPC: 1` request: opt out of sale, sharing and targeted advertising for that browser or person."""
    return [
        ChoiceInput(s.value, True, Source.GPC, identifier=identifier, at=now, evidence=Evidence(request_id=request_id))
        for s in (Signal.OPT_OUT_SALE, Signal.OPT_OUT_SHARING, Signal.OPT_OUT_TARGETED_ADVERTISING)
    ]
