"""privet serve under load: a trivial endpoint, a batch of decisions and consent writes, side by side in one run.

.venv/bin/python bench/server.py [--seconds 5] [--connections 32] [--client auto|wrk|httpx] [--postgres URL] [--runs N]
    [--slices N]

Starts `privet serve` (uvicorn, one worker, uvloop and httptools when installed) on 127.0.0.1 at a free port, over
a fresh workspace of the reference manifest (SQLite by default), and drives it from this machine: with wrk when it
is installed (Debian: apt-get install wrk), else with httpx in a thread pool. Each scenario runs for a fixed time with a
fixed number of connections (httpx also stops after --max-requests). Prints requests/s, p50/p99 latency, the
server's CPU time per request (Linux; steadier than requests/s on a busy machine) with its consent writer process,
and how it splits: the event loop's thread, the server's other threads (the thread pool), the consent writer
process. Then the ratio of consent writes to the trivial endpoint, and stops the server. --runs repeats the
scenarios against the same server; --slices runs each scenario's time as several slices in turn with the others',
so that a machine whose speed drifts slows every scenario alike.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from privet.api.credentials import create_key  # noqa: E402
from privet.store.staff import SqlStaff  # noqa: E402
from privet.workspace.runtime import init_workspace, open_runtime  # noqa: E402

SMS = {"purpose": "marketing.communications.sms", "category": "user.contact.phone_number"}
PEOPLE = 1_000  # existing people the "known person" writes and the decisions pick from


@dataclass(frozen=True)
class Scenario:
    name: str
    method: str
    path: str
    body: Callable[[int], str] | None  # request number -> JSON body
    lua_body: str | None  # the same body built in wrk's Lua, from the counter `n` and the thread id `t`
    per_request: int = 1  # units of work per request (decisions in a batch)


def _batch(n: int) -> str:
    return json.dumps({"items": [{**SMS, "identifier": f"user_id:p{(n * 7 + i) % PEOPLE}"} for i in range(100)]})


BATCH_LUA = "'{\"items\":[' .. table.concat(items, ',') .. ']}'"
SCENARIOS = [
    Scenario("trivial JSON (GET /api/v1/ping)", "GET", "/api/v1/ping", None, None),
    Scenario("100 decisions per call", "POST", "/api/v1/decisions/batch", _batch, BATCH_LUA, 100),
    Scenario("consent write, known person", "POST", "/api/v1/consent/events",
             lambda n: json.dumps({"key": "marketing_sms", "granted": n % 2 == 0,
                                   "identifier": f"user_id:p{n % PEOPLE}"}),
             "string.format('{\"key\":\"marketing_sms\",\"granted\":%s,\"identifier\":\"user_id:p%d\"}', "
             "n % 2 == 0 and 'true' or 'false', n % " + str(PEOPLE) + ")"),
    Scenario("consent write, new person", "POST", "/api/v1/consent/events",
             lambda n: json.dumps({"key": "marketing_sms", "granted": True, "identifier": f"user_id:{uuid.uuid4()}"}),
             "string.format('{\"key\":\"marketing_sms\",\"granted\":true,\"identifier\":\"user_id:w%d-%d-%d\"}', "
             "run, t, n)"),
]  # fmt: skip


@dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_s: float | None = None  # the server process's CPU time during the scenario, with its child processes
    loop_cpu_s: float | None = None  # of which the main thread's: the event loop
    child_cpu_s: float | None = None  # of which the child processes': the consent writer

    @property
    def cpu_ms(self) -> float | None:
        return self.cpu_s * 1000 / self.requests if self.cpu_s is not None and self.requests else None

    @property
    def loop_cpu_ms(self) -> float | None:
        return self.loop_cpu_s * 1000 / self.requests if self.loop_cpu_s is not None and self.requests else None

    @property
    def child_cpu_ms(self) -> float | None:
        return self.child_cpu_s * 1000 / self.requests if self.child_cpu_s is not None and self.requests else None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def plus(self, other: Result) -> Result:
        """Two slices of one scenario as one: counts and times add up; the slower slice's percentiles stand."""
        slower = self if self.p50_ms >= other.p50_ms else other

        def both(a: float | None, b: float | None) -> float | None:
            return a + b if a is not None and b is not None else None

        return Result(self.requests + other.requests, self.seconds + other.seconds, slower.p50_ms,
                      max(self.p99_ms, other.p99_ms), self.errors + other.errors, both(self.cpu_s, other.cpu_s),
                      both(self.loop_cpu_s, other.loop_cpu_s), both(self.child_cpu_s, other.child_cpu_s))  # fmt: skip


