"""Retention remembers what it anonymised: applied twice on a company database, the second run masks nothing and
reports the records as anonymised; records following them stay anonymised; a rule changed to delete still deletes.
privet's own database is SQLite, and PostgreSQL where a server runs."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from privet.store.journal import SqlRetentionJournal
from privet.workspace.runtime import open_runtime
from tests.retention.test_cli import company, run
from tests.store.conftest import Postgres, postgres  # noqa: F401 (the session's PostgreSQL server, as a fixture)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Where privet keeps its own records (the journal among them): SQLite beside the workspace, or a PostgreSQL
    schema of the test's own."""
    if request.param == "postgresql":
        server: Postgres = request.getfixturevalue("postgres")
        schema, url = server.new_schema()
        request.addfinalizer(lambda: server.drop(schema))
        monkeypatch.setenv("PRIVET_DATABASE_URL", url)
    return str(request.param)


def anonymising(tmp_path: Path, addresses: bool = False) -> tuple[Path, Path]:
    """The company of the retention tests under a rule that anonymises, with a login that takes no NULL (so it
    keeps a keyed hash, a value that would change were it hashed again)."""
    ws, crm = company(tmp_path, addresses=addresses)
    with sqlite3.connect(crm) as db:
        db.execute("ALTER TABLE customers ADD COLUMN login TEXT NOT NULL DEFAULT ''")
        db.execute("UPDATE customers SET login = 'login-' || id")
    processing = ws / "manifest" / "processing.yml"
    data = yaml.safe_load(processing.read_text())
    data["retention"]["relationship"]["final_action"] = "anonymise"
    data["datasets"]["crm_db"]["collections"]["customers"]["fields"]["login"] = {
        "categories": ["user.account.username"], "data_type": "string"}  # fmt: skip
    processing.write_text(yaml.safe_dump(data, sort_keys=False))
    return ws, crm


def customers(crm: Path) -> dict[int, tuple[Any, ...]]:
    with sqlite3.connect(crm) as db:
        return {r[0]: r[1:] for r in db.execute("SELECT id, email, name, login FROM customers ORDER BY id")}


def applied(ws: Path, day: str) -> dict[str, Any]:
    code, out = run(ws, "retention", "apply", "--as-of", day, "--yes", "--json")
    assert code == 0, out
    summary: dict[str, Any] = json.loads(out[out.index("{") :])
    return summary


def planned(ws: Path, day: str) -> dict[str, Any]:
    code, out = run(ws, "retention", "plan", "--as-of", day, "--json")
    assert code == 0, out
    report: dict[str, Any] = json.loads(out)
    return report


def states(report: dict[str, Any], collection: str) -> dict[tuple[str, str | None], list[Any]]:
    """(state, missing fact) -> example keys, whatever limitation entry decided them."""
    out: dict[tuple[str, str | None], list[Any]] = {}
    for r in report["rows"]:
        if r["collection"] == collection:
            out[r["state"], r.get("missing")] = sorted([*out.get((r["state"], r.get("missing")), []), *r["examples"]])
    return out


def test_applied_twice_the_second_run_masks_nothing_and_reports_them_anonymised(tmp_path: Path, store: str) -> None:
    ws, crm = anonymising(tmp_path)
    first = applied(ws, "2025-06-30")
    assert first["actions"] == {"mask": 3, "restrict": 1} and not first["failed"]  # Ann, Ed and Fay
    masked = customers(crm)
    assert masked[1][:2] == (None, None) and masked[1][2] not in ("", "login-1")  # the login keeps a keyed hash
    assert masked[2] == ("bob@example.test", "Bob", "login-2")

    report = planned(ws, "2025-07-01")
    assert report["totals"]["anonymised"] == 3 and report["totals"]["due_anonymise"] == 0
    assert states(report, "crm_db.customers")[("anonymised", None)] == [1, 5, 6]
    [journaled] = report["anonymised"]
    assert (journaled["collection"], journaled["rule"], journaled["records"]) == ("crm_db.customers", "relationship", 3)
    assert journaled["last_run"] == "retention-2025-06-30" and journaled["first"].startswith("20")
    code, out = run(ws, "retention", "plan", "--as-of", "2025-07-01")
    assert code == 0 and "anonymised 3" in out and "3 records anonymised by privet under relationship" in out

    second = applied(ws, "2025-07-01")
    assert second["actions"] == {} and second["rows_changed"] == {} and second["totals"]["anonymised"] == 3
    assert customers(crm) == masked  # nothing masked again: the hashed login keeps its value
    rt = open_runtime(ws)
    try:
        assert rt.db.dialect == store
        entries = SqlRetentionJournal(rt.db).entries("crm", "crm_db.customers")
    finally:
        rt.close()
    assert [(e.key, e.rule, e.run) for e in entries] == [("1", "relationship", "retention-2025-06-30"),
                                                         ("5", "relationship", "retention-2025-06-30"),
                                                         ("6", "relationship", "retention-2025-06-30")]  # fmt: skip


