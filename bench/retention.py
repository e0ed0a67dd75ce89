"""Retention: plan 10M account records under the reference manifest's rules, then apply on SQLite.

    .venv/bin/python bench/retention.py [--records 10000000] [--apply-records 1000000] [--batch 50000]

The records are accounts (accounts_db.users) governed by two rules of examples/anker (relationship and purpose, 13
limitation entries by jurisdiction, two months of grace), with integer keys, a dictionary-encoded jurisdiction, 1 %
open claims and a legal hold on one person. Planning is `evaluate_table` on an in-memory Arrow table (counts per
state, rule and limitation entry, with example keys), best of three. Applying runs on a SQLite company database of
--apply-records rows exactly as `privet retention apply` does: read the facts, evaluate, take the due keys, and
hand batches of actions to the fulfilment executor with a checkpoint (and the journal of anonymised records) per
batch in a SQLite privet database. Its rate is records swept per second (every record read and judged, whether or
not it changes), the same measure as planning; the rows changed per second are printed too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from bench.common import best_of, peak_mib  # noqa: E402

from privet.connectors.files import FilesConnector  # noqa: E402
from privet.connectors.sql import SqlConnector  # noqa: E402
from privet.engines.retention import assess, evaluate_table, read_facts  # noqa: E402
from privet.fulfilment.executor import apply_sets  # noqa: E402
from privet.fulfilment.graph import build_graph  # noqa: E402
from privet.fulfilment.ports import Column, ColumnType  # noqa: E402
from privet.manifest.model import Manifest  # noqa: E402
from privet.retention import Hold, HoldScope, RetentionState, Scope, plan_retention  # noqa: E402
from privet.store import migrate, open_database  # noqa: E402
from privet.store.journal import SqlRetentionJournal  # noqa: E402
from privet.store.requests import SqlCheckpoints  # noqa: E402
from privet.workspace.manifest_files import load_manifest  # noqa: E402
from privet.workspace.retention import JournalingCheckpoints, batch_phase  # noqa: E402

AS_OF = dt.date(2025, 6, 30)
NOW = dt.datetime(2025, 6, 30, 12, tzinfo=dt.UTC)
FACTS = {"accounts_db.users": {"relationship_end": "closed_at", "purpose_fulfilled": "last_order_done",
                               "jurisdiction": "country", "legal_claim": "claim", "person": "user_id"}}  # fmt: skip
COUNTRIES = ["DE", "FR", "GB", "CH", "us-ca", "us-tx", "JP", "IT", "ES", "us-va"]
HOLDS = [Hold("hold-1", HoldScope.PERSON, "12345", "warranty dispute", "legal", NOW - dt.timedelta(days=30))]


def generate(n: int, seed: int = 42) -> pa.Table:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2012-01-01")

    def days(p_empty: float) -> pa.Array:
        values = (start + rng.integers(0, 4900, n)).astype("datetime64[D]")
        return pa.array(values, pa.date32(), mask=rng.random(n) < p_empty)

    country = pa.DictionaryArray.from_arrays(pa.array(rng.integers(0, len(COUNTRIES), n).astype(np.int8)),
                                             pa.array(COUNTRIES))  # fmt: skip
    return pa.table({"user_id": pa.array(np.arange(n, dtype=np.int64)), "closed_at": days(0.3),
                     "last_order_done": days(0.1), "country": country,
                     "claim": pa.array(rng.random(n) < 0.01),
                     "privet_restricted": pa.array(np.zeros(n, bool))})  # fmt: skip


def company_db(path: Path, table: pa.Table) -> None:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE users (user_id INTEGER PRIMARY KEY, email TEXT, closed_at DATE, last_order_done DATE,"
                   " country TEXT, claim BOOLEAN, privet_restricted BOOLEAN NOT NULL DEFAULT 0)")  # fmt: skip
        cols = [table.column(c).to_pylist() for c in ("user_id", "closed_at", "last_order_done", "country", "claim")]
        rows = ((k, f"user{k}@example.test", c and c.isoformat(), o and o.isoformat(), j, int(cl))
                for k, c, o, j, cl in zip(*cols, strict=True))  # fmt: skip
        db.executemany("INSERT INTO users (user_id, email, closed_at, last_order_done, country, claim) "
                       "VALUES (?, ?, ?, ?, ?, ?)", rows)  # fmt: skip


def measure_plan(scope: Scope, records: int) -> float:
    table = generate(records)
    cpu = time.process_time()
    seconds, result = best_of(3, lambda: evaluate_table(scope, table, AS_OF))
    cpu = (time.process_time() - cpu) / 3
    print(f"plan   {records:>12,} records  {seconds:6.2f} s  {records / seconds / 1e6:6.2f} M records/s  "
          f"(best of 3; CPU {cpu:.2f} s per run, 2 threads)")  # fmt: skip
    print("       " + ", ".join(f"{s.value} {result.count(s):,}" for s in RetentionState if result.count(s)))
    return records / seconds


def measure_apply(label: str, manifest: Manifest, scope: Scope, records: int, batch: int, plan_rate: float,
                  planned: int) -> None:  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        company_db(folder / "company.db", generate(records, seed=7))
        privet_db = open_database(f"sqlite:///{folder / 'privet.db'}")
        migrate(privet_db.engine)
        checkpoints = SqlCheckpoints(privet_db)
        journal = SqlRetentionJournal(privet_db)  # as `privet retention apply`: read, then written per batch
        journaled = journal.keys([(scope.system or "", scope.collection)]).get(scope.collection)
        graph = build_graph(manifest.datasets)
        connector = SqlConnector("anker_account", f"sqlite:///{folder / 'company.db'}")
        key = hashlib.sha256(b"bench").digest()
        started = time.perf_counter()
        facts = read_facts(connector, scope.collection, scope.columns)
        read_s = time.perf_counter() - started
        _, found = assess(scope, facts, AS_OF, journal=journaled)
        due_s = time.perf_counter() - started - read_s
        changed, making, executing = 0, 0.0, 0.0
        batches = found.batches(batch)
        while True:
            clock = time.perf_counter()
            sets = next(batches, None)
            making += time.perf_counter() - clock
            if sets is None:
                break
            clock = time.perf_counter()
            phase = batch_phase(sets)
            journaling = JournalingCheckpoints(checkpoints, journal, privet_db, scope, sets, "retention-bench",
                                               journaled)  # fmt: skip
            outcome = apply_sets("retention-bench", sets, [scope.collection], graph, {"anker_account": connector},
                                 journaling, key, NOW, phase=phase)  # fmt: skip
            assert not outcome.failed, outcome.failed
            changed += sum(outcome.done.values())
            executing += time.perf_counter() - clock
        apply_s = time.perf_counter() - started
        steps = len(checkpoints.all("retention-bench"))
        connector.close()
        privet_db.close()
    rate = records / apply_s
    print(f"{label}: {records:,} records  {apply_s:.2f} s  {rate / 1e6:.3f} M records/s  "
          f"({changed:,} rows changed in {steps} checkpointed batches)")  # fmt: skip
    print(f"       read from SQLite {read_s:.2f} s, evaluate and pick due keys {due_s:.2f} s, make action sets "
          f"{making:.2f} s, executor {executing:.2f} s ({changed / executing / 1e3:,.0f} k rows/s)")  # fmt: skip
    without_read = records / (apply_s - read_s)
    print(f"       {plan_rate / rate:.0f}x slower than plan per record ({plan_rate / without_read:.0f}x without "
          f"reading SQLite; target: at most 3x); {planned:,} records: about {planned / rate:,.0f} s")  # fmt: skip


def lake(folder: Path, table: pa.Table, files: int) -> None:
    """The accounts as a lake collection: `files` Parquet files by key range, with an email column to rewrite."""
    target = folder / "users"
    target.mkdir(parents=True)
    n = table.num_rows
    emails = pa.array([f"user{k}@example.test" for k in range(n)])
    table = table.append_column("email", emails)
    step = -(-n // files)
    for i in range(files):
        pq.write_table(table.slice(i * step, step), target / f"part-{i:03}.parquet")


def measure_lake(manifest: Manifest, scope: Scope, records: int, batch: int | None, files: int) -> None:
    """Plan and apply side by side on the same Parquet files through the files connector (DuckDB reads)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        lake(folder / "lake", generate(records, seed=11), files)
        privet_db = open_database(f"sqlite:///{folder / 'privet.db'}")
        migrate(privet_db.engine)
        checkpoints = SqlCheckpoints(privet_db)
        journal = SqlRetentionJournal(privet_db)  # as `privet retention apply`: read, then written per batch
        journaled = journal.keys([(scope.system or "", scope.collection)]).get(scope.collection)
        graph = build_graph(manifest.datasets)
        connector = FilesConnector("anker_account", folder / "lake")
        key = hashlib.sha256(b"bench").digest()

        def plan() -> object:
            return evaluate_table(scope, read_facts(connector, scope.collection, scope.columns), AS_OF)

        plan_s, _ = best_of(3, plan)
        started = time.perf_counter()
        facts = read_facts(connector, scope.collection, scope.columns)
        # What `privet retention apply` does: report and pick at once, the journal applied.
        _, found = assess(scope, facts, AS_OF, journal=journaled)
        changed, steps = 0, 0
        # As `privet retention apply` does: the lake's own batch size (the whole run) unless one is given.
        for sets in found.batches(batch or connector.batch_records or max(1, found.count)):
            phase = batch_phase(sets)
            journaling = JournalingCheckpoints(checkpoints, journal, privet_db, scope, sets, "retention-lake",
                                               journaled)  # fmt: skip
            outcome = apply_sets("retention-lake", sets, [scope.collection], graph, {"anker_account": connector},
                                 journaling, key, NOW, phase=phase)  # fmt: skip
            assert not outcome.failed, outcome.failed
            changed += sum(outcome.done.values())
            steps += 1
        apply_s = time.perf_counter() - started
        connector.close()
        privet_db.close()
    print(f"lake plan  {records:>12,} records  {plan_s:6.2f} s  {records / plan_s / 1e6:6.2f} M records/s  "
          f"(read {files} Parquet files with DuckDB and evaluate; best of 3)")  # fmt: skip
    print(f"lake apply {records:>12,} records  {apply_s:6.2f} s  {records / apply_s / 1e6:6.2f} M records/s  "
          f"({changed:,} rows changed in {steps} checkpointed batches; files rewritten atomically)")  # fmt: skip
    print(f"       apply / plan on the same files: {apply_s / plan_s:.1f}x (target: at most 3x)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--apply-records", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--lake-batch", type=int, default=None, help="records per lake batch (default: the lake's)")
    parser.add_argument("--lake-files", type=int, default=16)
    args = parser.parse_args()
    print(f"$ .venv/bin/python bench/retention.py --records {args.records} --apply-records {args.apply_records} "
          f"--batch {args.batch}")  # fmt: skip

    manifest = load_manifest(ROOT / "examples" / "anker").manifest
    live = {"accounts_db.users": {"privet_restricted": Column("privet_restricted", ColumnType.BOOLEAN)}}
    scope = plan_retention(manifest, FACTS, AS_OF, HOLDS, live=live).scope("accounts_db.users")
    plan_rate = measure_plan(scope, args.records)

    # The first sweep flags every restricted record and deletes what is due; later sweeps find the flags set and
    # mostly delete. The second run keeps the flag column out of the facts, so it only deletes.
    for label, with_flags in (("apply (deletes and flags)", True), ("apply (deletes only)", False)):
        apply_scope = scope if with_flags else plan_retention(manifest, FACTS, AS_OF, HOLDS).scope(scope.collection)
        measure_apply(label, manifest, apply_scope, args.apply_records, args.batch, plan_rate, args.records)
    measure_lake(manifest, scope, args.records, args.lake_batch, args.lake_files)
    print(f"peak memory {peak_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
