"""Fulfilment on PostgreSQL: privet's access and erasure for one person, beside Fides on the same data (issue #5).

    .venv/bin/python bench/fulfilment.py [--collections 21] [--rows 100000] [--runs 3]
    .venv/bin/python bench/fulfilment.py --collections 101 --rows 200000        # the issue's case
    .venv/bin/python bench/fulfilment.py --scaling [--collections 10]            # 10k, 100k, 1M rows per table
    .venv/bin/python bench/fulfilment.py --sample                                # Fides' own sample database
    any of them with --fides-python PATH (default /tmp/fides-venv/bin/python when it exists) or --no-fides

The company (bench/fulfilment_data.py) is loaded with COPY into a database of its own (--database, dropped at the
end unless --keep), described as a Fides dataset and system YAML, imported with `privet import-fides` into a
fresh workspace whose [systems.KEY] points at that database. Each run is one request taken through
`fulfil_request` exactly as `privet fulfil run` does it (graph, plan, schema check, reads, package or plan
checkpoint, writes, audit); intake and verification are not timed. Erasure asks for a different person each run,
so no reset is needed; every run is checked to have found (and changed) all of the person's rows. The figure kept
is the best of --runs.

Fides, when given a Python with `ethyca-fides` installed, runs in a subprocess (bench/fides_peer.py) on the same
database and the same dataset YAML, for other people than privet's; otherwise the figures measured earlier on
this machine (ANCHORS.md) are printed, labelled as not from this run. `--sample` uses the sample database and
dataset Fides ships in its package (11 collections, three customers): both sides ask for customer-1, and the
database is reloaded before each erasure.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from bench.fulfilment_data import (  # noqa: E402
    DATASET,
    BenchSetupError,
    Shape,
    admin_url,
    drop_database,
    email,
    fides_dataset,
    fides_system,
    load,
    load_sql,
    recreate_database,
    remaining,
)

from privet.fulfilment.erasure import ErasureError  # noqa: E402
from privet.law.vocabulary import Right  # noqa: E402
from privet.requests.intake import Submission  # noqa: E402
from privet.requests.lifecycle import Event, EventKind  # noqa: E402
from privet.requests.model import Requester, State  # noqa: E402
from privet.workspace.fulfil import fulfil_request  # noqa: E402
from privet.workspace.runtime import Runtime, init_workspace, open_runtime  # noqa: E402

STARTER = ROOT / "src" / "privet" / "workspace" / "starter"
FIDES_PYTHON = Path("/tmp/fides-venv/bin/python")
# Measured earlier on this machine (ANCHORS.md): Fides 2.78, eager mode, seconds per request.
ANCHOR = {"its sample, 11 collections": (11, 1.6, 2.7), "101 x 200k rows": (101, 8.5, 21.4)}
# People asking: privet's access, privet's erasure, Fides' access, Fides' erasure never overlap.
PRIVET_ACCESS, PRIVET_ERASE, FIDES_ACCESS, FIDES_ERASE = 0, 100, 200, 300
SAMPLE_PERSON = "customer-1@example.com"


@dataclass(frozen=True)
class Company:
    """What a measurement runs on: the database, its Fides YAML, and who asks."""

    label: str
    collections: int
    url: str  # for psycopg and Fides
    fides_yaml: Path
    system: str
    privet_access: Sequence[str]
    privet_erase: Sequence[str]
    fides_access: Sequence[str]
    fides_erase: Sequence[str]
    rows_per_request: int | None = None  # known for the generated company: checked on every run
    reset_sql: Path | None = None  # reloaded before each erasure


@dataclass(frozen=True)
class Timing:
    access: float
    erasure: float
    access_runs: tuple[float, ...]
    erasure_runs: tuple[float, ...]


def write_yaml(folder: Path, name: str, document: dict[str, Any]) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
    return path


def make_workspace(folder: Path, company: Company) -> Path:
    """The starter manifest without its sample datasets, plus `privet import-fides`; [systems.KEY] -> the database."""
    manifest = folder / "manifest"
    manifest.mkdir()
    for f in STARTER.glob("*.yml"):
        data = yaml.safe_load(f.read_text("utf-8"))
        data.pop("datasets", None)  # the company's data is the imported dataset, nothing else
        (manifest / f.name).write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "privet", "import-fides", str(company.fides_yaml), "--output", str(manifest)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchSetupError(f"privet import-fides failed ({done.returncode}):\n{done.stderr}")
    ws = folder / "ws"
    init_workspace(ws, manifest)
    url = company.url.replace("postgresql://", "postgresql+psycopg://", 1)
    with (ws / "privet.toml").open("a", encoding="utf-8") as settings:
        settings.write(f'\n[systems.{company.system}]\nkind = "sql"\nurl = "{url}"\n')
    return ws


def _started(rt: Runtime, kind: Right, address: str) -> str:
    now = rt.now()
    r = rt.request_service.submit(Submission(kind, Requester(email=address), "eu"), now).request
    rt.request_service.act(r.request_id, Event(EventKind.VERIFIED, method="account", level="account"), now)
    rt.request_service.act(r.request_id, Event(EventKind.START), now)
    return r.request_id


def run_privet(ws: Path, company: Company) -> Timing:
    rt = open_runtime(ws)
    try:
        times: dict[Right, list[float]] = {Right.ACCESS: [], Right.DELETION: []}
        for kind, people in ((Right.ACCESS, company.privet_access), (Right.DELETION, company.privet_erase)):
            for address in people:
                if kind is Right.DELETION and company.reset_sql is not None:
                    load_sql(company.url, company.reset_sql.read_text("utf-8"))
                rid = _started(rt, kind, address)
                started = time.perf_counter()
                try:
                    r = fulfil_request(rt, rid)
                except ErasureError as exc:
                    if company.reset_sql is None:
                        raise
                    # Fides' sample has keys privet cannot address one row at a time; privet says so and stops.
                    print("  privet refuses this erasure before changing anything:")
                    print("\n".join(f"    {line}" for line in str(exc).splitlines()))
                    return Timing(min(times[Right.ACCESS]), float("nan"), tuple(times[Right.ACCESS]), ())
                times[kind].append(time.perf_counter() - started)
                _check(r.state, kind, company, rt, rid)
    finally:
        rt.close()
    a, e = times[Right.ACCESS], times[Right.DELETION]
    return Timing(min(a), min(e), tuple(a), tuple(e))


def _check(state: State, kind: Right, company: Company, rt: Runtime, rid: str) -> None:
    """A fast wrong answer is no answer: every run must reach all of the person's rows."""
    if state not in (State.FULFILLED, State.PARTIALLY_FULFILLED):
        raise BenchSetupError(f"{kind.value} request {rid} ended {state.value}, not fulfilled")
    steps = rt.checkpoints.all(rid)
    rows = sum(s.rows for s in steps if s.phase == ("access" if kind is Right.ACCESS else "erase"))
    expected = company.rows_per_request
    if expected is not None and rows != expected:
        raise BenchSetupError(f"{kind.value} request {rid}: {rows} rows, expected {expected}")
    if rows == 0:
        raise BenchSetupError(f"{kind.value} request {rid} found no rows")


