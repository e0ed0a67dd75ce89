"""The daily retention job: off unless the workspace turns it on; on, it applies what is due and audits it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml

from privet.workspace.retention import apply_daily as apply_retention_daily
from privet.workspace.runtime import open_runtime
from privet.workspace.settings import SettingsError
from tests.retention.test_cli import company, rows


def test_the_daily_sweep_does_nothing_unless_switched_on(tmp_path: Path) -> None:
    ws, crm = company(tmp_path)
    assert apply_retention_daily(ws) is None
    assert len(rows(crm)) == 6


def test_switched_on_it_applies_what_is_due_and_audits_it(tmp_path: Path) -> None:
    ws, crm = company(tmp_path)
    with (ws / "privet.toml").open("a") as f:
        f.write("\n[retention]\ndaily = true\n")
    summary = apply_retention_daily(ws)
    assert summary is not None and not summary["failed"]
    # Judged today: ann and fay were due long ago; bob's account is open; di has no jurisdiction (undecidable).
    assert 1 not in rows(crm) and 6 not in rows(crm) and {2, 4} <= set(rows(crm))
    rt = open_runtime(ws)
    try:
        [entry] = [e for e in rt.audit.entries() if e.action == "retention_applied"]
    finally:
        rt.close()
    assert entry.actor == "system:daily-retention" and entry.payload["rows_changed"]["crm_db.customers"] >= 2


def test_a_switch_that_is_not_true_or_false_is_refused(tmp_path: Path) -> None:
    ws, _ = company(tmp_path)
    with (ws / "privet.toml").open("a") as f:
        f.write('\n[retention]\ndaily = "yes"\n')
    with pytest.raises(SettingsError, match=r"\[retention\] daily must be true or false"):
        apply_retention_daily(ws)


def test_the_daily_sweep_deletes_addresses_with_their_customers(tmp_path: Path) -> None:
    ws, crm = company(tmp_path, addresses=True)  # a customer cannot be deleted while an address names it
    with (ws / "privet.toml").open("a") as f:
        f.write("\n[retention]\ndaily = true\n")
    summary = apply_retention_daily(ws)
    assert summary is not None and not summary["failed"]
    assert summary["rows_changed"]["crm_db.addresses"] == 2  # Ann's and Fay's, before Ann and Fay
    assert 1 not in rows(crm) and 6 not in rows(crm)
    with sqlite3.connect(crm) as db:
        assert [r[0] for r in db.execute("SELECT id FROM addresses ORDER BY id")] == [11, 12, 13, 15, 16]


def test_anonymised_addresses_let_go_of_the_customers_deleted_in_the_same_run(tmp_path: Path) -> None:
    """A rule that anonymises: customers are deleted (their key is a personal id), their addresses anonymised. An
    anonymised address must not name its customer any more, or it would be a pseudonym, and deleting the customer
    would orphan it (the database refuses, as a foreign key would)."""
    ws, crm = company(tmp_path, addresses=True)
    processing = ws / "manifest" / "processing.yml"
    data = yaml.safe_load(processing.read_text())
    data["retention"]["relationship"]["final_action"] = "anonymise"
    data["datasets"]["crm_db"]["collections"]["customers"]["fields"]["id"]["categories"] = ["user.unique_id"]
    processing.write_text(yaml.safe_dump(data, sort_keys=False))
    with (ws / "privet.toml").open("a") as f:
        f.write("\n[retention]\ndaily = true\n")
    summary = apply_retention_daily(ws)
    assert summary is not None and not summary["failed"], summary
    assert 1 not in rows(crm) and 6 not in rows(crm)
    with sqlite3.connect(crm) as db:
        kept = {r[0]: r[1:] for r in db.execute("SELECT id, customer_id, email FROM addresses")}
    assert kept[10] == (None, None) and kept[14] == (None, None)  # Ann's and Fay's, anonymised, not deleted
    assert kept[11] == (2, "b@bob.test") and kept[15] == (99, "x@nobody.test")  # the others as they were
