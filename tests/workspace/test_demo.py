"""`make demo`'s scenario on the reference manifest, end to end (smaller company for speed)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from privet.requests.model import State
from privet.workspace.demo import run_demo
from privet.workspace.runtime import open_runtime
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
    rt = open_runtime(ws)
    try:
        states = sorted(r.state for r in rt.requests.all())
        assert states == sorted([State.FULFILLED, State.PARTIALLY_FULFILLED])
        assert rt.consents.verify_projection() == []
    finally:
        rt.close()
