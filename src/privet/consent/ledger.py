"""Recording choices: validated against the manifest, resolved to a person, appended as evidence."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from privet.consent.events import SIGNALS, ConsentEvent, Evidence, LedgerError, Signal, Source
from privet.consent.identifiers import Identifier
from privet.consent.ports import AppendResult, ConsentStore, Subject, SubjectStore
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
    subject_id: str
    result: AppendResult
    events: tuple[ConsentEvent, ...]


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
        if subject_id:
            subject = self.subjects.get(subject_id)
            if subject is None:
                raise LedgerError(f"unknown subject {subject_id!r}")
            if identifier is not None:
                return self.subjects.link(subject.subject_id, identifier, now)
            return subject.subject_id
        if identifier is None:
            raise LedgerError("a choice needs a subject id or an identifier")
        found = self.subjects.find(identifier)
        if found:
            return found
        new_id = str(uuid.uuid4())
        self.subjects.create(Subject(new_id, now, jurisdiction=jurisdiction))
        return self.subjects.link(new_id, identifier, now)

    def check(self, choice: ChoiceInput, now: dt.datetime) -> dt.datetime:
        """Everything about a choice that can be checked without writing; returns its time."""
        if now.tzinfo is None:
            raise LedgerError("now must be timezone-aware")
        at = choice.at or now
        if at.tzinfo is None:
            raise LedgerError("the time of a choice must carry a timezone (e.g. 2025-01-31T10:00:00+00:00)")
        if at > now + CLOCK_SKEW:
            raise LedgerError(f"the choice is dated {at.isoformat()}, in the future")
        self.check_key(choice.key, choice.scope)
        if choice.subject_id and self.subjects.get(choice.subject_id) is None:
            raise LedgerError(f"unknown subject {choice.subject_id!r}")
        if not choice.subject_id and choice.identifier is None:
            raise LedgerError("a choice needs a subject id or an identifier")
        return at

    def event_for(self, choice: ChoiceInput, now: dt.datetime) -> ConsentEvent:
        at = self.check(choice, now)
        subject_id = self.resolve(choice.subject_id, choice.identifier, now, choice.jurisdiction)
        return ConsentEvent(
            event_id=choice.event_id or str(uuid.uuid4()),
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
        for choice in choices:
            self.check(choice, now)
        events = tuple(self.event_for(c, now) for c in choices)
        result = self.store.append(events, now)
        return Recorded(events[0].subject_id if events else "", result, events)

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
