"""privet deid through the command line, on a workspace of the reference with seeded company databases."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
import yaml
from typer.testing import CliRunner

from privet.commands import deid as deid_commands
from privet.workspace.manifest_files import load_manifest
from privet.workspace.runtime import init_workspace
from privet.workspace.seed import connector_settings, seed_company_data
from tests.conftest import REPO

app = typer.Typer()
app.command("deid")(deid_commands.deid)
app.command("other")(lambda: None)  # two commands, so that `deid` is a subcommand as under privet
runner = CliRunner()
KEPT = {"user_id", "date_of_birth", "country", "language", "created_at", "closed_at"}
KEY = "ab" * 32


def run(ws: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["deid", *args, "-w", str(ws)], env=env)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("deid")
    ws = root / "ws"
    init_workspace(ws, REPO / "examples" / "anker")
    company = seed_company_data(load_manifest(ws / "manifest").manifest, root / "company", people=200)
    with (ws / "privet.toml").open("a", encoding="utf-8") as f:
        for system, config in connector_settings(company).items():
            f.write(f'\n[systems.{system}]\nkind = "{config["kind"]}"\nurl = "{config["url"]}"\n')
    path = ws / "manifest" / "deidentification.yml"
    data = yaml.safe_load(path.read_text())
    profiles = data["deidentification"]["profiles"]
    profiles["strict"] = {"k": 1000, "unlisted": "drop"}
    profiles["files"] = {
        "k": 2,
        "unlisted": "drop",
        "columns": {
            "age": {"action": "generalise", "generaliser": "age_band", "role": "quasi_identifier"},
            "city": {"action": "keep", "role": "quasi_identifier"},
            "photo": {"action": "keep"},
            "bio": {"action": "keep"},
        },
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return ws


def test_a_collection_becomes_a_deidentified_parquet_file(ws: Path, tmp_path: Path) -> None:
    target = tmp_path / "users.parquet"
    code, out = run(ws, "accounts_db.users", "--profile", "analytics", "-o", str(target))
    assert code == 0, out
    assert "date_of_birth                generalise" in out and "[quasi_identifier]" in out
    assert re.search(r"result: k=\d+ achieved \(5 required\)", out) and f"wrote {target}" in out
    table = pq.read_table(target)
    assert set(table.column_names) == KEPT
    assert all(re.fullmatch(r"\d{4}-\d{4}", v) for v in table.column("date_of_birth").to_pylist() if v)
    assert all(v.startswith("ws1:") for v in table.column("user_id").to_pylist())
    assert table.column("created_at").type == pa.timestamp("us")


def test_csv_output_and_json_report(ws: Path, tmp_path: Path) -> None:
    target = tmp_path / "users.csv"
    code, out = run(
        ws, "accounts_db.users", "-p", "analytics", "-o", str(target), "--json", env={"PRIVET_PSEUDONYM_KEY": KEY}
    )
    assert code == 0, out
    report = json.loads(out)
    assert report["refused"] is False and report["report"]["after"]["k_achieved"] >= 5
    assert report["report"]["rows_in"] == 200 and report["report"]["suppressed_share"] <= 0.05
    with target.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert set(rows[0]) == KEPT and rows[0]["user_id"].startswith("k1:")  # the environment's key


def test_refused_when_k_is_not_met_and_nothing_is_written(ws: Path, tmp_path: Path) -> None:
    target = tmp_path / "users.parquet"
    code, out = run(ws, "accounts_db.users", "--profile", "strict", "-o", str(target))
    assert code == 1 and "de-identification profile 'strict' refused: k=" in out
    assert "at risk:" in out and "nothing was written" in out
    assert not target.exists()
    code, out = run(ws, "accounts_db.users", "--profile", "strict", "--report-only", "--json")
    assert code == 1 and json.loads(out.split("\n" + "nothing was written")[0])["refused"] is True


def test_report_only_writes_nothing(ws: Path, tmp_path: Path) -> None:
    code, out = run(ws, "accounts_db.users", "--profile", "analytics", "--report-only")
    assert code == 0 and "result: k=" in out and "wrote" not in out
    assert list(tmp_path.iterdir()) == []


def test_a_file_with_bare_column_rules(ws: Path, tmp_path: Path) -> None:
    source = tmp_path / "people.parquet"
    pq.write_table(pa.table({"age": [21, 23, 40, 44, 41], "city": ["Cork"] * 5, "name": list("abcde")}), source)
    code, out = run(ws, str(source), "--profile", "files", "-o", str(tmp_path / "out.csv"))
    assert code == 0, out
    assert (tmp_path / "out.csv").read_text().splitlines()[0] == '"age","city"'


def test_a_file_described_by_a_collection(ws: Path, tmp_path: Path) -> None:
    source = tmp_path / "users.csv"
    rows = [f"u{i},x{i}@example.com,19{60 + i % 3}-0{1 + i % 9}-1{i % 9},US,en" for i in range(30)]
    source.write_text("user_id,email,date_of_birth,country,language\n" + "\n".join(rows) + "\n")
    target = tmp_path / "out.parquet"
    code, out = run(ws, str(source), "--profile", "analytics", "--collection", "accounts_db.users", "-o", str(target))
    assert code == 0, out
    assert "not in the table, so not exported: phone" in out
    assert set(pq.read_table(target).column("date_of_birth").to_pylist()) == {"1960-1979"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["accounts_db.users", "--profile", "analytics"], "give -o OUT (.parquet or .csv), or --report-only"),
        (["accounts_db.users", "--profile", "analytics", "-o", "x.json"], "-o x.json: write a .parquet or .csv file"),
        (["accounts_db.userz", "--profile", "analytics", "--report-only"], "did you mean accounts_db.users?"),
        (["accounts_db.users", "--profile", "analytic", "--report-only"], "did you mean analytics?"),
        (["accounts_db.users", "--profile", "analytics", "--report-only", "--collection", "accounts_db.users"],
         "--collection is for files"),
        (["missing.parquet", "--profile", "analytics", "--report-only"], "missing.parquet: no such file"),
    ],
)  # fmt: skip
def test_errors_name_the_fix(ws: Path, args: list[str], message: str) -> None:
    code, out = run(ws, *args)
    assert code == 2 and message in out, out


def test_a_file_the_manifest_does_not_describe_needs_column_rules(ws: Path, tmp_path: Path) -> None:
    source = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": [1, 2]}), source)
    code, out = run(ws, str(source), "--profile", "analytics", "--report-only")
    assert code == 2 and "asks for k=5, but no column of the table is a quasi-identifier" in out


def test_binary_columns_are_refused_unless_dropped(ws: Path, tmp_path: Path) -> None:
    source = tmp_path / "t.parquet"
    pq.write_table(pa.table({"age": [30, 31], "city": ["Cork", "Cork"], "photo": [b"\x89PNG", b"\x00"]}), source)
    code, out = run(ws, str(source), "--profile", "files", "--report-only")
    assert code == 2 and "the table.photo is binary (binary)" in out and "Drop or suppress it" in out


def test_a_bad_pseudonym_key_is_named(ws: Path) -> None:
    code, out = run(ws, "accounts_db.users", "-p", "analytics", "--report-only", env={"PRIVET_PSEUDONYM_KEY": "xyz"})
    assert code == 2 and "PRIVET_PSEUDONYM_KEY must be hexadecimal" in out
    code, out = run(ws, "accounts_db.users", "-p", "analytics", "--report-only", env={"PRIVET_PSEUDONYM_KEY": "abcd"})
    assert code == 2 and "use at least 32" in out


def test_kept_free_text_is_reported(ws: Path, tmp_path: Path) -> None:
    source = tmp_path / "t.parquet"
    pq.write_table(pa.table({"age": [30, 31], "city": ["Cork", "Cork"], "bio": ["x" * 5000, "short"]}), source)
    code, out = run(ws, str(source), "--profile", "files", "--report-only")
    assert code == 0 and "note: bio is kept and holds free text (up to 5,000 characters)" in out
    assert "smallest class: 2 rows; rows at risk: 0 (0.0%)" in out
