"""The DataKeyStore contract run against the in-memory store (the SQL stores run it in tests/store)."""

from __future__ import annotations

import pytest

from privet.crypto import DataKeyStore, MemoryDataKeyStore
from tests.crypto.keystore_contract import *  # noqa: F403 (the contract's tests, run here against this store)


@pytest.fixture
def store() -> DataKeyStore:
    return MemoryDataKeyStore()


def test_the_package_exports_what_it_lists() -> None:
    import privet.crypto
    from privet.crypto import envelope, fields, keys

    def defined_in(module: object) -> set[str]:
        own = vars(module)
        return {n for n, v in own.items() if n[0] != "_" and getattr(v, "__module__", None) == own["__name__"]}

    public = (
        defined_in(envelope) | defined_in(keys) | defined_in(fields) | {"FORMAT_VERSION", "ERASED", "SEALED_PREFIX"}
    )
    assert sorted(privet.crypto.__all__) == sorted(public)
