"""`make demo`'s scenario on the reference manifest, end to end (smaller company for speed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console

from privet.requests.model import State
from privet.workspace.demo import run_demo
from privet.workspace.manifest_files import load_manifest
from privet.workspace.runtime import open_runtime
from privet.workspace.seed import seed_company_data
from tests.conftest import REPO


def test_demo_scenario(tmp_path: Path) -> None:
    console = Console(record=True, width=200)
    ws = run_demo(REPO / "examples" / "anker", tmp_path / "out", console, people=30)
    text = console.export_text()
    assert "usable for analytics" in text
    # 30 people are too few for k=5 over the analytics profile: the step says so and writes nothing
    assert "de-identification refused, nothing written" in text or "analytics export" in text
    for name in ("notice.html", "ropa.xlsx", "us-disclosures.json", "data-flow.svg", "fides-datasets.yml"):
        assert (tmp_path / "out" / "documents" / name).stat().st_size > 1000
    check_retention_plan(text, tmp_path / "out", tmp_path)
    rt = open_runtime(ws)
    try:
        states = sorted(r.state for r in rt.requests.all())
        assert states == sorted([State.FULFILLED, State.PARTIALLY_FULFILLED])
        assert rt.consents.verify_projection() == []
    finally:
        rt.close()


def check_retention_plan(text: str, out: Path, tmp_path: Path) -> None:
    """The plan is printed under its legal hold, and its JSON counts every record of every collection it read."""
    # The erasure request after the plan changes the company's databases: seeding again gives the rows planned over.
    seeded = seed_company_data(load_manifest(REPO / "examples" / "anker").manifest, tmp_path / "again", people=30)
    assert "retention plan as of" in text and "(nothing was changed)" in text
    assert "Legal holds in force: 1" in text and "on collection support_db.call_recordings: warranty dispute" in text
    assert "support_db.tickets" in text and "accounts_db.users" in text
    assert "each record follows the accounts_db.users record its user_id names" in text  # child collections
    plan: dict[str, Any] = json.loads((out / "retention-plan.json").read_text())
    assert plan["errors"] == {} and plan["skipped"] == {} and len(plan["holds"]) == 1
    by_state: dict[str, int] = {}
    by_collection: dict[tuple[str, str], int] = {}
    for row in plan["rows"]:
        by_state[row["state"]] = by_state.get(row["state"], 0) + row["count"]
        place = (row["system"], row["collection"])
        by_collection[place] = by_collection.get(place, 0) + row["count"]
        assert (row["state"] == "undecidable") == ("why" in row)
    assert {k: v for k, v in plan["totals"].items() if v} == by_state
    assert by_state["active"] and by_state["restricted"] and not by_state.get("undecidable")  # children follow
    for (system, collection), count in by_collection.items():
        assert count == seeded.row_counts[collection] and seeded.tables[collection][0] == system, collection
    assert {c for _, c in by_collection} >= {"accounts_db.users", "orders_db.orders", "support_db.tickets"}
