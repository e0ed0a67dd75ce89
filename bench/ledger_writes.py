"""Consent ledger writes per second on SQLite (a file, WAL) and PostgreSQL: single events and batches of 100.

.venv/bin/python bench/ledger_writes.py [--seconds 2] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

Each append is one transaction: the events, the duplicate check and the projection upsert. PostgreSQL runs in a
schema of its own, dropped at the end; without a server its column says why.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import shlex
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from privet.consent.events import ConsentEvent, Source
from privet.consent.ports import Subject
from privet.store import Database, SqlConsents, SqlSubjects, migrate, open_database

T0 = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
SUBJECTS = 1_000
KEYS = ("marketing_email", "app_analytics", "opt_out.sale")
MODES = (("single event", 1), ("batch of 100", 100))


@contextmanager
def sqlite_database() -> Iterator[Database]:
    with tempfile.TemporaryDirectory() as folder:
        db = open_database(f"sqlite:///{Path(folder) / 'bench.db'}")
        try:
            yield db
        finally:
            db.close()


@contextmanager
def postgres_database(url: str) -> Iterator[Database]:
    admin = sa.create_engine(url, poolclass=sa.NullPool)
    schema = f"privet_bench_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    scoped = sa.make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    db = open_database(scoped.render_as_string(hide_password=False))
    try:
        yield db
    finally:
        db.close()
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def measure(db: Database, seconds: float) -> list[float]:
    """Events per second for each mode, each writing for about `seconds`."""
    migrate(db.engine)
    subjects, consents = SqlSubjects(db), SqlConsents(db)
    for n in range(SUBJECTS):
        subjects.create(Subject(f"s{n}", T0))
    counter = itertools.count()

    def next_event() -> ConsentEvent:
        n = next(counter)
        return ConsentEvent(
            f"e{n}", f"s{n % SUBJECTS}", KEYS[n % len(KEYS)], n % 2 == 0, Source.API, T0 + dt.timedelta(seconds=n)
        )

    rates = []
    for _, size in MODES:
        written, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            written += consents.append([next_event() for _ in range(size)], T0).appended
        rates.append(written / elapsed)
    if consents.verify_projection():
        raise SystemExit("the projection disagrees with the ledger after the run")
    return rates


def column(name: str, run: Callable[[], list[float]]) -> tuple[str, list[str]]:
    try:
        return name, [f"{rate:,.0f}" for rate in run()]
    except sa.exc.OperationalError as exc:
        return name, [f"unavailable: {str(exc.orig).splitlines()[0][:40]}"] * len(MODES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="writing time per mode and database")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("PRIVET_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    args = parser.parse_args()

    def on_sqlite() -> list[float]:
        with sqlite_database() as db:
            return measure(db, args.seconds)

    def on_postgres() -> list[float]:
        with postgres_database(args.postgres) as db:
            return measure(db, args.seconds)

    columns = [column(f"SQLite {sqlite3.sqlite_version} (WAL)", on_sqlite), column("PostgreSQL", on_postgres)]
    print(f"# {shlex.join(['.venv/bin/python', 'bench/ledger_writes.py', *sys.argv[1:]])}")
    print(f"# {args.seconds:g} s per cell, one transaction per append, {SUBJECTS:,} subjects, events/s")
    print(f"{'append':<14}" + "".join(f"{name:>28}" for name, _ in columns))
    for i, (mode, _) in enumerate(MODES):
        print(f"{mode:<14}" + "".join(f"{cells[i]:>28}" for _, cells in columns))


if __name__ == "__main__":
    main()
