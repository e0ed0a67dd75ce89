"""The legal holds table: data that must not be destroyed while a claim or an authority's order lasts."""

from __future__ import annotations

import sqlalchemy as sa

from privet.store.tables import Key, UtcDateTime, metadata

# A hold is never deleted: releasing it sets released_at, so the record of what was held, why and by whom stays.
legal_holds = sa.Table(
    "legal_holds",
    metadata,
    sa.Column("hold_id", Key, primary_key=True),
    sa.Column("scope", sa.String, nullable=False),  # person | system | category | collection
    sa.Column("target", Key, nullable=False, index=True),
    sa.Column("reason", sa.String, nullable=False),
    sa.Column("owner", sa.String, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("released_at", UtcDateTime, nullable=True),
)
