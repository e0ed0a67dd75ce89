"""The consent ports on SQL: subjects and their merges, the append-only ledger and its current-state projection."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Sequence
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from privet.consent.events import ConsentEvent, EventConflict
from privet.consent.identifiers import Identifier, IdentifierKind
from privet.consent.ports import AppendResult, Subject
from privet.consent.state import Choice, RecordedEvent, fold
from privet.store import projection as p
from privet.store import session
from privet.store.bulk import among, chunks, insert_rows
from privet.store.database import Database
from privet.store.tables import consent_events, consent_state, identifiers, subjects

PAGE = 5_000  # projection rows per read when iterating the whole projection


def _subject_row(subject: Subject) -> dict[str, Any]:
    return {
        "subject_id": subject.subject_id,
        "created_at": subject.created_at,
        "jurisdiction": subject.jurisdiction,
        "birth_date": subject.birth_date,
        "known_minor": subject.known_minor,
        "merged_into": subject.merged_into,
    }


def _all(query: sa.Select[Any], conn: Connection) -> Sequence[sa.Row[Any]]:
    return conn.execute(query).all()


class SqlSubjects:
    """Subjects on SQL. Each call is a transaction of its own, or joins the caller's `session.unit_of_work`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, subject: Subject) -> None:
        try:
            if session.in_unit_of_work(self._db):  # a failed insert must not end the caller's transaction
                with session.savepoint(self._db):
                    session.write(self._db, lambda conn: conn.execute(sa.insert(subjects), _subject_row(subject)))
            else:
                session.write(self._db, lambda conn: conn.execute(sa.insert(subjects), _subject_row(subject)))
        except IntegrityError:
            raise ValueError(f"subject {subject.subject_id} exists") from None

    def create_many(self, people: Sequence[tuple[Subject, Identifier]]) -> dict[Identifier, str]:
        """New people, each with its first identifier, in a few statements. Where another subject holds an
        identifier already (a concurrent writer claimed it first), that subject is its owner and the new one is
        not kept. Returns identifier -> owner."""
        wanted = [identifier for _, identifier in people]
        if len(set(wanted)) != len(wanted):
            raise ValueError("create_many: each new person needs an identifier of their own")
        if not people:
            return {}
        return session.write(self._db, lambda conn: self._create_many(conn, people))

    @staticmethod
    def _create_many(conn: Connection, people: Sequence[tuple[Subject, Identifier]]) -> dict[Identifier, str]:
        insert_rows(conn, subjects, [_subject_row(subject) for subject, _ in people])
        claims = [{"kind": i.kind.value, "value": i.value, "subject_id": s.subject_id} for s, i in people]
        won = insert_rows(conn, identifiers, claims, conflict=("kind", "value"), returning=("kind", "value"))
        claimed = {(row.kind, row.value) for row in won}
        lost = [(s, i) for s, i in people if (i.kind.value, i.value) not in claimed]
        found = {i: s.subject_id for s, i in people}
        if lost:
            gone = [s.subject_id for s, _ in lost]
            conn.execute(sa.delete(subjects).where(among(conn, subjects.c.subject_id, gone)))
            found |= p.owners(conn, [i for _, i in lost])
        return found

    def get(self, subject_id: str) -> Subject | None:
        def work(conn: Connection) -> Subject | None:
            target = p.canonical(conn, subject_id)
            row = conn.execute(sa.select(subjects).where(subjects.c.subject_id == target)).first()
            return None if row is None else p.subject_of_row(row)

        return session.read(self._db, work)

    def get_many(self, subject_ids: Collection[str]) -> dict[str, Subject]:
        """Each named subject that exists, as the subject it became by merges: asked id -> subject."""
        return session.read(self._db, lambda conn: p.subjects_of(conn, subject_ids))

    def find_many(self, wanted: Collection[Identifier]) -> dict[Identifier, str]:
        """The (canonical) subject of each identifier privet knows; unknown ones are left out."""
        return session.read(self._db, lambda conn: p.owners(conn, wanted))

    def holders(self, wanted: Collection[Identifier]) -> dict[Identifier, Subject]:
        """`find_many` with the subjects themselves, read in the same query."""
        return session.read(self._db, lambda conn: p.holders(conn, wanted))

    def find(self, identifier: Identifier) -> str | None:
        def work(conn: Connection) -> str | None:
            owner = conn.execute(
                sa.select(identifiers.c.subject_id).where(
                    identifiers.c.kind == identifier.kind.value, identifiers.c.value == identifier.value
                )
            ).scalar_one_or_none()
            return p.canonical(conn, owner) if owner else None

        return session.read(self._db, work)

    def link(self, subject_id: str, identifier: Identifier, at: dt.datetime) -> str:
        return session.write(self._db, lambda conn: self._link(conn, subject_id, identifier))

    def _link(self, conn: Connection, subject_id: str, identifier: Identifier) -> str:
        target = p.canonical(conn, subject_id, lock=True)
        if conn.execute(sa.select(subjects.c.subject_id).where(subjects.c.subject_id == target)).first() is None:
            raise KeyError(subject_id)
        this = (identifiers.c.kind == identifier.kind.value) & (identifiers.c.value == identifier.value)
        # Insert first: of two transactions linking a new identifier, the second waits here and then merges.
        claim = {"kind": identifier.kind.value, "value": identifier.value, "subject_id": target}
        if insert_rows(conn, identifiers, [claim], conflict=("kind", "value"), returning=("kind",)):
            return target
        held_by = conn.execute(sa.select(identifiers.c.subject_id).where(this).with_for_update()).scalar_one()
        owner = p.canonical(conn, held_by, lock=True)
        if owner != target:
            self._merge(conn, owner, target)
        conn.execute(sa.update(identifiers).where(this).values(subject_id=target))
        return target

    @staticmethod
    def _merge(conn: Connection, owner: str, target: str) -> None:
        # The subject row first: appends hold it shared, so the merge waits for them and then moves their choices.
        conn.execute(sa.update(subjects).where(subjects.c.subject_id == owner).values(merged_into=target))
        conn.execute(
            sa.update(identifiers).where(p.belongs_to(identifiers.c.subject_id, owner)).values(subject_id=target)
        )
        p.move_choices(conn, owner, target)

    def identifiers(self, subject_id: str) -> list[Identifier]:
        def work(conn: Connection) -> list[Identifier]:
            target = p.canonical(conn, subject_id)
            rows = conn.execute(
                sa.select(identifiers.c.kind, identifiers.c.value).where(p.belongs_to(identifiers.c.subject_id, target))
            )
            return sorted((Identifier(IdentifierKind(kind), value) for kind, value in rows), key=str)

        return session.read(self._db, work)

    def update(self, subject: Subject) -> None:
        def work(conn: Connection) -> None:
            this = subjects.c.subject_id == subject.subject_id
            was = conn.execute(sa.select(subjects.c.merged_into).where(this).with_for_update()).first()
            if was is None:
                raise KeyError(subject.subject_id)
            before = p.canonical(conn, subject.subject_id)
            conn.execute(sa.update(subjects).where(this).values(_subject_row(subject)))
            if (was.merged_into or None) != (subject.merged_into or None):
                # A merge (or its undoing) by hand: recompute the choices of every subject whose group changed.
                p.refold(conn, {before, subject.subject_id, p.canonical(conn, subject.subject_id)})

        session.write(self._db, work)