def run_fides(python: Path, company: Company, runs: int) -> dict[str, Any] | None:
    """Fides' own access and erasure in its own venv; None (with the reason printed) when it cannot run."""
    log = Path(tempfile.gettempdir()) / f"fides-peer-{company.label.replace(' ', '_')}.log"
    cmd = [str(python), str(ROOT / "bench" / "fides_peer.py"), "--dataset", str(company.fides_yaml),
           "--url", company.url, "--runs", str(runs)]  # fmt: skip
    if company.reset_sql is not None:
        cmd += ["--reset-sql", str(company.reset_sql), "--emails", ",".join(company.fides_access)]
    else:
        cmd += ["--access-from", str(FIDES_ACCESS), "--erase-from", str(FIDES_ERASE)]
    with log.open("w") as err:
        done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, text=True, check=False)
    if done.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
        print(f"  Fides did not run (exit {done.returncode}); log {log}:\n    " + "\n    ".join(tail))
        return None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if company.reset_sql is None:
        left = remaining(company.url, list(company.fides_erase))
        if left:
            print(f"  note: after Fides' erasures {left} customer rows still hold the erased emails")
    return result


def measure(args: argparse.Namespace, company: Company, folder: Path, fides: Path | None) -> tuple[Timing, Any]:
    ws = make_workspace(folder, company)
    timing = run_privet(ws, company)
    print(_line("privet", company.collections, timing.access, timing.erasure, timing.access_runs, timing.erasure_runs))
    peer = None if fides is None else run_fides(fides, company, args.runs)
    if peer is not None:
        print(_line(f"Fides {peer['version']}", company.collections, peer["access"], peer["erasure"],
                    peer["access_runs"], peer["erasure_runs"]))  # fmt: skip
    return timing, peer


