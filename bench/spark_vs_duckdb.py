"""The same plans on the local engine (Arrow, NumPy, DuckDB) and on Spark in local mode, side by side.

    .venv/bin/python bench/spark_vs_duckdb.py [--sizes 1000000,10000000] [--subjects 1000000] [--cores 2]

Bulk enforcement: the plan and subject index of bench/bulk_enforce.py (events of 1M subjects, 5 % unknown),
read from one Parquet file and written to Parquet with the summary counted: `enforce_file` locally,
`enforce_parquet` on Spark (the index handed to Spark and broadcast, the summary observed during the write;
building the index itself is not timed on either side). Retention: the scope of
bench/retention.py (two rules of examples/anker, 13 limitation entries, a person hold, claims), read from
Parquet and tallied: `read_parquet` + `evaluate_table` locally, `read.parquet` + `evaluate` on Spark. Each
figure is the best of --runs runs after one warm-up on Spark; Spark's start-up is timed apart, once.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pyarrow.parquet as pq  # noqa: E402
from bench.bulk_enforce import _plan  # noqa: E402
from bench.bulk_enforce import generate as generate_events  # noqa: E402
from bench.common import best_of, peak_mib  # noqa: E402
from bench.retention import AS_OF, FACTS, HOLDS  # noqa: E402
from bench.retention import generate as generate_records  # noqa: E402

from privet.engines import retention as local_retention  # noqa: E402
from privet.engines.enforce import enforce_file  # noqa: E402
from privet.fulfilment.ports import Column, ColumnType  # noqa: E402
from privet.retention import plan_retention  # noqa: E402
from privet.workspace.manifest_files import load_manifest  # noqa: E402

Row = tuple[str, int, int, float, float]  # task, rows, rows out, local seconds, spark seconds


def timed(runs: int, fn: Callable[[], int]) -> tuple[float, int]:
    return best_of(runs, fn)


def bench_enforce(spark: object, folder: Path, size: int, subjects: int, runs: int) -> Row:
    from privet.engines import spark as engine

    generate_events(folder, size, subjects)
    plan, index, _ = _plan(folder)
    events = folder / "events.parquet"
    out = iter(range(1_000_000))

    def local() -> int:
        return enforce_file(plan, index, events, folder / f"local-{next(out)}.parquet").rows_out

    def on_spark() -> int:
        return engine.enforce_parquet(spark, plan, index, events, folder / f"spark-{next(out)}").rows_out  # type: ignore[arg-type]

    local_s, local_rows = timed(runs, local)
    on_spark()  # warm-up: the JVM compiles the query's code once
    spark_s, spark_rows = timed(runs, on_spark)
    assert local_rows == spark_rows, (local_rows, spark_rows)
    return ("enforce", size, local_rows, local_s, spark_s)


def bench_retention(spark: object, folder: Path, size: int, runs: int) -> Row:
    from privet.engines import spark as engine

    manifest = load_manifest(ROOT / "examples" / "anker").manifest
    live = {"accounts_db.users": {"privet_restricted": Column("privet_restricted", ColumnType.BOOLEAN)}}
    scope = plan_retention(manifest, FACTS, AS_OF, HOLDS, live=live).scope("accounts_db.users")
    source = folder / "users.parquet"
    table = generate_records(size)
    country = table.schema.get_field_index("country")  # plain text in the file, as most lakes hold it
    field = table.schema.field(country)
    plain = table.schema.set(country, field.with_type(field.type.value_type))
    pq.write_table(table.cast(plain), source, row_group_size=1 << 20)
    del table

    def local() -> int:
        facts = pq.read_table(source, columns=list(scope.columns))
        return local_retention.evaluate_table(scope, facts, AS_OF).total

    def on_spark() -> int:
        frame = spark.read.parquet(str(source))  # type: ignore[attr-defined]
        return engine.evaluate(scope, frame, AS_OF).total

    local_s, local_total = timed(runs, local)
    on_spark()
    spark_s, spark_total = timed(runs, on_spark)
    assert local_total == spark_total == size
    expected = local_retention.evaluate_table(scope, pq.read_table(source, columns=list(scope.columns)), AS_OF)
    assert engine.evaluate(scope, spark.read.parquet(str(source)), AS_OF) == expected  # type: ignore[attr-defined]
    return ("retention", size, size, local_s, spark_s)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000000,10000000", help="rows per run, comma-separated")
    parser.add_argument("--subjects", type=int, default=1_000_000)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--only", choices=["enforce", "retention"])
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"$ .venv/bin/python bench/spark_vs_duckdb.py --sizes {args.sizes} --subjects {args.subjects} "
          f"--cores {args.cores} --runs {args.runs}" + (f" --only {args.only}" if args.only else ""))  # fmt: skip

    from privet.engines import spark as engine

    started = time.perf_counter()
    spark = engine.local_session(cores=args.cores)
    startup = time.perf_counter() - started
    print(f"Spark local[{args.cores}] session start-up: {startup:.1f} s (JVM, once per process)", flush=True)
    rows: list[Row] = []
    try:
        for size in sizes:
            with tempfile.TemporaryDirectory() as tmp:
                if args.only != "retention":
                    rows.append(bench_enforce(spark, Path(tmp), size, args.subjects, args.runs))
                    print("  " + line(rows[-1]), flush=True)
            with tempfile.TemporaryDirectory() as tmp:
                if args.only != "enforce":
                    rows.append(bench_retention(spark, Path(tmp), size, args.runs))
                    print("  " + line(rows[-1]), flush=True)
    finally:
        spark.stop()

    print(HEADER)
    for row in rows:
        print(line(row))
    print(f"peak memory of the Python process {peak_mib():,.0f} MiB (Spark's JVM not included)")
    explain(rows, startup, args.cores)


HEADER = (f"{'task':<10} {'rows in':>12} {'rows out':>12} {'local s':>8} {'local M/s':>10} {'spark s':>8} "
          f"{'spark M/s':>10} {'spark/local':>12}")  # fmt: skip


def line(row: Row) -> str:
    task, size, out, local_s, spark_s = row
    return (f"{task:<10} {size:>12,} {out:>12,} {local_s:>8.2f} {size / local_s / 1e6:>10.2f} {spark_s:>8.2f} "
            f"{size / spark_s / 1e6:>10.2f} {spark_s / local_s:>11.1f}x")  # fmt: skip


def explain(rows: list[Row], startup: float, cores: int) -> None:
    """When Spark pays off, from the figures just measured."""
    print("\nWhen Spark pays off:")
    print(f"- Start-up: a local Spark session took {startup:.0f} s before its first row; the local engine starts in "
          "well under a second. For a command run once on a laptop that alone decides it.")  # fmt: skip
    for task in ("enforce", "retention"):
        mine = sorted((r for r in rows if r[0] == task), key=lambda r: r[1])
        if len(mine) >= 2:
            (_, n1, _, _, s1), (_, n2, _, l2, s2) = mine[0], mine[-1]
            fixed = max(0.0, (s1 * n2 - s2 * n1) / (n2 - n1))  # the intercept of seconds against rows
            per_row = (s2 - s1) / (n2 - n1)
            local_rate = n2 / l2
            print(f"- {task}: Spark's cost per query is about {fixed:.1f} s fixed plus {per_row * 1e9:.0f} ns per "
                  f"row on {cores} cores ({1 / per_row / 1e6:.1f} M rows/s at the margin); the local engine "
                  f"runs {local_rate / 1e6:.1f} M rows/s on the same cores.")  # fmt: skip
            if per_row * local_rate < 1:
                crossover = fixed / (1 / local_rate - per_row)
                print(f"  Spark is faster per row here, so it pays off above about {crossover:,.0f} rows.")
            else:
                print("  On one machine Spark is slower per row as well, so it never catches up: it shares the same "
                      "cores and adds planning, scheduling and task start-up.")  # fmt: skip
            needed = local_rate * per_row * cores
            how = ("the subject index is broadcast, so no event is shuffled" if task == "enforce" else
                   "the tally shuffles only partial counts per group")  # fmt: skip
            print(f"  A cluster pays off once it brings more than about {needed:.0f} executor cores (to pass the local "
                  f"engine's rate, before network costs), or once the data no longer fit one machine: {how}, so the "
                  "work spreads over executors.")  # fmt: skip
        elif mine:
            _, n, _, local_s, spark_s = mine[0]
            print(f"- {task}: at {n:,} rows Spark took {spark_s / local_s:.1f}x the local engine's time; give two "
                  "sizes (--sizes) to separate its fixed cost from its cost per row.")  # fmt: skip
    print("- Spark pays off for data already in a lake that a Spark cluster serves (no copy to one machine), for "
          "tables larger than one machine holds, and for plans run from an existing Spark job. Below that, use the "
          "local engine: same plans, same answers.")  # fmt: skip


if __name__ == "__main__":
    main()
