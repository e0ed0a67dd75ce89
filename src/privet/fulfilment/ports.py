"""What fulfilment needs from the places data lives. One small Protocol; connectors implement it.

Rows are plain mappings of column name to value. Every call is batched: a list of key values per collection,
never one call per row. Connectors parameterise every query and never log connection secrets.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

Row = Mapping[str, Any]


class ColumnType(StrEnum):
    """Coarse column types, enough to check a dataset against the live schema and pick a masking strategy."""

    TEXT = "text"
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    BINARY = "binary"
    JSON = "json"
    OTHER = "other"


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool = True
    max_length: int | None = None


@dataclass(frozen=True)
class Update:
    """New values for the row whose key column equals `key`."""

    key: Any
    values: Mapping[str, Any]


class ConnectorError(RuntimeError):
    """A failure reaching or changing a system; the message names the system and never holds a secret."""


class Connector(Protocol):
    name: str  # the system key of the manifest this connector serves
    # Records per checkpointed batch of a bulk run (retention apply) that suit this store; None: all in one batch,
    # for a store where every batch rewrites whole files.
    batch_records: int | None

    def describe(self, collection: str) -> dict[str, Column] | None:
        """The live columns of a collection, or None when it does not exist (or, for a manual system, is unknown)."""
        ...

    def select(
        self, collection: str, field: str, values: Sequence[Any], columns: Sequence[str] | None = None
    ) -> list[Row]:
        """Rows whose `field` is one of `values` (one query per batch), with `columns` or all columns."""
        ...

    def count(self, collection: str, field: str, values: Sequence[Any]) -> int: ...

    def update(self, collection: str, key_field: str, updates: Sequence[Update]) -> int:
        """Apply each update to the row with that key; returns rows changed."""
        ...

    def update_all(self, collection: str, key_field: str, keys: Sequence[Any], values: Mapping[str, Any]) -> int:
        """Set the same `values` on every row whose key is one of `keys` (one statement per batch); rows changed."""
        ...

    def delete(self, collection: str, key_field: str, keys: Sequence[Any]) -> int: ...

    def transaction(self) -> AbstractContextManager[None]:
        """Everything inside commits together or not at all (a no-op where the system has no transactions)."""
        ...

    def close(self) -> None: ...


class ConnectorFactory(Protocol):
    """Builds a connector from settings (secrets come from settings or the environment, never the manifest)."""

    kind: str  # "sql", "files", "http", "manual"

    def __call__(self, system: str, config: Mapping[str, Any]) -> Connector: ...


def plain(values: Sequence[Any]) -> list[Any]:
    """Keys as a list of Python values: bulk engines hand NumPy arrays, which drivers do not take as parameters."""
    tolist = getattr(values, "tolist", None)
    return list(tolist()) if callable(tolist) else list(values)


def distinct(values: Sequence[Any]) -> list[Any]:
    """Each key once, in first-seen order, as Python values: a key repeated across batches would be counted (and
    returned) twice."""
    return list(dict.fromkeys(plain(values)))


def batched(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
