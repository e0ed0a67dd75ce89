"""privet retention and privet holds on a small company database: plan changes nothing, apply resumes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
import yaml
from typer.testing import CliRunner

from privet.commands.retention import holds_app, retention_app
from privet.connectors.sql import SqlConnector
from privet.workspace.runtime import init_workspace, open_runtime
from tests.conftest import MINIMAL

app = typer.Typer()
app.add_typer(retention_app, name="retention")
app.add_typer(holds_app, name="holds")
runner = CliRunner()

CUSTOMERS = [
    (1, "ann@example.test", "Ann", "2015-01-10", "DE"),  # eu: 3 years + 2 months: due in 2018
    (2, "bob@example.test", "Bob", None, "DE"),  # the account is open
    (3, "cy@example.test", "Cy", "2024-01-10", "DE"),  # restricted until 2027-03-10
    (4, "di@example.test", "Di", "2015-01-10", None),  # no jurisdiction: undecidable
    (5, "ed@example.test", "Ed", "2016-05-05", "US"),  # the default, 6 years: due, but held below
    (6, "fay@example.test", "Fay", "2010-01-01", "FR"),  # due
]


ADDRESSES = [
    (10, 1, "a@ann.test"),  # follows Ann: due
    (11, 2, "b@bob.test"),  # Bob's account is open: active
    (12, 3, "c@cy.test"),  # restricted, as Cy's record is
    (13, 4, "d@di.test"),  # Di has no jurisdiction: undecidable, for the same reason
    (14, 6, "f@fay.test"),  # due
    (15, 99, "x@nobody.test"),  # names no customer: undecidable, never deleted
    (16, None, "y@nobody.test"),  # names nobody
]


def company(tmp_path: Path, addresses: bool = False) -> tuple[Path, Path]:
    """A CRM database of customers (with `addresses`, also their address book, which maps no facts and follows
    the customer each address belongs to), its manifest and a workspace."""
    crm = tmp_path / "crm.db"
    with sqlite3.connect(crm) as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, name TEXT, closed_at DATE, "
                   "country TEXT, privet_restricted BOOLEAN NOT NULL DEFAULT 0)")  # fmt: skip
        db.executemany("INSERT INTO customers (id, email, name, closed_at, country) VALUES (?, ?, ?, ?, ?)", CUSTOMERS)
        if addresses:
            db.execute("CREATE TABLE addresses (id INTEGER PRIMARY KEY, customer_id INTEGER, email TEXT, "
                       "moved_out_at DATE)")  # fmt: skip
            db.executemany("INSERT INTO addresses (id, customer_id, email) VALUES (?, ?, ?)", ADDRESSES)
            # As a foreign key would: a customer whose addresses are still there cannot be deleted.
            db.execute("CREATE TRIGGER no_orphans BEFORE DELETE ON customers WHEN EXISTS (SELECT 1 FROM addresses "
                       "WHERE customer_id = old.id) BEGIN SELECT RAISE(ABORT, 'addresses would be orphaned'); END")  # fmt: skip
    manifest = tmp_path / "manifest"
    manifest.mkdir()
    (manifest / "organisation.yml").write_text((MINIMAL / "organisation.yml").read_text())
    data = yaml.safe_load((MINIMAL / "processing.yml").read_text())
    data["systems"]["crm"] = {"name": "CRM", "kind": "service"}
    data["retention"]["relationship"]["limitation_periods"] = [
        {"jurisdictions": ["eu"], "period": "P3Y", "cite": "BGB 195"},
        {"period": "P6Y"},
    ]
    data["activities"]["accounts"]["systems"] = ["crm"]
    data["datasets"] = {"crm_db": {"system": "crm", "collections": {"customers": {"fields": {
        "id": {"primary_key": True, "data_type": "integer"},
        "email": {"categories": ["user.contact.email"], "identity": "email", "data_type": "string"},
        "name": {"categories": ["user.name"], "data_type": "string"},
        "closed_at": {"categories": ["system.operations"], "data_type": "date"},
        "country": {"categories": ["system.operations"], "data_type": "string"},
    }}}}}  # fmt: skip
    if addresses:
        data["datasets"]["crm_db"]["collections"]["addresses"] = {"fields": {
            "id": {"primary_key": True, "data_type": "integer"},
            "customer_id": {"data_type": "integer", "categories": ["system.operations"],
                            "references": [{"to": "crm_db.customers.id", "direction": "from"}]},
            "email": {"categories": ["user.contact.email"], "data_type": "string"},
            "moved_out_at": {"categories": ["system.operations"], "data_type": "date"},
        }}  # fmt: skip
    (manifest / "processing.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    ws = tmp_path / "ws"
    init_workspace(ws, manifest)
    with (ws / "privet.toml").open("a") as f:
        f.write(f'\n[systems.crm]\nkind = "sql"\nurl = "sqlite:///{crm}"\n')
    facts = {"crm_db.customers": {"relationship_end": "closed_at", "jurisdiction": "country", "person": "id"}}
    (ws / "retention_facts.yml").write_text(yaml.safe_dump(facts))
    return ws, crm


def run(ws: Path, *args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "-w", str(ws)], input=input)
    return result.exit_code, result.output


def rows(crm: Path) -> dict[int, int]:
    with sqlite3.connect(crm) as db:
        return dict(db.execute("SELECT id, privet_restricted FROM customers ORDER BY id").fetchall())


def test_plan_apply_and_holds_on_a_company_database(tmp_path: Path) -> None:
    ws, crm = company(tmp_path)
    code, out = run(ws, "holds", "add", "--person", "5", "--reason", "warranty dispute", "--owner", "legal")
    assert code == 0 and "on person 5: warranty dispute" in out
    hold_id = out.split()[1]
    code, out = run(ws, "holds", "list")
    assert code == 0 and hold_id in out and "warranty dispute" in out

    code, out = run(ws, "retention", "plan", "--as-of", "2025-06-30")
    assert code == 0, out
    assert "nothing was changed" in out and f"{hold_id} on person 5" in out
    assert "Totals: active 1, restricted 1, due_delete 2, held 1, undecidable 1" in out
    assert "jurisdiction is empty or not mapped" in out
    code, out = run(ws, "retention", "plan", "--as-of", "2025-06-30", "--json")
    report = json.loads(out)
    due = next(r for r in report["rows"] if r["state"] == "due_delete")
    assert due["examples"] == [1, 6] and due["limitation"] == "3 years (BGB 195)"
    assert report["to_restrict"] == {"crm_db.customers": 1}
    assert rows(crm) == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0}  # plan changes nothing

    code, out = run(ws, "retention", "apply", "--as-of", "2025-06-30", input="n\n")
    assert code == 1 and "nothing was changed" in out and len(rows(crm)) == 6
    code, out = run(ws, "retention", "apply", "--as-of", "2025-06-30", "--yes", "--json")
    assert code == 0, out
    summary = json.loads(out[out.index("{") :])
    assert summary["actions"] == {"restrict": 1, "delete": 2} and not summary["failed"]
    assert summary["rows_changed"] == {"crm_db.customers": 3}
    assert rows(crm) == {2: 0, 3: 1, 4: 0, 5: 0}
    code, out = run(ws, "retention", "apply", "--as-of", "2025-06-30", "--yes")
    assert code == 0 and "Changed: nothing" in out  # row 3 is flagged already

    assert run(ws, "holds", "release", hold_id)[0] == 0
    assert "no legal holds in force" in run(ws, "holds", "list")[1]
    assert "released" in run(ws, "holds", "list", "--all")[1]
    code, out = run(ws, "retention", "apply", "--as-of", "2025-06-30", "--yes")
    assert code == 0 and "Changed: 1 rows (delete 1)" in out and rows(crm) == {2: 0, 3: 1, 4: 0}
    rt = open_runtime(ws)
    try:
        actions = [e.action for e in rt.audit.entries()]
        applied = [e for e in rt.audit.entries() if e.action == "retention_applied"]
    finally:
        rt.close()
    assert actions.count("retention_applied") == 3 and "hold_added" in actions and "hold_released" in actions
    assert applied[0].payload["rows_changed"] == {"crm_db.customers": 3}
    assert applied[0].payload["totals"] == {
        "active": 1,
        "restricted": 1,
        "due_delete": 2,
        "due_anonymise": 0,
        "anonymised": 0,
        "held": 1,
        "undecidable": 1,
    }
    assert applied[0].payload["holds"] == [hold_id]


def test_apply_stops_at_a_failure_and_resumes_the_same_run(tmp_path: Path) -> None:
    ws, crm = company(tmp_path)
    with sqlite3.connect(crm) as db:
        db.execute("CREATE TRIGGER keep_fay BEFORE DELETE ON customers WHEN old.id = 6 "
                   "BEGIN SELECT RAISE(ABORT, 'customer 6 is locked'); END")  # fmt: skip
    code, out = run(ws, "retention", "apply", "--as-of", "2025-06-30", "--yes", "--batch", "1")
    assert code == 1 and "customer 6 is locked" in out and "run privet retention apply again" in out
    assert rows(crm) == {2: 0, 3: 1, 4: 0, 5: 0, 6: 0}  # restricted and deleted up to the failing batch
    with sqlite3.connect(crm) as db:
        db.execute("DROP TRIGGER keep_fay")
    code, out = run(ws, "retention", "apply", "--yes")  # no date: the unfinished run of 2025-06-30 goes on
    assert code == 0, out
    assert "Resuming the unfinished retention run of 2025-06-30" in out
    assert rows(crm) == {2: 0, 3: 1, 4: 0}
    rt = open_runtime(ws)
    try:
        steps = rt.checkpoints.all("retention-2025-06-30")
    finally:
        rt.close()
    assert sum(s.state.value == "done" for s in steps) == 4, (
        steps
    )  # restrict 3, delete 1, delete 5, delete 6: each once


def test_wrong_input_names_the_fix(tmp_path: Path) -> None:
    ws, _ = company(tmp_path)
    assert "write a date like" in run(ws, "retention", "plan", "--as-of", "June")[1]
    assert "no such system" in run(ws, "retention", "plan", "--system", "nope")[1]
    assert "exactly one of" in run(ws, "holds", "add", "--reason", "r", "--owner", "o")[1]
    assert "no such collection" in run(ws, "holds", "add", "--collection", "x.y", "--reason", "r", "--owner", "o")[1]
    assert (
        "no such data category"
        in run(ws, "holds", "add", "--category", "user.nope", "--reason", "r", "--owner", "o")[1]
    )
    assert "no legal hold hold-x" in run(ws, "holds", "release", "hold-x")[1]
    (ws / "bad.yml").write_text("crm_db.customers: {closed: closed_at}\n")
    code, out = run(ws, "retention", "plan", "--facts", str(ws / "bad.yml"))
    assert code == 2 and "crm_db.customers.closed: not a fact" in out


def test_each_system_gets_the_batch_size_it_suits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --batch, a database takes its own batch size (here one record) and a lake takes the whole run in one
    batch (every batch rewrites each file it touches), however many records are due."""
    monkeypatch.setattr(SqlConnector, "batch_records", 1)
    (tmp_path / "db").mkdir()
    ws, crm = company(tmp_path / "db")
    assert run(ws, "retention", "apply", "--as-of", "2025-06-30", "--yes")[0] == 0
    assert rows(crm) == {2: 0, 3: 1, 4: 0}
    assert done_steps(ws) == 4  # restrict 3, delete 1, 5 and 6

    (tmp_path / "lake").mkdir()
    ws, crm = company(tmp_path / "lake")
    lake = tmp_path / "lake" / "files" / "customers"
    lake.mkdir(parents=True)
    with sqlite3.connect(crm) as db:
        found = db.execute("SELECT id, closed_at, country, privet_restricted FROM customers ORDER BY id").fetchall()
    for part, chosen in enumerate((found[:3], found[3:])):
        ids, closed, country, flag = zip(*chosen, strict=True)
        pq.write_table(pa.table({"id": pa.array(ids, pa.int64()), "closed_at": pa.array(closed, pa.string()),
                                 "country": pa.array(country, pa.string()), "privet_restricted": [bool(f) for f in flag]}),
                       lake / f"part-{part}.parquet")  # fmt: skip
    many = 60_000  # more due records than a database's batch
    pq.write_table(pa.table({"id": pa.array(range(100, 100 + many), pa.int64()), "closed_at": ["2010-01-01"] * many,
                             "country": ["FR"] * many, "privet_restricted": [False] * many}), lake / "part-2.parquet")  # fmt: skip
    settings = (ws / "privet.toml").read_text().replace(f'kind = "sql"\nurl = "sqlite:///{crm}"',
                                                        f'kind = "files"\nroot = "{lake.parent}"')  # fmt: skip
    (ws / "privet.toml").write_text(settings)
    assert run(ws, "retention", "apply", "--as-of", "2025-06-30", "--yes")[0] == 0
    left = pq.read_table(lake).sort_by("id")
    assert left.column("id").to_pylist() == [2, 3, 4] and left.column("privet_restricted").to_pylist() == [0, 1, 0]
    assert done_steps(ws) == 1


