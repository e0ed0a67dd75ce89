"""Every connector over the same small dataset: users(id, email, name) and orders(id, user_id, total).

PostgreSQL is at PRIVET_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test), MariaDB at
PRIVET_TEST_MARIADB_URL (default mysql+pymysql://root@127.0.0.1:3306/test). Each test session (each xdist worker)
works in a schema / database of its own, named `privet_conn_<random>` and dropped at the end. Without a server the
cases are skipped, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from privet.connectors import FilesConnector, HttpConnector, HttpSpec, SqlConnector
from privet.fulfilment.ports import Connector
from tests.connectors.fake_service import TOKEN, FakeService, running

POSTGRES_URL = os.environ.get("PRIVET_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARIADB_URL = os.environ.get("PRIVET_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
IN_CI = os.environ.get("CI", "").lower() in {"true", "1", "yes"}

USERS = [
    {"id": 1, "email": "ada@example.test", "name": "Ada"},
    {"id": 2, "email": "bo@example.test", "name": "Bo"},
    {"id": 3, "email": "cy@example.test", "name": "Cy"},
    {"id": 4, "email": "di@example.test", "name": "Di"},
    {"id": 5, "email": "ed@example.test", "name": "Ed"},
    {"id": 6, "email": "flo@example.test", "name": "Flo"},
]
ORDERS = [
    {"id": 10, "user_id": 1, "total": 9.5},
    {"id": 11, "user_id": 1, "total": 20.0},
    {"id": 12, "user_id": 2, "total": 5.25},
    {"id": 13, "user_id": 3, "total": 7.0},
    {"id": 14, "user_id": 5, "total": 1.0},
    {"id": 15, "user_id": 6, "total": 3.0},
]


def unavailable(service: str, url: str, exc: BaseException) -> NoReturn:
    shown = sa.make_url(url).render_as_string(hide_password=True)
    reason = f"{service} is not reachable at {shown} ({type(exc).__name__}); start it or set PRIVET_TEST_{service.upper()}_URL"
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: {service} is required)")
    pytest.skip(reason)


def chain_text(error: BaseException) -> str:
    """What a log would show of an error: the messages of it and of every exception behind it."""
    texts: list[str] = []
    seen: BaseException | None = error
    while seen is not None:
        texts += [str(seen), repr(seen), *getattr(seen, "args", ())]
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)
    return "\n".join(map(str, texts))


@dataclass(frozen=True)
class Server:
    engine: sa.Engine  # an administrator's engine, outside the connector under test
    url: str  # for the connector
    schema: str | None


@pytest.fixture(scope="session")
def postgres() -> Iterator[Server]:
    engine = sa.create_engine(POSTGRES_URL, poolclass=NullPool)
    schema = f"privet_conn_{uuid.uuid4().hex[:12]}"
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except OperationalError as exc:
        unavailable("postgres", POSTGRES_URL, exc)
    yield Server(engine, POSTGRES_URL, schema)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()


@pytest.fixture(scope="session")
def mariadb() -> Iterator[Server]:
    admin = sa.create_engine(MARIADB_URL, poolclass=NullPool)
    database = f"privet_conn_{uuid.uuid4().hex[:12]}"
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {database} CHARACTER SET utf8mb4"))
    except OperationalError as exc:
        unavailable("mariadb", MARIADB_URL, exc)
    url = sa.make_url(MARIADB_URL).set(database=database).render_as_string(hide_password=False)
    engine = sa.create_engine(url, poolclass=NullPool)
    yield Server(engine, url, None)
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {database}"))
    admin.dispose()


def tables(schema: str | None) -> sa.MetaData:
    metadata = sa.MetaData(schema=schema)
    sa.Table(
        "users",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("email", sa.String(255), nullable=False, index=True),
        sa.Column("name", sa.String(100)),
    )
    sa.Table(
        "orders",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("user_id", sa.Integer, nullable=False, index=True),
        sa.Column("total", sa.Float),
    )
    return metadata


def seed(engine: sa.Engine, schema: str | None = None) -> None:
    """Fresh rows in users and orders; the tables are made once (DDL is slow on servers) and emptied after."""
    metadata = tables(schema)
    metadata.create_all(engine)
    users, orders = (metadata.tables[f"{schema}.{n}" if schema else n] for n in ("users", "orders"))
    with engine.begin() as conn:
        conn.execute(orders.delete())
        conn.execute(users.delete())
        conn.execute(users.insert(), USERS)
        conn.execute(orders.insert(), ORDERS)


def statements(engine: sa.Engine) -> list[str]:
    """Every statement the engine sends from now on."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    return seen


