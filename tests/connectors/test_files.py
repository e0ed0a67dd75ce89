"""What only the files connector promises: only affected files rewritten, atomically, with their schema and bytes."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from privet.connectors import FilesConnector
from privet.fulfilment.ports import Column, ColumnType, ConnectorError, Update
from tests.connectors.conftest import write_files

SCHEMA = pa.schema(
    [pa.field("id", pa.int32(), nullable=False), ("email", pa.string()), ("zip", pa.string())],
    metadata={b"owner": b"growth team"},
)


def lake(tmp_path: Path) -> Path:
    folder = tmp_path / "lake" / "users"
    folder.mkdir(parents=True)
    rows = [{"id": i, "email": f"u{i}@example.test", "zip": f"0{i}000"} for i in range(1, 7)]
    pq.write_table(pa.Table.from_pylist(rows[:3], schema=SCHEMA), folder / "a.parquet", compression="zstd")
    pq.write_table(pa.Table.from_pylist(rows[3:], schema=SCHEMA), folder / "b.parquet", compression="zstd")
    (folder / "_SUCCESS").write_text("")
    return tmp_path / "lake"


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob(".*"))


def test_only_the_files_holding_a_row_are_rewritten(tmp_path: Path) -> None:
    root = lake(tmp_path)
    untouched = root / "users" / "b.parquet"
    before = (untouched.stat().st_ino, untouched.stat().st_mtime_ns, untouched.read_bytes())
    connector = FilesConnector("lake", root)

    assert connector.update("users", "id", [Update(2, {"email": None, "zip": "99999"})]) == 1

    assert (untouched.stat().st_ino, untouched.stat().st_mtime_ns, untouched.read_bytes()) == before
    rewritten = pq.ParquetFile(root / "users" / "a.parquet")
    assert rewritten.schema_arrow == SCHEMA
    assert rewritten.schema_arrow.metadata == {b"owner": b"growth team"}
    assert rewritten.metadata.row_group(0).column(0).compression == "ZSTD"
    assert rewritten.read().to_pylist() == [
        {"id": 1, "email": "u1@example.test", "zip": "01000"},
        {"id": 2, "email": None, "zip": "99999"},
        {"id": 3, "email": "u3@example.test", "zip": "03000"},
    ]
    assert leftovers(root) == []


def test_describe_reads_the_parquet_schema(tmp_path: Path) -> None:
    connector = FilesConnector("lake", lake(tmp_path))

    assert connector.describe("users") == {
        "id": Column("id", ColumnType.INTEGER, nullable=False),
        "email": Column("email", ColumnType.TEXT),
        "zip": Column("zip", ColumnType.TEXT),
    }


def test_deleting_every_row_of_a_file_keeps_it_with_its_schema(tmp_path: Path) -> None:
    root = lake(tmp_path)
    connector = FilesConnector("lake", root)

    assert connector.delete("users", "id", [4, 5, 6, 7]) == 3

    emptied = pq.read_table(root / "users" / "b.parquet")
    assert (emptied.num_rows, emptied.schema) == (0, SCHEMA)
    assert connector.count("users", "id", [1, 2, 3, 4, 5, 6]) == 3


def test_a_value_the_column_cannot_hold_changes_nothing(tmp_path: Path) -> None:
    root = lake(tmp_path)
    before = (root / "users" / "a.parquet").read_bytes()
    connector = FilesConnector("lake", root)

    with pytest.raises(ConnectorError, match=r"^lake: change users failed"):
        connector.update("users", "id", [Update(1, {"zip": "00000"}), Update(2, {"id": "not a number"})])

    assert (root / "users" / "a.parquet").read_bytes() == before
    assert leftovers(root) == []


def test_a_transaction_stages_files_until_it_ends(tmp_path: Path) -> None:
    root = lake(tmp_path)
    originals = {p.name: p.read_bytes() for p in (root / "users").glob("*.parquet")}
    connector = FilesConnector("lake", root)

    with pytest.raises(RuntimeError), connector.transaction():
        connector.update("users", "id", [Update(1, {"zip": "11111"})])
        connector.update("users", "id", [Update(1, {"email": "new@example.test"})])  # over the staged file
        connector.delete("users", "id", [5])
        assert connector.select("users", "id", [1, 5], columns=["email", "zip"]) == [
            {"email": "new@example.test", "zip": "11111"}
        ]
        assert {p.name: p.read_bytes() for p in (root / "users").glob("*.parquet")} == originals
        raise RuntimeError

    assert {p.name: p.read_bytes() for p in (root / "users").glob("*.parquet")} == originals
    assert leftovers(root) == []

    with connector.transaction():
        connector.update("users", "id", [Update(1, {"zip": "11111"})])
        connector.update("users", "id", [Update(1, {"email": "new@example.test"})])
    assert connector.select("users", "id", [1], columns=["email", "zip"]) == [
        {"email": "new@example.test", "zip": "11111"}
    ]
    assert leftovers(root) == []


def test_csv_values_nobody_changed_come_back_as_they_were(tmp_path: Path) -> None:
    folder = tmp_path / "lake" / "people"
    folder.mkdir(parents=True)
    (folder / "2024.csv").write_text(
        'id;email;zip;born;score\n1;a@example.test;01234;1990-01-02;1.50\n2;"b;c@example.test";00042;;3.10\n'
    )
    connector = FilesConnector("lake", tmp_path / "lake", format="csv")

    assert connector.describe("people") == {
        "id": Column("id", ColumnType.INTEGER),
        "email": Column("email", ColumnType.TEXT),
        "zip": Column("zip", ColumnType.TEXT),
        "born": Column("born", ColumnType.DATE),
        "score": Column("score", ColumnType.FLOAT),
    }
    assert connector.update("people", "id", [Update(2, {"zip": "99"}), Update(1, {"score": None})]) == 2

    assert (folder / "2024.csv").read_text() == (
        'id;email;zip;born;score\n1;a@example.test;01234;1990-01-02;\n2;"b;c@example.test";99;;3.10\n'
    )


def test_a_collection_may_be_one_file_and_markers_are_ignored(tmp_path: Path) -> None:
    write_files(tmp_path, "parquet")
    (tmp_path / "users" / ".part-9.parquet.tmp").write_bytes(b"not parquet")
    single = tmp_path / "events.parquet"
    pq.write_table(pa.table({"id": [1, 2], "user_id": [1, 2]}), single)
    connector = FilesConnector("lake", tmp_path)

    assert connector.count("users", "id", [1, 2, 3, 4, 5, 6]) == 6
    assert connector.delete("events", "user_id", [2]) == 1
    assert pq.read_table(single).to_pylist() == [{"id": 1, "user_id": 1}]


def test_an_empty_folder_is_a_collection_without_rows(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    connector = FilesConnector("lake", tmp_path)

    assert connector.describe("empty") == {}
    assert connector.select("empty", "id", [1]) == []
    assert connector.delete("empty", "id", [1]) == 0


@pytest.mark.parametrize("name", ["../outside", "/etc", "users/../../outside", "", "a\x00b"])
def test_collection_names_cannot_leave_the_root(tmp_path: Path, name: str) -> None:
    connector = FilesConnector("lake", tmp_path / "lake")

    with pytest.raises(ConnectorError, match="is not a collection name"):
        connector.select(name, "id", [1])


def test_odd_column_names_are_quoted(tmp_path: Path) -> None:
    (tmp_path / "odd").mkdir()
    pq.write_table(pa.table({'we"ird': [1, 2], "x) OR (1=1": ["a", "b"]}), tmp_path / "odd" / "p.parquet")
    connector = FilesConnector("lake", tmp_path)

    assert connector.select("odd", 'we"ird', [2]) == [{'we"ird': 2, "x) OR (1=1": "b"}]
    with pytest.raises(ConnectorError, match="no column"):
        connector.select("odd", '"we""ird" = 1 OR 1=1 OR "x', [1])
