"""Consent: subjects, identifiers, the append-only consent ledger and its projection.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Types are spelled out here rather than imported, so that later changes to tables.py cannot rewrite history.
KEY = sa.String().with_variant(sa.String(collation="C"), "postgresql")
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INSTANT = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(JSONB(), "postgresql")

REFUSAL = "consent_events is append-only: recorded choices are never changed or removed; append a new event instead"

SQLITE_TRIGGERS = [
    f"CREATE TRIGGER consent_events_no_{op_name.lower()} BEFORE {op_name} ON consent_events "
    f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
    for op_name in ("UPDATE", "DELETE")
]

POSTGRESQL_TRIGGERS = [
    f"""
    CREATE FUNCTION privet_refuse_ledger_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION USING MESSAGE = '{REFUSAL} (' || TG_OP || ' refused)', ERRCODE = 'restrict_violation';
    END
    $$
    """,
    "CREATE TRIGGER consent_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON consent_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION privet_refuse_ledger_change()",
]


def upgrade() -> None:
    op.create_table(
        "subjects",
        sa.Column("subject_id", KEY, nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("jurisdiction", sa.String(), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("known_minor", sa.Boolean(), nullable=False),
        sa.Column("merged_into", KEY, nullable=True),
        sa.PrimaryKeyConstraint("subject_id", name="pk_subjects"),
    )
    op.create_index("ix_subjects_merged_into", "subjects", ["merged_into"])

    op.create_table(
        "identifiers",
        sa.Column("kind", KEY, nullable=False),
        sa.Column("value", KEY, nullable=False),
        sa.Column("subject_id", KEY, nullable=False),
        sa.PrimaryKeyConstraint("kind", "value", name="pk_identifiers"),
        sa.ForeignKeyConstraint(["subject_id"], ["subjects.subject_id"], name="fk_identifiers_subject_id_subjects"),
    )
    op.create_index("ix_identifiers_subject_id", "identifiers", ["subject_id"])

    op.create_table(
        "consent_events",
        sa.Column("seq", SEQ, sa.Identity(), nullable=False),
        sa.Column("event_id", KEY, nullable=False),
        sa.Column("subject_id", KEY, nullable=False),
        sa.Column("key", KEY, nullable=False),
        sa.Column("scope", KEY, nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("at", INSTANT, nullable=False),
        sa.Column("recorded_at", INSTANT, nullable=False),
        sa.Column("identifier_kind", sa.String(), nullable=True),
        sa.Column("identifier_value", sa.String(), nullable=True),
        sa.Column("jurisdiction", sa.String(), nullable=True),
        sa.Column("manifest_version", sa.String(), nullable=True),
        sa.Column("notice_hash", sa.String(), nullable=True),
        sa.Column("evidence", JSON, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_consent_events"),
        sa.UniqueConstraint("event_id", name="uq_consent_events_event_id"),
    )
    op.create_index("ix_consent_events_subject_id_seq", "consent_events", ["subject_id", "seq"])

    op.create_table(
        "consent_state",
        sa.Column("subject_id", KEY, nullable=False),
        sa.Column("key", KEY, nullable=False),
        sa.Column("scope", KEY, nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("at", INSTANT, nullable=False),
        sa.Column("event_id", KEY, nullable=False),
        sa.Column("seq", SEQ, nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("subject_id", "key", "scope", name="pk_consent_state"),
    )

    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRESQL_TRIGGERS}.get(dialect, []):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER consent_events_no_update")
        op.execute("DROP TRIGGER consent_events_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER consent_events_append_only ON consent_events")
        op.execute("DROP FUNCTION privet_refuse_ledger_change()")
    op.drop_table("consent_state")
    op.drop_index("ix_consent_events_subject_id_seq", table_name="consent_events")
    op.drop_table("consent_events")
    op.drop_index("ix_identifiers_subject_id", table_name="identifiers")
    op.drop_table("identifiers")
    op.drop_index("ix_subjects_merged_into", table_name="subjects")
    op.drop_table("subjects")
