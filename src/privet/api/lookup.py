"""Bulk reads of the consent tables: the owners of many identifiers, the subjects and current choices of many
people, a few queries however many. Read-only bulk forms of SqlSubjects.find/get and SqlConsents.current, kept
here until the store offers them; merges are followed as the store follows them (projection.canonical_many).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from privet.consent.identifiers import Identifier
from privet.consent.ports import Subject
from privet.consent.state import Choice
from privet.store import projection
from privet.store.bulk import among, chunks
from privet.store.tables import consent_state, identifiers, subjects

Choices = dict[tuple[str, str], Choice]


def owners(conn: Connection, wanted: Collection[Identifier]) -> dict[Identifier, str]:
    """The (canonical) subject of each identifier privet knows; unknown ones are left out."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for ident in wanted:
        by_kind[ident.kind.value].append(ident.value)
    found: dict[tuple[str, str], str] = {}
    for kind, values in by_kind.items():
        for batch in chunks(sorted(set(values))):
            query = sa.select(identifiers.c.value, identifiers.c.subject_id).where(
                identifiers.c.kind == kind, among(conn, identifiers.c.value, batch)
            )
            found.update({(kind, value): owner for value, owner in conn.execute(query)})
    canonical = projection.canonical_many(conn, set(found.values()))
    return {i: canonical[found[(i.kind.value, i.value)]] for i in wanted if (i.kind.value, i.value) in found}


def people(conn: Connection, subject_ids: Collection[str]) -> tuple[dict[str, Subject], dict[str, Choices]]:
    """The subjects (already canonical ids) that exist, and their current choices."""
    rows: dict[str, Subject] = {}
    choices: dict[str, Choices] = defaultdict(dict)
    for batch in chunks(sorted(set(subject_ids))):
        for r in conn.execute(sa.select(subjects).where(among(conn, subjects.c.subject_id, batch))):
            rows[r.subject_id] = Subject(r.subject_id, r.created_at, r.jurisdiction, r.birth_date, r.known_minor,
                                         r.merged_into)  # fmt: skip
        for r in conn.execute(sa.select(consent_state).where(among(conn, consent_state.c.subject_id, batch))):
            choices[r.subject_id][(r.key, r.scope)] = projection.choice_of_row(r)
    return rows, choices