def reads_of(seen: list[str], table: str) -> int:
    """The SELECTs of a table's rows among `seen` (not the catalogue queries of reflection)."""
    catalogue = ("pg_catalog", "information_schema", "sqlite_", "PRAGMA")
    return sum(
        1 for s in seen if s.lstrip().upper().startswith("SELECT") and table in s and not any(c in s for c in catalogue)
    )


@dataclass
class Harness:
    kind: str
    connector: Connector
    reads: Callable[[str], int] | None = None  # queries (or calls) reading a collection so far, where observable
    transactional: bool = True


def write_files(root: Path, format: str) -> None:
    schemas = {
        "users": pa.schema([("id", pa.int64()), ("email", pa.string()), ("name", pa.string())]),
        "orders": pa.schema([("id", pa.int64()), ("user_id", pa.int64()), ("total", pa.float64())]),
    }
    for name, rows in (("users", USERS), ("orders", ORDERS)):
        folder = root / name
        folder.mkdir(parents=True)
        for part, start in enumerate(range(0, len(rows), 3)):  # two files each: changes must find the right one
            chunk = rows[start : start + 3]
            table = pa.Table.from_pylist(chunk, schema=schemas[name])
            if format == "parquet":
                pq.write_table(table, folder / f"part-{part}.parquet")
            else:
                lines = [",".join(schemas[name].names)] + [
                    ",".join(str(r[c]) for c in schemas[name].names) for r in chunk
                ]
                (folder / f"part-{part}.csv").write_text("\n".join(lines) + "\n")


def http_spec(url: str) -> HttpSpec:
    users = {"id": "integer", "email": "text", "name": "text"}
    orders = {"id": "integer", "user_id": "integer", "total": "float"}
    cursor = {"type": "cursor", "next": "next"}
    return HttpSpec.model_validate(
        {
            "base_url": url,
            "auth": {"type": "bearer", "token": "api_token"},
            "concurrency": 3,
            "collections": {
                "users": {
                    "fields": users,
                    "read": {
                        "email": {
                            "path": "/users",
                            "param": "email",
                            "batch": 2,
                            "records": "data",
                            "pagination": {"type": "page", "size": 10},
                        },
                        "id": {"path": "/users/{value}", "records": "data"},
                    },
                    "update": {"method": "PATCH", "path": "/users/{key}"},
                    "delete": {"method": "DELETE", "path": "/users/{key}"},
                },
                "orders": {
                    "fields": orders,
                    "read": {
                        "user_id": {
                            "path": "/orders",
                            "param": "user_id",
                            "batch": 2,
                            "records": "results",
                            "pagination": cursor,
                        },
                        "id": {
                            "path": "/orders",
                            "param": "id",
                            "batch": 2,
                            "records": "results",
                            "pagination": cursor,
                        },
                    },
                    "update": {
                        "method": "POST",
                        "path": "/orders/batch",
                        "batch": 2,
                        "wrap": "rows",
                        "changed": "updated",
                    },
                    "delete": {"method": "DELETE", "path": "/orders", "param": "id", "batch": 2, "changed": "deleted"},
                },
            },
        }
    )


@pytest.fixture
def service() -> Iterator[FakeService]:
    with running(FakeService({"users": USERS, "orders": ORDERS}, {"users": "page", "orders": "cursor"})) as fake:
        yield fake


KINDS = ["sqlite", "postgresql", "mariadb", "parquet", "csv", "http"]


@pytest.fixture(params=KINDS)
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    kind: str = request.param
    made: Harness
    if kind in ("sqlite", "postgresql", "mariadb"):
        if kind == "sqlite":
            server = Server(
                sa.create_engine(f"sqlite:///{tmp_path / 'data.db'}"), f"sqlite:///{tmp_path / 'data.db'}", None
            )
        else:
            server = request.getfixturevalue("postgres" if kind == "postgresql" else kind)
        seed(server.engine, server.schema)
        sql = SqlConnector(kind, server.url, schema=server.schema, batch_size=2)
        seen = statements(sql.engine)
        made = Harness(kind, sql, reads=lambda table: reads_of(seen, table))
    elif kind in ("parquet", "csv"):
        write_files(tmp_path / "lake", kind)
        made = Harness(kind, FilesConnector(kind, tmp_path / "lake", format=kind, batch_size=2))
    else:
        fake: FakeService = request.getfixturevalue("service")
        connector = HttpConnector("http", http_spec(fake.url), {"api_token": TOKEN})
        made = Harness(kind, connector, reads=fake.gets, transactional=False)
    try:
        yield made
    finally:
        made.connector.close()
