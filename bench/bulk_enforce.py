"""Bulk enforcement: 10M events against 1M subjects, privet's plan beside plain DuckDB joins, one run.

    .venv/bin/python bench/bulk_enforce.py [--events 10000000] [--subjects 1000000] [--rounds 3]

Every method reads the same Parquet file and materialises the same rows as an Arrow table in memory (checked:
row count and column sums agree). Each run is a fresh process, so its peak memory is its own. Rounds run every
method once, in turn, so a busy machine slows both sides alike; the ratio is taken within each round.
DuckDB gets its best forms: a semi-join, IN, and an inner join on the (unique) allowed keys as a DuckDB table,
on as many threads as the machine has cores; privet runs on as many threads too. `duckdb-scan` reads the whole
file with no filter at all (every row out): not a contender, it shows what reading alone costs.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from bench.common import peak_mib  # noqa: E402

PURPOSE = "analytics.reporting"
COLUMNS = {"ip": "user.device.ip_address", "page_views": "user.behavior"}


def generate(folder: Path, events: int, subjects: int) -> None:
    rng = np.random.default_rng(42)
    ids = np.arange(subjects, dtype=np.int64)
    state = rng.integers(0, 3, subjects)  # 0 no choice, 1 granted, 2 withdrawn
    jurisdiction = rng.choice(np.array(["eu", "us-ca", "uk"]), subjects)
    pq.write_table(pa.table({"key": ids, "subject": pa.array(ids.astype(str)), "jurisdiction": jurisdiction,
                             "birth_date": pa.nulls(subjects, pa.date32()), "known_minor": np.zeros(subjects, bool)}),
                   folder / "subjects.parquet")  # fmt: skip
    chosen = state > 0
    pq.write_table(pa.table({"subject": pa.array(ids[chosen].astype(str)),
                             "consent_key": pa.array(["app_analytics"] * int(chosen.sum())),
                             "granted": state[chosen] == 1}), folder / "choices.parquet")  # fmt: skip
    user = rng.integers(0, int(subjects * 1.05), events)  # 5 % of events from people privet never saw
    pq.write_table(pa.table({"user_id": user, "ip": rng.integers(0, 2**32, events, dtype=np.int64),
                             "page_views": rng.integers(0, 100, events, dtype=np.int32),
                             "ts": rng.integers(1.7e9, 1.75e9, events, dtype=np.int64)}),
                   folder / "events.parquet", row_group_size=1 << 20)  # fmt: skip


def _plan(folder: Path):  # type: ignore[no-untyped-def]
    from tests.world import NOW, World, policy_manifest

    from privet.engines.subject_index import build_index
    from privet.policy.bulk import UNKNOWN_SUBJECT, plan_enforcement

    world = World(policy_manifest())
    started = time.perf_counter()
    unknown = world.policy.intern(UNKNOWN_SUBJECT)
    index = build_index(world.policy, pq.read_table(folder / "subjects.parquet"),
                        pq.read_table(folder / "choices.parquet"), NOW.date(), unknown)  # fmt: skip
    plan = plan_enforcement(world.policy, PURPOSE, None, "user_id", "user.device.device_id", COLUMNS, ["ts"])
    return plan, index, time.perf_counter() - started


def _load(folder: Path):  # type: ignore[no-untyped-def]
    with (folder / "plan.pickle").open("rb") as f:
        return pickle.load(f)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _check(out: pa.Table) -> str:
    """Same rows out, whatever their order: the count and two column sums."""
    return f"{out.num_rows}:{pc.sum(out.column('ts')).as_py()}:{pc.sum(out.column('ip')).as_py()}"


DUCKDB = {
    "duckdb-semi-join": "SELECT e.* FROM {src} e SEMI JOIN allowed a USING (user_id)",
    "duckdb-in": "SELECT * FROM {src} WHERE user_id IN (SELECT user_id FROM allowed)",
    # The allowed keys are unique, so an inner join keeps each event at most once: the same rows.
    "duckdb-join": "SELECT e.* FROM {src} e JOIN allowed a USING (user_id)",
    # Not a contender (it keeps every row): what reading the file alone costs DuckDB, the floor under its joins.
    "duckdb-scan": "SELECT * FROM {src}",
}


def run(method: str, folder: Path) -> dict[str, float | str]:
    events = folder / "events.parquet"
    plan, index = _load(folder)
    threads = os.cpu_count() or 1
    if method == "python-loop":
        whole = pq.ParquetFile(events).metadata.num_rows
        table = pq.read_table(events).slice(0, 1_000_000)
        allowed = {int(k): bool(plan.rows[p]) for k, p in zip(index.keys.to_numpy(), index.profiles, strict=True)}
        default = plan.rows[plan.unknown_profile]
        cpu, started = _cpu(), time.perf_counter()
        kept = [r for r in table.to_pylist() if allowed.get(r["user_id"], default)]
        scale = whole / table.num_rows  # scaled to the whole file from the rows measured
        seconds, cpu = (time.perf_counter() - started) * scale, (_cpu() - cpu) * scale
        return {"seconds": seconds, "cpu_s": cpu, "rows": round(len(kept) * scale), "check": "", "peak_mib": peak_mib()}
    in_memory = method.endswith("-in-memory")
    table = pq.read_table(events) if in_memory else None
    if method.startswith("privet"):
        from privet.engines.enforce import enforce_parquet, enforce_table

        cpu, started = _cpu(), time.perf_counter()
        if table is not None:
            out, _ = enforce_table(plan, index, table, threads=threads)
        else:
            out, _ = enforce_parquet(plan, index, events, threads=threads)
    else:
        import duckdb

        mask = np.array(plan.rows)[index.profiles]
        con = duckdb.connect(config={"threads": threads})
        con.register("allowed_arrow", pa.table({"user_id": index.keys.to_numpy()[mask]}))
        con.execute("CREATE TABLE allowed AS SELECT * FROM allowed_arrow")
        if table is not None:
            con.register("events_mem", table)
        query = DUCKDB[method.removesuffix("-in-memory")].format(
            src="events_mem" if in_memory else f"read_parquet('{events}')"
        )
        cpu, started = _cpu(), time.perf_counter()
        out = con.sql(query).to_arrow_table()
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    return {"seconds": seconds, "cpu_s": cpu, "rows": out.num_rows, "check": _check(out), "peak_mib": peak_mib()}


def prepare(folder: Path, events: int, subjects: int) -> dict[str, float]:
    """The files and the pickled plan and index, in a process of their own: a child process's peak memory
    counts its parent's from before the exec, so the parent stays small."""
    generate(folder, events, subjects)
    plan, index, compile_s = _plan(folder)
    with (folder / "plan.pickle").open("wb") as f:
        pickle.dump((plan, index), f)
    return {"compile_s": compile_s}


