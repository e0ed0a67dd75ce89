"""The fulfilment benchmark's company: N collections of R rows in PostgreSQL, shaped like Fides' sample datasets.

One identity collection, `customer` (email), then pairs `orders_K` (customer_id -> customer.id) and
`order_items_K` (order_id -> orders_K.id), as a shop's database has them. Each of the first R // 3 customers has
3 orders in every `orders_K` and one item per order, so a request finds 1 + 3 * (N - 1) rows whatever R is: the
person's rows stay fixed while the tables grow. Key columns carry the indexes a real database would have.
Rows are loaded with COPY (one buffer per table shape, reused for every table of that shape), indexes built after.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

ROWS_PER_PERSON = 3
DATASET = "bench_pg"  # the Fides dataset key, and the privet system of its collections


class BenchSetupError(RuntimeError):
    pass


@dataclass(frozen=True)
class Shape:
    collections: int
    rows: int

    def __post_init__(self) -> None:
        if self.collections < 1:
            raise BenchSetupError(f"--collections {self.collections}: give at least 1 (the customer collection)")
        if self.rows < 1000:
            raise BenchSetupError(f"--rows {self.rows}: give at least 1000, so that the people asking all have rows")

    @property
    def people(self) -> int:
        """Customers with rows in every other collection."""
        return self.rows // ROWS_PER_PERSON

    def tables(self) -> Iterator[tuple[str, str | None]]:
        """(table, the table it references) in creation order; customer first."""
        yield "customer", None
        for k in range(1, self.collections):
            if k % 2:
                yield f"orders_{k}", "customer"
            else:
                yield f"order_items_{k}", f"orders_{k - 1}"

    @property
    def rows_per_request(self) -> int:
        return 1 + ROWS_PER_PERSON * (self.collections - 1)


def email(person: int) -> str:
    return f"person{person}@example.com"


def admin_url(host: str, port: int, user: str) -> str:
    return f"postgresql://{user}@{host}:{port}/postgres"


def recreate_database(admin: str, name: str) -> None:
    if name in ("test", "postgres", "template0", "template1"):
        raise BenchSetupError(f"--database {name}: the benchmark drops its database; name one of its own")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


_DDL = {
    "customer": "CREATE TABLE {t} (id integer PRIMARY KEY, email text, name text, phone text, created date)",
    "orders": "CREATE TABLE {t} (id integer PRIMARY KEY, customer_id integer, shipping_address text, "
    "amount numeric(10, 2), placed date)",
    "order_items": "CREATE TABLE {t} (id integer PRIMARY KEY, order_id integer, product text, gift_note text)",
}
_INDEXED = {"customer": "email", "orders": "customer_id", "order_items": "order_id"}


def kind_of(table: str) -> str:
    return table.rsplit("_", 1)[0] if table != "customer" else "customer"


def _copy_buffer(kind: str, rows: int, people: int) -> bytes:
    if kind == "customer":
        lines = (f"{i}\t{email(i)}\tPerson {i}\t+1555{i:07d}\t2024-01-{i % 28 + 1:02d}\n" for i in range(rows))
    elif kind == "orders":
        # The first people * 3 orders go three to each person (spread over the table, as orders come in over
        # time); the few left over belong to customers nobody asks about.
        owner = [j % people if j < ROWS_PER_PERSON * people else j for j in range(rows)]
        lines = (
            f"{j}\t{owner[j]}\t{j} Main Street, Springfield\t{(j % 9000) / 100 + 1:.2f}\t2025-03-{j % 28 + 1:02d}\n"
            for j in range(rows)
        )
    else:
        lines = (f"{j}\t{j}\tproduct {j % 500}\tfor person {j % people}\n" for j in range(rows))
    return "".join(lines).encode()


def load(url: str, shape: Shape) -> dict[str, float]:
    """Create and fill every table; returns seconds spent on (copy, index) for the report."""
    import time

    buffers: dict[str, bytes] = {}
    timing = {"copy": 0.0, "index": 0.0}
    with psycopg.connect(url, autocommit=True) as conn:
        for table, _ in shape.tables():
            kind = kind_of(table)
            if kind not in buffers:
                buffers[kind] = _copy_buffer(kind, shape.rows, shape.people)
            conn.execute(sql.SQL(_DDL[kind]).format(t=sql.Identifier(table)))
            started = time.perf_counter()
            with conn.cursor() as cur, cur.copy(sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(table))) as copy:
                view = memoryview(buffers[kind])
                for at in range(0, len(view), 1 << 20):
                    copy.write(view[at : at + (1 << 20)])
            timing["copy"] += time.perf_counter() - started
        started = time.perf_counter()
        for table, _ in shape.tables():
            column = _INDEXED[kind_of(table)]
            conn.execute(
                sql.SQL("CREATE INDEX {} ON {} ({})").format(
                    sql.Identifier(f"ix_{table}_{column}"), sql.Identifier(table), sql.Identifier(column)
                )
            )
        conn.execute("VACUUM ANALYZE")
        timing["index"] = time.perf_counter() - started
    return timing


def _field(name: str, categories: list[str], data_type: str | None, **meta: Any) -> dict[str, Any]:
    if data_type is not None:
        meta["data_type"] = data_type
    return {"name": name, "data_categories": categories, **({"fides_meta": meta} if meta else {})}


def _fields(table: str, referenced: str | None) -> list[dict[str, Any]]:
    kind = kind_of(table)
    key = _field("id", ["system.operations"], "integer", primary_key=True)
    if kind == "customer":
        return [
            key,
            _field("email", ["user.contact.email"], "string", identity="email"),
            _field("name", ["user.name"], "string"),
            _field("phone", ["user.contact.phone_number"], "string"),
            _field("created", ["system.operations"], None),
        ]
    ref_field = "customer_id" if kind == "orders" else "order_id"
    ref = _field(
        ref_field,
        ["system.operations"],
        "integer",
        references=[{"dataset": DATASET, "field": f"{referenced}.id", "direction": "from"}],
    )
    if kind == "orders":
        return [
            key,
            ref,
            _field("shipping_address", ["user.contact.address"], "string"),
            _field("amount", ["system.operations"], "float"),
            _field("placed", ["system.operations"], None),
        ]
    return [
        key,
        ref,
        _field("product", ["system.operations"], "string"),
        _field("gift_note", ["user.content.private"], "string"),
    ]


def fides_dataset(shape: Shape) -> dict[str, Any]:
    """The Fides dataset for these tables, as `fides` itself reads it (fideslang Dataset)."""
    return {
        "fides_key": DATASET,
        "name": "Benchmark shop database",
        "description": f"{shape.collections} collections of {shape.rows} rows",
        "collections": [{"name": t, "fields": _fields(t, ref)} for t, ref in shape.tables()],
    }


def fides_system() -> dict[str, Any]:
    """A Fides system owning the dataset, so that privet's import links the collections to a connection."""
    return {
        "fides_key": DATASET,
        "name": "Benchmark shop",
        "system_type": "Database",
        "dataset_references": [DATASET],
        "privacy_declarations": [
            {
                "name": "Orders",
                "data_use": "essential.service",
                "data_categories": ["user"],
                "data_subjects": ["customer"],
                "legal_basis_for_processing": "Contract",
            }
        ],
    }


def remaining(url: str, emails: list[str]) -> int:
    """How many customer rows still hold these emails (after an erasure: none should)."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM customer WHERE email = ANY(%s)", (emails,)).fetchone()
    return int(row[0]) if row else 0


def load_sql(url: str, script: str) -> None:
    """Run a schema-and-data script from scratch: the public schema (and one the script makes) emptied first."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS backup_schema CASCADE")
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
        conn.execute(script.encode())
