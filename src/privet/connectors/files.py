"""Lake-style folders of Parquet or CSV files, read through DuckDB and rewritten file by file.

A collection is a folder `<root>/<collection>/` holding `*.parquet` (or `*.csv`) files, searched recursively, or a
single file `<root>/<collection>.parquet`. Partition folders (`country=DE/`) are plain folders here: every column
must be in the files themselves, since a rewrite only sees a file's content. Files and folders whose names start
with `.` or `_` are ignored (temporary files, `_SUCCESS` markers).

Reads are DuckDB queries with the file list and the keys as bound parameters, one query per batch of keys.
Changes rewrite only the files holding an affected row: the new file is written beside the old one, synced, and
moved over it with `os.replace`, so a reader sees either the old file or the new one, never half of either.
Parquet files keep their Arrow schema, metadata and compression; CSV files are rewritten with every value read as
text, so values nobody changed (leading zeros, dates, number formats) come back exactly as they were.

Transactions are best-effort. Inside `transaction()` changed tables wait in memory (so a delete and an update of
one file cost one write) and are staged as new files when a read needs them or the block ends (later reads and
changes inside the block see them); leaving the block normally moves them into place one by one, and an error
discards them. Memory therefore holds the affected files of one transaction: keep batches to what fits. So
a failure before the commit leaves every file untouched, but a crash during the commit can leave some files
replaced and others not: each replacement is atomic, the set is not.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from privet.fulfilment.ports import Column, ColumnType, ConnectorError, Row, Update, batched, distinct

Format = Literal["parquet", "csv"]
_FILE = "privet_source_file__"
# Parquet metadata names a column's codec; pyarrow's writer spells them its own way.
PARQUET_CODECS = {
    "UNCOMPRESSED": "none", "SNAPPY": "snappy", "GZIP": "gzip", "BROTLI": "brotli", "ZSTD": "zstd", "LZ4": "lz4",
    "LZ4_RAW": "lz4",
}  # fmt: skip  # the column DuckDB adds with each row's file name


class FilesConnector:
    """Not shared between threads while a transaction is open."""

    batch_records: int | None = None  # every batch rewrites each file it touches: one batch for the whole run

    def __init__(self, system: str, root: str | os.PathLike[str], format: Format = "parquet", batch_size: int = 1000):
        if format not in ("parquet", "csv"):
            raise ValueError(f"format must be parquet or csv, not {format!r}")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.name = system
        self.root = Path(root)
        self.format: Format = format
        self.batch_size = batch_size
        self._db = duckdb.connect()
        self._staged: dict[Path, Path] | None = None  # original file -> its staged replacement
        # Inside a transaction, changed tables wait in memory (original file -> table) until a read needs them on
        # disk or the transaction ends: several changes to one file cost one write.
        self._pending: dict[Path, pa.Table] | None = None

    def __repr__(self) -> str:
        return f"FilesConnector({self.name!r}, {str(self.root)!r}, format={self.format!r})"

    def describe(self, collection: str) -> dict[str, Column] | None:
        files = self._files(collection)
        if files is None:
            return None
        if not files:
            return {}
        with self._failing(f"describe {collection}"):
            if self.format == "parquet":
                schema = pa.unify_schemas([pq.read_schema(f) for f in files])
            else:
                schema = self._sql(f"SELECT * FROM {self._reader()} LIMIT 0", [_paths(files)]).to_arrow_table().schema
        nullable = self.format == "csv"  # a CSV file cannot say a column never holds nothing
        return {f.name: Column(f.name, arrow_type(f.type), nullable=nullable or bool(f.nullable)) for f in schema}

    def select(
        self, collection: str, field: str, values: Sequence[Any], columns: Sequence[str] | None = None
    ) -> list[Row]:
        files, known = self._collection(collection)
        names = list(known) if columns is None else list(columns)
        self._check(collection, known, [field, *names])
        if not files or len(values) == 0:
            return []
        files = self._flushed(collection, files)
        projection = ", ".join(_quote(n) for n in names)
        query = f"SELECT {projection} FROM {self._reader()} WHERE {_quote(field)} IN (SELECT unnest(?))"
        rows: list[Row] = []
        with self._failing(f"select from {collection}"):
            for batch in batched(distinct(values), self.batch_size):
                result = self._db.execute(query, [_paths(files), list(batch)])
                rows += [dict(zip(names, r, strict=True)) for r in result.fetchall()]
        return rows

    def count(self, collection: str, field: str, values: Sequence[Any]) -> int:
        files, known = self._collection(collection)
        self._check(collection, known, [field])
        if not files or len(values) == 0:
            return 0
        files = self._flushed(collection, files)
        query = f"SELECT count(*) FROM {self._reader()} WHERE {_quote(field)} IN (SELECT unnest(?))"
        total = 0
        with self._failing(f"count {collection}"):
            for batch in batched(distinct(values), self.batch_size):
                ((found,),) = self._db.execute(query, [_paths(files), list(batch)]).fetchall()
                total += int(found)
        return total

    def update(self, collection: str, key_field: str, updates: Sequence[Update]) -> int:
        files, known = self._collection(collection)
        latest = {u.key: u.values for u in updates if u.values}  # a key given twice: the last values win
        self._check(collection, known, [key_field, *(n for values in latest.values() for n in values)])
        if not files or not latest:
            return 0
        changes: dict[str, tuple[list[Any], list[Any]]] = {}  # column -> (keys, new values)
        for key, values in latest.items():
            for column, value in values.items():
                keys, new = changes.setdefault(column, ([], []))
                keys.append(key)
                new.append(value)

        def rewrite(table: Any) -> tuple[Any, int]:
            position = table.column(key_field)
            for column, (keys, new) in changes.items():
                at = pc.index_in(position, value_set=self._array(keys, position.type))
                index = table.schema.get_field_index(column)
                replaced = pc.take(self._array(new, table.schema.field(index).type), at)
                table = table.set_column(
                    index, table.schema.field(index), pc.if_else(pc.is_valid(at), replaced, table.column(index))
                )
            return table, _matches(position, self._array(list(latest), position.type))

        return self._rewrite(collection, files, key_field, list(latest), rewrite)

    def update_all(self, collection: str, key_field: str, keys: Sequence[Any], values: Mapping[str, Any]) -> int:
        """The same values on every row holding one of `keys`: one rewrite of each affected file."""
        files, known = self._collection(collection)
        self._check(collection, known, [key_field, *values])
        if not files or len(keys) == 0 or not values:
            return 0
        matches = self._matcher(keys)

        def rewrite(table: Any) -> tuple[Any, int]:
            hit = matches(table.column(key_field))
            for column, value in values.items():
                index = table.schema.get_field_index(column)
                kind = table.schema.field(index).type
                table = table.set_column(
                    index, table.schema.field(index), pc.if_else(hit, pa.scalar(value, kind), table.column(index))
                )
            return table, int(pc.sum(hit).as_py() or 0)

        return self._rewrite(collection, files, key_field, keys, rewrite)

    def delete(self, collection: str, key_field: str, keys: Sequence[Any]) -> int:
        files, known = self._collection(collection)
        self._check(collection, known, [key_field])
        if not files or len(keys) == 0:
            return 0
        matches = self._matcher(keys)

        def rewrite(table: Any) -> tuple[Any, int]:
            doomed = matches(table.column(key_field))
            return table.filter(pc.invert(doomed)), int(pc.sum(doomed).as_py() or 0)

        return self._rewrite(collection, files, key_field, keys, rewrite)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Stage every rewrite, then move the files into place one by one (see the module's note)."""
        if self._staged is not None:
            yield
            return
        staged: dict[Path, Path] = {}
        self._staged, self._pending = staged, {}
        try:
            yield
            self._flush()
        except BaseException:
            for temporary in staged.values():
                temporary.unlink(missing_ok=True)
            raise
        finally:
            self._staged, self._pending = None, None
        self._commit(staged)

    def _flush(self) -> None:
        """Write the tables waiting in memory to staged files beside their originals."""
        assert self._staged is not None and self._pending is not None
        targets = {o: o.with_name(f".{o.name}.{uuid.uuid4().hex}.tmp") for o in self._pending}
        # Files are independent and the Parquet writer releases the GIL: write them side by side (CSV goes through
        # the one DuckDB connection, which takes one call at a time).
        workers = max(1, min(len(targets), os.cpu_count() or 1)) if self.format == "parquet" else 1
        with ThreadPoolExecutor(max_workers=workers) as pool:
            written = [pool.submit(self._write, table, targets[original], original)
                       for original, table in self._pending.items()]  # fmt: skip
        try:
            for done in written:
                done.result()
        except BaseException:
            for temporary in targets.values():
                temporary.unlink(missing_ok=True)
            raise
        for original, temporary in targets.items():
            previous = self._staged.get(original)
            self._staged[original] = temporary
            if previous is not None:
                previous.unlink(missing_ok=True)
        self._pending.clear()

    def _flushed(self, collection: str, files: list[Path]) -> list[Path]:
        """The collection's files with every pending change on disk, for a query that reads them."""
        if not self._pending:
            return files
        self._flush()
        return self._files(collection) or []

    def close(self) -> None:
        self._db.close()

    def _commit(self, staged: dict[Path, Path]) -> None:
        done: list[Path] = []
        try:
            for original, temporary in staged.items():
                temporary.replace(original)  # os.replace: atomic on one file system
                done.append(original)
            for folder in {p.parent for p in done}:
                _sync_folder(folder)
        except OSError as exc:
            for original, temporary in staged.items():
                if original not in done:
                    temporary.unlink(missing_ok=True)
            raise ConnectorError(
                f"{self.name}: commit failed after replacing {len(done)} of {len(staged)} files: {exc.strerror}"
            ) from exc

    def _rewrite(self, collection: str, files: list[Path], key_field: str, keys: Sequence[Any], change: Any) -> int:
        """Apply `change` (table -> (new table, rows affected)) to the files that hold one of `keys`."""
        with self.transaction(), self._failing(f"change {collection}"):
            assert self._staged is not None and self._pending is not None
            originals = {staged: original for original, staged in self._staged.items()}
            current = {f: originals.get(f, f) for f in files}  # the file to read -> the file it replaces
            waiting = {f for f, original in current.items() if original in self._pending}
            affected = self._holding([f for f in current if f not in waiting], key_field, keys) | waiting
            pending = self._pending

            def one(path: Path) -> tuple[Path, Any, int]:
                original = current[path]
                return (original, *change(pending[original] if original in pending else self._read(path)))

            # Parquet files are read and changed side by side (Arrow releases the GIL); CSV goes through the one
            # DuckDB connection.
            workers = max(1, min(len(affected), os.cpu_count() or 1)) if self.format == "parquet" else 1
            with ThreadPoolExecutor(max_workers=workers) as pool:
                changed = list(pool.map(one, sorted(affected)))
            total = 0
            for original, table, count in changed:
                if count:
                    pending[original] = table
                    total += count
            return total

    def _holding(self, files: list[Path], key_field: str, keys: Sequence[Any]) -> set[Path]:
        """The files holding any of `keys`. Parquet: each file's key column read on its own, side by side, and
        matched like a rewrite matches (a bitmap for integer keys: no hash table of millions of keys is built).
        CSV: one scan of the key column, the keys joined as an Arrow table."""
        if not files:
            return set()
        if self.format == "parquet":
            matches = self._matcher(keys)

            def holds(path: Path) -> bool:
                with pq.ParquetFile(path) as file:  # opened once: its schema, then the key column
                    if key_field not in file.schema_arrow.names:
                        return False
                    return bool(pc.any(matches(file.read(columns=[key_field]).column(0))).as_py())

            with ThreadPoolExecutor(max_workers=max(1, min(len(files), os.cpu_count() or 1))) as pool:
                return {f for f, held in zip(files, pool.map(holds, files), strict=True) if held}
        select = f"SELECT DISTINCT {_FILE} FROM {self._reader(raw=True)} WHERE {_quote(key_field)} IN"
        try:
            wanted = pa.table({"k": pa.array(self._keys(distinct(keys)))})
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # keys of mixed types: ask batch by batch, as values
            query = f"{select} (SELECT unnest(?))"
            found: set[Path] = set()
            for batch in batched(distinct(keys), self.batch_size):
                found |= {Path(r[0]) for r in self._db.execute(query, [_paths(files), self._keys(batch)]).fetchall()}
            return found
        self._db.register("privet_keys__", wanted)
        try:
            rows = self._db.execute(f"{select} (SELECT k FROM privet_keys__)", [_paths(files)]).fetchall()
            return {Path(r[0]) for r in rows}
        finally:
            self._db.unregister("privet_keys__")

    def _read(self, path: Path) -> Any:
        if self.format == "parquet":
            return pq.read_table(path)
        return self._sql(f"SELECT * FROM {self._reader(raw=True, named=False)}", [str(path)]).to_arrow_table()

    def _write(self, table: Any, target: Path, like: Path) -> None:
        if self.format == "parquet":
            metadata = pq.ParquetFile(like).metadata
            codec = metadata.row_group(0).column(0).compression if metadata.num_row_groups else "SNAPPY"
            with target.open("wb") as out:
                pq.write_table(table, out, compression=PARQUET_CODECS.get(codec, "snappy"))
                out.flush()
                os.fsync(out.fileno())
            return
        ((delimiter,),) = self._db.execute("SELECT Delimiter FROM sniff_csv(?)", [str(like)]).fetchall()
        self._db.register("privet_rewrite__", table)
        try:
            options = f"HEADER, DELIMITER {_literal(delimiter or ',')}"
            self._db.execute(f"COPY privet_rewrite__ TO {_literal(str(target))} ({options})")
        finally:
            self._db.unregister("privet_rewrite__")
        with target.open("rb") as written:
            os.fsync(written.fileno())

    def _reader(self, raw: bool = False, named: bool = True) -> str:
        """The table function over the file list (bound as the first parameter).

        `raw` reads CSV values as text, as rewrites do, and adds the file name column.
        """
        extra = f", filename={_literal(_FILE)}" if raw and named else ""
        if self.format == "parquet":
            return f"read_parquet(?, union_by_name=true, hive_partitioning=false{extra})"
        text = ", all_varchar=true" if raw else ""
        return f"read_csv(?, header=true, union_by_name=true, hive_partitioning=false{text}{extra})"

    def _keys(self, keys: Sequence[Any]) -> list[Any]:
        return [_text(k) for k in keys] if self.format == "csv" else list(keys)

    def _matcher(self, keys: Sequence[Any]) -> Any:
        """column -> which of its rows hold one of `keys`, built once for every file of a call. Integer keys in a
        range of up to 64 M values use a bitmap (one array index per row); others a hash set per key type."""
        ints = np.asarray(keys) if isinstance(keys, np.ndarray) and keys.dtype.kind in "iu" else None
        given = None if ints is not None else distinct(keys)
        if ints is None and given and all(type(k) is int for k in given):
            ints = np.asarray(given, dtype=np.int64)
        bitmap: np.ndarray | None = None
        low = 0
        if self.format == "parquet" and ints is not None and len(ints):
            low, high = int(ints.min()), int(ints.max())
            if high - low < 1 << 26:
                bitmap = np.zeros(high - low + 1, dtype=bool)
                bitmap[ints.astype(np.int64) - low] = True
        made: dict[Any, Any] = {}

        def matches(column: Any) -> Any:
            if bitmap is not None and pa.types.is_integer(column.type):
                values = column.fill_null(low - 1).to_numpy(zero_copy_only=False).astype(np.int64) - low
                inside = (values >= 0) & (values < len(bitmap))
                hit = np.zeros(len(values), dtype=bool)
                hit[inside] = bitmap[values[inside]]
                return pa.array(hit)
            if column.type not in made:
                made[column.type] = self._array(given if given is not None else distinct(keys), column.type)
            return pc.is_in(column, value_set=made[column.type])

        return matches

    def _array(self, values: Sequence[Any], kind: Any) -> Any:
        return pa.array(self._keys(values), type=kind)

    def _sql(self, query: str, params: list[Any]) -> Any:
        return self._db.sql(query, params=params)

    def _collection(self, collection: str) -> tuple[list[Path], dict[str, Column]]:
        files = self._files(collection)
        known = self.describe(collection)
        if files is None or known is None:
            raise ConnectorError(f"{self.name}: there is no collection {collection!r} under {self.root}")
        return files, known

    def _check(self, collection: str, known: Mapping[str, Column], names: Sequence[str]) -> None:
        if not known:
            return  # an empty folder: nothing to read, nothing to check against
        missing = [n for n in dict.fromkeys(names) if n not in known]
        if missing:
            raise ConnectorError(
                f"{self.name}: collection {collection!r} has no column {', '.join(map(repr, missing))}"
            )

    def _files(self, collection: str) -> list[Path] | None:
        parts = Path(collection).parts
        if not collection or "\x00" in collection or Path(collection).is_absolute() or ".." in parts:
            raise ConnectorError(f"{self.name}: {collection!r} is not a collection name")
        folder = self.root / collection
        single = folder.with_name(f"{folder.name}.{self.format}")
        if folder.is_dir():
            found = [
                p
                for p in folder.rglob(f"*.{self.format}")
                if p.is_file() and not any(part[0] in "._" for part in p.relative_to(folder).parts)
            ]
        elif single.is_file():
            found = [single]
        else:
            return None
        staged = self._staged or {}
        return sorted(staged.get(p, p) for p in found)

    @contextlib.contextmanager
    def _failing(self, operation: str) -> Iterator[None]:
        try:
            yield
        except ConnectorError:
            raise
        except (duckdb.Error, pa.ArrowException, OSError, ValueError, TypeError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise ConnectorError(f"{self.name}: {operation} failed: {type(exc).__name__}: {reason}") from exc


def arrow_type(kind: Any) -> ColumnType:
    checks = (
        (pa.types.is_boolean, ColumnType.BOOLEAN),
        (pa.types.is_integer, ColumnType.INTEGER),
        (pa.types.is_floating, ColumnType.FLOAT),
        (pa.types.is_decimal, ColumnType.FLOAT),
        (pa.types.is_timestamp, ColumnType.DATETIME),
        (pa.types.is_date, ColumnType.DATE),
        (pa.types.is_string, ColumnType.TEXT),
        (pa.types.is_large_string, ColumnType.TEXT),
        (pa.types.is_binary, ColumnType.BINARY),
        (pa.types.is_large_binary, ColumnType.BINARY),
        (pa.types.is_fixed_size_binary, ColumnType.BINARY),
        (pa.types.is_struct, ColumnType.JSON),
        (pa.types.is_list, ColumnType.JSON),
        (pa.types.is_map, ColumnType.JSON),
    )
    for check, mapped in checks:
        if check(kind):
            return mapped
    return ColumnType.OTHER


def _matches(column: Any, keys: Any) -> int:
    return int(pc.sum(pc.is_in(column, value_set=keys)).as_py() or 0)


def _text(value: Any) -> str | None:
    """A value as CSV text, the way DuckDB writes it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _paths(files: Sequence[Path]) -> list[str]:
    return [str(f) for f in files]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sync_folder(folder: Path) -> None:
    """Make the renames themselves durable."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class FilesConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["files"] = "files"
    root: str
    format: Format = "parquet"
    batch_size: int = Field(default=1000, ge=1)


def from_config(system: str, config: Mapping[str, Any]) -> FilesConnector:
    settings = FilesConfig.model_validate(config)
    return FilesConnector(system, settings.root, format=settings.format, batch_size=settings.batch_size)
