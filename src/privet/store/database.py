"""Opening the database (SQLite by default, PostgreSQL at scale) and bringing its schema to the current revision."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from privet.extras import missing_extra

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "privet_alembic_version"  # not alembic_version: the database may hold the company's own tables
SQLITE_BUSY_TIMEOUT_MS = 10_000
RETRIES = 5
# PostgreSQL deadlock and serialization failures: the transaction did nothing and may simply run again.
TRANSIENT_SQLSTATES = {"40P01", "40001"}
_WRITE = "privet_write"

T = TypeVar("T")


class Database:
    """An engine, and transactions on it that write (SQLite: BEGIN IMMEDIATE) or only read."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect: str = engine.dialect.name
        self.url: str = engine.url.render_as_string(hide_password=True)
        # The engine whose transactions write (BEGIN IMMEDIATE on SQLite); made once, not per transaction.
        self.writer = engine.execution_options(**{_WRITE: True})

    def write(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one write transaction; on a PostgreSQL deadlock or serialization failure, run it again."""
        for attempt in range(RETRIES):
            try:
                with self.writer.begin() as conn:
                    return work(conn)
            except DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) not in TRANSIENT_SQLSTATES or attempt == RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def read(self, work: Callable[[Connection], T], *, snapshot: bool = False) -> T:
        """Run `work` in a read transaction; `snapshot` makes every statement see the same committed state."""
        with self.engine.connect() as conn:
            if snapshot and self.dialect == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                return work(conn)

    def close(self) -> None:
        self.engine.dispose()


def open_database(url: str) -> Database:
    """An engine for `url` (e.g. sqlite:///privet.db, postgresql+psycopg://user@host/db); run migrate() before use."""
    sa_url = sa.make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        engine = sa.create_engine(sa_url)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        try:
            engine = sa.create_engine(sa_url, pool_pre_ping=True)
        except ImportError as exc:  # the driver of an optional part: say which extra installs it
            raise missing_extra(exc, f"the database {sa_url.get_backend_name()}") or exc from None
    return Database(engine)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling would start transactions late and never as writers; we issue BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # A writer takes the write lock up front: a reader upgrading later could fail at once instead of waiting.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head() -> str:
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None
    return revision


def revision(engine: Engine) -> str | None:
    """The schema revision the database is at; None before the first migration."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def migrate(engine: Engine, target: str = "head") -> None:
    """Upgrade the schema to `target` in one transaction; concurrent callers on PostgreSQL wait for each other."""
    config = alembic_config()
    with engine.execution_options(**{_WRITE: True}).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('privet.migrate'))"))
        config.attributes["connection"] = conn
        command.upgrade(config, target)
