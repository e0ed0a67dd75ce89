"""The manifest commands through the CLI: exit codes, output formats, and every document on the reference."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from privet.cli import app
from tests.conftest import MINIMAL, REPO

ANKER = REPO / "examples" / "anker"
runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_check_clean_findings_unreadable(tmp_path: Path) -> None:
    code, out = run("check", str(ANKER))
    assert code == 0 and "clean" in out
    bad = tmp_path / "m"
    bad.mkdir()
    (bad / "a.yml").write_text((MINIMAL / "organisation.yml").read_text())
    text = (MINIMAL / "processing.yml").read_text().replace("user.contact.email]", "user.contact.emial]", 1)
    (bad / "b.yml").write_text(text)
    code, out = run("check", str(bad))
    assert code == 1 and "did you mean user.contact.email?" in out
    (bad / "c.yml").write_text("broken: [\n")
    code, out = run("check", str(bad))
    assert code == 2 and "c.yml:2:1: P001 YAML syntax error" in out


def test_check_json(tmp_path: Path) -> None:
    code, out = run("check", str(MINIMAL), "--format", "json")
    assert code == 0 and json.loads(out) == {"readable": True, "findings": []}
    (tmp_path / "x.yml").write_text("notice: {jurisdictions: [eu]}\nnotice: {}\n")
    code, out = run("check", str(tmp_path), "--format", "json")
    data = json.loads(out)
    assert code == 2 and data["readable"] is False
    assert data["findings"][0]["code"] == "P005" and data["findings"][0]["line"] == 2


def test_every_document_generates_from_the_reference(tmp_path: Path) -> None:
    for args, name in [
        (("notice", "--format", "html"), "notice.html"),
        (("notice", "--format", "md"), "notice.md"),
        (("ropa", "--format", "csv"), "ropa.csv"),
        (("ropa", "--format", "xlsx"), "ropa.xlsx"),
        (("disclosures", "--format", "json"), "d.json"),
        (("disclosures", "--format", "html"), "d.html"),
        (("graph",), "g.svg"),
    ]:
        code, out = run(args[0], str(ANKER), *args[1:], "-o", str(tmp_path / name))
        assert code == 0, out
    html = (tmp_path / "notice.html").read_text()
    assert "Anker Technology (UK) Ltd." in html and "Bayerisches Landesamt" in html
    rows = list(csv.DictReader(io.StringIO((tmp_path / "ropa.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == 23
    assert zipfile.is_zipfile(tmp_path / "ropa.xlsx")
    assert json.loads((tmp_path / "d.json").read_text())
    ET.parse(tmp_path / "g.svg")


def test_diff_classifies_a_material_change(tmp_path: Path) -> None:
    new = tmp_path / "new"
    new.mkdir()
    for f in MINIMAL.iterdir():
        (new / f.name).write_text(f.read_text())
    data = yaml.safe_load((new / "processing.yml").read_text())
    data["activities"]["newsletter"]["purposes"].append("analytics.reporting")
    (new / "processing.yml").write_text(yaml.safe_dump(data))
    code, out = run("diff", str(MINIMAL), str(new), "--fail-on-material")
    assert code == 1 and "analytics.reporting" in out and "material" in out.lower()
    assert run("diff", str(MINIMAL), str(MINIMAL), "--fail-on-material")[0] == 0


def test_fides_round_trip_through_the_cli(tmp_path: Path) -> None:
    exported = tmp_path / "fides.yml"
    assert run("export-fides", str(MINIMAL), "-o", str(exported))[0] == 0
    target = tmp_path / "imported"
    code, out = run("import-fides", str(exported), "-o", str(target))
    assert code == 0, out
    imported = yaml.safe_load((target / "fides-fides.yml").read_text())
    assert imported["datasets"]["shop_db"]["collections"]["customers"]["fields"]["email"]["identity"] == "email"
    assert run("import-fides", str(exported), "-o", str(target))[0] == 2  # no silent overwrite
    (tmp_path / "bad.yml").write_text("dataset:\n  - collections: []\n")
    code, out = run("import-fides", str(tmp_path / "bad.yml"), "-o", str(target))
    assert code == 2 and "not a Fides file" in out


@pytest.mark.parametrize("section", ["categories", "purposes", "subjects"])
def test_taxonomy_listing(section: str) -> None:
    code, out = run("taxonomy", section)
    assert code == 0 and len(out.splitlines()) > 10


def test_every_command_is_documented_in_the_readme() -> None:
    code, out = run("lint-rules")
    assert code == 0 and "L005" in out
    readme = (REPO / "README.md").read_text()
    commands = [c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands]
    groups = [g.name for g in app.registered_groups]
    names = [n.replace("_", "-") for n in [*commands, *groups] if n]
    assert len(names) > 20
    missing = [n for n in names if f"privet {n}" not in readme]
    assert missing == [], f"document these commands in README.md: {missing}"


def test_check_names_an_oversized_or_undecodable_file_without_a_traceback(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.mkdir()
    with (big / "huge.yml").open("wb") as f:
        f.truncate(50 * 2**20)  # sparse: the size is what is checked, before anything is read
    latin = tmp_path / "latin"
    latin.mkdir()
    (latin / "notice.yml").write_bytes(b"notice:\n  title: caf\xe9\n")
    for folder, expected in [
        (big, f"{big / 'huge.yml'}:1:1: P003 file is 50.0 MiB"),
        (latin, f"{latin / 'notice.yml'}:2:13: P002 not UTF-8: byte 0xe9"),
    ]:
        result = runner.invoke(app, ["check", str(folder)])
        assert result.exit_code == 2, result.output
        assert expected in result.output
        assert "Traceback" not in result.output
        assert isinstance(result.exception, SystemExit)
