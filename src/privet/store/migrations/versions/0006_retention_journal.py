"""The journal of anonymised records: each record privet anonymised, by system, collection and key.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

KEY = sa.String().with_variant(sa.String(collation="C"), "postgresql")
INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Keys of anonymised records are not personal data (the plan deletes where a key is personal), so they may stay.
    op.create_table(
        "retention_journal",
        sa.Column("system", KEY, nullable=False),
        sa.Column("collection", KEY, nullable=False),
        sa.Column("record_key", KEY, nullable=False),
        sa.Column("rule", sa.String, nullable=False),
        sa.Column("run", sa.String, nullable=False),
        sa.Column("at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("system", "collection", "record_key", name="pk_retention_journal"),
    )


def downgrade() -> None:
    op.drop_table("retention_journal")