def generated(args: argparse.Namespace, shape: Shape, folder: Path) -> Company:
    url = f"postgresql://{args.user}@{args.host}:{args.port}/{args.database}"
    started = time.perf_counter()
    loaded = load(url, shape)
    print(f"  loaded {shape.collections} collections x {shape.rows:,} rows = {shape.collections * shape.rows:,} rows "
          f"in {time.perf_counter() - started:.1f} s (COPY {loaded['copy']:.1f} s, indexes and ANALYZE "
          f"{loaded['index']:.1f} s)")  # fmt: skip
    document = {"dataset": [fides_dataset(shape)], "system": [fides_system()]}
    people: Callable[[int], list[str]] = lambda first: [email(first + i) for i in range(args.runs)]  # noqa: E731
    return Company(f"{shape.collections}x{shape.rows}", shape.collections, url,
                   write_yaml(folder, "fides_bench.yml", document), DATASET, people(PRIVET_ACCESS),
                   people(PRIVET_ERASE), people(FIDES_ACCESS), people(FIDES_ERASE),
                   rows_per_request=shape.rows_per_request)  # fmt: skip


def sample(args: argparse.Namespace, fides: Path, folder: Path) -> Company:
    """Fides' sample database and dataset, found in the Fides install."""
    found = subprocess.run([str(fides), "-c", "import fides, os; print(os.path.dirname(fides.__file__))"],
                           capture_output=True, text=True, check=False)  # fmt: skip
    if found.returncode != 0:
        raise BenchSetupError(f"--sample needs Fides installed for {fides}: {found.stderr.strip()[-300:]}")
    project = Path(found.stdout.strip()) / "data" / "sample_project"
    script = project / "postgres_sample.sql"
    dataset_file = project / "sample_resources" / "postgres_example_test_dataset.yml"
    if not script.is_file() or not dataset_file.is_file():
        raise BenchSetupError(f"this Fides does not ship its sample in {project}; run without --sample")
    url = f"postgresql://{args.user}@{args.host}:{args.port}/{args.database}"
    load_sql(url, script.read_text("utf-8"))
    dataset = yaml.safe_load(dataset_file.read_text("utf-8"))["dataset"][0]
    system = dict(fides_system(), fides_key=dataset["fides_key"], dataset_references=[dataset["fides_key"]])
    document = {"dataset": [dataset], "system": [system]}
    runs = [SAMPLE_PERSON] * args.runs
    return Company("sample", len(dataset["collections"]), url, write_yaml(folder, "fides_sample.yml", document),
                   dataset["fides_key"], runs, runs, runs, runs, reset_sql=script)  # fmt: skip


def one_company(
    args: argparse.Namespace, make: Callable[[Path], Company], fides: Path | None
) -> tuple[Company, Timing, Any]:
    admin = admin_url(args.host, args.port, args.user)
    recreate_database(admin, args.database)
    try:
        with tempfile.TemporaryDirectory(prefix="privet-bench-") as tmp:
            company = make(Path(tmp))
            if args.keep:
                kept = Path(tempfile.gettempdir()) / company.fides_yaml.name
                kept.write_text(company.fides_yaml.read_text())
                print(f"  keeping the database {args.database}; the Fides YAML is copied to {kept}")
            timing, peer = measure(args, company, Path(tmp), fides)
            return company, timing, peer
    finally:
        if not args.keep:
            drop_database(admin, args.database)


def _line(who: str, n: int, access: float, erasure: float, a_runs: Sequence[float], e_runs: Sequence[float]) -> str:
    def show(runs: Sequence[float]) -> str:
        return " ".join(f"{t:.3f}" for t in runs)

    return (f"  {who:<12} access {access:7.3f} s ({access / n * 1000:6.1f} ms/collection)  "
            f"erasure {erasure:7.3f} s ({erasure / n * 1000:6.1f} ms/collection)  "
            f"runs: access [{show(a_runs)}] erasure [{show(e_runs)}]")  # fmt: skip