def settle(pid: int, limit_s: float = 15.0) -> None:
    """Wait until the server is idle: what the previous scenario left queued (a batch of decisions takes a second)
    must not run during the next one."""
    deadline = time.monotonic() + limit_s
    last = (cpu_seconds(pid) or 0.0) + (children_cpu_seconds(pid) or 0.0)
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = (cpu_seconds(pid) or 0.0) + (children_cpu_seconds(pid) or 0.0)
        if now - last < 0.01:  # under a tenth of a core
            return
        last = now


def measured(pid: int, drive: Callable[[], Result]) -> Result:
    """`drive`'s result with the server's CPU time meanwhile: all of it, the event loop's, the writer process's."""
    settle(pid)
    before, loop_before, child_before = cpu_seconds(pid), cpu_seconds(pid, pid), children_cpu_seconds(pid)
    result = drive()
    after, loop_after, child_after = cpu_seconds(pid), cpu_seconds(pid, pid), children_cpu_seconds(pid)
    if after is not None and before is not None and child_after is not None and child_before is not None:
        result.child_cpu_s = child_after - child_before
        result.cpu_s = after - before + result.child_cpu_s
    if loop_after is not None and loop_before is not None:
        result.loop_cpu_s = loop_after - loop_before
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def workspace(postgres: str | None) -> Iterator[tuple[Path, dict[str, str], str]]:
    """A fresh workspace with PEOPLE known people and a system API key; the database it uses."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "ws"
        schema = None
        env = dict(os.environ)
        if postgres:
            schema = f"privet_bench_{uuid.uuid4().hex[:10]}"
            with sa.create_engine(postgres, poolclass=sa.NullPool).begin() as conn:
                conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
            url = sa.make_url(postgres).update_query_dict({"options": f"-csearch_path={schema}"})
            env["PRIVET_DATABASE_URL"] = os.environ["PRIVET_DATABASE_URL"] = url.render_as_string(hide_password=False)
        try:
            init_workspace(root, REPO / "examples" / "anker")
            rt = open_runtime(root)
            from privet.consent.events import Source
            from privet.consent.identifiers import Identifier
            from privet.consent.ledger import ChoiceInput

            seed = [ChoiceInput("marketing_sms", True, Source.IMPORT, identifier=Identifier.parse(f"user_id:p{i}"))
                    for i in range(PEOPLE)]  # fmt: skip
            rt.ledger.record(seed, rt.now())
            _, token = create_key(SqlStaff(rt.db), "bench", "system", rt.now())
            database = rt.db.dialect
            rt.close()
            yield root, {**env, "PRIVET_BENCH_TOKEN": token}, database
        finally:
            os.environ.pop("PRIVET_DATABASE_URL", None)
            if schema and postgres:
                with sa.create_engine(postgres, poolclass=sa.NullPool).begin() as conn:
                    conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))


def children_cpu_seconds(pid: int) -> float | None:
    """CPU time so far of the processes `pid` started and that still run (the consent writer)."""
    try:
        children = [int(c) for t in Path(f"/proc/{pid}/task").iterdir() for c in (t / "children").read_text().split()]
    except OSError:
        return None
    return sum(cpu_seconds(c) or 0.0 for c in children)


def cpu_seconds(pid: int, thread: int | None = None) -> float | None:
    """User and system CPU time of a process (or of one of its threads) so far (Linux /proc), or None where that
    cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat")
        fields = stat.read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(root: Path, port: int, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    code = (f"from pathlib import Path; from privet.commands.serve import serve; "
            f"serve(Path({str(root)!r}), port={port}, workers=1, access_log=False)")  # fmt: skip
    process = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise SystemExit(f"privet serve ended: {process.stderr.read().decode() if process.stderr else ''}")
            try:
                if httpx.get(f"{base}/api/v1/ping", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("privet serve did not answer within 30 s")
            time.sleep(0.1)
        yield base, process.pid
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- wrk ---------------------------------------------------------------------------------------------------------

WRK_SCRIPT = """
local counter = 0
local threads = 0
run = {run}
function setup(thread)
  threads = threads + 1
  thread:set("t", threads)
end
function init(args)
  wrk.method = "{method}"
  wrk.headers["Authorization"] = "Bearer {token}"
  wrk.headers["Content-Type"] = "application/json"
end
function request()
  counter = counter + 1
  local n = counter * 16 + (t or 0)
  {build}
end
function done(summary, latency, requests)
  io.write(string.format("PRIVET %d %.3f %.3f %d\\n", summary.requests, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
end
"""


def _lua(s: Scenario, token: str, run: int) -> str:
    if s.body is None:
        build = "return wrk.format(nil, nil, nil, nil)"
    elif s.per_request == 100:
        build = ("local items = {} for i = 0, 99 do items[#items + 1] = string.format("
                 "'{\"purpose\":\"marketing.communications.sms\",\"category\":\"user.contact.phone_number\","
                 f"\"identifier\":\"user_id:p%d\"}}', (n * 7 + i) % {PEOPLE}) end "
                 f"return wrk.format(nil, nil, nil, {s.lua_body})")  # fmt: skip
    else:
        build = f"return wrk.format(nil, nil, nil, {s.lua_body})"
    return WRK_SCRIPT.format(run=run, method=s.method, token=token, build=build)


def with_wrk(base: str, s: Scenario, token: str, seconds: float, connections: int, run: int) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_lua(s, token, run))
    try:
        out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s", "-s",
                              script.name, base + s.path], capture_output=True, text=True, check=True).stdout
    finally:
        Path(script.name).unlink()
    if os.environ.get("PRIVET_BENCH_DEBUG"):
        print(out)
    found = re.search(r"^PRIVET (\d+) ([\d.]+) ([\d.]+) (\d+)$", out, re.MULTILINE)
    duration = re.search(r"requests in ([\d.]+)(ms|s|m)", out)
    if found is None or duration is None:
        raise SystemExit(f"could not read wrk's output:\n{out}")
    unit = {"ms": 0.001, "s": 1.0, "m": 60.0}[duration.group(2)]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(found.group(4)) + (int(non_2xx.group(1)) if non_2xx else 0)
    return Result(int(found.group(1)), float(duration.group(1)) * unit, float(found.group(2)),
                  float(found.group(3)), errors)  # fmt: skip


