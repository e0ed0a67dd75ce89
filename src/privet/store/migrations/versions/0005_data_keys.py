"""Data keys for crypto-shredding: each subject's wrapped data key, or the receipt of its destruction.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

KEY = sa.String().with_variant(sa.String(collation="C"), "postgresql")
INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "data_keys",
        sa.Column("subject_id", KEY, nullable=False),
        sa.Column("key_id", sa.String, nullable=True),
        sa.Column("kek_id", KEY, nullable=True),
        sa.Column("wrapped", sa.LargeBinary, nullable=True),
        sa.Column("shredded_at", INSTANT, nullable=True),
        sa.Column("receipt_sha256", sa.String, nullable=True),
        sa.PrimaryKeyConstraint("subject_id", name="pk_data_keys"),
        sa.CheckConstraint("(wrapped IS NULL) <> (shredded_at IS NULL)", name="ck_data_keys_wrapped_or_shredded"),
    )
    op.create_index("ix_data_keys_kek_id", "data_keys", ["kek_id"])


def downgrade() -> None:
    op.drop_index("ix_data_keys_kek_id", table_name="data_keys")
    op.drop_table("data_keys")
