"""The consent tables: subjects, their identifiers, the append-only ledger and its current-state projection."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect


def utc(value: dt.datetime) -> dt.datetime:
    if value.utcoffset() is None:
        raise ValueError(f"{value.isoformat()} has no timezone; the store keeps instants, give it one (e.g. UTC)")
    return value.astimezone(dt.UTC)


class _SqliteInstant(sa.types.UserDefinedType[dt.datetime]):
    """SQLite's DATETIME as SQLAlchemy stores it (text, 'YYYY-MM-DD HH:MM:SS.ffffff', the same bytes), written and
    read with the datetime module's own C routines instead of SQLAlchemy's formatting and regular expression: every
    consent write stores two instants, and every read of the ledger parses them. A type of its own, not a DateTime:
    SQLAlchemy would map a DateTime back to SQLite's DATETIME and its processors."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "DATETIME"

    def bind_processor(self, dialect: Dialect) -> Callable[[dt.datetime | None], str | None]:
        def process(value: dt.datetime | None) -> str | None:
            return None if value is None else value.isoformat(" ", "microseconds")

        return process

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[str | None], dt.datetime | None]:
        def process(value: str | None) -> dt.datetime | None:
            return None if value is None else dt.datetime.fromisoformat(value)

        return process


class UtcDateTime(sa.TypeDecorator[dt.datetime]):
    """A timezone-aware instant: stored in UTC (text on SQLite, timestamptz on PostgreSQL), read back in UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        # Not through dialect.type_descriptor: that would map it back to SQLite's own DATETIME.
        return _SqliteInstant() if dialect.name == "sqlite" else dialect.type_descriptor(self.impl)

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        value = utc(value)
        # SQLite keeps fixed-width text, so that comparing two stored instants in SQL compares them in time.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# Identifiers and keys are compared byte by byte, so that SQL ordering is Python's string ordering on every dialect.
Key = sa.String().with_variant(sa.String(collation="C"), "postgresql")
Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite numbers rows itself only for INTEGER keys
Json = sa.JSON().with_variant(JSONB(), "postgresql")

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

subjects = sa.Table(
    "subjects",
    metadata,
    sa.Column("subject_id", Key, primary_key=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("jurisdiction", sa.String, nullable=True),
    sa.Column("birth_date", sa.Date, nullable=True),
    sa.Column("known_minor", sa.Boolean, nullable=False),
    sa.Column("merged_into", Key, nullable=True, index=True),
)

identifiers = sa.Table(
    "identifiers",
    metadata,
    sa.Column("kind", Key, primary_key=True),
    sa.Column("value", Key, primary_key=True),
    sa.Column("subject_id", Key, sa.ForeignKey("subjects.subject_id"), nullable=False, index=True),
)

# The evidence ledger. It names subjects without a foreign key: a choice is evidence even when the person is not
# (or no longer) known. Triggers added by the migration refuse UPDATE and DELETE.
consent_events = sa.Table(
    "consent_events",
    metadata,
    sa.Column("seq", Seq, sa.Identity(), primary_key=True),
    sa.Column("event_id", Key, nullable=False, unique=True),
    sa.Column("subject_id", Key, nullable=False),
    sa.Column("key", Key, nullable=False),
    sa.Column("scope", Key, nullable=False),
    sa.Column("granted", sa.Boolean, nullable=False),
    sa.Column("source", sa.String, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("recorded_at", UtcDateTime, nullable=False),
    sa.Column("identifier_kind", sa.String, nullable=True),
    sa.Column("identifier_value", sa.String, nullable=True),
    sa.Column("jurisdiction", sa.String, nullable=True),
    sa.Column("manifest_version", sa.String, nullable=True),
    sa.Column("notice_hash", sa.String, nullable=True),
    sa.Column("evidence", Json, nullable=False),
    sa.Index("ix_consent_events_subject_id_seq", "subject_id", "seq"),
)

# The projection: one row per canonical subject, key and scope, holding the newest choice by (at, seq).
consent_state = sa.Table(
    "consent_state",
    metadata,
    sa.Column("subject_id", Key, primary_key=True),
    sa.Column("key", Key, primary_key=True),
    sa.Column("scope", Key, primary_key=True),
    sa.Column("granted", sa.Boolean, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("event_id", Key, nullable=False),
    sa.Column("seq", Seq, nullable=False),
    sa.Column("source", sa.String, nullable=False),
)
