"""privet scan and privet redact through the command line: patches with evidence, never values; clear errors."""

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

from privet.commands import pii as pii_commands
from privet.workspace.runtime import init_workspace
from tests.conftest import MINIMAL

app = typer.Typer()
app.command("scan")(pii_commands.scan)
app.command("redact")(pii_commands.redact)
runner = CliRunner()
LONG = ("lorem ipsum " * 500) + "write to someone@example.com"


def invoke(*args: str, stdin: str | bytes | None = None, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), input=stdin, env=env)
    return result.exit_code, result.output


def _company(path: Path) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, nickname TEXT, notes TEXT, photo BLOB,"
                     " privet_restricted BOOLEAN)")  # fmt: skip
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER)")
        conn.execute("CREATE TABLE leads (id INTEGER PRIMARY KEY, contact TEXT, mobile TEXT, score INTEGER)")
        for i in range(20):
            conn.execute("INSERT INTO customers VALUES (?, ?, ?, ?, ?, 0)",
                         (i, f"c{i}@example.com", f"nick{i}", LONG, b"\x89PNG\x00" * 10))  # fmt: skip
            conn.execute("INSERT INTO orders VALUES (?, ?)", (i, i))
            conn.execute("INSERT INTO leads VALUES (?, ?, ?, ?)", (i, f"lead{i}@example.org", f"+4479111234{i:02d}", i))
    conn.close()


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scan")
    ws = root / "ws"
    init_workspace(ws, MINIMAL)
    _company(root / "shop.db")
    with (ws / "privet.toml").open("a", encoding="utf-8") as f:
        f.write(f'\n[systems.shop]\nkind = "sql"\nurl = "sqlite:///{root / "shop.db"}"\n')
    return ws


def test_scan_proposes_categories_for_undescribed_columns_and_tables(ws: Path, tmp_path: Path) -> None:
    target = tmp_path / "patch.yml"
    code, out = invoke("scan", "--system", "shop", "--sample", "10", "-o", str(target), "-w", str(ws))
    assert code == 0, out
    assert "column(s) with proposals, 1 collection(s) the manifest does not know" in out
    text = target.read_text()
    assert "@example" not in text and "nick1" not in text  # evidence, never the sampled values
    collections = yaml.safe_load(text)["datasets"]["shop_db"]["collections"]
    customers = collections["customers"]["fields"]
    assert customers["nickname"] == {"categories": ["user.name.alias"], "inferred": True}
    assert "email" not in customers and "privet_restricted" not in customers  # described, or privet's own
    assert "# photo: skipped (binary column: its content cannot be read as text)" in text
    assert "# notes: nothing recognised in 10 sampled row(s); 10 value(s) longer than 4,096 characters were cut" in text
    leads = collections["leads"]["fields"]
    assert leads["contact"]["categories"] == ["user.contact.email"]
    assert leads["mobile"]["categories"] == ["user.contact.phone_number"]
    assert leads["score"]["categories"] == []  # an unknown table: every column listed, to be described
    assert "# user.contact.email: confidence 1.00; 10 of 10 values look like EMAIL (100%)" in text
    assert "# not in the manifest: 10 row(s) sampled" in text


def test_scan_json_has_confidence_and_evidence_counts(ws: Path) -> None:
    code, out = invoke("scan", "--system", "shop", "--sample", "5", "--json", "-w", str(ws))
    assert code == 0, out
    tables = {t["table"]: t for t in json.loads(out)["collections"]}
    contact = next(c for c in tables["leads"]["columns"] if c["column"] == "contact")
    assert contact["proposals"][0] | {"evidence": None} == {
        "category": "user.contact.email", "entity": "EMAIL", "confidence": 1.0, "matched": 5, "sampled": 5,
        "from_name": False, "evidence": None,
    }  # fmt: skip
    photo = next(c for c in tables["customers"]["columns"] if c["column"] == "photo")
    assert photo["status"] == "skipped"


def test_scan_a_folder_of_files(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    init_workspace(ws, MINIMAL)
    lake = tmp_path / "lake"
    (lake / "visits").mkdir(parents=True)
    pq.write_table(
        pa.table({"ip": ["10.1.2.3", "192.168.0.7"], "raw": [b"\x00", b"\x01"]}), lake / "visits" / "a.parquet"
    )
    with (ws / "privet.toml").open("a", encoding="utf-8") as f:
        f.write(f'\n[systems.shop]\nkind = "files"\nroot = "{lake}"\n')
    code, out = invoke("scan", "--system", "shop", "-w", str(ws))
    assert code == 0, out
    fields = yaml.safe_load(out)["datasets"]["shop_db"]["collections"]["visits"]["fields"]
    assert fields["ip"]["categories"] == ["user.device.ip_address"]
    assert "# raw: skipped (binary" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--system", "shopp"], "--system shopp: no such system in the manifest; did you mean shop?"),
        (["--system", "shop", "--sample", "0"], "Invalid value for '--sample'"),
    ],
)
def test_scan_errors(ws: Path, args: list[str], message: str) -> None:
    code, out = invoke("scan", *args, "-w", str(ws))
    assert code == 2 and message in out, out


