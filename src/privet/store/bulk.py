"""Many rows in one statement, with ON CONFLICT: multi-row VALUES on SQLite, arrays through unnest() on PostgreSQL.

On PostgreSQL a VALUES list of a hundred rows is a new, long statement text for every batch size, which the driver
parses each time; one array per column keeps the statement short and the same, whatever the number of rows.

On SQLite the statement is compiled once to the driver's SQL, and each row's values pass through the columns' own
bind processors (the ones SQLAlchemy would apply, so what is stored is the same) straight to the driver: no
per-row parameter handling by SQLAlchemy, which cost more than SQLite's own work for a row (the consent writer's
batches are the hot path). Rows go in one `executemany`, or, when the caller wants rows back, in one multi-row
VALUES statement with RETURNING.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import ColumnElement

from privet.store.tables import UtcDateTime, utc

CHUNK = 1_000
MAX_SQLITE_PARAMETERS = 32_766  # SQLite's limit on bound values per statement (since 3.32)

Excluded = Any  # the `excluded` pseudo-table of an upsert
Where = Callable[[Excluded], ColumnElement[bool]]


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def among(conn: Connection, column: ColumnElement[str], values: Sequence[str]) -> ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL `column = ANY(array)`, one parameter however many values."""
    if conn.dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(values), type_=postgresql.ARRAY(sa.Text())))
    return column.in_(values)


def insert_rows(
    conn: Connection,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    conflict: tuple[str, ...] = (),
    update: tuple[str, ...] = (),
    where: Where | None = None,
    returning: tuple[str, ...] = (),
) -> list[sa.Row[Any]]:
    """Insert `rows`; on a `conflict` with a stored row, set the `update` columns (when `where` holds) or skip the row.

    Without `conflict` a clash with a stored row is an error, as with a plain INSERT. `where` builds the condition
    from the `excluded` row; pass a module-level function, so that the statement is built once and reused.
    """
    if not rows:
        return []
    names = tuple(rows[0])
    stmt = _statement(conn.dialect.name, table, names, conflict, update, where, returning)
    if conn.dialect.name == "sqlite":
        return _insert_sqlite(conn, _compiled_sqlite(stmt, conn.dialect, table, names), rows, bool(returning))
    found: list[sa.Row[Any]] = []
    for batch in chunks(rows):
        params = _arrays(table, names, batch) if conn.dialect.name == "postgresql" else list(batch)
        result = conn.execute(stmt, params)
        if returning:
            found += result.all()
    return found


@functools.lru_cache(maxsize=64)
def _statement(
    dialect: str,
    table: sa.Table,
    names: tuple[str, ...],
    conflict: tuple[str, ...],
    update: tuple[str, ...],
    where: Where | None,
    returning: tuple[str, ...],
) -> sa.Insert:
    stmt: postgresql.Insert | sqlite.Insert
    if dialect == "postgresql":
        stmt = postgresql.insert(table).from_select(list(names), _unnest(table, names))
    elif dialect == "sqlite":
        stmt = sqlite.insert(table)
    else:
        raise NotImplementedError(f"privet stores consent on SQLite or PostgreSQL, not {dialect}")
    if update:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(conflict),
            set_={name: stmt.excluded[name] for name in update},
            where=where(stmt.excluded) if where is not None else None,
        )
    elif conflict:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict))
    return stmt.returning(*(table.c[name] for name in returning)) if returning else stmt


@dataclass(frozen=True)
class _DriverInsert:
    sql: str  # one row's statement, in the driver's parameter style
    group: str  # the VALUES group of one row, repeated for a multi-row statement
    processors: tuple[tuple[str, Callable[[Any], Any] | None], ...]  # column -> its bind processor, in order


@functools.lru_cache(maxsize=64)
def _compiled_sqlite(stmt: sa.Insert, dialect: sa.Dialect, table: sa.Table,
                     names: tuple[str, ...]) -> _DriverInsert:  # fmt: skip
    compiled = stmt.compile(dialect=dialect, column_keys=list(names))
    order = compiled.positiontup or []
    if sorted(order) != sorted(names):  # a bound value outside the row (in a WHERE) would need a name, not a place
        raise NotImplementedError(f"insert_rows on SQLite binds only the row's own values, not {order}")
    group = "(" + ", ".join("?" * len(order)) + ")"
    if compiled.string.count(f"VALUES {group}") != 1:
        raise NotImplementedError(f"unexpected SQL for insert_rows: {compiled.string}")
    processors = tuple((name, table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in order)
    return _DriverInsert(compiled.string, group, processors)


def _insert_sqlite(conn: Connection, insert: _DriverInsert, rows: Sequence[dict[str, Any]],
                   returning: bool) -> list[sa.Row[Any]]:  # fmt: skip
    columns = [
        [row[name] for row in rows] if process is None else [process(row[name]) for row in rows]
        for name, process in insert.processors
    ]
    values = list(zip(*columns, strict=True))
    if not returning:
        conn.exec_driver_sql(insert.sql, values)
        return []
    found: list[sa.Row[Any]] = []
    per_statement = max(1, MAX_SQLITE_PARAMETERS // max(1, len(insert.processors)))
    for batch in chunks(values, min(CHUNK, per_statement)):
        sql = insert.sql.replace(f"VALUES {insert.group}", "VALUES " + ", ".join([insert.group] * len(batch)), 1)
        found += conn.exec_driver_sql(sql, tuple(v for row in batch for v in row)).all()
    return found


def _element_type(column_type: sa.types.TypeEngine[Any]) -> sa.types.TypeEngine[Any]:
    if isinstance(column_type, UtcDateTime):
        return sa.DateTime(timezone=True)
    if isinstance(column_type, sa.Boolean):
        return sa.Boolean()
    if isinstance(column_type, sa.Date):
        return sa.Date()
    if isinstance(column_type, sa.Integer):
        return sa.BigInteger()
    return sa.Text()  # text, and JSON as its text


def _unnest(table: sa.Table, names: tuple[str, ...]) -> sa.Select[Any]:
    types = {name: _element_type(table.c[name].type) for name in names}
    arrays = (
        sa.func.unnest(*(sa.bindparam(f"{name}_array", type_=postgresql.ARRAY(types[name])) for name in names))
        .table_valued(*(sa.column(name, types[name]) for name in names), with_ordinality="position")
        .render_derived()
    )
    columns = [
        sa.cast(arrays.c[name], postgresql.JSONB) if isinstance(table.c[name].type, sa.JSON) else arrays.c[name]
        for name in names
    ]
    # In row order, so that identity numbers follow the order of the batch.
    return sa.select(*columns).order_by(arrays.c.position)


def _arrays(table: sa.Table, names: tuple[str, ...], rows: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    params: dict[str, list[Any]] = {}
    for name in names:
        column_type = table.c[name].type
        values = [row[name] for row in rows]
        if isinstance(column_type, UtcDateTime):
            values = [v if v is None else utc(v) for v in values]
        elif isinstance(column_type, sa.JSON):
            values = [v if v is None else json.dumps(v) for v in values]
        params[f"{name}_array"] = values
    return params
