"""The demo's de-identified analytics export: written through the manifest's profile, with its k report."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from rich.console import Console

from privet.workspace.demo import deid_export
from privet.workspace.manifest_files import load_manifest
from privet.workspace.runtime import init_workspace, open_runtime
from privet.workspace.seed import connector_settings, seed_company_data
from tests.conftest import REPO


def test_the_analytics_export_meets_k(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    init_workspace(ws, REPO / "examples" / "anker")
    company = seed_company_data(load_manifest(ws / "manifest").manifest, tmp_path / "company", people=200)
    with (ws / "privet.toml").open("a", encoding="utf-8") as f:
        for system, config in connector_settings(company).items():
            f.write(f'\n[systems.{system}]\nkind = "{config["kind"]}"\nurl = "{config["url"]}"\n')
    console = Console(record=True, width=300)
    rt = open_runtime(ws)
    try:
        target = deid_export(rt, tmp_path / "out", console)
    finally:
        rt.close()
    assert target is not None
    table = pq.read_table(target)
    assert "email" not in table.column_names and "date_of_birth" in table.column_names
    text = console.export_text()
    assert f"analytics export {target}: {table.num_rows} of 200 accounts" in text and "(5 required)" in text
