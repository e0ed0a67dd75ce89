"""Relational databases (SQLite, PostgreSQL, MariaDB/MySQL) through SQLAlchemy Core.

Collections and fields are names from the manifest, so they are never pasted into SQL: a collection must exist in
the reflected schema and a field must be one of its reflected columns, and SQLAlchemy quotes both. Key values are
always bound parameters (an expanding `IN` per batch). Errors name the system and the operation, never the URL's
password nor the bound values (which are personal data).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from privet.extras import missing_extra
from privet.fulfilment.ports import Column, ColumnType, ConnectorError, Row, Update, batched, distinct

# Backends given without a driver get the one privet installs.
DEFAULT_DRIVERS = {"postgresql": "psycopg", "postgres": "psycopg", "mysql": "pymysql", "mariadb": "pymysql"}

_KEYS = "privet_keys__"
_KEY = "privet_key__"
_VALUE = "privet_value__{}"


class SqlConnector:
    """One database (and optionally one schema in it). Not shared between threads while a transaction is open."""

    batch_records: int | None = 50_000  # a transaction of this size holds its locks briefly

    def __init__(
        self,
        system: str,
        url: str | URL,
        schema: str | None = None,
        batch_size: int = 1000,
        **engine_options: Any,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.name = system
        self.schema = schema
        self.batch_size = batch_size
        self._secret: str | None = None
        with self._failing("connect"):
            parsed = _with_driver(make_url(url))
            self._secret = parsed.password if isinstance(parsed.password, str) else None
            self._safe_url = parsed.render_as_string(hide_password=True)
            options: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True, **engine_options}
            self.engine: Engine = sa.create_engine(parsed, **options)
        self._tables: dict[str, sa.Table] = {}
        self._conn: Connection | None = None

    def __repr__(self) -> str:
        return f"SqlConnector({self.name!r}, {self._safe_url!r}, schema={self.schema!r})"

    def describe(self, collection: str) -> dict[str, Column] | None:
        """The live columns, read once per connector: a connector lives for one request or one sweep, whose
        schema check happens before any write."""
        with self._failing(f"describe {collection}"), self._connection() as conn:
            table = self._reflect(conn, collection)
            return None if table is None else {c.name: _column(c) for c in table.columns}

    def describe_many(self, collections: Sequence[str]) -> dict[str, dict[str, Column] | None]:
        """`describe` for several collections with a few catalogue queries in all, not a few per table."""
        with self._failing("describe"), self._connection() as conn:
            missing = [c for c in dict.fromkeys(collections) if c not in self._tables]
            if len(missing) > 1:
                self._reflect_many(conn, missing)
            tables = {c: self._reflect(conn, c) for c in collections}
        return {c: None if t is None else {col.name: _column(col) for col in t.columns} for c, t in tables.items()}

    def _reflect_many(self, conn: Connection, collections: list[str]) -> None:
        from sqlalchemy.engine.reflection import ObjectKind

        for name in collections:
            if not name or "\x00" in name:
                raise ConnectorError(f"{self.name}: {name!r} is not a collection name")
        inspector = sa.inspect(conn)
        kind = ObjectKind.TABLE | ObjectKind.VIEW
        try:
            columns = inspector.get_multi_columns(schema=self.schema, filter_names=collections, kind=kind)
            keys = inspector.get_multi_pk_constraint(schema=self.schema, filter_names=collections, kind=kind)
        except NotImplementedError:  # a dialect without multi-reflection: one table at a time, in _reflect
            return
        for (_, name), found in columns.items():
            pk = keys.get((self.schema, name))
            key = set(pk["constrained_columns"]) if pk else set()
            table = sa.Table(name, sa.MetaData(), *(
                sa.Column(c["name"], c["type"], nullable=c.get("nullable", True), primary_key=c["name"] in key)
                for c in found
            ), schema=self.schema)  # fmt: skip
            self._tables[name] = table

    def select(
        self, collection: str, field: str, values: Sequence[Any], columns: Sequence[str] | None = None
    ) -> list[Row]:
        with self._failing(f"select from {collection}"), self._connection() as conn:
            table = self._table(conn, collection)
            key = self._column(table, field)
            wanted = list(table.columns) if columns is None else [self._column(table, c) for c in columns]
            statement = sa.select(*wanted).where(key.in_(sa.bindparam(_KEYS, expanding=True)))
            rows: list[Row] = []
            for batch in batched(distinct(values), self.batch_size):
                rows += [dict(r._mapping) for r in conn.execute(statement, {_KEYS: list(batch)})]
            return rows

    def count(self, collection: str, field: str, values: Sequence[Any]) -> int:
        with self._failing(f"count {collection}"), self._connection() as conn:
            table = self._table(conn, collection)
            key = self._column(table, field)
            statement = (
                sa.select(sa.func.count()).select_from(table).where(key.in_(sa.bindparam(_KEYS, expanding=True)))
            )
            return sum(
                conn.execute(statement, {_KEYS: list(batch)}).scalar_one()
                for batch in batched(distinct(values), self.batch_size)
            )

    def update(self, collection: str, key_field: str, updates: Sequence[Update]) -> int:
        """One executemany per set of changed columns and batch: `UPDATE t SET c = :v WHERE key = :k`."""
        with self._failing(f"update {collection}"), self._connection() as conn:
            table = self._table(conn, collection)
            key = self._column(table, key_field)
            groups: dict[tuple[str, ...], list[Update]] = {}
            for change in updates:
                if change.values:
                    groups.setdefault(tuple(change.values), []).append(change)
            changed = 0
            for names, group in groups.items():
                targets = [self._column(table, n) for n in names]
                statement = (
                    sa.update(table)
                    .where(key == sa.bindparam(_KEY))
                    .values({c: sa.bindparam(_VALUE.format(i)) for i, c in enumerate(targets)})
                )
                for batch in batched(group, self.batch_size):
                    params = [
                        {_KEY: u.key, **{_VALUE.format(i): u.values[n] for i, n in enumerate(names)}} for u in batch
                    ]
                    changed += conn.execute(statement, params).rowcount
            return changed

    def update_all(self, collection: str, key_field: str, keys: Sequence[Any], values: Mapping[str, Any]) -> int:
        """`UPDATE t SET c = :v WHERE key IN (...)`, one statement per batch of keys."""
        if not values:
            return 0
        with self._failing(f"update {collection}"), self._connection() as conn:
            table = self._table(conn, collection)
            key = self._column(table, key_field)
            targets = {self._column(table, n): v for n, v in values.items()}
            statement = sa.update(table).where(key.in_(sa.bindparam(_KEYS, expanding=True))).values(targets)
            return sum(
                conn.execute(statement, {_KEYS: list(batch)}).rowcount
                for batch in batched(distinct(keys), self.batch_size)
            )

    def delete(self, collection: str, key_field: str, keys: Sequence[Any]) -> int:
        with self._failing(f"delete from {collection}"), self._connection() as conn:
            table = self._table(conn, collection)
            key = self._column(table, key_field)
            statement = sa.delete(table).where(key.in_(sa.bindparam(_KEYS, expanding=True)))
            return sum(
                conn.execute(statement, {_KEYS: list(batch)}).rowcount
                for batch in batched(distinct(keys), self.batch_size)
            )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One connection-level transaction for every call inside; a nested transaction() joins the outer one."""
        if self._conn is not None:
            yield
            return
        with self._failing("begin a transaction"):
            conn = self.engine.connect()
            outer = conn.begin()
        self._conn = conn
        try:
            try:
                yield
            except BaseException:
                # The error in hand matters more than a failed rollback (the server rolls back a lost session).
                with contextlib.suppress(SQLAlchemyError):
                    outer.rollback()
                raise
            with self._failing("commit"):
                outer.commit()
        finally:
            self._conn = None
            with contextlib.suppress(SQLAlchemyError):
                conn.close()

    def close(self) -> None:
        self._tables.clear()
        self.engine.dispose()

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Connection]:
        """The open transaction's connection, else a fresh one committing when the call ends."""
        if self._conn is not None:
            yield self._conn
        else:
            with self.engine.begin() as conn:
                yield conn

    @contextlib.contextmanager
    def _failing(self, operation: str) -> Iterator[None]:
        try:
            yield
        except ConnectorError:
            raise
        except ImportError as exc:  # an optional part's driver: the extra that installs it is the fix
            extra = missing_extra(exc, f"system {self.name}")
            reason = str(extra) if extra else f"{self.name}: {operation} failed: {self._reason(exc)}"
            raise ConnectorError(reason) from exc
        except (SQLAlchemyError, ValueError) as exc:
            raise ConnectorError(f"{self.name}: {operation} failed: {self._reason(exc)}") from exc

    def _reason(self, exc: BaseException) -> str:
        cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        lines = str(cause).strip().splitlines()  # SQLAlchemy appends the statement and a link on later lines
        text = f"{type(cause).__name__}: {lines[0] if lines else ''}".rstrip(": ")
        if self._secret:
            text = text.replace(self._secret, "***")
        return text

    def _table(self, conn: Connection, collection: str) -> sa.Table:
        table = self._reflect(conn, collection)
        if table is None:
            where = f" in schema {self.schema!r}" if self.schema else ""
            raise ConnectorError(f"{self.name}: there is no collection {collection!r}{where}")
        return table

    def _reflect(self, conn: Connection, collection: str) -> sa.Table | None:
        if not collection or "\x00" in collection:
            raise ConnectorError(f"{self.name}: {collection!r} is not a collection name")
        table = self._tables.get(collection)
        if table is None:
            # Columns and the primary key only: full reflection (indexes, foreign keys, constraints, comments)
            # costs several catalogue queries per table that privet never uses.
            inspector = sa.inspect(conn)
            if not inspector.has_table(collection, schema=self.schema):
                return None
            key = set(inspector.get_pk_constraint(collection, schema=self.schema).get("constrained_columns") or ())
            columns = [
                sa.Column(c["name"], c["type"], nullable=c.get("nullable", True), primary_key=c["name"] in key)
                for c in inspector.get_columns(collection, schema=self.schema)
            ]
            table = sa.Table(collection, sa.MetaData(), *columns, schema=self.schema)
            self._tables[collection] = table
        return table

    def _column(self, table: sa.Table, name: str) -> sa.Column[Any]:
        column = table.columns.get(name)
        if column is None:
            raise ConnectorError(f"{self.name}: collection {table.name!r} has no column {name!r}")
        return column


