"""Keys for envelope encryption: key-encryption keys (KEKs), wrapped per-person data keys, and where they are kept.

Every person gets one random AES-256 data key. It is stored only wrapped (encrypted) under a KEK, which lives
apart from the data: a 32-byte secret in the settings, or a key that never leaves a KMS. Destroying the wrapped
data key ("shredding") makes every ciphertext of that person unreadable, wherever copies of it went, backups
included. This module is pure: keys and secrets are passed in, and the time of a shred is given by the caller.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_KEK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}")
_WRAP_VERSION = b"\x01"
_NONCE_BYTES = 12


class CryptoError(Exception):
    """A value cannot be encrypted or decrypted; the message says why and what to do."""


class KeyShredded(CryptoError):
    """The person's data key was destroyed on purpose: their encrypted data is gone for good."""

    def __init__(self, receipt: ShredReceipt, doing: str) -> None:
        self.receipt = receipt
        super().__init__(
            f"cannot {doing} for subject {receipt.subject_id!r}: their data key was shredded at"
            f" {receipt.shredded_at.isoformat()}, so their encrypted data is unrecoverable by design"
        )


class KeyUnavailable(CryptoError):
    """The data key exists but cannot be unwrapped here (no such KEK loaded, or the wrong KEK secret)."""


class DecryptionFailed(CryptoError):
    """The ciphertext is malformed, was altered, belongs to another subject, or the aad differs."""


