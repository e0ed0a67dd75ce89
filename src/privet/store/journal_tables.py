"""The journal of anonymised records: what privet anonymised, so that retention never anonymises it again."""

from __future__ import annotations

import sqlalchemy as sa

from privet.store.tables import Key, UtcDateTime, metadata

# One row per record privet anonymised, by system, collection and the record's key written as text (as reports
# write keys). Keys of anonymised records are not personal data: the retention plan deletes instead of anonymising
# where a collection's key is personal or names a person's record, so keeping them here is allowed. A record privet
# deletes later leaves the journal in the same transaction that checkpoints the deletion.
retention_journal = sa.Table(
    "retention_journal",
    metadata,
    sa.Column("system", Key, primary_key=True),
    sa.Column("collection", Key, primary_key=True),
    sa.Column("record_key", Key, primary_key=True),
    sa.Column("rule", sa.String, nullable=False),
    sa.Column("run", sa.String, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
)