def compare(company: Company, timing: Timing, peer: Any) -> None:
    n = company.collections
    rows = f"; {company.rows_per_request} rows for the person" if company.rows_per_request else ""
    print(f"\n{company.label}: {n} collections{rows}")
    print("| system | access s | access ms/collection | erasure s | erasure ms/collection |")
    print("| --- | ---: | ---: | ---: | ---: |")
    table = [("privet (this run)", timing.access, timing.erasure)]
    if peer is not None:
        table.append((f"Fides {peer['version']} (this run)", peer["access"], peer["erasure"]))
    else:
        for label, (cols, acc, era) in ANCHOR.items():
            table.append((f"Fides, measured earlier here (ANCHORS.md: {label}, per collection x {n}), not in this "
                          "run", acc * n / cols, era * n / cols))  # fmt: skip
    for label, acc, era in table:
        erased = "refused | refused" if era != era else f"{era:.3f} | {era / n * 1000:.1f}"  # NaN: privet refused
        print(f"| {label} | {acc:.3f} | {acc / n * 1000:.1f} | {erased} |")
    for label, acc, era in table[1:]:
        erasure = "" if timing.erasure != timing.erasure else f", {era / timing.erasure:.1f}x at erasure"
        print(f"privet against {label}: {acc / timing.access:.1f}x faster at access{erasure} (target 10x)")


def scaling(args: argparse.Namespace, fides: Path | None) -> None:
    results = []
    for rows in (10_000, 100_000, 1_000_000):
        shape = Shape(args.collections, rows)
        print(f"\n{shape.collections} collections x {rows:,} rows")
        results.append(one_company(args, lambda folder, s=shape: generated(args, s, folder), fides))  # type: ignore[misc]
    print("\n| rows per table | the person's rows | privet access s | privet erasure s | Fides access s | "
          "Fides erasure s |\n| ---: | ---: | ---: | ---: | ---: | ---: |")  # fmt: skip
    for company, timing, peer in results:
        fa, fe = (f"{peer['access']:.3f}", f"{peer['erasure']:.3f}") if peer else ("-", "-")
        per_table = company.label.split("x")[1]
        print(f"| {int(per_table):,} | {company.rows_per_request} | {timing.access:.3f} | {timing.erasure:.3f} | "
              f"{fa} | {fe} |")  # fmt: skip
    first, last = results[0][1], results[-1][1]
    print(f"1M rows per table against 10k (100x the rows, the same person's rows): privet access "
          f"x{last.access / first.access:.2f}, erasure x{last.erasure / first.erasure:.2f}")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--collections", type=int, default=None, help="collections (default 21; 10 with --scaling)")
    p.add_argument("--rows", type=int, default=100_000, help="rows per collection")
    p.add_argument("--runs", type=int, default=3, help="requests of each kind; the best is kept")
    p.add_argument("--scaling", action="store_true", help="10k, 100k and 1M rows per collection")
    p.add_argument("--sample", action="store_true", help="Fides' own sample database and dataset (needs Fides)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5432)
    p.add_argument("--user", default="postgres")
    p.add_argument("--database", default="privet_bench", help="created and dropped by the benchmark")
    p.add_argument("--keep", action="store_true", help="leave the database for inspection")
    p.add_argument(
        "--fides-python",
        type=Path,
        default=FIDES_PYTHON if FIDES_PYTHON.exists() else None,
        help="a Python with ethyca-fides installed (default /tmp/fides-venv/bin/python if present)",
    )
    p.add_argument("--no-fides", action="store_true", help="privet only; print the ANCHORS.md figures beside it")
    args = p.parse_args()
    if args.collections is None:
        args.collections = 10 if args.scaling else 21
    if args.runs < 1:
        p.error("--runs must be at least 1")
    fides = None if args.no_fides else args.fides_python
    try:
        if args.scaling:
            scaling(args, fides)
        elif args.sample:
            if fides is None:
                p.error("--sample reads Fides' sample from its install: give --fides-python")
            company, timing, peer = one_company(args, lambda folder: sample(args, fides, folder), fides)
            compare(company, timing, peer)
        else:
            shape = Shape(args.collections, args.rows)
            company, timing, peer = one_company(args, lambda folder: generated(args, shape, folder), fides)
            compare(company, timing, peer)
    except BenchSetupError as exc:
        sys.exit(f"bench/fulfilment.py: {exc}")


if __name__ == "__main__":
    main()
