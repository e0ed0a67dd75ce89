"""Legal holds: what must not be deleted (by retention sweeps or erasure) while a claim or order lasts.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

KEY = sa.String().with_variant(sa.String(collation="C"), "postgresql")
INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "legal_holds",
        sa.Column("hold_id", KEY, nullable=False),
        sa.Column("scope", sa.String, nullable=False),
        sa.Column("target", KEY, nullable=False),
        sa.Column("reason", sa.String, nullable=False),
        sa.Column("owner", sa.String, nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("released_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("hold_id", name="pk_legal_holds"),
    )
    op.create_index("ix_legal_holds_target", "legal_holds", ["target"])


def downgrade() -> None:
    op.drop_index("ix_legal_holds_target", table_name="legal_holds")
    op.drop_table("legal_holds")
