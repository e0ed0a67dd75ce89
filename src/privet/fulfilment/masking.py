"""Erasure strategies: how one value is made to say nothing about a person any more.

Each strategy is a small class with a `name` and a frozen, typed configuration, held by one registry. A strategy
that cannot write into a column, or cannot rewrite a value, raises MaskingError: nothing is ever skipped quietly,
because a request that ends "complete" with nothing erased is worse than one that stops and says why.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import string
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from privet.fulfilment.graph import FieldNode, under
from privet.fulfilment.ports import Column, ColumnType

ConfigT = TypeVar("ConfigT")


class MaskingError(ValueError):
    """A strategy cannot erase this value or write into this column; the message names the fix."""


class MaskingStrategy(ABC, Generic[ConfigT]):
    name: ClassVar[str]
    config_type: ClassVar[type[Any]]
    deletes_row: ClassVar[bool] = False  # the whole row goes; no value is rewritten

    def __init__(self, config: ConfigT | None = None) -> None:
        self.config: ConfigT = config if config is not None else self.config_type()

    def check(self, column: Column) -> None:
        """Raise MaskingError when this strategy can never write into `column` (before anything is changed)."""

    @abstractmethod
    def mask(self, value: Any, column: Column, key: bytes | None) -> Any:
        """The erased value. A NULL stays NULL: it says nothing about anyone."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"


StrategyType = type[MaskingStrategy[Any]]
REGISTRY: dict[str, StrategyType] = {}

# Names other tools (Fides datasets among them) give the same strategies.
ALIASES: dict[str, str] = {
    "null_rewrite": "null",
    "string_rewrite": "fixed",
    "random_string_rewrite": "random",
    "hash": "hmac",
    "delete": "delete_row",
}


def register(cls: StrategyType) -> StrategyType:
    if cls.name in REGISTRY:
        raise ValueError(f"a masking strategy named {cls.name!r} is already registered")
    REGISTRY[cls.name] = cls
    return cls


def make_strategy(name: str, options: Mapping[str, Any] | None = None) -> MaskingStrategy[Any]:
    cls = REGISTRY.get(ALIASES.get(name, name))
    if cls is None:
        known = ", ".join(sorted(REGISTRY))
        raise MaskingError(f"no masking strategy {name!r}; use one of {known}")
    try:
        return cls(cls.config_type(**(options or {})))
    except TypeError as exc:
        raise MaskingError(f"masking strategy {cls.name!r}: bad options {dict(options or {})!r} ({exc})") from None


def mask_value(strategy: MaskingStrategy[Any] | str, value: Any, column: Column, key: bytes | None = None) -> Any:
    chosen = make_strategy(strategy) if isinstance(strategy, str) else strategy
    chosen.check(column)
    return chosen.mask(value, column, key)


def _where(column: Column) -> str:
    return f"column {column.name!r} ({column.type.value}{', NOT NULL' if not column.nullable else ''})"


@dataclass(frozen=True, slots=True)
class NoConfig:
    pass


@register
class Null(MaskingStrategy[NoConfig]):
    name = "null"
    config_type = NoConfig

    def check(self, column: Column) -> None:
        if not column.nullable:
            raise MaskingError(f"null cannot erase {_where(column)}; give the field masking: fixed, hmac or random")

    def mask(self, value: Any, column: Column, key: bytes | None) -> Any:
        return None


@dataclass(frozen=True, slots=True)
class FixedConfig:
    """The value written for each column type (a column of another type cannot take a fixed value)."""

    text: str = "[erased]"
    integer: int = 0
    number: float = 0.0
    boolean: bool = False
    date: dt.date = dt.date(1970, 1, 1)
    datetime: dt.datetime = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    binary: bytes = b""
    json: Any = field(default_factory=dict)


_FIXED: dict[ColumnType, Callable[[FixedConfig], Any]] = {
    ColumnType.TEXT: lambda c: c.text,
    ColumnType.INTEGER: lambda c: c.integer,
    ColumnType.FLOAT: lambda c: c.number,
    ColumnType.BOOLEAN: lambda c: c.boolean,
    ColumnType.DATE: lambda c: c.date,
    ColumnType.DATETIME: lambda c: c.datetime,
    ColumnType.BINARY: lambda c: c.binary,
    ColumnType.JSON: lambda c: c.json,
}


@register
class Fixed(MaskingStrategy[FixedConfig]):
    name = "fixed"
    config_type = FixedConfig

    def check(self, column: Column) -> None:
        pick = _FIXED.get(column.type)
        if pick is None:
            raise MaskingError(f"fixed has no value for {_where(column)}; give the field a data_type")
        value = pick(self.config)
        if column.max_length is not None and isinstance(value, str | bytes) and len(value) > column.max_length:
            raise MaskingError(
                f"fixed value {value!r} is longer than {_where(column)} allows ({column.max_length}); configure a"
                " shorter one"
            )

    def mask(self, value: Any, column: Column, key: bytes | None) -> Any:
        return None if value is None else _FIXED[column.type](self.config)


@dataclass(frozen=True, slots=True)
class HmacConfig:
    pass  # the key is passed in by the caller (per workspace or per subject), never configured here


