"""The data keys table: each subject's data key, only ever wrapped under a KEK, or the receipt of its shredding."""

from __future__ import annotations

import sqlalchemy as sa

from privet.store.tables import Key, UtcDateTime, metadata

# A row holds a wrapped key (shredded_at null) or a shredding receipt (wrapped null), never both: shredding sets
# wrapped to null in the same statement that records the time. The row stays, so the subject id never gets a new key.
data_keys = sa.Table(
    "data_keys",
    metadata,
    sa.Column("subject_id", Key, primary_key=True),
    sa.Column("key_id", sa.String, nullable=True),  # null: shredded before any key was made
    sa.Column("kek_id", Key, nullable=True, index=True),
    sa.Column("wrapped", sa.LargeBinary, nullable=True),
    sa.Column("shredded_at", UtcDateTime, nullable=True),
    sa.Column("receipt_sha256", sa.String, nullable=True),
    sa.CheckConstraint("(wrapped IS NULL) <> (shredded_at IS NULL)", name="ck_data_keys_wrapped_or_shredded"),
)
