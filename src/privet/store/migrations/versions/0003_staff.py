"""Staff: console users (argon2 password hashes) and API keys (SHA-256 of the key, scoped, revocable).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

KEY = sa.String().with_variant(sa.String(collation="C"), "postgresql")
INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("user_id", KEY, nullable=False),
        sa.Column("email", KEY, nullable=False),
        sa.Column("name", sa.String, nullable=True),
        sa.Column("role", sa.String, nullable=False),
        sa.Column("password_hash", sa.String, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("session_epoch", sa.Integer, nullable=False),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("last_login_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("user_id", name="pk_staff_users"),
        sa.UniqueConstraint("email", name="uq_staff_users_email"),
    )
    op.create_table(
        "staff_api_keys",
        sa.Column("key_id", KEY, nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("role", sa.String, nullable=False),
        sa.Column("scopes", sa.String, nullable=False),
        sa.Column("user_id", KEY, nullable=True),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("last_used_at", INSTANT, nullable=True),
        sa.Column("revoked_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("key_id", name="pk_staff_api_keys"),
        sa.UniqueConstraint("token_sha256", name="uq_staff_api_keys_token_sha256"),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.user_id"], name="fk_staff_api_keys_user_id_staff_users"),
    )


def downgrade() -> None:
    op.drop_table("staff_api_keys")
    op.drop_table("staff_users")