# -- httpx (when wrk is not installed) ---------------------------------------------------------------------------
# One blocking client per thread: httpx's own async client is slower than the server it would measure. Even so a
# Python client competes with the server for the GIL-free cores; wrk is the better measure.


def with_httpx(base: str, s: Scenario, token: str, seconds: float, connections: int, max_requests: int) -> Result:
    latencies: list[float] = []
    errors = [0]
    counter = itertools.count()
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def worker() -> None:
        mine: list[float] = []
        failed = 0
        with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
            while time.monotonic() < stop:
                n = next(counter)
                if n >= max_requests:
                    break
                content = s.body(n).encode() if s.body else None
                started = time.perf_counter()
                try:
                    ok = client.request(s.method, s.path, content=content).status_code < 300
                except httpx.HTTPError:
                    ok = False
                if ok:
                    mine.append(time.perf_counter() - started)
                else:
                    failed += 1
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    began = time.monotonic()
    with ThreadPoolExecutor(connections) as pool:
        for future in [pool.submit(worker) for _ in range(connections)]:
            future.result()
    elapsed = time.monotonic() - began
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return Result(len(latencies), elapsed, cuts[49] * 1000, cuts[98] * 1000, errors[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="per scenario")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--max-requests", type=int, default=200_000, help="per scenario (httpx client)")
    parser.add_argument("--client", choices=["auto", "wrk", "httpx"], default="auto")
    parser.add_argument("--postgres", help="a PostgreSQL URL; the bench runs in a schema of its own")
    parser.add_argument("--runs", type=int, default=1, help="repeat every scenario this many times")
    parser.add_argument("--slices", type=int, default=1,
                        help="split each scenario's time into this many slices, run in turn with the other scenarios' "
                             "(the machine's drift then falls on every scenario alike)")  # fmt: skip
    args = parser.parse_args()
    client = args.client if args.client != "auto" else ("wrk" if shutil.which("wrk") else "httpx")
    runs: list[dict[str, Result]] = []
    with workspace(args.postgres) as (root, env, database), server(root, free_port(), env) as (base, pid):
        token = env["PRIVET_BENCH_TOKEN"]
        for attempt in range(args.runs):
            results: dict[str, Result] = {}
            for piece in range(args.slices):
                for n, s in enumerate(SCENARIOS):
                    run = (attempt * args.slices + piece) * len(SCENARIOS) + n
                    # A short warm-up (imports, caches, the first connections), not counted.
                    if piece == 0:
                        if client == "wrk":
                            with_wrk(base, s, token, 1, args.connections, 1000 + run)
                        else:
                            with_httpx(base, s, token, 1, args.connections, 2_000)
                    seconds = args.seconds / args.slices

                    def drive(s: Scenario = s, run: int = run, seconds: float = seconds) -> Result:
                        if client == "wrk":
                            return with_wrk(base, s, token, seconds, args.connections, run)
                        return with_httpx(base, s, token, seconds, args.connections, args.max_requests)

                    result = measured(pid, drive)
                    results[s.name] = results[s.name].plus(result) if s.name in results else result
            runs.append(results)
    print(f"privet serve, 1 worker, {database}; load: {client}, {args.connections} connections, "
          f"{args.seconds:g} s per scenario in {args.slices} slice(s), from the same machine ({os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f})")  # fmt: skip
    for number, results in enumerate(runs, 1):
        if len(runs) > 1:
            print(f"run {number}")
        print(f"{'scenario':<34} {'requests/s':>11} {'work/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
              f"{'CPU ms/req':>10} {'loop':>6} {'threads':>7} {'writer':>6}")  # fmt: skip
        for s in SCENARIOS:
            r = results[s.name]
            cpu = f"{r.cpu_ms:.2f}" if r.cpu_ms is not None else "-"
            loop = f"{r.loop_cpu_ms:.2f}" if r.loop_cpu_ms is not None else "-"
            writer = f"{r.child_cpu_ms:.2f}" if r.child_cpu_ms is not None else "-"
            known = r.cpu_ms is not None and r.loop_cpu_ms is not None and r.child_cpu_ms is not None
            rest = (r.cpu_ms or 0.0) - (r.loop_cpu_ms or 0.0) - (r.child_cpu_ms or 0.0)
            threads = f"{max(0.0, rest):.2f}" if known else "-"
            print(f"{s.name:<34} {r.rps:>11,.0f} {r.rps * s.per_request:>9,.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} "
                  f"{r.errors:>7} {cpu:>10} {loop:>6} {threads:>7} {writer:>6}")  # fmt: skip
        trivial = results[SCENARIOS[0].name].rps
        for s in SCENARIOS[2:]:
            print(f"ratio {s.name} / trivial: {results[s.name].rps / trivial:.2f} (target >= 0.5 on SQLite)")


if __name__ == "__main__":
    main()
