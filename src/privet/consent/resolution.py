"""Tying choices to people for one append: who the subject ids and identifiers name, and who is new.

A `Resolver` answers from what it read ahead in bulk (one query for every identifier of a batch, one for every
subject id) and creates the new people of the batch together, just before their events are built. A link that
can merge two people (a subject id and an identifier in one choice) makes it forget what it read, since merges
change who is canonical; the next questions go to the store one by one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection

from privet.consent.identifiers import Identifier
from privet.consent.ports import Subject, SubjectStore


class Resolver:
    def __init__(self, subjects: SubjectStore) -> None:
        self._store = subjects
        self._owners: dict[Identifier, str | None] = {}  # read ahead; None: nobody holds the identifier
        self._subjects: dict[str, Subject | None] = {}
        self._new: dict[Identifier, Subject] = {}  # to create, with their first identifier
        self._renamed: dict[str, str] = {}  # a new subject whose identifier another writer claimed first

    def read_ahead(self, subject_ids: Collection[str], identifiers: Collection[Identifier]) -> None:
        wanted = [i for i in identifiers if i not in self._owners and i not in self._new]
        if wanted:
            found = self._store.find_many(wanted)
            self._owners |= {i: found.get(i) for i in wanted}
        asked = [s for s in subject_ids if s not in self._subjects]
        if asked:
            known = self._store.get_many(asked)
            self._subjects |= {s: known.get(s) for s in asked}

    def get(self, subject_id: str) -> Subject | None:
        if subject_id not in self._subjects:
            self._subjects[subject_id] = self._store.get(subject_id)
        return self._subjects[subject_id]

    def find(self, identifier: Identifier) -> str | None:
        pending = self._new.get(identifier)
        if pending is not None:
            return pending.subject_id
        if identifier not in self._owners:
            self._owners[identifier] = self._store.find(identifier)
        return self._owners[identifier]

    def person(self, identifier: Identifier, now: dt.datetime, jurisdiction: str | None) -> str:
        """The owner of `identifier`, or a new person holding it (created by `flush`)."""
        found = self.find(identifier)
        if found is not None:
            return found
        subject = Subject(str(uuid.uuid4()), now, jurisdiction=jurisdiction)
        self._new[identifier] = subject
        return subject.subject_id

    def link(self, subject_id: str, identifier: Identifier, at: dt.datetime) -> str:
        self.flush()
        target = self._store.link(subject_id, identifier, at)
        if self._owners.get(identifier) != target:  # perhaps a merge: what was read may no longer be canonical
            self._owners.clear()
            self._subjects.clear()
        self._owners[identifier] = target
        return target

    def flush(self) -> None:
        """Create the new people met so far, together."""
        if not self._new:
            return
        new, self._new = list(self._new.items()), {}
        owners = self._store.create_many([(subject, identifier) for identifier, subject in new])
        for identifier, subject in new:
            owner = owners[identifier]
            self._owners[identifier] = owner
            if owner != subject.subject_id:
                self._renamed[subject.subject_id] = owner

    def final(self, subject_id: str) -> str:
        """The subject an id handed out before `flush` turned out to be."""
        return self._renamed.get(subject_id, subject_id)
