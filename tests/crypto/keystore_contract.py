"""The DataKeyStore contract, as test functions: each implementation's test module imports them and gives a `store`
fixture (in memory in tests/crypto; SQLite and PostgreSQL in tests/store/test_data_keys.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from privet.crypto import DataKeyStore, KeyCensus, ShredOutcome, ShredReceipt, WrappedKey

AT = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


def key(subject: str, kek: str = "kek-1", key_id: str = "00" * 16, wrapped: bytes = b"w") -> WrappedKey:
    return WrappedKey(subject, key_id, kek, wrapped)


def test_put_stores_only_when_absent(store: DataKeyStore) -> None:
    first, second = key("a", wrapped=b"1"), key("a", wrapped=b"2")
    assert store.get("a") is None
    assert store.put(first) == first
    assert store.put(second) == first  # the first writer wins
    assert store.get("a") == first


def test_put_replaces_only_the_expected_entry(store: DataKeyStore) -> None:
    first, second, third = key("a", wrapped=b"1"), key("a", "kek-2", wrapped=b"2"), key("a", "kek-3", wrapped=b"3")
    store.put(first)
    assert store.put(second, replacing=first) == second
    assert store.put(third, replacing=first) == second  # stale expectation: nothing changes
    assert store.get("a") == second


def test_replacing_a_key_that_was_never_stored_is_refused(store: DataKeyStore) -> None:
    with pytest.raises(ValueError, match="subject 'ghost' has no data key to replace; put it without `replacing`"):
        store.put(key("ghost", "kek-2"), replacing=key("ghost"))


def test_destroy_leaves_a_receipt_and_is_idempotent(store: DataKeyStore) -> None:
    store.put(key("a"))
    first = store.destroy("a", AT)
    assert first == ShredOutcome(ShredReceipt("a", "00" * 16, "kek-1", AT), already=False)
    assert store.get("a") == first.receipt
    again = store.destroy("a", AT + dt.timedelta(hours=1))
    assert again == ShredOutcome(first.receipt, already=True)  # the first receipt, and word that it was done before
    assert store.put(key("a")) == first.receipt  # a shredded subject gets no new key
    assert store.put(key("a"), replacing=key("a")) == first.receipt


def test_destroy_without_a_key(store: DataKeyStore) -> None:
    assert store.destroy("b", AT) == ShredOutcome(ShredReceipt("b", None, None, AT), already=False)
    assert store.destroy("b", AT).already


def test_wrapped_by_lists_live_keys_of_one_kek_in_subject_order(store: DataKeyStore) -> None:
    for subject in ("d", "a", "c"):
        store.put(key(subject, "kek-1"))
    store.put(key("b", "kek-2"))
    store.destroy("c", AT)
    assert [k.subject_id for k in store.wrapped_by("kek-1")] == ["a", "d"]


def test_replace_many_stores_the_moves_whose_expectation_holds(store: DataKeyStore) -> None:
    a, b, c = key("a"), key("b"), key("c")
    for k in (a, b, c):
        store.put(k)
    store.destroy("c", AT)
    moved = [(a, key("a", "kek-2")), (b, key("b", "kek-2")), (c, key("c", "kek-2"))]
    assert store.replace_many(moved) == 2
    assert store.replace_many([]) == 0
    assert [k.subject_id for k in store.wrapped_by("kek-2")] == ["a", "b"]
    assert isinstance(store.get("c"), ShredReceipt)
    with pytest.raises(ValueError, match="each \\(old, new\\) pair must name the same subject id"):
        store.replace_many([(key("a", "kek-2"), key("b", "kek-3"))])


def test_census_counts_live_keys_per_kek_and_shredded_subjects(store: DataKeyStore) -> None:
    assert store.census() == KeyCensus({}, 0)
    for subject, kek in (("a", "kek-1"), ("b", "kek-1"), ("c", "kek-2")):
        store.put(key(subject, kek))
    store.destroy("b", AT)
    store.destroy("never-had-one", AT)
    assert store.census() == KeyCensus({"kek-1": 1, "kek-2": 1}, 2)


def test_a_receipt_digest_is_stable_and_covers_every_field() -> None:
    receipt = ShredReceipt("a", "00" * 16, "kek-1", AT)
    assert receipt.digest == ShredReceipt("a", "00" * 16, "kek-1", AT).digest
    assert len(receipt.digest) == 64
    assert receipt.digest != ShredReceipt("a", "00" * 16, "kek-1", AT + dt.timedelta(seconds=1)).digest
    assert receipt.digest != ShredReceipt("b", "00" * 16, "kek-1", AT).digest