def test_scan_needs_a_connection(tmp_path: Path) -> None:
    init_workspace(tmp_path / "ws", MINIMAL)
    code, out = invoke("scan", "--system", "shop", "-w", str(tmp_path / "ws"))
    assert code == 2 and "configure [systems.shop] in privet.toml" in out


# -- redact -----------------------------------------------------------------------------------------------------

TEXT = "Mail ann@example.com or pay with 4111 1111 1111 1111 from 10.0.0.1.\n"


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("mask", "Mail ***@*******.*** or pay with **** **** **** 1111 from **.*.*.*.\n"),
        ("replace", "Mail <EMAIL> or pay with <CREDIT_CARD> from <IP_ADDRESS>.\n"),
    ],
)
def test_redact_text(operator: str, expected: str) -> None:
    code, out = invoke("redact", "-", "--operator", operator, stdin=TEXT)
    assert code == 0
    assert expected in out and "redacted 3 span(s): CREDIT_CARD 1, EMAIL 1, IP_ADDRESS 1" in out


def test_redact_only_chosen_entities_to_a_file(tmp_path: Path) -> None:
    source, target = tmp_path / "in.txt", tmp_path / "out.txt"
    source.write_text(TEXT)
    code, _ = invoke("redact", str(source), "--entities", "email", "-o", str(target))
    assert code == 0 and target.read_text() == TEXT.replace("ann@example.com", "<EMAIL>")


def test_keyed_operators_take_the_key_from_the_environment_or_the_workspace(ws: Path, tmp_path: Path) -> None:
    env = {"PRIVET_PSEUDONYM_KEY": "cd" * 32}
    code, out = invoke("redact", "--operator", "pseudonymise", "--entities", "EMAIL", stdin=TEXT, env=env)
    assert code == 0 and "Mail k1:" in out and "ann@example.com" not in out
    again = invoke("redact", "--operator", "pseudonymise", "--entities", "EMAIL", stdin=TEXT.upper(), env=env)[1]
    assert out.split()[1] == again.split()[1]  # emails are compared case-blind: the same person, the same token
    code, out = invoke("redact", "--operator", "hash", "-w", str(ws), stdin=TEXT)
    assert code == 0 and "ann@example.com" not in out
    code, out = invoke("redact", "--operator", "hash", "-w", str(tmp_path), stdin=TEXT)
    assert code == 2 and "no pseudonymisation key: set PRIVET_PSEUDONYM_KEY" in out


def test_redact_jsonl_fields_and_csv_columns(tmp_path: Path) -> None:
    lines = '{"id": 1, "note": "call ann@example.com", "email": "bob@example.com"}\n{"id": 2, "note": "nothing"}\n'
    code, out = invoke("redact", "--format", "jsonl", "--column", "note", stdin=lines)
    assert code == 0
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert records[0] == {"id": 1, "note": "call <EMAIL>", "email": "bob@example.com"}
    table = 'id,note\n1,ann@example.com wrote\n2,"multi\nline, bob@example.com"\n'
    code, out = invoke("redact", "--format", "csv", "--column", "note", stdin=table)
    assert code == 0 and out.startswith('id,note\n1,<EMAIL> wrote\n2,"multi\nline, <EMAIL>"\n')


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--entities", "EMAIL,SSN"], TEXT, "--entities: unknown SSN; use some of"),
        (["--format", "jsonl"], '{"a": 1}\nnot json\n', "line 2: not JSON"),
        (["--format", "jsonl"], "[1, 2]\n", "line 1: a JSON list; write one JSON object per line"),
        (["--format", "csv", "--column", "body"], "id,note\n1,x\n", "--column body: not in the CSV header (id, note)"),
        (["--column", "note"], TEXT, "--column is for --format jsonl or csv"),
        ([], b"\xff\xfe\x00binary", "-: not UTF-8 text (byte 0); binary input cannot be redacted"),
        (["missing.txt"], None, "missing.txt: no such file"),
    ],
)
def test_redact_errors_name_the_fix(args: list[str], stdin: str | bytes | None, message: str) -> None:
    code, out = invoke("redact", *args, stdin=stdin)
    assert code == 2 and message in out, out


def test_scan_says_which_systems_it_cannot_sample(tmp_path: Path) -> None:
    init_workspace(tmp_path / "ws", MINIMAL)
    with (tmp_path / "ws" / "privet.toml").open("a", encoding="utf-8") as f:
        f.write('\n[systems.shop]\nkind = "manual"\nowner = "ops@example.test"\n')
    code, out = invoke("scan", "--system", "shop", "-w", str(tmp_path / "ws"))
    assert code == 2 and "shop: scan samples SQL databases and Parquet/CSV folders only" in out
