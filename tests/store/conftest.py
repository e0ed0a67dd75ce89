"""The consent stores under test: in memory, SQLite in a temporary file, and PostgreSQL in a schema of their own.

PostgreSQL is at PRIVET_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test). Every test
gets a fresh schema named after a random prefix of the session (so parallel runs never meet), dropped afterwards.
Without a server the PostgreSQL cases are skipped, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from privet.consent.memory import MemoryConsents, MemorySubjects
from privet.consent.ports import ConsentStore, SubjectStore
from privet.store import Database, SqlConsents, SqlSubjects, migrate, open_database

POSTGRES_URL = os.environ.get("PRIVET_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"true", "1", "yes"}


@dataclass
class Stores:
    name: str
    subjects: SubjectStore
    consents: ConsentStore


@dataclass
class SqlStores:
    name: str
    subjects: SqlSubjects
    consents: SqlConsents
    db: Database

    def sql(self, statement: str) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(sa.text(statement))


class Postgres:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.prefix = f"privet_test_{uuid.uuid4().hex[:12]}"
        self._numbers = itertools.count()

    def new_schema(self) -> tuple[str, str]:
        schema = f"{self.prefix}_{next(self._numbers)}"
        with self.engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        url = sa.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        return schema, url.render_as_string(hide_password=False)

    def drop(self, schema: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    engine = sa.create_engine(POSTGRES_URL, poolclass=NullPool)
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        reason = f"PostgreSQL is not reachable at {POSTGRES_URL} ({exc.orig}); start it or set PRIVET_TEST_POSTGRES_URL"
        if IN_CI:
            pytest.fail(reason + " (CI=true: PostgreSQL is required)")
        pytest.skip(reason)
    server = Postgres(engine)
    yield server
    with engine.begin() as conn:
        left = conn.execute(
            sa.text("SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE :p"),
            {"p": server.prefix + "%"},
        ).scalars()
        for schema in list(left):
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = open_database(f"sqlite:///{tmp_path / 'privet.db'}")
    migrate(db.engine)
    yield db
    db.close()


@pytest.fixture
def postgres_db(postgres: Postgres) -> Iterator[Database]:
    schema, url = postgres.new_schema()
    db = open_database(url)
    try:
        migrate(db.engine)
        yield db
    finally:
        db.close()
        postgres.drop(schema)


DATABASES = {"sqlite": "sqlite_db", "postgresql": "postgres_db"}


def sql_stores(name: str, db: Database) -> SqlStores:
    return SqlStores(name, SqlSubjects(db), SqlConsents(db), db)


@pytest.fixture(params=["sqlite", "postgresql"])
def sql(request: pytest.FixtureRequest) -> SqlStores:
    db: Database = request.getfixturevalue(DATABASES[request.param])
    return sql_stores(request.param, db)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def stores(request: pytest.FixtureRequest) -> Stores:
    if request.param == "memory":
        subjects = MemorySubjects()
        return Stores("memory", subjects, MemoryConsents(subjects))
    db: Database = request.getfixturevalue(DATABASES[request.param])
    return Stores(request.param, SqlSubjects(db), SqlConsents(db))
