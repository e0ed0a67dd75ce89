"""Queries shared by the subject and consent stores: merged subjects, ledger rows, and the projection table."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from privet.consent.events import ConsentEvent, Evidence, Source
from privet.consent.identifiers import Identifier, IdentifierKind
from privet.consent.ports import Subject
from privet.consent.state import Choice, RecordedEvent, StateKey, fold
from privet.store.bulk import among, chunks, insert_rows
from privet.store.tables import consent_events, consent_state, identifiers, subjects

SCAN_BATCH = 5_000
EVIDENCE_FIELDS = frozenset(Evidence.__dataclass_fields__)


# Statements of the hot paths, built once per dialect: `:wanted` is a list (IN on SQLite, = ANY(array) on PostgreSQL).


def _among(dialect: str, column: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam("wanted", type_=postgresql.ARRAY(sa.Text())))
    return column.in_(sa.bindparam("wanted", expanding=True))


@functools.lru_cache(maxsize=16)
def _merged_of(dialect: str, lock: bool) -> sa.Select[Any]:
    query = sa.select(subjects.c.subject_id, subjects.c.merged_into).where(_among(dialect, subjects.c.subject_id))
    return query.with_for_update(read=True) if lock else query


@functools.lru_cache(maxsize=16)
def _holders_of(dialect: str) -> sa.Select[Any]:
    where = (identifiers.c.kind == sa.bindparam("kind")) & _among(dialect, identifiers.c.value)
    held = identifiers.c.subject_id == subjects.c.subject_id
    return sa.select(identifiers.c.value, subjects).join_from(identifiers, subjects, held).where(where)


@functools.lru_cache(maxsize=16)
def _subjects_of(dialect: str) -> sa.Select[Any]:
    return sa.select(subjects).where(_among(dialect, subjects.c.subject_id))


@functools.lru_cache(maxsize=16)
def _choices_of(dialect: str) -> sa.Select[Any]:
    return sa.select(consent_state).where(_among(dialect, consent_state.c.subject_id))


def _rows(conn: Connection, query: sa.Select[Any], wanted: Collection[str], **params: Any) -> Iterator[sa.Row[Any]]:
    for batch in chunks(sorted(set(wanted))):
        yield from conn.execute(query, {"wanted": list(batch), **params})


# Subjects and merges ----------------------------------------------------------------------------------------------


def canonical(conn: Connection, subject_id: str, *, lock: bool = False) -> str:
    """The subject `subject_id` became by merges (itself if none); `lock` holds the rows against a concurrent merge."""
    seen: set[str] = set()
    while subject_id not in seen:
        query = sa.select(subjects.c.merged_into).where(subjects.c.subject_id == subject_id)
        merged = conn.execute(query.with_for_update(read=True) if lock else query).scalar_one_or_none()
        if not merged:
            return subject_id
        seen.add(subject_id)
        subject_id = merged
    return subject_id


def canonical_many(conn: Connection, subject_ids: Collection[str], *, lock: bool = False) -> dict[str, str]:
    found = {s: s for s in subject_ids}
    # Locking every named subject (not only merged ones) makes a merge of any of them wait for this transaction.
    for row in _rows(conn, _merged_of(conn.dialect.name, lock), subject_ids):
        if row.merged_into:
            found[row.subject_id] = canonical(conn, row.merged_into, lock=lock)
    return found


@functools.lru_cache(maxsize=16)
def _owners_of(dialect: str) -> sa.Select[Any]:
    where = (identifiers.c.kind == sa.bindparam("kind")) & _among(dialect, identifiers.c.value)
    held = identifiers.c.subject_id == subjects.c.subject_id
    query = sa.select(identifiers.c.value, subjects.c.subject_id, subjects.c.merged_into)
    return query.join_from(identifiers, subjects, held).where(where)


def owners(conn: Connection, wanted: Collection[Identifier]) -> dict[Identifier, str]:
    """The (canonical) subject of each identifier privet knows; unknown ones are left out. Only ids are read:
    this is how every consent write finds its people."""
    found: dict[tuple[str, str], str] = {}
    merged: dict[tuple[str, str], str] = {}
    query = _owners_of(conn.dialect.name)
    for kind, values in _by_kind(wanted).items():
        for row in _rows(conn, query, values, kind=kind):
            found[(kind, row.value)] = row.subject_id
            if row.merged_into:
                merged[(kind, row.value)] = row.merged_into
    if merged:
        heads = canonical_many(conn, set(merged.values()))
        found |= {key: heads[into] for key, into in merged.items()}
    return {i: found[(i.kind.value, i.value)] for i in wanted if (i.kind.value, i.value) in found}


def _by_kind(wanted: Collection[Identifier]) -> dict[str, list[str]]:
    by_kind: dict[str, list[str]] = defaultdict(list)
    for ident in wanted:
        by_kind[ident.kind.value].append(ident.value)
    return by_kind


def holders(conn: Connection, wanted: Collection[Identifier]) -> dict[Identifier, Subject]:
    """The (canonical) subject of each identifier privet knows, read with it; unknown ones are left out."""
    found: dict[tuple[str, str], Subject] = {}
    query = _holders_of(conn.dialect.name)
    for kind, values in _by_kind(wanted).items():
        found.update({(kind, row.value): subject_of_row(row) for row in _rows(conn, query, values, kind=kind)})
    if merged := {s.subject_id for s in found.values() if s.merged_into}:
        heads = subjects_of(conn, merged)
        found = {key: heads.get(s.subject_id, s) for key, s in found.items()}
    return {i: found[(i.kind.value, i.value)] for i in wanted if (i.kind.value, i.value) in found}


def subject_of_row(row: sa.Row[Any]) -> Subject:
    return Subject(row.subject_id, row.created_at, row.jurisdiction, row.birth_date, row.known_minor, row.merged_into)


def subjects_of(conn: Connection, subject_ids: Collection[str]) -> dict[str, Subject]:
    """Each named subject that exists, as the subject it became by merges: asked id -> subject."""
    query = _subjects_of(conn.dialect.name)
    rows = {r.subject_id: subject_of_row(r) for r in _rows(conn, query, subject_ids)}
    heads = {s.subject_id: canonical(conn, s.merged_into) for s in list(rows.values()) if s.merged_into}
    if missing := set(heads.values()) - rows.keys():
        rows |= {r.subject_id: subject_of_row(r) for r in _rows(conn, query, missing)}
    found = {asked: heads.get(asked, asked) for asked in subject_ids}
    return {asked: rows[head] for asked, head in found.items() if head in rows}


def choices_of(conn: Connection, subject_ids: Collection[str]) -> dict[str, dict[tuple[str, str], Choice]]:
    """The projection rows of each (canonical) subject: subject -> (key, scope) -> choice."""
    found: dict[str, dict[tuple[str, str], Choice]] = defaultdict(dict)
    for r in _rows(conn, _choices_of(conn.dialect.name), subject_ids):
        found[r.subject_id][(r.key, r.scope)] = choice_of_row(r)
    return found


def merged_map(conn: Connection) -> dict[str, str]:
    """Every merged subject and the one it finally became."""
    parents: dict[str, str] = {
        s: m for s, m in conn.execute(sa.select(subjects.c.subject_id, subjects.c.merged_into)) if m
    }

    def follow(subject_id: str) -> str:
        seen: set[str] = set()
        while subject_id in parents and subject_id not in seen:
            seen.add(subject_id)
            subject_id = parents[subject_id]
        return subject_id

    return {s: follow(s) for s in parents}


def members(target: str) -> sa.Select[tuple[str]]:
    """The subjects merged into `target`, directly or through others (not `target` itself)."""
    tree = sa.select(subjects.c.subject_id).where(subjects.c.merged_into == target).cte("members", recursive=True)
    tree = tree.union(sa.select(subjects.c.subject_id).join(tree, subjects.c.merged_into == tree.c.subject_id))
    return sa.select(tree.c.subject_id)


def belongs_to(column: sa.ColumnElement[str], target: str) -> sa.ColumnElement[bool]:
    return sa.or_(column == target, column.in_(members(target)))


# Ledger rows ------------------------------------------------------------------------------------------------------


def event_row(event: ConsentEvent, recorded_at: Any) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "subject_id": event.subject_id,
        "key": event.key,
        "scope": event.scope,
        "granted": event.granted,
        "source": event.source.value,
        "at": event.at,
        "recorded_at": recorded_at,
        "identifier_kind": event.identifier.kind.value if event.identifier else None,
        "identifier_value": event.identifier.value if event.identifier else None,
        "jurisdiction": event.jurisdiction,
        "manifest_version": event.manifest_version,
        "notice_hash": event.notice_hash,
        "evidence": event.evidence.as_dict(),
    }


def recorded(row: sa.Row[Any]) -> RecordedEvent:
    identifier = None
    if row.identifier_kind is not None:
        identifier = Identifier(IdentifierKind(row.identifier_kind), row.identifier_value)
    evidence = Evidence(**{k: v for k, v in (row.evidence or {}).items() if k in EVIDENCE_FIELDS})
    event = ConsentEvent(
        event_id=row.event_id,
        subject_id=row.subject_id,
        key=row.key,
        granted=row.granted,
        source=Source(row.source),
        at=row.at,
        scope=row.scope,
        identifier=identifier,
        jurisdiction=row.jurisdiction,
        manifest_version=row.manifest_version,
        notice_hash=row.notice_hash,
        evidence=evidence,
    )
    return RecordedEvent(row.seq, row.recorded_at, event)


def stored_events(conn: Connection, event_ids: list[str]) -> dict[str, ConsentEvent]:
    rows = conn.execute(sa.select(consent_events).where(among(conn, consent_events.c.event_id, event_ids)))
    return {row.event_id: recorded(row).event for row in rows}


def stream_ledger(conn: Connection, where: sa.ColumnElement[bool] | None = None) -> Iterator[RecordedEvent]:
    """Ledger events in order, read in batches so that a long ledger is never held in memory at once."""
    after = 0
    while True:
        query = sa.select(consent_events).where(consent_events.c.seq > after)
        if where is not None:
            query = query.where(where)
        rows = conn.execute(query.order_by(consent_events.c.seq).limit(SCAN_BATCH)).all()
        for row in rows:
            yield recorded(row)
        if len(rows) < SCAN_BATCH:
            return
        after = rows[-1].seq


# The projection ---------------------------------------------------------------------------------------------------


def choice_row(subject_id: str, choice: Choice) -> dict[str, Any]:
    return {
        "subject_id": subject_id,
        "key": choice.key,
        "scope": choice.scope,
        "granted": choice.granted,
        "at": choice.at,
        "event_id": choice.event_id,
        "seq": choice.seq,
        "source": choice.source.value,
    }


def choice_of_row(row: sa.Row[Any]) -> Choice:
    return Choice(row.key, row.scope, row.granted, row.at, row.event_id, row.seq, Source(row.source))


def _newer(new: Any) -> sa.ColumnElement[bool]:
    return sa.tuple_(consent_state.c.at, consent_state.c.seq) < sa.tuple_(new.at, new.seq)


def keep_newer(conn: Connection, choices: Mapping[StateKey, Choice]) -> None:
    """Upsert choices into the projection; a stored choice stays where it is newer by (at, seq)."""
    # Sorted, so that concurrent writers lock the rows they share in the same order.
    rows = [choice_row(subject, choice) for (subject, _, _), choice in sorted(choices.items())]
    insert_rows(
        conn,
        consent_state,
        rows,
        conflict=("subject_id", "key", "scope"),
        update=("granted", "at", "event_id", "seq", "source"),
        where=_newer,
    )


def move_choices(conn: Connection, source: str, target: str) -> None:
    """Fold the projection rows of `source` into `target`'s, newer winning, when `source` is merged into `target`."""
    rows = conn.execute(sa.select(consent_state).where(consent_state.c.subject_id == source)).all()
    keep_newer(conn, {(target, r.key, r.scope): choice_of_row(r) for r in rows})
    conn.execute(sa.delete(consent_state).where(consent_state.c.subject_id == source))