def done_steps(ws: Path) -> int:
    rt = open_runtime(ws)
    try:
        return sum(s.state.value == "done" for s in rt.checkpoints.all("retention-2025-06-30"))
    finally:
        rt.close()


def test_addresses_follow_their_customer_and_go_first(tmp_path: Path) -> None:
    ws, crm = company(tmp_path, addresses=True)
    code, out = run(ws, "retention", "plan", "--as-of", "2025-06-30")
    assert code == 0, out
    assert "crm: crm_db.addresses" in out and "each record follows the crm_db.customers record its customer_id" in out
    assert ("the record it belongs to is not there: its customer_id is empty or names no record of "
            "crm_db.customers") in out  # fmt: skip
    report = json.loads(run(ws, "retention", "plan", "--as-of", "2025-06-30", "--json")[1])
    found = {(r["state"], r.get("missing")): r for r in report["rows"] if r["collection"] == "crm_db.addresses"}
    assert set(found) == {("due_delete", None), ("active", None), ("restricted", None),
                          ("undecidable", "jurisdiction"), ("undecidable", "parent")}  # fmt: skip
    assert found["due_delete", None]["examples"] == [10, 14]
    assert found["due_delete", None]["limitation"] == "3 years (BGB 195)"  # the customer's rule and entry
    assert found["undecidable", "parent"]["examples"] == [15, 16]

    code, out = run(ws, "retention", "apply", "--as-of", "2025-06-30", "--yes", "--json")
    assert code == 0, out  # the trigger would have stopped a customer deleted before its addresses
    summary = json.loads(out[out.index("{") :])
    assert summary["rows_changed"] == {"crm_db.addresses": 2, "crm_db.customers": 4} and not summary["failed"]
    assert rows(crm) == {2: 0, 3: 1, 4: 0}
    with sqlite3.connect(crm) as db:
        assert [r[0] for r in db.execute("SELECT id FROM addresses ORDER BY id")] == [11, 12, 13, 15, 16]


