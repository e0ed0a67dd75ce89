"""Fulfilment end to end on real databases: access package, erasure with kept records, resume after a kill."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from privet.law.vocabulary import Right
from privet.requests.intake import Submission
from privet.requests.lifecycle import Event, EventKind
from privet.requests.model import Requester, State
from privet.workspace.fulfil import FulfilmentIncomplete, fulfil_request
from privet.workspace.runtime import Runtime, init_workspace, open_runtime
from tests.conftest import MINIMAL

DATASETS = {
    "datasets": {
        "crm": {
            "system": "crm",
            "collections": {
                "customers": {
                    "fields": {
                        "id": {"primary_key": True, "data_type": "integer"},
                        "email": {"categories": ["user.contact.email"], "identity": "email", "data_type": "string"},
                        "name": {"categories": ["user.name"], "data_type": "string"},
                    }
                }
            },
        },
        "sales": {
            "system": "sales",
            "collections": {
                "orders": {
                    "fields": {
                        "id": {"primary_key": True, "data_type": "integer"},
                        "customer_id": {"data_type": "integer",
                                        "references": [{"to": "crm.customers.id", "direction": "from"}]},
                        "address": {"categories": ["user.contact.address"], "data_type": "string"},
                    }
                },
                "invoices": {
                    "fields": {
                        "id": {"primary_key": True, "data_type": "integer"},
                        "customer_id": {"data_type": "integer",
                                        "references": [{"to": "crm.customers.id", "direction": "from"}]},
                        "amount": {"categories": ["user.payment.invoice"], "data_type": "float"},
                        "billing_name": {"categories": ["user.payment.invoice"], "data_type": "string"},
                    }
                },
            },
        },
    },
    "systems": {"crm": {"kind": "service"}, "sales": {"kind": "service"}},
    "activities": {
        "bookkeeping": {
            "purposes": ["legal.regulatory_compliance"], "categories": ["user.payment.invoice"],
            "subjects": ["customer"], "systems": ["sales"], "retention": "relationship",
            "bases": [{"basis": "legal_obligation"}],
        }
    },
}  # fmt: skip


def company(tmp_path: Path, crm_timeout: float = 30.0) -> tuple[Path, Path, Path]:
    crm, sales = tmp_path / "crm.db", tmp_path / "sales.db"
    with sqlite3.connect(crm) as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, name TEXT)")
        db.execute("CREATE INDEX ix_email ON customers (email)")
        db.executemany("INSERT INTO customers VALUES (?, ?, ?)", [(1, "ann@example.test", "Ann"), (2, "bob@example.test", "Bob")])
    with sqlite3.connect(sales) as db:
        db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, address TEXT, privet_restricted BOOLEAN DEFAULT 0)")
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, customer_id INTEGER, amount REAL, billing_name TEXT, privet_restricted BOOLEAN DEFAULT 0)")
        db.executemany("INSERT INTO orders (id, customer_id, address) VALUES (?, ?, ?)", [(10, 1, "1 Main St"), (11, 1, "2 Side St"), (12, 2, "3 Other Rd")])
        db.executemany("INSERT INTO invoices (id, customer_id, amount, billing_name) VALUES (?, ?, ?, ?)", [(100, 1, 9.5, "Ann"), (101, 2, 3.0, "Bob")])
    ws = workspace_for(tmp_path, DATASETS, f'[systems.crm]\nkind = "sql"\nurl = "sqlite:///{crm}?timeout={crm_timeout}"\n\n'
                       f'[systems.sales]\nkind = "sql"\nurl = "sqlite:///{sales}"\n')  # fmt: skip
    return ws, crm, sales


def workspace_for(tmp_path: Path, company: dict[str, Any], settings: str) -> Path:
    """A workspace of the minimal manifest with `company`'s datasets (and more) instead of its own, and `settings`
    (the systems) added to privet.toml."""
    manifest = tmp_path / "manifest"
    manifest.mkdir()
    for f in MINIMAL.iterdir():
        data = yaml.safe_load(f.read_text())
        data.pop("datasets", None)  # this company's data lives in its own systems
        (manifest / f.name).write_text(yaml.safe_dump(data))
    (manifest / "company.yml").write_text(yaml.safe_dump(company))
    ws = tmp_path / "ws"
    init_workspace(ws, manifest)
    with (ws / "privet.toml").open("a") as f:
        f.write("\n" + settings)
    return ws


def started(rt: Runtime, kind: Right, email: str = "ann@example.test") -> str:
    r = rt.request_service.submit(Submission(kind, Requester(email=email), "eu"), rt.now()).request
    rt.request_service.act(r.request_id, Event(EventKind.VERIFIED, method="account", level="account"), rt.now())
    rt.request_service.act(r.request_id, Event(EventKind.START), rt.now())
    return r.request_id


def test_access_package_holds_the_persons_rows_only(tmp_path: Path) -> None:
    ws, _, _ = company(tmp_path)
    rt = open_runtime(ws)
    try:
        rid = started(rt, Right.ACCESS)
        r = fulfil_request(rt, rid)
        assert r.state is State.FULFILLED
        with zipfile.ZipFile(ws / "packages" / f"{rid}.zip") as z:
            text = "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
        assert "1 Main St" in text and "Ann" in text
        assert "Bob" not in text and "3 Other Rd" not in text
    finally:
        rt.close()


def test_erasure_keeps_invoices_restricted_and_says_why(tmp_path: Path) -> None:
    ws, crm, sales = company(tmp_path)
    rt = open_runtime(ws)
    try:
        rid = started(rt, Right.DELETION)
        r = fulfil_request(rt, rid)
        assert r.state is State.PARTIALLY_FULFILLED
        assert any("invoices" in reason for reason in r.outcome_reasons)
    finally:
        rt.close()
    with sqlite3.connect(crm) as db:
        assert db.execute("SELECT email FROM customers WHERE id = 2").fetchone() == ("bob@example.test",)
        ann = db.execute("SELECT * FROM customers WHERE id = 1").fetchone()
        assert ann is None or "ann@example.test" not in ann
    with sqlite3.connect(sales) as db:
        assert db.execute("SELECT address FROM orders WHERE id = 12").fetchone() == ("3 Other Rd",)
        assert all(row[0] != "1 Main St" for row in db.execute("SELECT address FROM orders WHERE customer_id = 1 OR id IN (10, 11)"))
        assert db.execute("SELECT amount, billing_name, privet_restricted FROM invoices WHERE id = 100").fetchone() == (9.5, "Ann", 1)


def test_a_schema_mismatch_stops_before_any_write(tmp_path: Path) -> None:
    ws, crm, sales = company(tmp_path)
    with sqlite3.connect(sales) as db:
        db.execute("ALTER TABLE orders RENAME COLUMN address TO street")
    rt = open_runtime(ws)
    try:
        rid = started(rt, Right.DELETION)
        with pytest.raises(Exception, match=r"sales\.orders\.address: no such column"):
            fulfil_request(rt, rid)
        assert rt.request_service.get(rid).state is State.IN_PROGRESS
    finally:
        rt.close()
    with sqlite3.connect(crm) as db:
        assert db.execute("SELECT count(*) FROM customers").fetchone() == (2,)


def test_killed_mid_erasure_resumes_without_repeating(tmp_path: Path) -> None:
    """The worker is killed while it waits on the second system; running again finishes the rest."""
    ws, crm, _ = company(tmp_path)
    rt = open_runtime(ws)
    rid = started(rt, Right.DELETION)
    rt.close()
    blocker = sqlite3.connect(crm, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the CRM is busy writing: the erasure will wait there after the sales system
    env = {**os.environ, "PRIVET_WORKSPACE": str(ws)}
    proc = subprocess.Popen([sys.executable, "-m", "privet", "fulfil", "run", rid], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with sqlite3.connect(ws / "privet.db") as db:
                done = db.execute("SELECT count(*) FROM fulfilment_steps WHERE request_id = ? AND phase = 'erase' "
                                  "AND state = 'done'", (rid,)).fetchone()[0]  # fmt: skip
            if done >= 2:
                break
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.1)
        assert done >= 2, "the sales collections were not checkpointed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    with sqlite3.connect(crm) as db:
        assert db.execute("SELECT email FROM customers WHERE id = 1").fetchone() == ("ann@example.test",)
    rt = open_runtime(ws)
    try:
        r = fulfil_request(rt, rid)
        assert r.state is State.PARTIALLY_FULFILLED
        entries = [e.action for e in rt.audit.entries(f"request:{rid}")]
        assert entries.count("erasure_planned") == 1  # the plan recorded before the kill was reused
    finally:
        rt.close()
    with sqlite3.connect(crm) as db:
        assert db.execute("SELECT count(*) FROM customers WHERE email = 'ann@example.test'").fetchone() == (0,)


def test_a_dropped_system_leaves_the_request_in_progress(tmp_path: Path) -> None:
    ws, crm, _ = company(tmp_path, crm_timeout=0.3)
    rt = open_runtime(ws)
    try:
        rid = started(rt, Right.DELETION)
        blocker = sqlite3.connect(crm, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # the CRM refuses writes: to privet it is a system that dropped away
        try:
            with pytest.raises(FulfilmentIncomplete, match="erasure stopped"):
                fulfil_request(rt, rid)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert rt.request_service.get(rid).state is State.IN_PROGRESS
        assert fulfil_request(rt, rid).state is State.PARTIALLY_FULFILLED
    finally:
        rt.close()


def test_restriction_flags_rows_and_waits_for_systems_without_a_flag(tmp_path: Path) -> None:
    from privet.consent.identifiers import Identifier

    ws, crm, sales = company(tmp_path)
    rt = open_runtime(ws)
    try:
        rid = started(rt, Right.RESTRICTION)
        with pytest.raises(FulfilmentIncomplete, match=r"restrict crm\.customers row id=1 .*no restriction flag"):
            fulfil_request(rt, rid)
        subject = rt.subjects.find(Identifier.parse("email:ann@example.test"))
        assert subject is not None and rt.ledger.choices(subject).granted("restriction")  # decisions see it at once
        assert rt.request_service.get(rid).state is State.IN_PROGRESS  # the request waits on the manual task
        with sqlite3.connect(crm) as db:  # the CRM's owner adds a flag; running again finishes the request
            db.execute("ALTER TABLE customers ADD COLUMN privet_restricted BOOLEAN DEFAULT 0")
        assert fulfil_request(rt, rid).state is State.FULFILLED
    finally:
        rt.close()
    with sqlite3.connect(sales) as db:
        assert db.execute("SELECT privet_restricted FROM orders WHERE id IN (10, 11)").fetchall() == [(1,), (1,)]
        assert db.execute("SELECT privet_restricted FROM orders WHERE id = 12").fetchone() == (0,)
    with sqlite3.connect(crm) as db:
        assert db.execute("SELECT privet_restricted FROM customers ORDER BY id").fetchall() == [(1,), (0,)]


def test_recipients_of_erased_data_get_notification_tasks(tmp_path: Path) -> None:
    ws, _, _ = company(tmp_path)
    manifest = ws / "manifest" / "company.yml"
    data = yaml.safe_load(manifest.read_text())
    data["activities"]["bookkeeping"]["recipients"] = ["mailer"]  # the accountants' mail provider, say
    manifest.write_text(yaml.safe_dump(data))
    rt = open_runtime(ws)
    try:
        rid = started(rt, Right.DELETION)
        fulfil_request(rt, rid)
        tasks = [s for s in rt.checkpoints.all(rid) if s.phase == "notify"]
        assert [t.collection for t in tasks] == ["mailer"]
        assert "GDPR Art. 19" in str(tasks[0].detail["task"])
    finally:
        rt.close()


def test_matching_reads_what_the_company_holds(tmp_path: Path) -> None:
    from privet.workspace.fulfil import held_points

    ws, _, _ = company(tmp_path)
    rt = open_runtime(ws)
    try:
        r = rt.request_service.submit(Submission(Right.ACCESS, Requester(email="ann@example.test"), "eu"), rt.now()).request
        held = held_points(rt, r)
        assert held["email"] == ["ann@example.test"] and held["name"] == ["Ann"]
        outcome = rt.request_service.verify_by_matching(r.request_id, {"email": "ann@example.test", "name": "ANN"},
                                                        held, False, rt.now())  # fmt: skip
        assert outcome.met and rt.request_service.get(r.request_id).state is State.VERIFIED
    finally:
        rt.close()


def test_a_legal_hold_on_the_person_stops_their_erasure(tmp_path: Path) -> None:
    from privet.retention.rules import HoldScope
    from privet.store.holds import SqlHolds

    ws, crm, _ = company(tmp_path)
    rt = open_runtime(ws)
    try:
        SqlHolds(rt.db).add(HoldScope.PERSON, "ann@example.test", "a pending warranty dispute", "legal", rt.now())
        rid = started(rt, Right.DELETION)
        # Held rows are restricted, not erased; the CRM has no restriction flag, so a person must mark them.
        with pytest.raises(FulfilmentIncomplete, match="pending warranty dispute"):
            fulfil_request(rt, rid)
    finally:
        rt.close()
    with sqlite3.connect(crm) as db:
        assert db.execute("SELECT email FROM customers WHERE id = 1").fetchone() == ("ann@example.test",)


LINKED = {
    "datasets": {"accounts": {"system": "accounts", "collections": {
        "users": {"fields": {
            "user_id": {"primary_key": True, "categories": ["user.unique_id"], "data_type": "string"},
            "email": {"categories": ["user.contact.email"], "identity": "email", "data_type": "string"},
        }},
        "devices": {"fields": {  # masked; names its user by a field that is not personal data itself
            "id": {"primary_key": True, "data_type": "integer"},
            "user_id": {"categories": ["system.operations"], "data_type": "string",
                        "references": [{"to": "accounts.users.user_id", "direction": "from"}]},
            "nickname": {"categories": ["user.name"], "data_type": "string"},
        }},
        "tokens": {"fields": {  # the same, but its column takes no NULL
            "id": {"primary_key": True, "data_type": "integer"},
            "user_id": {"categories": ["system.operations"], "data_type": "string",
                        "references": [{"to": "accounts.users.user_id", "direction": "from"}]},
            "label": {"categories": ["user.name"], "data_type": "string"},
        }},
    }}},
    "systems": {"accounts": {"kind": "service"}},
}  # fmt: skip


def test_erasure_unlinks_masked_rows_from_the_rows_it_deletes(tmp_path: Path) -> None:
    """The person's user row is deleted (its key is personal); their device is masked and lets go of it, and their
    token, whose link takes no NULL, is deleted. The database refuses orphans, as a foreign key would."""
    accounts = tmp_path / "accounts.db"
    with sqlite3.connect(accounts) as db:
        db.execute("CREATE TABLE users (user_id TEXT PRIMARY KEY, email TEXT)")
        db.execute("CREATE TABLE devices (id INTEGER PRIMARY KEY, user_id TEXT, nickname TEXT)")
        db.execute("CREATE TABLE tokens (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, label TEXT)")
        db.executemany("INSERT INTO users VALUES (?, ?)", [("u1", "ann@example.test"), ("u2", "bob@example.test")])
        db.executemany("INSERT INTO devices VALUES (?, ?, ?)", [(1, "u1", "Ann's lamp"), (2, "u2", "Bob's lamp")])
        db.executemany("INSERT INTO tokens VALUES (?, ?, ?)", [(1, "u1", "Ann's phone"), (2, "u2", "Bob's phone")])
        db.execute("CREATE TRIGGER no_orphans BEFORE DELETE ON users WHEN EXISTS (SELECT 1 FROM devices WHERE "
                   "user_id = old.user_id UNION ALL SELECT 1 FROM tokens WHERE user_id = old.user_id) "
                   "BEGIN SELECT RAISE(ABORT, 'rows would be orphaned'); END")  # fmt: skip
    ws = workspace_for(tmp_path, LINKED, f'[systems.accounts]\nkind = "sql"\nurl = "sqlite:///{accounts}"\n')
    rt = open_runtime(ws)
    try:
        assert fulfil_request(rt, started(rt, Right.DELETION)).state is State.FULFILLED
    finally:
        rt.close()
    with sqlite3.connect(accounts) as db:
        assert db.execute("SELECT user_id FROM users").fetchall() == [("u2",)]
        assert db.execute("SELECT * FROM devices ORDER BY id").fetchall() == [(1, None, None), (2, "u2", "Bob's lamp")]
        assert db.execute("SELECT * FROM tokens").fetchall() == [(2, "u2", "Bob's phone")]
