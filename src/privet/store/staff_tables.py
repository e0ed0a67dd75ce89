"""Tables of staff access: people who sign in to the console, and the API keys of systems and scripts."""

from __future__ import annotations

import sqlalchemy as sa

from privet.store.tables import Key, UtcDateTime, metadata

staff_users = sa.Table(
    "staff_users",
    metadata,
    sa.Column("user_id", Key, primary_key=True),
    sa.Column("email", Key, nullable=False, unique=True),
    sa.Column("name", sa.String, nullable=True),
    sa.Column("role", sa.String, nullable=False),
    sa.Column("password_hash", sa.String, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
    # Raised to end every session of the user at once (disabling, a new password, a new role).
    sa.Column("session_epoch", sa.Integer, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_login_at", UtcDateTime, nullable=True),
)

# Only the SHA-256 of a key is kept: the key itself is shown once, when it is made.
staff_api_keys = sa.Table(
    "staff_api_keys",
    metadata,
    sa.Column("key_id", Key, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String, nullable=False),
    sa.Column("scopes", sa.String, nullable=False),  # space-separated; "" means every scope of the role
    sa.Column("user_id", Key, sa.ForeignKey("staff_users.user_id"), nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_used_at", UtcDateTime, nullable=True),
    sa.Column("revoked_at", UtcDateTime, nullable=True),
)
