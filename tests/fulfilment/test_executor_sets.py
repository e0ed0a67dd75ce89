"""The executor's action sets on a real SQLite database: one statement per change, each row counted once."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

from privet.connectors.sql import SqlConnector
from privet.fulfilment.erasure import ActionKind, ActionSet, Reason, ReasonCode
from privet.fulfilment.executor import MemoryCheckpoints, apply_sets
from privet.fulfilment.graph import build_graph
from privet.manifest.datasets import Dataset

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
KEY = b"k" * 32
WHY = Reason(ReasonCode.RETENTION, "kept long enough")
OTHER = Reason(ReasonCode.RETENTION, "another rule, the same change")


def crm(tmp_path: Path) -> tuple[Path, Any]:
    path = tmp_path / "crm.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, name TEXT, "
                   "privet_restricted BOOLEAN NOT NULL DEFAULT 0)")  # fmt: skip
        db.executemany("INSERT INTO customers (id, email, name) VALUES (?, ?, ?)",
                       [(i, f"p{i}@example.test", f"P{i}") for i in range(1, 11)])  # fmt: skip
    dataset = Dataset.model_validate({"key": "crm", "name": "CRM", "system": "crm", "collections": {"customers": {"fields": {
        "id": {"primary_key": True, "data_type": "integer"},
        "email": {"categories": ["user.contact.email"], "data_type": "string"},
        "name": {"categories": ["user.name"], "data_type": "string"},
    }}}})  # fmt: skip
    return path, build_graph({"crm": dataset})


def test_sets_for_several_reasons_run_as_one_change_and_each_row_counts_once(tmp_path: Path) -> None:
    path, graph = crm(tmp_path)
    c = "crm.customers"
    sets = [
        ActionSet(c, "id", np.array([1, 2]), ActionKind.DELETE, reason=WHY),
        ActionSet(c, "id", [3], ActionKind.DELETE, reason=OTHER),
        ActionSet(c, "id", np.array([4, 5]), ActionKind.MASK, ("email",), "null", WHY),
        ActionSet(c, "id", [4, 5], ActionKind.MASK, ("name",), "hmac", WHY),
        ActionSet(c, "id", [4, 5, 6], ActionKind.RESTRICT, reason=OTHER),
    ]
    connector = SqlConnector("crm", f"sqlite:///{path}")
    try:
        outcome = apply_sets("run", sets, [c], graph, {"crm": connector}, MemoryCheckpoints(), KEY, NOW)
    finally:
        connector.close()
    assert outcome.failed == {} and outcome.manual == ()
    assert outcome.done == {c: 3 + 3}  # three deleted; rows 4, 5 and 6 changed, each counted once
    with sqlite3.connect(path) as db:
        rows = {r[0]: r[1:] for r in db.execute("SELECT id, email, name, privet_restricted FROM customers")}
    assert sorted(rows) == [4, 5, 6, 7, 8, 9, 10]
    assert rows[4][0] is None and rows[4][1] not in (None, "P4") and rows[4][2] == 1
    assert rows[6] == ("p6@example.test", "P6", 1) and rows[7] == ("p7@example.test", "P7", 0)