def refold(conn: Connection, stale: Collection[str]) -> None:
    """Recompute from the ledger the projection of the subjects whose merges changed, and of what they became."""
    heads = {canonical(conn, s) for s in stale}
    conn.execute(sa.delete(consent_state).where(consent_state.c.subject_id.in_(set(stale) | heads)))
    for head in sorted(heads):
        group = [head, *conn.execute(members(head)).scalars()]
        events = stream_ledger(conn, consent_events.c.subject_id.in_(group))
        keep_newer(conn, fold(events, dict.fromkeys(group, head)))


def stored_projection(conn: Connection) -> dict[StateKey, Choice]:
    return {(r.subject_id, r.key, r.scope): choice_of_row(r) for r in conn.execute(sa.select(consent_state))}


def ledger_projection(conn: Connection) -> dict[StateKey, Choice]:
    return fold(stream_ledger(conn), merged_map(conn))


def describe(choice: Choice) -> str:
    verb = "granted" if choice.granted else "withdrawn"
    return f"{verb} at {choice.at.isoformat()} (event {choice.event_id}, seq {choice.seq}, {choice.source.value})"


def differences(stored: Mapping[StateKey, Choice], expected: Mapping[StateKey, Choice]) -> list[str]:
    found = []
    for key in sorted(set(stored) | set(expected)):
        subject, consent_key, scope = key
        where = f"subject {subject}, {consent_key}" + (f" (scope {scope})" if scope else "")
        held, due = stored.get(key), expected.get(key)
        if held == due:
            continue
        if held is None:
            assert due is not None
            found.append(f"{where}: missing from the projection; the ledger gives {describe(due)}")
        elif due is None:
            found.append(f"{where}: the projection holds {describe(held)}, which the ledger does not give")
        else:
            found.append(f"{where}: the projection holds {describe(held)}; the ledger gives {describe(due)}")
    return found


def insert_projection(conn: Connection, state: Mapping[StateKey, Choice]) -> None:
    insert_rows(conn, consent_state, [choice_row(subject, choice) for (subject, _, _), choice in state.items()])


def lock_projection(conn: Connection) -> None:
    """Make writers of the projection wait (readers do not), so that a rebuild sees and writes a stable ledger."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("LOCK TABLE consent_state IN EXCLUSIVE MODE"))
