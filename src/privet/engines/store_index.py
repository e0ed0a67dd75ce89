"""The subject index for bulk enforcement, read from the SQL store column-wise."""

from __future__ import annotations

import pyarrow as pa
import sqlalchemy as sa

from privet.consent.identifiers import IdentifierKind
from privet.engines.subject_index import SubjectIndex, build_index
from privet.policy.bulk import UNKNOWN_SUBJECT
from privet.store.tables import consent_state, identifiers, subjects
from privet.workspace.runtime import Runtime


def subject_index(runtime: Runtime, kind: IdentifierKind) -> SubjectIndex:
    """Every identifier of `kind` with its person's profile (merged subjects follow their identifiers)."""
    query_subjects = (
        sa.select(
            identifiers.c.value.label("key"),
            subjects.c.subject_id.label("subject"),
            subjects.c.jurisdiction,
            subjects.c.birth_date,
            subjects.c.known_minor,
        )
        .join(subjects, subjects.c.subject_id == identifiers.c.subject_id)
        .where(identifiers.c.kind == kind.value)
    )
    query_choices = sa.select(
        consent_state.c.subject_id.label("subject"), consent_state.c.key.label("consent_key"), consent_state.c.granted
    ).where(consent_state.c.scope == "")

    def read(conn: sa.Connection) -> tuple[pa.Table, pa.Table]:
        rows = conn.execute(query_subjects).all()
        people = pa.table(
            {
                "key": pa.array([r.key for r in rows], pa.string()),
                "subject": pa.array([r.subject for r in rows], pa.string()),
                "jurisdiction": pa.array([r.jurisdiction for r in rows], pa.string()),
                "birth_date": pa.array([r.birth_date for r in rows], pa.date32()),
                "known_minor": pa.array([bool(r.known_minor) for r in rows], pa.bool_()),
            }
        )
        picked = conn.execute(query_choices).all()
        choices = pa.table(
            {
                "subject": pa.array([r.subject for r in picked], pa.string()),
                "consent_key": pa.array([r.consent_key for r in picked], pa.string()),
                "granted": pa.array([bool(r.granted) for r in picked], pa.bool_()),
            }
        )
        return people, choices

    people, choices = runtime.db.read(read, snapshot=True)
    keys = people.column("key")
    if kind is IdentifierKind.USER_ID and len(keys) and all(str(v).isdigit() for v in keys.to_pylist()):
        people = people.set_column(0, "key", keys.cast(pa.int64()))  # dense lookups for numeric user ids
    unknown = runtime.policy.intern(UNKNOWN_SUBJECT)
    return build_index(runtime.policy, people, choices, runtime.now().date(), unknown)