def _worker(method: str, folder: Path, args: argparse.Namespace) -> dict[str, float | str]:
    command = [sys.executable, __file__, "--worker", method, str(folder), "--events", str(args.events),
               "--subjects", str(args.subjects)]  # fmt: skip
    res = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if res.returncode:
        raise SystemExit(res.stderr)
    result: dict[str, float | str] = json.loads(res.stdout)
    return result


FROM_PARQUET = ("duckdb-semi-join", "duckdb-in", "duckdb-join", "privet")
FLOORS = ("duckdb-scan",)  # printed, not compared: other rows out
IN_MEMORY = ("duckdb-semi-join-in-memory", "duckdb-join-in-memory", "privet-in-memory")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--subjects", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", nargs=2)
    args = parser.parse_args()
    if args.worker:
        method, folder = args.worker
        print(json.dumps(prepare(Path(folder), args.events, args.subjects) if method == "prepare"
                         else run(method, Path(folder))))  # fmt: skip
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        compile_s = float(_worker("prepare", folder, args)["compile_s"])
        print(f"# .venv/bin/python bench/bulk_enforce.py --events {args.events} --subjects {args.subjects} "
              f"--rounds {args.rounds}   ({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at start)")  # fmt: skip
        runs: dict[str, list[dict[str, float | str]]] = {}
        ratios: dict[str, list[float]] = {"from Parquet": [], "in memory": []}
        for round_ in range(args.rounds):
            methods = FROM_PARQUET + IN_MEMORY + FLOORS + (("python-loop",) if round_ == 0 else ())
            got = {}
            for method in methods:
                got[method] = _worker(method, folder, args)
                runs.setdefault(method, []).append(got[method])
            checks = {str(r["check"]) for m, r in got.items() if m != "python-loop" and m not in FLOORS}
            assert len(checks) == 1, f"methods disagree on the output: {checks}"
            for label, group in (("from Parquet", FROM_PARQUET), ("in memory", IN_MEMORY)):
                duck = min(float(got[m]["seconds"]) for m in group if m.startswith("duckdb"))
                ratios[label].append(duck / float(got[group[-1]]["seconds"]))
        print(f"{'method':<27} {'rows out':>11} {'best s':>7} {'median s':>8} {'M rows/s':>9} {'CPU s':>6} "
              f"{'peak MiB':>9}")  # fmt: skip
        for method, results in runs.items():
            seconds = sorted(float(r["seconds"]) for r in results)
            best = min(results, key=lambda r: float(r["seconds"]))
            print(
                f"{method:<27} {int(best['rows']):>11,} {seconds[0]:>7.2f} {statistics.median(seconds):>8.2f} "
                f"{args.events / seconds[0] / 1e6:>9.1f} {min(float(r['cpu_s']) for r in results):>6.2f} "
                f"{max(float(r['peak_mib']) for r in results):>9.0f}"
            )
        for label, values in ratios.items():
            shown = ", ".join(f"{v:.2f}" for v in values)
            print(f"{label}: privet / best DuckDB form, rows per second, per round: {shown}; "
                  f"median {statistics.median(values):.2f}x (target >= 1.5x)")  # fmt: skip
        print(f"(building the subject->profile index and the plan from {args.subjects:,} subjects: {compile_s:.2f} s, "
              "once, shared by every run)")  # fmt: skip


if __name__ == "__main__":
    main()