def _with_driver(url: URL) -> URL:
    if "+" not in url.drivername and url.drivername in DEFAULT_DRIVERS:
        backend = "postgresql" if url.drivername == "postgres" else url.drivername
        return url.set(drivername=f"{backend}+{DEFAULT_DRIVERS[url.drivername]}")
    return url


def _column(column: sa.Column[Any]) -> Column:
    kind = column_type(column.type)
    length = getattr(column.type, "length", None)
    return Column(
        column.name,
        kind,
        nullable=bool(column.nullable) and not column.primary_key,  # SQLite reports its rowid key as nullable
        max_length=length if isinstance(length, int) and kind in (ColumnType.TEXT, ColumnType.BINARY) else None,
    )


_TYPES: Sequence[tuple[type[Any], ColumnType]] = (
    (sa.Boolean, ColumnType.BOOLEAN),
    (sa.Integer, ColumnType.INTEGER),
    (sa.Float, ColumnType.FLOAT),
    (sa.Numeric, ColumnType.FLOAT),
    (sa.DateTime, ColumnType.DATETIME),
    (sa.Date, ColumnType.DATE),
    (sa.JSON, ColumnType.JSON),
    (sa.String, ColumnType.TEXT),
    (sa.Uuid, ColumnType.TEXT),
    (sa.LargeBinary, ColumnType.BINARY),
    (sa.types._Binary, ColumnType.BINARY),
)


def column_type(kind: sa.types.TypeEngine[Any]) -> ColumnType:
    if isinstance(kind, mysql.TINYINT) and kind.display_width == 1:
        return ColumnType.BOOLEAN  # MySQL spells BOOLEAN as TINYINT(1)
    for base, mapped in _TYPES:
        if isinstance(kind, base):
            return mapped
    return ColumnType.OTHER


class SqlConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["sql"] = "sql"
    url: str  # may hold a password: settings or the environment, never the manifest
    schema_: str | None = Field(default=None, alias="schema")
    batch_size: int = Field(default=1000, ge=1)


def from_config(system: str, config: Mapping[str, Any]) -> SqlConnector:
    settings = SqlConfig.model_validate(config)
    return SqlConnector(system, settings.url, schema=settings.schema_, batch_size=settings.batch_size)