class SqlConsents:
    """The ledger and its projection on SQL. Each call is a transaction of its own, or joins the caller's
    `session.unit_of_work`: an append and the subjects it names then commit together."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def append(self, events: Sequence[ConsentEvent], recorded_at: dt.datetime) -> AppendResult:
        fresh: dict[str, ConsentEvent] = {}
        duplicates = 0
        for event in events:
            earlier = fresh.get(event.event_id)
            if earlier is None:
                fresh[event.event_id] = event
            elif earlier.same_facts(event):
                duplicates += 1
            else:
                raise EventConflict(f"event id {event.event_id} was already recorded with other facts")
        if not fresh:
            return AppendResult(0, duplicates)
        return session.write(self._db, lambda conn: self._append(conn, list(fresh.values()), recorded_at, duplicates))

    @staticmethod
    def _append(conn: Connection, fresh: list[ConsentEvent], recorded_at: dt.datetime, duplicates: int) -> AppendResult:
        inserted = insert_rows(
            conn,
            consent_events,
            [p.event_row(e, recorded_at) for e in fresh],
            conflict=("event_id",),
            returning=("event_id", "seq"),
        )
        seqs: dict[str, int] = {row.event_id: row.seq for row in inserted}
        known = [e for e in fresh if e.event_id not in seqs]
        for batch in chunks(known):
            stored = p.stored_events(conn, [e.event_id for e in batch])
            for event in batch:
                earlier = stored.get(event.event_id)
                if earlier is None or not earlier.same_facts(event):
                    # Raising rolls the whole transaction back: nothing of this batch is written.
                    raise EventConflict(f"event id {event.event_id} was already recorded with other facts")
        added = sorted(
            (RecordedEvent(seqs[e.event_id], recorded_at, e) for e in fresh if e.event_id in seqs), key=lambda r: r.seq
        )
        owners = p.canonical_many(conn, {r.event.subject_id for r in added}, lock=True)
        p.keep_newer(conn, fold(added, owners))
        return AppendResult(len(added), duplicates + len(known))

    def history(self, subject_id: str) -> list[RecordedEvent]:
        def work(conn: Connection) -> list[RecordedEvent]:
            target = p.canonical(conn, subject_id)
            return list(p.stream_ledger(conn, p.belongs_to(consent_events.c.subject_id, target)))

        return session.read(self._db, work)

    def current(self, subject_id: str) -> dict[tuple[str, str], Choice]:
        def work(conn: Connection) -> dict[tuple[str, str], Choice]:
            target = p.canonical(conn, subject_id)
            rows = conn.execute(sa.select(consent_state).where(consent_state.c.subject_id == target))
            return {(r.key, r.scope): p.choice_of_row(r) for r in rows}

        return session.read(self._db, work)

    def current_many(self, subject_ids: Collection[str]) -> dict[str, dict[tuple[str, str], Choice]]:
        """The projection of many canonical subjects at once (as found by SqlSubjects.get_many or find_many)."""
        return session.read(self._db, lambda conn: p.choices_of(conn, subject_ids))

    def scan(self, after_seq: int = 0, limit: int = 10_000) -> list[RecordedEvent]:
        query = (
            sa.select(consent_events)
            .where(consent_events.c.seq > after_seq)
            .order_by(consent_events.c.seq)
            .limit(max(limit, 0))
        )
        return session.read(self._db, lambda conn: [p.recorded(r) for r in conn.execute(query)])

    def projection(self) -> Iterator[tuple[str, Choice]]:
        order = (consent_state.c.subject_id, consent_state.c.key, consent_state.c.scope)
        after: tuple[str, str, str] | None = None
        while True:
            query = sa.select(consent_state).order_by(*order).limit(PAGE)
            if after is not None:
                query = query.where(sa.tuple_(*order) > sa.tuple_(*after))
            rows = session.read(self._db, partial(_all, query))
            for row in rows:
                yield row.subject_id, p.choice_of_row(row)
            if len(rows) < PAGE:
                return
            after = (rows[-1].subject_id, rows[-1].key, rows[-1].scope)

    def rebuild_projection(self) -> int:
        def work(conn: Connection) -> int:
            p.lock_projection(conn)
            conn.execute(sa.delete(consent_state))
            state = p.ledger_projection(conn)
            p.insert_projection(conn, state)
            return len(state)

        return session.write(self._db, work)

    def verify_projection(self) -> list[str]:
        """How the stored projection differs from a fresh fold of the ledger; empty when they agree."""

        def work(conn: Connection) -> list[str]:
            return p.differences(p.stored_projection(conn), p.ledger_projection(conn))

        return session.read(self._db, work, snapshot=True)
