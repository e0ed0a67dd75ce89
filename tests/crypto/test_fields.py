"""Sealed field values: text a column can hold, bound to the person and the field; rows opened for an access package."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from privet.crypto import (
    ERASED,
    SEALED_PREFIX,
    DecryptionFailed,
    KeyShredded,
    LocalKek,
    MemoryDataKeyStore,
    ShredReceipt,
    SubjectKey,
    encrypted_fields,
    field_aad,
    is_sealed,
    open_rows,
    open_subject,
    seal,
    sealed_blob,
    shred,
    unseal,
)
from privet.manifest.datasets import Dataset

AT = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
KEK = LocalKek("kek-1", bytes(range(32)))
AAD = field_aad("crm.customers", "phone")


@pytest.fixture
def store() -> MemoryDataKeyStore:
    return MemoryDataKeyStore()


def key(store: MemoryDataKeyStore, subject: str = "alice") -> SubjectKey:
    return open_subject(store, KEK, subject, create=True)


@pytest.mark.parametrize(
    ("value", "back"),
    [
        ("+44 20 7946 0000", "+44 20 7946 0000"),
        ("Zoë 🐦", "Zoë 🐦"),
        (42, 42),
        (2.5, 2.5),
        (True, True),
        ({"city": "Oslo", "zip": "0150"}, {"city": "Oslo", "zip": "0150"}),
        ([1, "a"], [1, "a"]),
        (dt.date(1990, 1, 2), "1990-01-02"),  # dates come back as their ISO text
    ],
)
def test_seal_round_trip(store: MemoryDataKeyStore, value: Any, back: Any) -> None:
    sealed = seal(key(store), value, AAD)
    assert sealed.startswith(SEALED_PREFIX) and is_sealed(sealed)
    assert unseal(key(store), sealed, AAD) == back
    assert unseal(key(store), sealed_blob(sealed), AAD) == back  # a binary column may hold the ciphertext itself


def test_a_value_moved_to_another_field_does_not_open(store: MemoryDataKeyStore) -> None:
    sealed = seal(key(store), "x", AAD)
    with pytest.raises(DecryptionFailed, match="different aad"):
        unseal(key(store), sealed, field_aad("crm.customers", "email"))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("+44 20 7946 0000", "does not start with 'privet:enc:'"),
        (SEALED_PREFIX + "not base64!", "not valid base64"),
        (SEALED_PREFIX + "AAAA", "too short"),
    ],
)
def test_malformed_sealed_values_fail_clearly(store: MemoryDataKeyStore, value: str, message: str) -> None:
    with pytest.raises(DecryptionFailed, match=message):
        unseal(key(store), value, AAD)


def test_a_value_that_cannot_be_encrypted_is_refused(store: MemoryDataKeyStore) -> None:
    with pytest.raises(ValueError, match="a object value cannot be encrypted; give text, a number"):
        seal(key(store), object(), AAD)


def test_plain_values_are_not_sealed() -> None:
    assert not is_sealed("hello") and not is_sealed(None) and not is_sealed(3)
    assert is_sealed(b"\x01...")


def test_encrypted_fields_lists_marked_paths_nested_ones_included() -> None:
    crm = Dataset.model_validate(
        {
            "key": "crm",
            "system": "crm",
            "collections": {
                "customers": {
                    "fields": {
                        "id": {"primary_key": True},
                        "phone": {"encrypted": True},
                        "address": {"fields": {"street": {"encrypted": True}, "city": {}}},
                    }
                },
                "notes": {"fields": {"id": {}}},
            },
        }
    )
    assert encrypted_fields({"crm": crm}) == {"crm.customers": ("phone", "address.street")}


MARKED = {"crm.customers": ("phone", "address.street")}


def rows_of(k: SubjectKey) -> dict[str, list[dict[str, Any]]]:
    return {
        "crm.customers": [
            {
                "id": 1,
                "phone": seal(k, "+44 1", field_aad("crm.customers", "phone")),
                "address": {
                    "street": seal(k, "1 Main St", field_aad("crm.customers", "address.street")),
                    "city": "Oslo",
                },
            },
            {"id": 2, "phone": None, "address": None},  # null stays null; a missing object is no error
            {"id": 3, "phone": "+44 3 (written before encryption was turned on)", "address": {"city": "Bergen"}},
        ],
        "crm.notes": [{"id": 9}],
    }


def test_open_rows_decrypts_marked_fields_and_leaves_the_rest(store: MemoryDataKeyStore) -> None:
    k = key(store)
    rows = rows_of(k)
    calls: list[int] = []

    def opener() -> SubjectKey:
        calls.append(1)
        return k

    opened = open_rows(rows, MARKED, opener)
    assert opened["crm.customers"][0] == {"id": 1, "phone": "+44 1", "address": {"street": "1 Main St", "city": "Oslo"}}
    assert opened["crm.customers"][1:] == rows["crm.customers"][1:]
    assert opened["crm.notes"] == [{"id": 9}]
    assert calls == [1]  # one unwrap serves every value
    assert rows["crm.customers"][0]["address"]["street"].startswith(SEALED_PREFIX)  # the input is not changed
    assert open_rows({"crm.notes": [{"id": 9}]}, MARKED, lambda: pytest.fail("no sealed value, no key"))


def test_open_rows_after_the_shred_shows_the_marker(store: MemoryDataKeyStore) -> None:
    rows = rows_of(key(store))
    receipt = shred(store, "alice", AT).receipt
    with pytest.raises(KeyShredded):
        open_subject(store, KEK, "alice")
    opened = open_rows(rows, MARKED, lambda: receipt)
    assert opened["crm.customers"][0] == {"id": 1, "phone": ERASED, "address": {"street": ERASED, "city": "Oslo"}}
    assert ERASED == "erased (key destroyed)"


def test_open_rows_refuses_a_value_of_another_subject(store: MemoryDataKeyStore) -> None:
    rows = rows_of(key(store, "bob"))
    with pytest.raises(DecryptionFailed, match=r"crm.customers.phone: .*belongs to another subject"):
        open_rows(rows, MARKED, lambda: key(store, "alice"))
    receipt = shred(store, "alice", AT).receipt
    with pytest.raises(DecryptionFailed, match="not the shredded key of subject 'alice'"):
        open_rows(rows, MARKED, lambda: receipt)
    nobody = ShredReceipt("carol", None, None, AT)
    with pytest.raises(DecryptionFailed, match=r"\(none was ever made\): it belongs to another subject"):
        open_rows(rows, MARKED, lambda: nobody)
