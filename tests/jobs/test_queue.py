"""Fulfilment through the real job queue (Huey on SQLite): a worker finishes requests, and a killed worker's
request is finished by the next worker without repeating anything."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.workspace.test_fulfil import company

PRIVET = [sys.executable, "-m", "privet"]


def run(ws: Path, *args: str) -> str:
    env = {**os.environ, "PRIVET_WORKSPACE": str(ws), "PRIVET_JOBS": "queue"}
    done = subprocess.run([*PRIVET, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def worker(ws: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PRIVET_WORKSPACE": str(ws), "PRIVET_JOBS": "queue"}
    return subprocess.Popen([*PRIVET, "worker", "-w", str(ws), "--workers", "1"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip


def state(ws: Path, rid: str) -> str:
    with sqlite3.connect(ws / "privet.db") as db:
        return str(db.execute("SELECT state FROM requests WHERE request_id = ?", (rid,)).fetchone()[0])


def wait_for(predicate: object, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def started_request(ws: Path) -> str:
    out = run(ws, "requests", "submit", "--kind", "deletion", "--email", "ann@example.test", "--jurisdiction", "eu", "--json")
    rid = out.split('"request_id": "')[1].split('"')[0]
    run(ws, "requests", "verify", rid, "--method", "account")
    assert "queued for a worker" in run(ws, "requests", "advance", rid, "start")
    return rid


def test_a_worker_fulfils_a_queued_request(tmp_path: Path) -> None:
    ws, _, _ = company(tmp_path)
    rid = started_request(ws)
    assert state(ws, rid) == "in_progress"
    proc = worker(ws)
    try:
        assert wait_for(lambda: state(ws, rid) == "partially_fulfilled"), state(ws, rid)
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_killed_worker_is_picked_up_by_the_next(tmp_path: Path) -> None:
    ws, crm, _ = company(tmp_path)
    rid = started_request(ws)
    blocker = sqlite3.connect(crm, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    proc = worker(ws)
    try:
        def sales_done() -> bool:
            with sqlite3.connect(ws / "privet.db") as db:
                n = db.execute("SELECT count(*) FROM fulfilment_steps WHERE request_id = ? AND phase = 'erase' "
                               "AND state = 'done'", (rid,)).fetchone()[0]  # fmt: skip
            return bool(n >= 2)

        assert wait_for(sales_done), proc.stderr.read() if proc.stderr and proc.poll() is not None else "timeout"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert state(ws, rid) == "in_progress"
    again = worker(ws)
    try:
        assert wait_for(lambda: state(ws, rid) == "partially_fulfilled"), state(ws, rid)
    finally:
        again.terminate()
        again.wait(10)
    with sqlite3.connect(crm) as db:
        assert db.execute("SELECT count(*) FROM customers WHERE email = 'ann@example.test'").fetchone() == (0,)
    with sqlite3.connect(ws / "privet.db") as db:
        planned = db.execute("SELECT count(*) FROM audit_log WHERE subject_ref = ? AND action = 'erasure_planned'",
                             (f"request:{rid}",)).fetchone()[0]  # fmt: skip
    assert planned == 1