def test_facts_of_the_addresses_own_win_over_following(tmp_path: Path) -> None:
    ws, _ = company(tmp_path, addresses=True)
    facts = yaml.safe_load((ws / "retention_facts.yml").read_text())
    facts["crm_db.addresses"] = {"relationship_end": "moved_out_at", "jurisdiction": "email"}
    (ws / "own.yml").write_text(yaml.safe_dump(facts))
    report = json.loads(run(ws, "retention", "plan", "--as-of", "2025-06-30", "--facts", str(ws / "own.yml"),
                            "--json")[1])  # fmt: skip
    mine = [(r["state"], r["count"]) for r in report["rows"] if r["collection"] == "crm_db.addresses"]
    assert mine == [("active", 7)]  # nobody moved out: every address is in use, whatever its customer's state
    assert not any("follows" in note for note in report["notes"])


def test_a_held_address_keeps_the_customer_it_belongs_to(tmp_path: Path) -> None:
    ws, crm = company(tmp_path, addresses=True)
    code, out = run(ws, "holds", "add", "--collection", "crm_db.addresses", "--reason", "evidence", "--owner", "legal")
    assert code == 0, out
    report = json.loads(run(ws, "retention", "plan", "--as-of", "2025-06-30", "--json")[1])
    held = {r["collection"]: r["examples"] for r in report["rows"] if r["state"] == "held"}
    assert held == {"crm_db.addresses": [10, 14], "crm_db.customers": [1, 6]}  # deleting them would orphan these
    code, out = run(ws, "retention", "apply", "--as-of", "2025-06-30", "--yes", "--json")
    assert code == 0, out
    assert rows(crm) == {1: 0, 2: 0, 3: 1, 4: 0, 6: 0}  # only Ed, whom no address names, is deleted
