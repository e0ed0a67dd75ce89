"""Envelope encryption with a data key per person, so deleting one key erases every copy of that person's data."""

from privet.crypto.envelope import (
    FORMAT_VERSION,
    SubjectKey,
    decrypt_field,
    encrypt_field,
    key_id_of,
    open_subject,
    rewrap,
    shred,
)
from privet.crypto.keys import (
    CryptoError,
    DataKeyStore,
    DecryptionFailed,
    KekRing,
    KeyEncryptionKey,
    KeyShredded,
    KeyUnavailable,
    LocalKek,
    MemoryDataKeyStore,
    RewrapReport,
    ShredReceipt,
    WrappedKey,
)

__all__ = [
    "FORMAT_VERSION",
    "CryptoError",
    "DataKeyStore",
    "DecryptionFailed",
    "KekRing",
    "KeyEncryptionKey",
    "KeyShredded",
    "KeyUnavailable",
    "LocalKek",
    "MemoryDataKeyStore",
    "RewrapReport",
    "ShredReceipt",
    "SubjectKey",
    "WrappedKey",
    "decrypt_field",
    "encrypt_field",
    "key_id_of",
    "open_subject",
    "rewrap",
    "shred",
]
