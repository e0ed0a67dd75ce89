"""Masking strategies: every built-in, the errors for what a strategy cannot do, and how a strategy is chosen."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import pytest

from privet.fulfilment.graph import FieldNode
from privet.fulfilment.masking import (
    REGISTRY,
    Choice,
    FixedConfig,
    MaskingError,
    MaskingStrategy,
    RandomConfig,
    choose_strategy,
    column_for,
    make_strategy,
    mask_value,
    register,
)
from privet.fulfilment.ports import Column, ColumnType

KEY = b"test-key"
TEXT = Column("c", ColumnType.TEXT)
TEXT_NOT_NULL = Column("c", ColumnType.TEXT, nullable=False)
INTEGER = Column("n", ColumnType.INTEGER)
INTEGER_NOT_NULL = Column("n", ColumnType.INTEGER, nullable=False)


def test_registry_holds_the_built_ins() -> None:
    assert sorted(REGISTRY) == ["delete_row", "fixed", "hmac", "null", "random"]
    assert all(cls.name == name for name, cls in REGISTRY.items())


@pytest.mark.parametrize(
    ("strategy", "value", "column", "expected"),
    [
        ("null", "ann@example.test", TEXT, None),
        ("null", 42, INTEGER, None),
        ("null_rewrite", "ann", TEXT, None),  # the name Fides datasets use
        ("fixed", "Ann Example", TEXT, "[erased]"),
        ("fixed", "Ann Example", TEXT_NOT_NULL, "[erased]"),
        ("fixed", 42, INTEGER_NOT_NULL, 0),
        ("fixed", 1.5, Column("f", ColumnType.FLOAT), 0.0),
        ("fixed", True, Column("b", ColumnType.BOOLEAN), False),
        ("fixed", dt.date(1990, 5, 17), Column("d", ColumnType.DATE), dt.date(1970, 1, 1)),
        (
            "fixed",
            dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
            Column("t", ColumnType.DATETIME),
            dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
        ),
        ("fixed", {"city": "Cork"}, Column("j", ColumnType.JSON), {}),
        ("fixed", b"\x01", Column("b", ColumnType.BINARY), b""),
        ("fixed", None, TEXT, None),  # a NULL says nothing about anyone
        ("hmac", "ann@example.test", TEXT, hmac.new(KEY, b"ann@example.test", hashlib.sha256).hexdigest()),
        ("hmac", 42, TEXT, hmac.new(KEY, b"42", hashlib.sha256).hexdigest()),
        ("hmac", b"raw", Column("b", ColumnType.BINARY), hmac.new(KEY, b"raw", hashlib.sha256).digest()),
        (
            "hmac",
            "ann@example.test",
            Column("c", ColumnType.TEXT, max_length=12),
            hmac.new(KEY, b"ann@example.test", hashlib.sha256).hexdigest()[:12],
        ),
        ("hmac", None, TEXT, None),
        ("random", None, TEXT, None),
    ],
)
def test_mask_value(strategy: str, value: Any, column: Column, expected: Any) -> None:
    assert mask_value(strategy, value, column, KEY) == expected


@pytest.mark.parametrize(
    ("strategy", "value", "column", "message"),
    [
        (
            "null",
            "ann",
            TEXT_NOT_NULL,
            "null cannot erase column 'c' (text, NOT NULL); give the field masking: fixed, hmac or random",
        ),
        ("hmac", 42, INTEGER, "hmac writes text or bytes, not into column 'n' (integer); use null, fixed or random"),
        ("hmac", {"a": 1}, TEXT, "hmac hashes text, bytes or integers, not dict in column 'c' (text)"),
        ("hmac", True, TEXT, "hmac hashes text, bytes or integers, not bool in column 'c' (text)"),
        (
            "hmac",
            "ann",
            Column("c", ColumnType.TEXT, max_length=0),
            "hmac cannot fit into column 'c' (text) of length 0",
        ),
        (
            "fixed",
            "Ann",
            Column("c", ColumnType.TEXT, max_length=4),
            "fixed value '[erased]' is longer than column 'c' (text) allows (4); configure a shorter one",
        ),
        (
            "fixed",
            "Ann",
            Column("c", ColumnType.OTHER),
            "fixed has no value for column 'c' (other); give the field a data_type",
        ),
        (
            "random",
            1.5,
            Column("f", ColumnType.FLOAT),
            "random writes text, integers or bytes, not into column 'f' (float); use null or fixed",
        ),
        ("delete_row", "Ann", TEXT, "delete_row removes the whole row; it rewrites no value (column 'c' (text))"),
        ("shred", "Ann", TEXT, "no masking strategy 'shred'; use one of delete_row, fixed, hmac, null, random"),
    ],
)
def test_mask_value_refuses(strategy: str, value: Any, column: Column, message: str) -> None:
    with pytest.raises(MaskingError) as caught:
        mask_value(strategy, value, column, KEY)
    assert str(caught.value) == message


def test_hmac_needs_a_key_and_depends_on_it() -> None:
    with pytest.raises(MaskingError, match="hmac needs a secret key"):
        mask_value("hmac", "ann", TEXT, None)
    assert mask_value("hmac", "ann", TEXT, b"one") != mask_value("hmac", "ann", TEXT, b"two")
    assert mask_value("hmac", "ann", TEXT, b"one") == mask_value("hmac", "ann", TEXT, b"one")


def test_random_writes_the_right_type() -> None:
    text = mask_value("random", "ann", TEXT, None)
    assert isinstance(text, str) and len(text) == 16 and text.isalnum()
    assert len(mask_value("random", "ann", Column("c", ColumnType.TEXT, max_length=5), None)) == 5
    number = mask_value("random", 7, INTEGER, None)
    assert isinstance(number, int) and 0 <= number < 2**31 - 1
    blob = mask_value("random", b"x", Column("b", ColumnType.BINARY), None)
    assert isinstance(blob, bytes) and len(blob) == 16
    small = make_strategy("random", {"length": 4, "alphabet": "x"})
    assert small.mask("ann", TEXT, None) == "xxxx"
    assert make_strategy("random").config == RandomConfig()


def test_configured_fixed_values() -> None:
    strategy = make_strategy("fixed", {"text": "deleted user", "integer": -1})
    assert strategy.config == FixedConfig(text="deleted user", integer=-1)
    assert mask_value(strategy, "Ann", TEXT, None) == "deleted user"
    assert mask_value(strategy, 5, INTEGER, None) == -1
    with pytest.raises(MaskingError, match=r"masking strategy 'fixed': bad options \{'colour': 'red'\}"):
        make_strategy("fixed", {"colour": "red"})


def test_delete_row_deletes_rows() -> None:
    assert make_strategy("delete_row").deletes_row
    assert not make_strategy("null").deletes_row


def test_register_adds_a_strategy_once() -> None:
    @dataclass(frozen=True)
    class UpperConfig:
        pass

    class Upper(MaskingStrategy[UpperConfig]):
        name = "test_upper"
        config_type = UpperConfig

        def mask(self, value: Any, column: Column, key: bytes | None) -> Any:
            return None if value is None else str(value).upper()

    register(Upper)
    try:
        assert mask_value("test_upper", "ann", TEXT) == "ANN"
        with pytest.raises(ValueError, match="already registered"):
            register(Upper)
    finally:
        del REGISTRY["test_upper"]


def node(*categories: str, masking: str | None = None, data_type: str | None = "string") -> FieldNode:
    return FieldNode("f", categories, masking=masking, data_type=data_type)


@pytest.mark.parametrize(
    ("fld", "column", "expected"),
    [
        (node("user.contact.email"), TEXT, Choice("null", "default for user.contact")),
        (node("user.contact.email"), TEXT_NOT_NULL, Choice("fixed", "default for user.contact")),
        (node("user.name.first"), TEXT_NOT_NULL, Choice("fixed", "default for user.name")),
        (node("user.content.chat_transcript"), TEXT_NOT_NULL, Choice("fixed", "default for user.content")),
        (node("user.unique_id.user_id"), TEXT_NOT_NULL, Choice("hmac", "default for user.unique_id")),
        (node("user.device.serial_number"), TEXT, Choice("hmac", "default for user.device.serial_number")),
        # the most specific prefix wins
        (node("user.contact.preferences"), TEXT_NOT_NULL, Choice("null", "default for user.contact.preferences")),
        (node("user.name", "user.unique_id"), TEXT, Choice("hmac", "default for user.unique_id")),
        (node("user.health_and_medical"), TEXT, Choice("null", "default")),
        (node(), INTEGER_NOT_NULL, Choice("null", "default")),
        (node("user.name", masking="hmac"), TEXT, Choice("hmac", "the field says masking: hmac")),
        (
            node("user.name", masking="random_string_rewrite"),
            TEXT,
            Choice("random", "the field says masking: random_string_rewrite"),
        ),
    ],
)
def test_choose_strategy(fld: FieldNode, column: Column, expected: Choice) -> None:
    assert choose_strategy(fld, column) == expected


def test_unknown_override_is_an_error() -> None:
    with pytest.raises(MaskingError, match="field 'f' asks for masking 'aes_encrypt'"):
        choose_strategy(node(masking="aes_encrypt"), TEXT)


def test_column_from_the_manifest_when_the_schema_is_unknown() -> None:
    assert column_for(FieldNode("f", (), data_type="integer")) == Column("f", ColumnType.INTEGER)
    assert column_for(FieldNode("f", (), data_type="string", length=20)) == Column("f", ColumnType.TEXT, max_length=20)
    assert column_for(FieldNode("f", (), data_type="timestamp")).type is ColumnType.DATETIME
    # No data_type and no live schema: the type is unknown, and hmac says so instead of skipping the field.
    unknown = column_for(FieldNode("f", ()))
    assert unknown.type is ColumnType.OTHER
    with pytest.raises(MaskingError):
        mask_value("hmac", "ann", unknown, KEY)
    live = Column("f", ColumnType.TEXT, nullable=False)
    assert column_for(FieldNode("f", (), data_type="integer"), live) is live
