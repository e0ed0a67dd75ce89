"""Tables of the request workflow: requests, their verification secrets, outbox, audit chain, fulfilment steps."""

from __future__ import annotations

import sqlalchemy as sa

from privet.store.tables import Json, Key, Seq, UtcDateTime, metadata

requests = sa.Table(
    "requests",
    metadata,
    sa.Column("request_id", Key, primary_key=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("state", sa.String, nullable=False, index=True),
    sa.Column("jurisdiction", sa.String, nullable=True),
    sa.Column("dedupe_key", Key, nullable=True, index=True),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Column("due", sa.Date, nullable=False, index=True),
    sa.Column("closed_at", UtcDateTime, nullable=True),
    sa.Column("document", Json, nullable=False),
)

request_secrets = sa.Table(
    "request_secrets",
    metadata,
    sa.Column("request_id", Key, sa.ForeignKey("requests.request_id"), primary_key=True),
    sa.Column("name", Key, primary_key=True),
    sa.Column("value", Json, nullable=False),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("message_id", Key, primary_key=True),
    sa.Column("request_id", Key, nullable=False, index=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("to_address", sa.String, nullable=False),
    sa.Column("subject", sa.String, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("html", sa.Text, nullable=True),
    sa.Column("language", sa.String, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("status", sa.String, nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("updated_at", UtcDateTime, nullable=True),
)

# The hash chain. The payload is kept as the exact canonical text that was hashed, so verification never depends
# on how a database re-encodes JSON.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", Seq, primary_key=True, autoincrement=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor", sa.String, nullable=False),
    sa.Column("action", sa.String, nullable=False),
    sa.Column("subject_ref", Key, nullable=False, index=True),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

reminders = sa.Table(
    "reminders",
    metadata,
    sa.Column("id", Seq, sa.Identity(), primary_key=True),
    sa.Column("request_id", Key, nullable=False, index=True),
    sa.Column("on", sa.Date, nullable=False, index=True),
    sa.Column("what", sa.String, nullable=False),
    sa.Column("done", sa.Boolean, nullable=False),
)

fulfilment_steps = sa.Table(
    "fulfilment_steps",
    metadata,
    sa.Column("request_id", Key, primary_key=True),
    sa.Column("phase", Key, primary_key=True),
    sa.Column("collection", Key, primary_key=True),
    sa.Column("state", sa.String, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("detail", Json, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
)