def test_addresses_whose_link_was_emptied_stay_anonymised(tmp_path: Path, store: str) -> None:
    ws, crm = anonymising(tmp_path, addresses=True)
    applied(ws, "2025-06-30")
    with sqlite3.connect(crm) as db:
        left = {r[0]: r[1:] for r in db.execute("SELECT id, customer_id, email FROM addresses")}
    assert left[10] == (None, None) and left[14] == (None, None)  # anonymised, and no longer naming Ann and Fay
    found = states(planned(ws, "2025-07-01"), "crm_db.addresses")
    assert found[("anonymised", None)] == [10, 14]  # not undecidable: privet emptied the link on purpose
    assert found[("undecidable", "parent")] == [15, 16]  # never anonymised, naming nobody: as before
    assert applied(ws, "2025-07-01")["actions"] == {}


def test_a_rule_changed_to_delete_deletes_and_the_journal_lets_go(tmp_path: Path, store: str) -> None:
    ws, crm = anonymising(tmp_path)
    applied(ws, "2025-06-30")
    processing = ws / "manifest" / "processing.yml"
    data = yaml.safe_load(processing.read_text())
    data["retention"]["relationship"]["final_action"] = "delete"
    processing.write_text(yaml.safe_dump(data, sort_keys=False))
    report = planned(ws, "2025-07-01")
    assert states(report, "crm_db.customers")[("due_delete", None)] == [1, 5, 6]  # the journal never stops deletion
    assert report["anonymised"][0]["records"] == 3
    summary = applied(ws, "2025-07-01")
    assert summary["actions"] == {"delete": 3} and list(customers(crm)) == [2, 3, 4]
    rt = open_runtime(ws)
    try:
        assert SqlRetentionJournal(rt.db).entries("crm", "crm_db.customers") == []  # deleted: out of the journal
    finally:
        rt.close()
    assert planned(ws, "2025-07-02")["anonymised"] == []


def test_a_crash_before_the_journal_is_written_masks_again_never_journals_unmasked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The change commits in the company's system first, then the journal and the checkpoint together: a crash
    between them leaves records masked and not journaled, so the next run masks them once more."""
    ws, crm = anonymising(tmp_path)

    def crash(self: SqlRetentionJournal, entries: Any) -> None:
        if entries:  # the batch that restricts Cy journals nothing, and goes through
            raise RuntimeError("killed")

    with monkeypatch.context() as patched:
        patched.setattr(SqlRetentionJournal, "record", crash)
        code, _ = run(ws, "retention", "apply", "--as-of", "2025-06-30", "--yes", "--batch", "1")
    assert code != 0
    once = customers(crm)
    masked = [k for k, row in once.items() if row[0] is None]
    assert len(masked) == 1  # the first batch was masked, then the run died before journaling it
    rt = open_runtime(ws)
    try:
        assert SqlRetentionJournal(rt.db).entries("crm", "crm_db.customers") == []
    finally:
        rt.close()
    code, out = run(ws, "retention", "apply", "--yes")  # resumes the run of 2025-06-30
    assert code == 0, out
    twice = customers(crm)
    assert twice[masked[0]][2] != once[masked[0]][2]  # masked a second time: the worst a crash can do
    assert planned(ws, "2025-07-01")["totals"]["anonymised"] == 3
