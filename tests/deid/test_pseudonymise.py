"""Pseudonyms: keyed, consistent across systems, separated by domain, rotatable."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privet.deid.pseudonymise import KeyRing, PseudonymError, Pseudonymiser, PseudonymKey, normalise

K1 = PseudonymKey("k1", b"\x01" * 32)
K2 = PseudonymKey("k2", b"\x02" * 32)
P = Pseudonymiser(KeyRing(K1))
TOKEN = re.compile(r"k1:[0-9a-f]{40}")


def test_token_shape() -> None:
    assert TOKEN.fullmatch(P.token("email", "alice@example.com"))


def test_tokens_are_hmac_sha256_of_domain_and_normalised_value() -> None:
    expected = hmac.new(b"\x01" * 32, b"privet.pseudonym.v1\x00email\x00alice@example.com", hashlib.sha256)
    assert P.token("email", " Alice@Example.com") == "k1:" + expected.hexdigest()[:40]


def test_batch_tokens_equal_single_tokens() -> None:
    values = ["a@b.c", "A@B.C", "x@y.z"]
    assert P.tokens("email", values) == [P.token("email", v) for v in values]


def test_two_systems_with_the_same_key_agree() -> None:
    crm = Pseudonymiser(KeyRing(PseudonymKey("k1", b"\x01" * 32)))
    warehouse = Pseudonymiser(KeyRing(PseudonymKey("k1", b"\x01" * 32), [K2]))
    assert crm.token("email", "alice@example.com") == warehouse.token("email", "alice@example.com")


def test_another_key_gives_unrelated_tokens() -> None:
    other = Pseudonymiser(KeyRing(PseudonymKey("k1", b"\x09" * 32)))
    assert other.token("email", "alice@example.com") != P.token("email", "alice@example.com")


def test_domains_are_separated() -> None:
    assert P.token("email", "alice") != P.token("name", "alice")


@pytest.mark.parametrize(
    ("domain", "a", "b"),
    [
        ("email", "Alice@Example.COM", "  alice@example.com\n"),
        ("phone", "+44 (20) 7946-0000", "+442079460000"),
        ("phone", "020 7946 0000", "02079460000"),
        ("name", "  Zoë ", "Zoe\u0308"),  # NFC: the composed and decomposed umlaut are one name
    ],
)
def test_normalisation_makes_equal_values_equal(domain: str, a: str, b: str) -> None:
    assert normalise(domain, a) == normalise(domain, b)
    assert P.token(domain, a) == P.token(domain, b)


@pytest.mark.parametrize(
    ("domain", "a", "b"),
    [
        ("phone", "+442079460000", "442079460000"),  # the + says it is international
        ("name", "Alice", "alice"),  # only emails ignore case
        ("customer_id", "a b", "ab"),
    ],
)
def test_normalisation_keeps_different_values_apart(domain: str, a: str, b: str) -> None:
    assert P.token(domain, a) != P.token(domain, b)


@given(st.text())
def test_tokens_are_consistent(value: str) -> None:
    assert P.token("email", value) == P.token("email", value)
    assert P.matches("email", P.token("email", value), value)


@given(
    st.sets(
        st.text(alphabet=st.characters(codec="utf-8"), min_size=1).map(lambda s: s.strip()), min_size=2, max_size=200
    )
)
def test_distinct_values_get_distinct_tokens(values: set[str]) -> None:
    normalised = {normalise("customer_id", v) for v in values}
    assert len({P.token("customer_id", v) for v in values}) == len(normalised)


def test_matches_rejects_other_values_and_tampered_tokens() -> None:
    token = P.token("email", "alice@example.com")
    assert not P.matches("email", token, "bob@example.com")
    assert not P.matches("phone", token, "alice@example.com")
    tampered = token[:-1] + ("a" if token[-1] != "a" else "b")
    assert not P.matches("email", tampered, "alice@example.com")


def test_rotation() -> None:
    old = P.token("email", "alice@example.com")
    rotated = Pseudonymiser(KeyRing(K2, [K1]))
    new = rotated.rotate("email", old, "alice@example.com")
    assert new.startswith("k2:") and new == rotated.token("email", "alice@example.com")
    assert rotated.matches("email", old, "alice@example.com")  # old tokens are still recognised
    assert rotated.matches("email", new, "alice@example.com")
    with pytest.raises(PseudonymError, match="was not made from this email value"):
        rotated.rotate("email", old, "bob@example.com")


def test_a_token_of_a_retired_key_is_reported() -> None:
    token = Pseudonymiser(KeyRing(K2)).token("email", "a@b.c")
    with pytest.raises(PseudonymError, match=r"made with key 'k2', which is not in the key ring \(k1\)"):
        P.matches("email", token, "a@b.c")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: PseudonymKey("k1", b"short"), "5-byte secret; use at least 32"),
        (lambda: PseudonymKey("k:1", b"\x00" * 32), "key id 'k:1'"),
        (lambda: KeyRing(K1, [PseudonymKey("k1", b"\x03" * 32)]), "must be distinct"),
        (lambda: P.token("E-mail", "x"), "domain 'E-mail'"),
        (lambda: P.matches("email", "not a token", "x"), "not a pseudonym token"),
    ],
)
def test_errors(make: object, message: str) -> None:
    with pytest.raises(PseudonymError, match=message):
        make()  # type: ignore[operator]


def test_the_secret_is_not_in_reprs() -> None:
    assert "\\x01" not in repr(K1) and "secret" not in repr(K1)
