"""Reading a manifest folder: size limits, encodings and folders, each failure naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from privet.manifest.diagnostics import ManifestUnreadable
from privet.workspace.manifest_files import load_manifest, read_document


def problem(folder: Path, **kwargs: int) -> str:
    with pytest.raises(ManifestUnreadable) as info:
        load_manifest(folder, **kwargs)
    return "\n".join(d.render() for d in info.value.diagnostics)


def test_non_utf8_file_names_the_byte(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_bytes(b"notice:\n  title: caf\xe9\n")
    assert problem(tmp_path).startswith(f"{tmp_path}/a.yml:2:13: P002 not UTF-8: byte 0xe9")


def test_a_too_large_file_is_refused_before_parsing(tmp_path: Path) -> None:
    (tmp_path / "big.yml").write_text("x: " + "a" * 2000 + "\n")
    assert "P003 file is 0.0 MiB; a manifest file may be at most 0 MiB" in problem(tmp_path, max_bytes=1000)


def test_fifty_megabytes_is_refused_quickly(tmp_path: Path) -> None:
    big = tmp_path / "big.yml"
    with big.open("wb") as f:
        f.truncate(50 * 2**20)
    assert "P003 file is 50.0 MiB" in problem(tmp_path)


def test_empty_or_missing_folder(tmp_path: Path) -> None:
    assert "holds no .yml or .yaml files" in problem(tmp_path)
    assert "no manifest at" in problem(tmp_path / "nope")


def test_problems_in_several_files_are_all_reported(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("a: [1\n")
    (tmp_path / "b.yml").write_bytes(b"\xff\n")
    text = problem(tmp_path)
    assert "a.yml:2:1: P001" in text
    assert "b.yml:1:1: P002" in text


def test_hidden_folders_are_skipped_and_bom_is_accepted(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.yml").write_text("junk: [\n")
    (tmp_path / "a.yml").write_bytes("\ufeffnotice: {jurisdictions: [eu]}\n".encode())
    doc = read_document(tmp_path / "a.yml", "a.yml")
    assert doc.data == {"notice": {"jurisdictions": ["eu"]}}
    assert "S003 missing required key 'organisation'" in problem(tmp_path)
