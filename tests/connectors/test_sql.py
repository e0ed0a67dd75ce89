"""What only the SQL connector promises: hostile names, batching, secrets kept out of errors, lost connections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql

from privet.connectors import SqlConnector
from privet.connectors.sql import column_type
from privet.fulfilment.ports import Column, ColumnType, ConnectorError, Update
from tests.connectors.conftest import USERS, Server, chain_text, seed

HOSTILE = "users; DROP TABLE orders"


@pytest.fixture
def sqlite(tmp_path: Path) -> Server:
    url = f"sqlite:///{tmp_path / 'data.db'}"
    engine = sa.create_engine(url)
    seed(engine)
    return Server(engine, url, None)


def executed(connector: SqlConnector) -> list[tuple[str, bool]]:
    seen: list[tuple[str, bool]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append((statement.lstrip().split()[0].upper(), many))

    sa.event.listen(connector.engine, "before_cursor_execute", record)
    return seen


def test_a_hostile_collection_name_finds_nothing_and_drops_nothing(sqlite: Server) -> None:
    connector = SqlConnector("crm", sqlite.url)

    assert connector.describe(HOSTILE) is None
    with pytest.raises(ConnectorError, match="there is no collection"):
        connector.select(HOSTILE, "id", [1])
    with pytest.raises(ConnectorError, match="there is no collection"):
        connector.delete(HOSTILE, "id", [1])

    assert sa.inspect(sqlite.engine).has_table("orders")
    connector.close()


def test_hostile_field_names_are_rejected(sqlite: Server) -> None:
    connector = SqlConnector("crm", sqlite.url)

    with pytest.raises(ConnectorError, match="no column 'id = 1 OR 1=1 --'"):
        connector.delete("users", "id = 1 OR 1=1 --", [1])
    with pytest.raises(ConnectorError, match="no column"):
        connector.update("users", "id", [Update(1, {"name = 'x'; DROP TABLE orders; --": "x"})])

    assert connector.count("users", "id", [u["id"] for u in USERS]) == len(USERS)
    connector.close()


@pytest.mark.parametrize("server", ["sqlite", "postgres"])
def test_odd_but_real_names_are_quoted(server: str, request: pytest.FixtureRequest) -> None:
    db: Server = request.getfixturevalue(server)
    seed(db.engine, db.schema)
    odd = sa.Table(
        HOSTILE,
        sa.MetaData(schema=db.schema),
        sa.Column('we"ird id', sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("select", sa.String(20)),
    )
    odd.drop(db.engine, checkfirst=True)
    odd.create(db.engine)
    with db.engine.begin() as conn:
        conn.execute(odd.insert(), [{'we"ird id': 1, "select": "a"}, {'we"ird id': 2, "select": "b"}])
    connector = SqlConnector("crm", db.url, schema=db.schema)
    try:
        assert connector.select(HOSTILE, 'we"ird id', [2]) == [{'we"ird id': 2, "select": "b"}]
        assert connector.update(HOSTILE, 'we"ird id', [Update(1, {"select": "z"})]) == 1
        assert connector.delete(HOSTILE, 'we"ird id', [2]) == 1
        assert connector.select(HOSTILE, "select", ["z", "b"]) == [{'we"ird id': 1, "select": "z"}]
        assert sa.inspect(db.engine).has_table("orders", schema=db.schema)
    finally:
        connector.close()
        odd.drop(db.engine)


@pytest.mark.parametrize("server", ["sqlite", "postgres", "mariadb"])
def test_describe_gives_types_lengths_and_nullability(server: str, request: pytest.FixtureRequest) -> None:
    db: Server = request.getfixturevalue(server)
    seed(db.engine, db.schema)
    connector = SqlConnector("crm", db.url, schema=db.schema)

    assert connector.describe("users") == {
        "id": Column("id", ColumnType.INTEGER, nullable=False),
        "email": Column("email", ColumnType.TEXT, nullable=False, max_length=255),
        "name": Column("name", ColumnType.TEXT, nullable=True, max_length=100),
    }
    connector.close()


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (sa.Boolean(), ColumnType.BOOLEAN),
        (mysql.TINYINT(display_width=1), ColumnType.BOOLEAN),
        (mysql.TINYINT(display_width=4), ColumnType.INTEGER),
        (sa.BigInteger(), ColumnType.INTEGER),
        (sa.Numeric(10, 2), ColumnType.FLOAT),
        (sa.DateTime(), ColumnType.DATETIME),
        (sa.Date(), ColumnType.DATE),
        (sa.Text(), ColumnType.TEXT),
        (postgresql.JSONB(), ColumnType.JSON),
        (sa.LargeBinary(), ColumnType.BINARY),
        (sa.Uuid(), ColumnType.TEXT),
        (sa.Time(), ColumnType.OTHER),
    ],
)
def test_column_types_map_to_coarse_types(kind: sa.types.TypeEngine[Any], expected: ColumnType) -> None:
    assert column_type(kind) == expected


def test_batches_are_one_statement_each_and_updates_use_executemany(sqlite: Server) -> None:
    connector = SqlConnector("crm", sqlite.url, batch_size=2)
    connector.describe("users")
    seen = executed(connector)

    connector.count("users", "id", [1, 2, 3, 4, 5])
    connector.update("users", "id", [Update(k, {"name": f"n{k}"}) for k in (1, 2, 3)] + [Update(4, {"email": "x"})])
    connector.delete("users", "id", [1, 2, 3, 4, 5])

    assert seen == [
        ("SELECT", False),
        ("SELECT", False),
        ("SELECT", False),
        ("UPDATE", True),  # names of 1 and 2
        ("UPDATE", False),  # name of 3 (SQLAlchemy executes a list of one set of values once)
        ("UPDATE", False),  # email of 4
        ("DELETE", False),
        ("DELETE", False),
        ("DELETE", False),
    ]
    connector.close()


def test_errors_name_the_system_and_operation_but_not_the_password() -> None:
    url = "postgresql+psycopg://privet:Sup3r-S3cret@127.0.0.1:1/test?connect_timeout=2"
    connector = SqlConnector("billing", url)

    with pytest.raises(ConnectorError) as error:
        connector.select("users", "email", ["ada@example.test"])

    message = str(error.value)
    assert message.startswith("billing: select from users failed: OperationalError")
    everything = chain_text(error.value) + repr(connector)
    assert "Sup3r-S3cret" not in everything
    assert "***" in repr(connector)
    connector.close()


def test_database_errors_hold_neither_the_password_nor_the_values(postgres: Server) -> None:
    seed(postgres.engine, postgres.schema)
    url = sa.make_url(postgres.url).set(password="Sup3r-S3cret")  # the test server trusts everyone
    connector = SqlConnector("crm", url, schema=postgres.schema)

    with pytest.raises(ConnectorError, match=r"^crm: update users failed: ") as error:
        connector.update("users", "id", [Update(1, {"email": None})])  # NOT NULL

    everything = chain_text(error.value)
    assert "Sup3r-S3cret" not in everything
    assert "ada@example.test" not in everything
    connector.close()


def test_a_lost_connection_rolls_the_transaction_back(postgres: Server) -> None:
    seed(postgres.engine, postgres.schema)
    connector = SqlConnector("crm", postgres.url, schema=postgres.schema)
    backends: list[int] = []

    def record(conn: Any, *rest: Any) -> None:
        backends.append(conn.connection.dbapi_connection.info.backend_pid)

    sa.event.listen(connector.engine, "before_cursor_execute", record)

    with pytest.raises(ConnectorError, match=r"^crm: update users failed") as error, connector.transaction():
        assert connector.update("users", "id", [Update(1, {"name": "partial"})]) == 1
        with postgres.engine.begin() as admin:
            admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": backends[-1]})
        connector.update("users", "id", [Update(2, {"name": "partial"})])

    assert "terminating connection" in str(error.value)
    with postgres.engine.connect() as other:
        names = other.execute(sa.text(f"SELECT name FROM {postgres.schema}.users ORDER BY id")).scalars().all()
    assert names == [u["name"] for u in USERS]
    # the connector recovers: the pool replaces the dead connection
    assert connector.select("users", "id", [1], columns=["name"]) == [{"name": "Ada"}]
    connector.close()


def test_urls_without_a_driver_get_the_installed_ones() -> None:
    assert SqlConnector("a", "postgresql://u@h/db").engine.dialect.driver == "psycopg"
    assert SqlConnector("b", "mysql://u@h/db").engine.dialect.driver == "pymysql"
    assert SqlConnector("c", "mariadb://u@h/db").engine.dialect.driver == "pymysql"


def test_a_url_for_an_unknown_backend_is_a_connector_error() -> None:
    with pytest.raises(ConnectorError, match=r"^erp: connect failed"):
        SqlConnector("erp", "nosuchdb://u:pw@host/db")