class KeyEncryptionKey(Protocol):
    """Wraps and unwraps data keys. `context` (the subject id) is bound to the wrapping, so a wrapped key cannot be
    moved to another person. A KMS-backed implementation makes the same two calls against the KMS."""

    @property
    def kek_id(self) -> str: ...

    def wrap(self, data_key: bytes, context: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """The data key; raises KeyUnavailable when this KEK did not wrap `wrapped` under `context`."""
        ...


def _check_kek_id(kek_id: str) -> str:
    if not _KEK_ID.fullmatch(kek_id):
        raise ValueError(f"KEK id {kek_id!r} must be 1-128 letters, digits or _.:/- and start with a letter or digit")
    return kek_id


class LocalKek:
    """A KEK from a 32-byte secret held by this process (AES-256-GCM, so the subject id is authenticated too)."""

    def __init__(self, kek_id: str, secret: bytes) -> None:
        if len(secret) != 32:
            raise ValueError(f"KEK {kek_id!r} needs a 32-byte secret, got {len(secret)} bytes; generate one with"
                             " secrets.token_bytes(32)")  # fmt: skip
        self._kek_id = _check_kek_id(kek_id)
        self._aead = AESGCM(secret)

    @property
    def kek_id(self) -> str:
        return self._kek_id

    def _aad(self, context: bytes) -> bytes:
        return b"privet.kek.v1\x00" + self._kek_id.encode() + b"\x00" + context

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return _WRAP_VERSION + nonce + self._aead.encrypt(nonce, data_key, self._aad(context))

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        if wrapped[:1] != _WRAP_VERSION or len(wrapped) < 1 + _NONCE_BYTES + 16:
            raise KeyUnavailable(f"KEK {self._kek_id!r} cannot read this wrapped key: unknown wrapping format")
        nonce, body = wrapped[1 : 1 + _NONCE_BYTES], wrapped[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, self._aad(context))
        except InvalidTag:
            raise KeyUnavailable(
                f"KEK {self._kek_id!r} cannot unwrap this data key: the KEK secret is not the one that wrapped it"
                " (check the configured secret for this KEK id), or the stored wrapped key was altered"
            ) from None

    def __repr__(self) -> str:
        return f"LocalKek({self._kek_id!r}, secret=<hidden>)"


@dataclass(frozen=True)
class KekRing:
    """The KEK new data keys are wrapped with, and older ones still able to unwrap keys during a rotation."""

    active: KeyEncryptionKey
    previous: Sequence[KeyEncryptionKey] = ()

    def __post_init__(self) -> None:
        ids = [self.active.kek_id, *(k.kek_id for k in self.previous)]
        if len(set(ids)) != len(ids):
            raise ValueError(f"KEK ids in a ring must be distinct, got {ids}")

    def get(self, kek_id: str) -> KeyEncryptionKey:
        for kek in (self.active, *self.previous):
            if kek.kek_id == kek_id:
                return kek
        known = ", ".join(repr(k.kek_id) for k in (self.active, *self.previous))
        raise KeyUnavailable(
            f"the data key is wrapped by KEK {kek_id!r}, which is not loaded (loaded: {known}); configure that KEK,"
            " or finish rewrapping its data keys under the active one"
        )


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A person's data key as stored: only ever wrapped. `key_id` names the data key in every ciphertext."""

    subject_id: str
    key_id: str
    kek_id: str
    wrapped: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class ShredReceipt:
    """Evidence that a person's data key was destroyed: which key, wrapped by which KEK, and when."""

    subject_id: str
    key_id: str | None  # None: the person had no data key yet; the id is closed to new keys all the same
    kek_id: str | None
    shredded_at: dt.datetime

    def as_json(self) -> dict[str, str | None]:
        return {
            "subject_id": self.subject_id,
            "key_id": self.key_id,
            "kek_id": self.kek_id,
            "shredded_at": self.shredded_at.isoformat(),
        }

    @property
    def digest(self) -> str:
        """SHA-256 of the receipt's canonical JSON: what the audit log records, so the receipt can be checked."""
        return hashlib.sha256(json.dumps(self.as_json(), sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ShredOutcome:
    receipt: ShredReceipt
    already: bool  # the key was shredded before this call (the receipt is that first shred's)


@dataclass(frozen=True, slots=True)
class KeyCensus:
    """How many live data keys each KEK wraps, and how many subjects' keys are shredded."""

    live: dict[str, int]  # KEK id -> live data keys
    shredded: int


@dataclass(frozen=True, slots=True)
class RewrapReport:
    old_kek_id: str
    new_kek_id: str
    rewrapped: int
    skipped: int  # changed or shredded by someone else while rewrapping; run again to pick them up


class DataKeyStore(Protocol):
    """Where wrapped data keys live, one per subject, and the receipts of shredded ones (which are kept, so that a
    shredded subject id is never given a fresh key by accident). The in-memory store below is the reference; a
    SQL store must pass the same contract tests."""

    def get(self, subject_id: str) -> WrappedKey | ShredReceipt | None: ...

    def put(self, key: WrappedKey, replacing: WrappedKey | None = None) -> WrappedKey | ShredReceipt:
        """Compare and set: store `key` when the subject's current entry is `replacing` (None: no entry yet).
        Return the entry stored afterwards, which is another writer's when that writer got there first."""
        ...

    def replace_many(self, moves: Sequence[tuple[WrappedKey, WrappedKey]]) -> int:
        """`put(new, replacing=old)` for every (old, new) pair, in one transaction; returns how many were stored."""
        ...

    def destroy(self, subject_id: str, at: dt.datetime) -> ShredOutcome:
        """Replace the wrapped key by a receipt, atomically; idempotent (a second call returns the first receipt,
        marked `already`)."""
        ...

    def wrapped_by(self, kek_id: str) -> Iterator[WrappedKey]:
        """Live keys wrapped by `kek_id`, in subject order; keys changed while iterating may be missed (run again)."""
        ...

    def census(self) -> KeyCensus: ...


class MemoryDataKeyStore:
    def __init__(self) -> None:
        self._entries: dict[str, WrappedKey | ShredReceipt] = {}

    def get(self, subject_id: str) -> WrappedKey | ShredReceipt | None:
        return self._entries.get(subject_id)

    def put(self, key: WrappedKey, replacing: WrappedKey | None = None) -> WrappedKey | ShredReceipt:
        current = self._entries.get(key.subject_id)
        if current == replacing:
            self._entries[key.subject_id] = key
            return key
        if current is None:
            raise ValueError(f"subject {key.subject_id!r} has no data key to replace; put it without `replacing`")
        return current

    def replace_many(self, moves: Sequence[tuple[WrappedKey, WrappedKey]]) -> int:
        if any(old.subject_id != new.subject_id for old, new in moves):
            raise ValueError("a replacement keeps the subject: each (old, new) pair must name the same subject id")
        return sum(1 for old, new in moves if self.put(new, replacing=old) == new)

    def destroy(self, subject_id: str, at: dt.datetime) -> ShredOutcome:
        current = self._entries.get(subject_id)
        if isinstance(current, ShredReceipt):
            return ShredOutcome(current, already=True)
        receipt = ShredReceipt(
            subject_id,
            current.key_id if current else None,
            current.kek_id if current else None,
            at,
        )
        self._entries[subject_id] = receipt
        return ShredOutcome(receipt, already=False)

    def wrapped_by(self, kek_id: str) -> Iterator[WrappedKey]:
        snapshot = [e for e in self._entries.values() if isinstance(e, WrappedKey) and e.kek_id == kek_id]
        return iter(sorted(snapshot, key=lambda k: k.subject_id))

    def census(self) -> KeyCensus:
        live: dict[str, int] = {}
        for entry in self._entries.values():
            if isinstance(entry, WrappedKey):
                live[entry.kek_id] = live.get(entry.kek_id, 0) + 1
        return KeyCensus(live, sum(1 for e in self._entries.values() if isinstance(e, ShredReceipt)))
