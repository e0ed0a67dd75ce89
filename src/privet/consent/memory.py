"""In-memory stores: for tests, for single-shot commands, and the reference the SQL stores must match."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Iterator, Sequence

from privet.consent.events import ConsentEvent, EventConflict
from privet.consent.identifiers import Identifier
from privet.consent.ports import AppendResult, Subject
from privet.consent.state import Choice, RecordedEvent, StateKey, fold


class MemorySubjects:
    def __init__(self) -> None:
        self._subjects: dict[str, Subject] = {}
        self._identifiers: dict[Identifier, str] = {}

    def canonical(self, subject_id: str) -> str:
        seen = set()
        while (s := self._subjects.get(subject_id)) is not None and s.merged_into and subject_id not in seen:
            seen.add(subject_id)
            subject_id = s.merged_into
        return subject_id

    def merged_map(self) -> dict[str, str]:
        return {k: self.canonical(k) for k, s in self._subjects.items() if s.merged_into}

    def create(self, subject: Subject) -> None:
        if subject.subject_id in self._subjects:
            raise ValueError(f"subject {subject.subject_id} exists")
        self._subjects[subject.subject_id] = subject

    def get(self, subject_id: str) -> Subject | None:
        return self._subjects.get(self.canonical(subject_id))

    def find(self, identifier: Identifier) -> str | None:
        owner = self._identifiers.get(identifier)
        return self.canonical(owner) if owner else None

    def get_many(self, subject_ids: Collection[str]) -> dict[str, Subject]:
        return {s: found for s in subject_ids if (found := self.get(s)) is not None}

    def find_many(self, identifiers: Collection[Identifier]) -> dict[Identifier, str]:
        return {i: owner for i in identifiers if (owner := self.find(i)) is not None}

    def create_many(self, people: Sequence[tuple[Subject, Identifier]]) -> dict[Identifier, str]:
        wanted = [identifier for _, identifier in people]
        if len(set(wanted)) != len(wanted):
            raise ValueError("create_many: each new person needs an identifier of their own")
        owners: dict[Identifier, str] = {}
        for subject, identifier in people:
            held = self.find(identifier)
            if held is None:
                self.create(subject)
                self._identifiers[identifier] = subject.subject_id
            owners[identifier] = held or subject.subject_id
        return owners

    def link(self, subject_id: str, identifier: Identifier, at: dt.datetime) -> str:
        target = self.canonical(subject_id)
        if target not in self._subjects:
            raise KeyError(subject_id)
        owner = self.find(identifier)
        if owner is not None and owner != target:
            for ident, sid in list(self._identifiers.items()):
                if self.canonical(sid) == owner:
                    self._identifiers[ident] = target
            self._subjects[owner] = dataclasses.replace(self._subjects[owner], merged_into=target)
        self._identifiers[identifier] = target
        return target

    def identifiers(self, subject_id: str) -> list[Identifier]:
        target = self.canonical(subject_id)
        return sorted((i for i, s in self._identifiers.items() if self.canonical(s) == target), key=str)

    def update(self, subject: Subject) -> None:
        if subject.subject_id not in self._subjects:
            raise KeyError(subject.subject_id)
        self._subjects[subject.subject_id] = subject


class MemoryConsents:
    def __init__(self, subjects: MemorySubjects) -> None:
        self._subjects = subjects
        self._events: list[RecordedEvent] = []
        self._by_id: dict[str, RecordedEvent] = {}

    def append(self, events: Sequence[ConsentEvent], recorded_at: dt.datetime) -> AppendResult:
        fresh: list[ConsentEvent] = []
        pending: dict[str, ConsentEvent] = {}
        duplicates = 0
        for event in events:
            known = self._by_id.get(event.event_id)
            earlier = known.event if known else pending.get(event.event_id)
            if earlier is not None:
                if not earlier.same_facts(event):
                    raise EventConflict(f"event id {event.event_id} was already recorded with other facts")
                duplicates += 1
                continue
            pending[event.event_id] = event
            fresh.append(event)
        for event in fresh:
            recorded = RecordedEvent(len(self._events) + 1, recorded_at, event)
            self._events.append(recorded)
            self._by_id[event.event_id] = recorded
        return AppendResult(len(fresh), duplicates)

    def _members(self, subject_id: str) -> set[str]:
        target = self._subjects.canonical(subject_id)
        return {target} | {k for k, v in self._subjects.merged_map().items() if v == target}

    def history(self, subject_id: str) -> list[RecordedEvent]:
        members = self._members(subject_id)
        return [r for r in self._events if r.event.subject_id in members]

    def current(self, subject_id: str) -> dict[tuple[str, str], Choice]:
        target = self._subjects.canonical(subject_id)
        state = fold(self.history(subject_id), dict.fromkeys(self._members(subject_id), target))
        return {(k, s): c for (_, k, s), c in state.items()}

    def current_many(self, subject_ids: Collection[str]) -> dict[str, dict[tuple[str, str], Choice]]:
        return {s: found for s in subject_ids if (found := self.current(s))}

    def scan(self, after_seq: int = 0, limit: int = 10_000) -> list[RecordedEvent]:
        return self._events[after_seq : after_seq + limit]

    def _state(self) -> dict[StateKey, Choice]:
        return fold(self._events, self._subjects.merged_map())

    def projection(self) -> Iterator[tuple[str, Choice]]:
        for (subject, _, _), choice in sorted(self._state().items()):
            yield subject, choice

    def rebuild_projection(self) -> int:
        return len(self._state())
