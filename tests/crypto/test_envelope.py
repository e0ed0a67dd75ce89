"""Envelope encryption: round trips, tamper detection, shredding, independent people, KEK rotation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privet.crypto import (
    FORMAT_VERSION,
    DecryptionFailed,
    KekRing,
    KeyShredded,
    KeyUnavailable,
    LocalKek,
    MemoryDataKeyStore,
    ShredOutcome,
    ShredReceipt,
    WrappedKey,
    decrypt_field,
    encrypt_field,
    key_id_of,
    open_subject,
    rewrap,
    shred,
)

AT = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
KEK = LocalKek("kek-1", bytes(range(32)))
AAD = b"crm.customers.phone"


@pytest.fixture
def store() -> MemoryDataKeyStore:
    return MemoryDataKeyStore()


@given(plaintext=st.binary(max_size=512), aad=st.binary(max_size=64))
def test_round_trip(plaintext: bytes, aad: bytes) -> None:
    store = MemoryDataKeyStore()
    blob = encrypt_field(store, KEK, "alice", plaintext, aad)
    assert blob[0] == FORMAT_VERSION
    assert decrypt_field(store, KEK, "alice", blob, aad) == plaintext


def test_format_is_version_key_id_nonce_ciphertext_tag(store: MemoryDataKeyStore) -> None:
    blob = encrypt_field(store, KEK, "alice", b"hello", AAD)
    stored = store.get("alice")
    assert isinstance(stored, WrappedKey)
    assert len(blob) == 1 + 16 + 12 + len(b"hello") + 16
    assert key_id_of(blob) == stored.key_id == blob[1:17].hex()
    assert stored.kek_id == "kek-1"
    assert b"\x00" * 32 not in stored.wrapped  # the data key is only ever stored wrapped


def test_same_plaintext_encrypts_differently_each_time(store: MemoryDataKeyStore) -> None:
    assert encrypt_field(store, KEK, "alice", b"x", AAD) != encrypt_field(store, KEK, "alice", b"x", AAD)


def flip(blob: bytes, at: int) -> bytes:
    return blob[:at] + bytes([blob[at] ^ 0x01]) + blob[at + 1 :]


@pytest.mark.parametrize(
    ("where", "error", "message"),
    [
        (0, DecryptionFailed, "format version 0"),
        (1, DecryptionFailed, "belongs to another subject, or its header was altered"),
        (20, DecryptionFailed, "failed authentication"),  # nonce
        (30, DecryptionFailed, "failed authentication"),  # ciphertext
        (-1, DecryptionFailed, "failed authentication"),  # tag
    ],
)
def test_a_flipped_byte_anywhere_is_detected(
    store: MemoryDataKeyStore, where: int, error: type[Exception], message: str
) -> None:
    blob = encrypt_field(store, KEK, "alice", b"+44 20 7946 0000", AAD)
    with pytest.raises(error, match=message):
        decrypt_field(store, KEK, "alice", flip(blob, where), AAD)


def test_every_single_byte_flip_is_detected(store: MemoryDataKeyStore) -> None:
    blob = encrypt_field(store, KEK, "alice", b"secret", AAD)
    for i in range(len(blob)):
        with pytest.raises(DecryptionFailed):
            decrypt_field(store, KEK, "alice", flip(blob, i), AAD)


def test_wrong_aad_fails_clearly(store: MemoryDataKeyStore) -> None:
    blob = encrypt_field(store, KEK, "alice", b"secret", b"crm.customers.phone")
    with pytest.raises(DecryptionFailed, match="different aad"):
        decrypt_field(store, KEK, "alice", blob, b"crm.customers.email")


@pytest.mark.parametrize("blob", [b"", b"\x01" * 10, bytes([FORMAT_VERSION]) + b"\x00" * 28])
def test_truncated_values_fail_clearly(store: MemoryDataKeyStore, blob: bytes) -> None:
    with pytest.raises(DecryptionFailed, match="too short"):
        decrypt_field(store, KEK, "alice", blob, AAD)


def test_shred_then_decrypt_fails_clearly(store: MemoryDataKeyStore) -> None:
    blob = encrypt_field(store, KEK, "alice", b"secret", AAD)
    copy_in_a_backup = bytes(blob)
    receipt = shred(store, "alice", AT).receipt
    assert receipt.subject_id == "alice" and receipt.kek_id == "kek-1" and receipt.key_id == key_id_of(blob)
    assert receipt.as_json()["shredded_at"] == "2025-03-01T12:00:00+00:00"
    with pytest.raises(
        KeyShredded,
        match=r"cannot decrypt for subject 'alice': their data key was shredded at 2025-03-01T12:00:00\+00:00",
    ) as caught:
        decrypt_field(store, KEK, "alice", copy_in_a_backup, AAD)
    assert caught.value.receipt == receipt


def test_a_shredded_subject_id_gets_no_new_key(store: MemoryDataKeyStore) -> None:
    encrypt_field(store, KEK, "alice", b"secret", AAD)
    shred(store, "alice", AT)
    with pytest.raises(KeyShredded, match="cannot encrypt for subject 'alice'"):
        encrypt_field(store, KEK, "alice", b"new data", AAD)


def test_shred_is_idempotent_and_works_without_a_key(store: MemoryDataKeyStore) -> None:
    first = shred(store, "bob", AT)
    assert first == ShredOutcome(ShredReceipt("bob", None, None, AT), already=False)
    assert shred(store, "bob", AT + dt.timedelta(days=1)) == ShredOutcome(first.receipt, already=True)
    with pytest.raises(KeyShredded):
        encrypt_field(store, KEK, "bob", b"x", AAD)


def test_shred_needs_an_aware_time(store: MemoryDataKeyStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        shred(store, "alice", dt.datetime(2025, 3, 1))


def test_two_persons_keys_are_independent(store: MemoryDataKeyStore) -> None:
    a = encrypt_field(store, KEK, "alice", b"alice's phone", AAD)
    b = encrypt_field(store, KEK, "bob", b"bob's phone", AAD)
    assert key_id_of(a) != key_id_of(b)
    with pytest.raises(DecryptionFailed, match="belongs to another subject"):
        decrypt_field(store, KEK, "bob", a, AAD)
    shred(store, "alice", AT)
    assert decrypt_field(store, KEK, "bob", b, AAD) == b"bob's phone"
    with pytest.raises(KeyShredded):
        decrypt_field(store, KEK, "alice", a, AAD)


def test_a_wrapped_key_cannot_be_moved_to_another_person(store: MemoryDataKeyStore) -> None:
    blob = encrypt_field(store, KEK, "alice", b"secret", AAD)
    alice = store.get("alice")
    assert isinstance(alice, WrappedKey)
    store.put(WrappedKey("mallory", alice.key_id, alice.kek_id, alice.wrapped))
    with pytest.raises(KeyUnavailable, match="cannot unwrap"):
        decrypt_field(store, KEK, "mallory", blob, AAD)


def test_unknown_subject_is_key_unavailable(store: MemoryDataKeyStore) -> None:
    blob = encrypt_field(store, KEK, "alice", b"secret", AAD)
    with pytest.raises(KeyUnavailable, match="no data key is stored for subject 'carol'"):
        decrypt_field(store, KEK, "carol", blob, AAD)


def test_missing_kek_is_key_unavailable(store: MemoryDataKeyStore) -> None:
    blob = encrypt_field(store, KEK, "alice", b"secret", AAD)
    other = LocalKek("kek-2", b"\x07" * 32)
    with pytest.raises(KeyUnavailable, match="wrapped by KEK 'kek-1', which is not loaded \\(loaded: 'kek-2'\\)"):
        decrypt_field(store, other, "alice", blob, AAD)


def test_wrong_kek_secret_is_key_unavailable(store: MemoryDataKeyStore) -> None:
    blob = encrypt_field(store, KEK, "alice", b"secret", AAD)
    impostor = LocalKek("kek-1", b"\x07" * 32)
    with pytest.raises(KeyUnavailable, match="the KEK secret is not the one that wrapped it"):
        decrypt_field(store, impostor, "alice", blob, AAD)


def test_kek_rotation_rewraps_keys_without_touching_ciphertexts(store: MemoryDataKeyStore) -> None:
    blobs = {s: encrypt_field(store, KEK, s, s.encode(), AAD) for s in ("alice", "bob", "carol")}
    shred(store, "carol", AT)
    new = LocalKek("kek-2", b"\x42" * 32)
    report = rewrap(store, KEK, new)
    assert (report.rewrapped, report.skipped) == (2, 0)
    assert all(isinstance(e, WrappedKey) and e.kek_id == "kek-2" for e in map(store.get, ("alice", "bob")))
    for subject in ("alice", "bob"):
        assert decrypt_field(store, new, subject, blobs[subject], AAD) == subject.encode()
        with pytest.raises(KeyUnavailable):
            decrypt_field(store, KEK, subject, blobs[subject], AAD)  # the old KEK can be retired
    with pytest.raises(KeyShredded):
        decrypt_field(store, new, "carol", blobs["carol"], AAD)
    assert rewrap(store, KEK, new).rewrapped == 0  # nothing left under the old KEK


def test_a_ring_reads_keys_of_both_keks_during_rotation(store: MemoryDataKeyStore) -> None:
    new = LocalKek("kek-2", b"\x42" * 32)
    old_blob = encrypt_field(store, KEK, "alice", b"old", AAD)
    ring = KekRing(new, [KEK])
    new_blob = encrypt_field(store, ring, "bob", b"new", AAD)
    assert store.get("bob").kek_id == "kek-2"  # type: ignore[union-attr]
    assert decrypt_field(store, ring, "alice", old_blob, AAD) == b"old"
    assert decrypt_field(store, ring, "bob", new_blob, AAD) == b"new"
    with pytest.raises(ValueError, match="distinct"):
        KekRing(KEK, [KEK])


def test_one_unwrap_serves_a_batch(store: MemoryDataKeyStore) -> None:
    key = open_subject(store, KEK, "alice", create=True)
    blobs = [key.encrypt(f"v{i}".encode(), AAD) for i in range(3)]
    assert [decrypt_field(store, KEK, "alice", b, AAD) for b in blobs] == [b"v0", b"v1", b"v2"]
    assert repr(KEK) == "LocalKek('kek-1', secret=<hidden>)"
    assert "AESGCM" not in repr(key)


def test_concurrent_first_writers_share_one_key() -> None:
    elsewhere = MemoryDataKeyStore()
    theirs = open_subject(elsewhere, KEK, "alice", create=True)  # another process made a key for alice ...

    class Racing(MemoryDataKeyStore):
        def put(self, key: WrappedKey, replacing: WrappedKey | None = None) -> WrappedKey | ShredReceipt:
            if self.get(key.subject_id) is None:  # ... and stored it between our get() and our put()
                super().put(elsewhere.get("alice"))  # type: ignore[arg-type]
            return super().put(key, replacing)

    racing = Racing()
    blob = encrypt_field(racing, KEK, "alice", b"secret", AAD)
    assert key_id_of(blob) == theirs.key_id
    assert decrypt_field(racing, KEK, "alice", blob, AAD) == b"secret"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: LocalKek("k", b"short"), "needs a 32-byte secret"),
        (lambda: LocalKek("bad id", b"\x00" * 32), "KEK id 'bad id'"),
    ],
)
def test_bad_kek_configuration(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


def test_rewrap_works_in_batches_and_reports_progress(store: MemoryDataKeyStore) -> None:
    blobs = {s: encrypt_field(store, KEK, s, s.encode(), AAD) for s in ("a", "b", "c", "d", "e")}
    new = LocalKek("kek-2", b"\x42" * 32)
    sizes: list[int] = []
    report = rewrap(store, KEK, new, batch=2, progress=sizes.append)
    assert (report.rewrapped, report.skipped, sizes) == (5, 0, [2, 2, 1])
    assert all(decrypt_field(store, new, s, b, AAD) == s.encode() for s, b in blobs.items())
    with pytest.raises(ValueError, match="at least one key, not 0"):
        rewrap(store, new, KEK, batch=0)
    with pytest.raises(ValueError, match="needs a new KEK id"):
        rewrap(store, new, new)


def test_rewrap_skips_a_key_shredded_meanwhile(store: MemoryDataKeyStore) -> None:
    encrypt_field(store, KEK, "a", b"x", AAD)
    encrypt_field(store, KEK, "b", b"y", AAD)

    class ShredsWhileListing(MemoryDataKeyStore):
        def wrapped_by(self, kek_id: str) -> Iterator[WrappedKey]:
            listed = list(super().wrapped_by(kek_id))
            self.destroy("b", AT)  # another operator shreds b after the listing, before the write
            return iter(listed)

    racing = ShredsWhileListing()
    for subject in ("a", "b"):
        racing.put(store.get(subject))  # type: ignore[arg-type]
    report = rewrap(racing, KEK, LocalKek("kek-2", b"\x42" * 32))
    assert (report.rewrapped, report.skipped) == (1, 1)
    assert isinstance(racing.get("b"), ShredReceipt)