@register
class Hmac(MaskingStrategy[HmacConfig]):
    """Keyed HMAC-SHA256: the same value always becomes the same text, so keys still join across collections."""

    name = "hmac"
    config_type = HmacConfig

    def check(self, column: Column) -> None:
        if column.type not in (ColumnType.TEXT, ColumnType.BINARY):
            raise MaskingError(f"hmac writes text or bytes, not into {_where(column)}; use null, fixed or random")
        if column.max_length is not None and column.max_length < 1:
            raise MaskingError(f"hmac cannot fit into {_where(column)} of length {column.max_length}")

    def mask(self, value: Any, column: Column, key: bytes | None) -> Any:
        if not key:
            raise MaskingError("hmac needs a secret key; configure the masking key in the workspace settings")
        if value is None:
            return None
        if isinstance(value, bytes):
            data = value
        elif isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            data = str(value).encode()
        else:
            raise MaskingError(f"hmac hashes text, bytes or integers, not {type(value).__name__} in {_where(column)}")
        digest = hmac.new(key, data, hashlib.sha256)
        out: str | bytes = digest.hexdigest() if column.type is ColumnType.TEXT else digest.digest()
        return out[: column.max_length] if column.max_length is not None else out


@dataclass(frozen=True, slots=True)
class RandomConfig:
    length: int = 16  # characters or bytes, cut to the column's max length
    upper: int = 2**31 - 1  # integers are drawn from 0 .. upper-1
    alphabet: str = string.ascii_letters + string.digits


@register
class Random(MaskingStrategy[RandomConfig]):
    name = "random"
    config_type = RandomConfig

    def check(self, column: Column) -> None:
        if column.type not in (ColumnType.TEXT, ColumnType.INTEGER, ColumnType.BINARY):
            raise MaskingError(f"random writes text, integers or bytes, not into {_where(column)}; use null or fixed")

    def mask(self, value: Any, column: Column, key: bytes | None) -> Any:
        if value is None:
            return None
        if column.type is ColumnType.INTEGER:
            return secrets.randbelow(self.config.upper)
        length = min(self.config.length, column.max_length or self.config.length)
        if column.type is ColumnType.BINARY:
            return secrets.token_bytes(length)
        return "".join(secrets.choice(self.config.alphabet) for _ in range(length))


@register
class DeleteRow(MaskingStrategy[NoConfig]):
    name = "delete_row"
    config_type = NoConfig
    deletes_row = True

    def mask(self, value: Any, column: Column, key: bytes | None) -> Any:
        raise MaskingError(f"delete_row removes the whole row; it rewrites no value ({_where(column)})")


# The default strategy by data category, most specific prefix first: (where the column takes NULL, where it does
# not). Contact details, names and free text are blanked; identifiers are keyed hashes so that collections still
# join on them after erasure; everything else is NULL, and a NOT NULL column then needs an explicit `masking:`.
CATEGORY_DEFAULTS: tuple[tuple[str, str, str], ...] = (
    ("user.contact.preferences", "null", "null"),
    ("user.contact", "null", "fixed"),
    ("user.name", "null", "fixed"),
    ("user.content", "null", "fixed"),
    ("user.account.username", "hmac", "hmac"),
    ("user.unique_id", "hmac", "hmac"),
    ("user.device.device_id", "hmac", "hmac"),
    ("user.device.cookie_id", "hmac", "hmac"),
    ("user.device.serial_number", "hmac", "hmac"),
    ("user.device.mac_address", "hmac", "hmac"),
    ("user.device.ip_address", "hmac", "hmac"),
    ("user.government_id", "hmac", "hmac"),
)
FALLBACK = "null"

# The column a manifest `data_type` stands for, when the live schema is not known.
DATA_TYPES: dict[str, ColumnType] = {
    "string": ColumnType.TEXT,
    "text": ColumnType.TEXT,
    "integer": ColumnType.INTEGER,
    "int": ColumnType.INTEGER,
    "float": ColumnType.FLOAT,
    "decimal": ColumnType.FLOAT,
    "number": ColumnType.FLOAT,
    "boolean": ColumnType.BOOLEAN,
    "bool": ColumnType.BOOLEAN,
    "date": ColumnType.DATE,
    "timestamp": ColumnType.DATETIME,
    "datetime": ColumnType.DATETIME,
    "binary": ColumnType.BINARY,
    "bytes": ColumnType.BINARY,
    "object": ColumnType.JSON,
    "array": ColumnType.JSON,
    "json": ColumnType.JSON,
}


@dataclass(frozen=True, slots=True)
class Choice:
    strategy: str
    why: str


def column_for(fld: FieldNode, live: Column | None = None) -> Column:
    """The live column when the connector described it, else what the manifest says (nullable, by data_type)."""
    if live is not None:
        return live
    kind = DATA_TYPES.get((fld.data_type or "").lower(), ColumnType.OTHER)
    return Column(fld.path, kind, nullable=True, max_length=fld.length)


def choose_strategy(fld: FieldNode, column: Column) -> Choice:
    """The field's own `masking`, else the default of its most specific category, else null."""
    if fld.masking:
        name = ALIASES.get(fld.masking, fld.masking)
        if name not in REGISTRY:
            raise MaskingError(f"field {fld.path!r} asks for masking {fld.masking!r}; use one of {sorted(REGISTRY)}")
        return Choice(name, f"the field says masking: {fld.masking}")
    best: tuple[int, str, str] | None = None
    for category in fld.categories:
        for prefix, when_nullable, when_not in CATEGORY_DEFAULTS:
            if under(category, prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), prefix, when_nullable if column.nullable else when_not)
    if best is not None:
        return Choice(best[2], f"default for {best[1]}")
    return Choice(FALLBACK, "default")
