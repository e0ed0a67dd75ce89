"""What the consent domain needs from storage. One contract suite runs against every implementation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from privet.consent.events import ConsentEvent
from privet.consent.identifiers import Identifier
from privet.consent.state import Choice, RecordedEvent


@dataclass(frozen=True, slots=True)
class Subject:
    subject_id: str
    created_at: dt.datetime
    jurisdiction: str | None = None  # residence, when known
    birth_date: dt.date | None = None
    known_minor: bool = False  # actual knowledge that the person is a child, without a birth date
    merged_into: str | None = None


@dataclass(frozen=True, slots=True)
class AppendResult:
    appended: int
    duplicates: int  # events whose id was already in the ledger with the same facts


class SubjectStore(Protocol):
    def create(self, subject: Subject) -> None: ...

    def get(self, subject_id: str) -> Subject | None:
        """The subject, following merges to the one it became."""
        ...

    def find(self, identifier: Identifier) -> str | None:
        """The (canonical) subject an identifier belongs to."""
        ...

    def get_many(self, subject_ids: Collection[str]) -> dict[str, Subject]:
        """`get` for many: asked id -> the subject it became, for those that exist."""
        ...

    def find_many(self, identifiers: Collection[Identifier]) -> dict[Identifier, str]:
        """`find` for many: identifier -> canonical subject, for the identifiers privet knows."""
        ...

    def create_many(self, people: Sequence[tuple[Subject, Identifier]]) -> dict[Identifier, str]:
        """New subjects, each with its first identifier (all distinct). An identifier another subject already holds
        stays with that subject, and the new one is not kept. Returns identifier -> owner."""
        ...

    def link(self, subject_id: str, identifier: Identifier, at: dt.datetime) -> str:
        """Attach an identifier; if it belonged to another subject, merge that one into this. Returns the id."""
        ...

    def identifiers(self, subject_id: str) -> list[Identifier]: ...

    def update(self, subject: Subject) -> None: ...


class ConsentStore(Protocol):
    def append(self, events: Sequence[ConsentEvent], recorded_at: dt.datetime) -> AppendResult:
        """Append atomically: all events are recorded, or none. A reused id with other facts raises EventConflict."""
        ...

    def history(self, subject_id: str) -> list[RecordedEvent]:
        """Every event of the subject (and the subjects merged into it), in ledger order."""
        ...

    def current(self, subject_id: str) -> dict[tuple[str, str], Choice]:
        """The projection for the subject: (key, scope) -> latest choice."""
        ...

    def current_many(self, subject_ids: Collection[str]) -> dict[str, dict[tuple[str, str], Choice]]:
        """`current` for many canonical subjects: subject -> (key, scope) -> latest choice (absent: none)."""
        ...

    def scan(self, after_seq: int = 0, limit: int = 10_000) -> list[RecordedEvent]:
        """Ledger events in order, for rebuilding and verifying the projection and for bulk compilation."""
        ...

    def projection(self) -> Iterator[tuple[str, Choice]]:
        """Every (subject, choice) row of the projection."""
        ...

    def rebuild_projection(self) -> int:
        """Recompute the projection from the ledger; returns the number of rows."""
        ...
