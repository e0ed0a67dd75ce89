"""Single decisions in-process, side by side with a bare dict lookup and an SQLite primary-key query.

.venv/bin/python bench/decide.py
"""

from __future__ import annotations

import random
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.world import NOW, World, policy_manifest

N = 1_000_000
QUERIES = [
    ("user.device.ip_address", "analytics.reporting", None),
    ("user.contact.email", "essential.service", None),
    ("user.device.ip_address", "third_party_sharing.sale", "adnet"),
    ("user.contact.email", "marketing.communications.email", "mailer"),
]


def main() -> None:
    world = World(policy_manifest())
    rng = random.Random(7)
    views = []
    for _ in range(200):
        jurisdiction = rng.choice(["eu", "us-ca", None])
        choices = [
            (k, rng.random() < 0.5) for k in ("app_analytics", "marketing_email", "ad_cookies") if rng.random() < 0.7
        ]
        views.append(world.view(world.person(jurisdiction, None, *choices)))
    workload = [(rng.choice(views), *rng.choice(QUERIES)) for _ in range(N)]
    policy = world.policy
    for view, category, purpose, recipient in workload[:5000]:  # warm: compile every (use, profile) once
        policy.decide(view, category, purpose, recipient)

    table = {(p, c, r, v.profile): "allow" for v, c, p, r in workload}
    keys = [(p, c, r, v.profile) for v, c, p, r in workload]

    def bare() -> None:
        get = table.__getitem__
        for k in keys:
            get(k)

    def decisions() -> None:
        decide = policy.decide
        for view, category, purpose, recipient in workload:
            decide(view, category, purpose, recipient)

    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE TABLE d (purpose TEXT, category TEXT, recipient TEXT, profile INT, outcome TEXT, "
        "PRIMARY KEY (purpose, category, recipient, profile))"
    )
    db.executemany(
        "INSERT OR REPLACE INTO d VALUES (?, ?, ?, ?, 'allow')", [(p, c, r or "", pr) for (p, c, r, pr) in table]
    )
    sql_keys = [(p, c, r or "", pr) for (p, c, r, pr) in keys[:200_000]]

    def sqlite_lookups() -> None:
        cur = db.cursor()
        for k in sql_keys:
            cur.execute(
                "SELECT outcome FROM d WHERE purpose=? AND category=? AND recipient=? AND profile=?", k
            ).fetchone()

    rows = []
    for name, fn, n in (
        ("bare dict lookup", bare, N),
        ("privet decide (with reasons)", decisions, N),
        ("SQLite primary-key query", sqlite_lookups, len(sql_keys)),
    ):
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - started)
        rows.append((name, best / n * 1e6))
    base = rows[0][1]
    print(f"# .venv/bin/python bench/decide.py  ({N:,} decisions, {policy.profile_count()} profiles, {NOW:%Y-%m-%d})")
    print(f"{'method':<32} {'us/decision':>12} {'x bare dict':>12}")
    for name, us in rows:
        print(f"{name:<32} {us:>12.3f} {us / base:>12.2f}")
    ratio = rows[1][1] / base
    print(f"privet decide / bare dict lookup = {ratio:.2f} (target <= 2.0)")


if __name__ == "__main__":
    main()
