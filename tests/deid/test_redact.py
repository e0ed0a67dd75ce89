"""Redaction: each operator, offsets through right-to-left replacement, and a report without the raw values."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from privet.deid.detection import Span
from privet.deid.detectors import detect_all
from privet.deid.redact import Hash, Mask, Pseudonymise, RedactionError, Replace, Replacement, redact

TEXT = "Card 4111 1111 1111 1111, mail anna@example.com, call +44 20 7946 0958."


def spans() -> list[Span]:
    return detect_all(TEXT)


def test_replace_puts_the_entity_name_in_place() -> None:
    result = redact(TEXT, spans(), Replace())
    assert result.text == "Card <CREDIT_CARD>, mail <EMAIL>, call <PHONE>."


def test_mask_keeps_separators_and_the_last_four_digits_of_cards_and_phones() -> None:
    result = redact(TEXT, spans(), Mask())
    assert result.text == "Card **** **** **** 1111, mail ****@*******.***, call +** ** **** 0958."


@pytest.mark.parametrize(
    ("mask", "expected"),
    [
        (Mask(char="#", keep_last={}), "####-####"),
        (Mask(keep_separators=False, keep_last={"CREDIT_CARD": 2}), "*******34"),
    ],
)
def test_mask_options(mask: Mask, expected: str) -> None:
    assert mask.apply("CREDIT_CARD", "1234-1234") == expected


def test_mask_needs_one_character() -> None:
    with pytest.raises(ValueError, match="one character"):
        Mask(char="**")


def test_hash_is_a_sha256_prefix_and_keyed_hash_an_hmac() -> None:
    value = "anna@example.com"
    assert Hash().apply("EMAIL", value) == hashlib.sha256(value.encode()).hexdigest()[:16]
    keyed = Hash(key=b"k" * 32, length=12, template="<{entity}:{digest}>")
    expected = hmac.new(b"k" * 32, value.encode(), hashlib.sha256).hexdigest()[:12]
    assert keyed.apply("EMAIL", value) == f"<EMAIL:{expected}>"
    assert Hash(key=b"other").apply("EMAIL", value) != Hash(key=b"k" * 32).apply("EMAIL", value)
    assert "k" * 32 not in repr(keyed)  # the key stays out of logs


def test_hash_length_is_bounded() -> None:
    with pytest.raises(ValueError, match="between 4 and 64"):
        Hash(length=2)


def test_pseudonymise_calls_the_token_function_with_entity_and_value() -> None:
    seen: list[tuple[str, str]] = []

    def token(entity: str, value: str) -> str:
        seen.append((entity, value))
        return f"{entity.lower()}-{len(seen)}"

    result = redact(TEXT, spans(), Pseudonymise(token))
    # right to left: the phone is replaced first
    assert seen == [
        ("PHONE", "+44 20 7946 0958"),
        ("EMAIL", "anna@example.com"),
        ("CREDIT_CARD", "4111 1111 1111 1111"),
    ]
    assert result.text == "Card credit_card-3, mail email-2, call phone-1."


def test_the_report_says_where_each_stand_in_is_without_the_values() -> None:
    result = redact(TEXT, spans(), Replace())
    assert result.replaced == (
        Replacement("CREDIT_CARD", 5, 24, 5, 18, "replace", "credit_card"),
        Replacement("EMAIL", 31, 47, 25, 32, "replace", "email"),
        Replacement("PHONE", 54, 70, 39, 46, "replace", "phone"),
    )
    for r in result.replaced:
        assert result.text[r.new_start : r.new_end] == f"<{r.entity}>"
    assert "anna" not in repr(result.replaced)


def test_per_entity_operators() -> None:
    result = redact(TEXT, spans(), Replace(), per_entity={"CREDIT_CARD": Mask()})
    assert result.text == "Card **** **** **** 1111, mail <EMAIL>, call <PHONE>."
    assert [r.operator for r in result.replaced] == ["mask", "replace", "replace"]


def test_no_spans_no_change() -> None:
    result = redact("nothing here", [], Replace())
    assert (result.text, result.replaced) == ("nothing here", ())


def test_overlapping_spans_are_refused_with_the_fix() -> None:
    overlapping = [Span(0, 5, "A", 1.0, "a"), Span(3, 8, "B", 1.0, "b")]
    with pytest.raises(RedactionError, match="overlap; resolve them first"):
        redact("0123456789", overlapping, Replace())


def test_spans_outside_the_text_are_refused() -> None:
    with pytest.raises(RedactionError, match="outside a text of 4"):
        redact("abcd", [Span(2, 9, "A", 1.0, "a")], Replace())
