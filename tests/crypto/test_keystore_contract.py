"""The DataKeyStore contract: every implementation (in memory here; SQL in the store tests) must pass it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from privet.crypto import DataKeyStore, MemoryDataKeyStore, ShredReceipt, WrappedKey

AT = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
STORES: list[Callable[[], DataKeyStore]] = [MemoryDataKeyStore]


@pytest.fixture(params=STORES, ids=lambda f: getattr(f, "__name__", "store"))
def store(request: pytest.FixtureRequest) -> DataKeyStore:
    make: Callable[[], DataKeyStore] = request.param
    return make()


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


def test_destroy_leaves_a_receipt_and_is_idempotent(store: DataKeyStore) -> None:
    store.put(key("a"))
    receipt = store.destroy("a", AT)
    assert receipt == ShredReceipt("a", "00" * 16, "kek-1", AT)
    assert store.get("a") == receipt
    assert store.destroy("a", AT + dt.timedelta(hours=1)) == receipt
    assert store.put(key("a")) == receipt  # a shredded subject gets no new key
    assert store.put(key("a"), replacing=key("a")) == receipt


def test_destroy_without_a_key(store: DataKeyStore) -> None:
    assert store.destroy("b", AT) == ShredReceipt("b", None, None, AT)


def test_wrapped_by_lists_live_keys_of_one_kek(store: DataKeyStore) -> None:
    store.put(key("a", "kek-1"))
    store.put(key("b", "kek-2"))
    store.put(key("c", "kek-1"))
    store.destroy("c", AT)
    assert [k.subject_id for k in store.wrapped_by("kek-1")] == ["a"]


def test_the_package_exports_what_it_lists() -> None:
    import privet.crypto
    from privet.crypto import envelope, keys

    def defined_in(module: object) -> set[str]:
        own = vars(module)
        return {n for n, v in own.items() if n[0] != "_" and getattr(v, "__module__", None) == own["__name__"]}

    public = defined_in(envelope) | defined_in(keys) | {"FORMAT_VERSION"}
    assert sorted(privet.crypto.__all__) == sorted(public)
