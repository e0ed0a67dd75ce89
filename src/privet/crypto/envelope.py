"""Field encryption under a person's own data key (AES-256-GCM), and shredding that key.

A ciphertext is self-describing: `version (1 byte) | data key id (16 bytes) | nonce (12 bytes) | ciphertext+tag`.
The header, the subject id and the caller's `aad` (say, table and column) are all authenticated, so a value cannot
be moved to another person, another column, or given another key id without decryption failing.

Nonces are random: 96 bits drawn per value are safe far beyond the number of values one person's key encrypts.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privet.crypto.keys import (
    DataKeyStore,
    DecryptionFailed,
    KekRing,
    KeyEncryptionKey,
    KeyShredded,
    KeyUnavailable,
    RewrapReport,
    ShredOutcome,
    ShredReceipt,
    WrappedKey,
)

FORMAT_VERSION = 1
_KEY_ID_BYTES = 16
_NONCE_BYTES = 12
_TAG_BYTES = 16
_HEADER_BYTES = 1 + _KEY_ID_BYTES + _NONCE_BYTES

Keks = KeyEncryptionKey | KekRing


def _ring(keks: Keks) -> KekRing:
    return keks if isinstance(keks, KekRing) else KekRing(keks)


def _context(subject_id: str) -> bytes:
    if not subject_id:
        raise ValueError("a subject id is needed to encrypt or decrypt a person's data")
    return subject_id.encode()


@dataclass(frozen=True)
class SubjectKey:
    """One person's unwrapped data key, held for as long as a batch of their values needs it (one unwrap, which
    with a KMS is one network call, serves many fields)."""

    subject_id: str
    key_id: str
    _aead: AESGCM = field(repr=False)

    def _aad(self, header: bytes, aad: bytes) -> bytes:
        subject = self.subject_id.encode()
        return header + len(subject).to_bytes(4, "big") + subject + aad

    def encrypt(self, plaintext: bytes, aad: bytes = b"") -> bytes:
        header = bytes([FORMAT_VERSION]) + bytes.fromhex(self.key_id) + secrets.token_bytes(_NONCE_BYTES)
        return header + self._aead.encrypt(header[-_NONCE_BYTES:], plaintext, self._aad(header, aad))

    def decrypt(self, blob: bytes, aad: bytes = b"") -> bytes:
        key_id = key_id_of(blob)
        if key_id != self.key_id:
            raise DecryptionFailed(
                f"the value was encrypted under data key {key_id}, but subject {self.subject_id!r} has key"
                f" {self.key_id}: the value belongs to another subject, or its header was altered"
            )
        header = blob[:_HEADER_BYTES]
        try:
            return self._aead.decrypt(header[-_NONCE_BYTES:], blob[_HEADER_BYTES:], self._aad(header, aad))
        except InvalidTag:
            raise DecryptionFailed(
                f"a value of subject {self.subject_id!r} failed authentication: it was altered, or it was encrypted"
                " with different aad (another table or column) than the aad given now"
            ) from None


def key_id_of(blob: bytes) -> str:
    """The data key id in a ciphertext's header (raises DecryptionFailed when the header is not privet's)."""
    if len(blob) < _HEADER_BYTES + _TAG_BYTES:
        raise DecryptionFailed(f"the value is {len(blob)} bytes, too short to be a privet ciphertext")
    if blob[0] != FORMAT_VERSION:
        raise DecryptionFailed(
            f"the value has format version {blob[0]}, this privet reads version {FORMAT_VERSION}: it is not a privet"
            " ciphertext, or was written by a newer privet"
        )
    return blob[1 : 1 + _KEY_ID_BYTES].hex()


def _unwrap(keks: Keks, stored: WrappedKey) -> SubjectKey:
    kek = _ring(keks).get(stored.kek_id)
    data_key = kek.unwrap(stored.wrapped, _context(stored.subject_id))
    return SubjectKey(stored.subject_id, stored.key_id, AESGCM(data_key))


def open_subject(store: DataKeyStore, keks: Keks, subject_id: str, *, create: bool = False) -> SubjectKey:
    """The person's data key, unwrapped; with `create`, a new key is made (and stored) when they have none."""
    context = _context(subject_id)
    stored = store.get(subject_id)
    doing = "encrypt" if create else "decrypt"
    if stored is None and create:
        data_key = AESGCM.generate_key(bit_length=256)
        kek = _ring(keks).active
        new = WrappedKey(subject_id, secrets.token_bytes(_KEY_ID_BYTES).hex(), kek.kek_id, kek.wrap(data_key, context))
        stored = store.put(new)
        if stored == new:
            return SubjectKey(subject_id, new.key_id, AESGCM(data_key))
    if stored is None:
        raise KeyUnavailable(
            f"no data key is stored for subject {subject_id!r}: nothing was ever encrypted for them in this key store"
            " (check the subject id and that the key store is the one the data was written with)"
        )
    if isinstance(stored, ShredReceipt):
        raise KeyShredded(stored, doing)
    return _unwrap(keks, stored)


def encrypt_field(store: DataKeyStore, keks: Keks, subject_id: str, plaintext: bytes, aad: bytes = b"") -> bytes:
    return open_subject(store, keks, subject_id, create=True).encrypt(plaintext, aad)


def decrypt_field(store: DataKeyStore, keks: Keks, subject_id: str, blob: bytes, aad: bytes = b"") -> bytes:
    key_id_of(blob)  # a malformed value is reported as such before any key is looked up
    return open_subject(store, keks, subject_id).decrypt(blob, aad)


def shred(store: DataKeyStore, subject_id: str, at: dt.datetime) -> ShredOutcome:
    """Destroy the person's data key. Idempotent: shredding again returns the first receipt, marked `already`."""
    _context(subject_id)
    if at.tzinfo is None:
        raise ValueError("the time of a shred must be timezone-aware (privet records instants, not wall times)")
    return store.destroy(subject_id, at)


def rewrap(
    store: DataKeyStore,
    old: KeyEncryptionKey,
    new: KeyEncryptionKey,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
) -> RewrapReport:
    """Re-wrap every data key wrapped by `old` under `new`, `batch` keys to a transaction. Data keys, and so every
    ciphertext, stay as they are. `progress` is told how many keys each stored batch held."""
    if old.kek_id == new.kek_id:
        raise ValueError(f"rewrapping needs a new KEK id; both are {old.kek_id!r}")
    if batch < 1:
        raise ValueError(f"a rewrap batch holds at least one key, not {batch}")
    rewrapped = skipped = 0
    moves: list[tuple[WrappedKey, WrappedKey]] = []

    def flush() -> None:
        nonlocal rewrapped, skipped
        stored = store.replace_many(moves)
        rewrapped, skipped = rewrapped + stored, skipped + len(moves) - stored
        if progress is not None:
            progress(len(moves))
        moves.clear()

    for stored in store.wrapped_by(old.kek_id):
        context = _context(stored.subject_id)
        data_key = old.unwrap(stored.wrapped, context)
        moves.append((stored, WrappedKey(stored.subject_id, stored.key_id, new.kek_id, new.wrap(data_key, context))))
        if len(moves) >= batch:
            flush()
    if moves:
        flush()
    return RewrapReport(old.kek_id, new.kek_id, rewrapped, skipped)
