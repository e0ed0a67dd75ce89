"""Requests: the workflow's requests, verification secrets, outbox, audit chain, reminders, fulfilment steps.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

KEY = sa.String().with_variant(sa.String(collation="C"), "postgresql")
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INSTANT = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(JSONB(), "postgresql")

REFUSAL = "audit_log is append-only: entries are never changed or removed"


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column("request_id", KEY, primary_key=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("state", sa.String, nullable=False),
        sa.Column("jurisdiction", sa.String, nullable=True),
        sa.Column("dedupe_key", KEY, nullable=True),
        sa.Column("received_at", INSTANT, nullable=False),
        sa.Column("due", sa.Date, nullable=False),
        sa.Column("closed_at", INSTANT, nullable=True),
        sa.Column("document", JSON, nullable=False),
    )
    op.create_index("ix_requests_state", "requests", ["state"])
    op.create_index("ix_requests_dedupe_key", "requests", ["dedupe_key"])
    op.create_index("ix_requests_due", "requests", ["due"])
    op.create_table(
        "request_secrets",
        sa.Column("request_id", KEY, sa.ForeignKey("requests.request_id"), primary_key=True),
        sa.Column("name", KEY, primary_key=True),
        sa.Column("value", JSON, nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("message_id", KEY, primary_key=True),
        sa.Column("request_id", KEY, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("to_address", sa.String, nullable=False),
        sa.Column("subject", sa.String, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("html", sa.Text, nullable=True),
        sa.Column("language", sa.String, nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("updated_at", INSTANT, nullable=True),
    )
    op.create_index("ix_outbox_request_id", "outbox", ["request_id"])
    op.create_index("ix_outbox_status", "outbox", ["status"])
    op.create_table(
        "audit_log",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=False),
        sa.Column("at", INSTANT, nullable=False),
        sa.Column("actor", sa.String, nullable=False),
        sa.Column("action", sa.String, nullable=False),
        sa.Column("subject_ref", KEY, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_log_subject_ref", "audit_log", ["subject_ref"])
    op.create_table(
        "reminders",
        sa.Column("id", SEQ, sa.Identity(), primary_key=True),
        sa.Column("request_id", KEY, nullable=False),
        sa.Column("on", sa.Date, nullable=False),
        sa.Column("what", sa.String, nullable=False),
        sa.Column("done", sa.Boolean, nullable=False),
    )
    op.create_index("ix_reminders_request_id", "reminders", ["request_id"])
    op.create_index("ix_reminders_on", "reminders", ["on"])
    op.create_table(
        "fulfilment_steps",
        sa.Column("request_id", KEY, primary_key=True),
        sa.Column("phase", KEY, primary_key=True),
        sa.Column("collection", KEY, primary_key=True),
        sa.Column("state", sa.String, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("detail", JSON, nullable=False),
        sa.Column("at", INSTANT, nullable=False),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_log_no_{name.lower()} BEFORE {name} ON audit_log "
                       f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END")  # fmt: skip
    elif dialect == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION privet_refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION USING MESSAGE = '{REFUSAL} (' || TG_OP || ' refused)', ERRCODE = 'restrict_violation';
            END
            $$
            """
        )
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION privet_refuse_audit_change()")  # fmt: skip


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS privet_refuse_audit_change()")
    for table in ("fulfilment_steps", "reminders", "audit_log", "outbox", "request_secrets", "requests"):
        op.drop_table(table)
