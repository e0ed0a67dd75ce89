"""The fields a manifest marks `encrypted`, and their values as text any column can hold.

A marked field holds `privet:enc:` followed by the base64 of an envelope ciphertext (a binary column may hold the
ciphertext itself). The plaintext is the value's JSON, so numbers and objects come back as they went in; dates
come back as their ISO text. Null stays null: there is nothing to protect, and erasure sees an empty field as
empty. The aad is "dataset.collection.field", so a value copied into another column does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from privet.crypto.envelope import SubjectKey, key_id_of
from privet.crypto.keys import DecryptionFailed, ShredReceipt
from privet.manifest.datasets import Dataset

SEALED_PREFIX = "privet:enc:"
ERASED = "erased (key destroyed)"  # what an access package shows for a field of a shredded person


def encrypted_fields(datasets: Mapping[str, Dataset]) -> dict[str, tuple[str, ...]]:
    """ "dataset.collection" -> the paths of its fields marked `encrypted`, for collections that have any."""
    out: dict[str, tuple[str, ...]] = {}
    for name, dataset in datasets.items():
        for collection, path, fld in dataset.walk_fields():
            if fld.encrypted:
                key = f"{name}.{collection}"
                out[key] = (*out.get(key, ()), ".".join(path))
    return out


def field_aad(collection: str, path: str) -> bytes:
    return f"{collection}.{path}".encode()


def is_sealed(value: object) -> bool:
    return (isinstance(value, str) and value.startswith(SEALED_PREFIX)) or isinstance(value, bytes | bytearray)


def _json_default(value: object) -> str:
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    raise TypeError(f"a {type(value).__name__} value cannot be encrypted; give text, a number, a list or an object")


def seal(key: SubjectKey, value: Any, aad: bytes) -> str:
    """The value encrypted under the person's key, as text."""
    try:
        plaintext = json.dumps(value, default=_json_default, ensure_ascii=False, separators=(",", ":"))
    except TypeError as exc:
        raise ValueError(str(exc)) from None
    return SEALED_PREFIX + base64.b64encode(key.encrypt(plaintext.encode(), aad)).decode("ascii")


def sealed_blob(value: str | bytes | bytearray) -> bytes:
    """The ciphertext inside a sealed value (raises DecryptionFailed when it is not one)."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if not value.startswith(SEALED_PREFIX):
        raise DecryptionFailed(f"the value does not start with {SEALED_PREFIX!r}: it is not an encrypted field value")
    try:
        return base64.b64decode(value.removeprefix(SEALED_PREFIX), validate=True)
    except binascii.Error:
        raise DecryptionFailed("the encrypted value is not valid base64: it was cut short or altered") from None


def unseal(key: SubjectKey, value: str | bytes | bytearray, aad: bytes) -> Any:
    plaintext = key.decrypt(sealed_blob(value), aad)
    try:
        return json.loads(plaintext)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DecryptionFailed("the value decrypted, but not to JSON: it was not written by privet seal()") from None


def _at(row: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = row
    for name in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


def _with(row: Mapping[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A copy of `row` with the value at `path` replaced (enclosing objects copied, never changed in place)."""
    out = dict(row)
    head, *rest = path
    out[head] = _with(row[head], tuple(rest), value) if rest else value
    return out


def open_rows(
    rows: Mapping[str, Sequence[Mapping[str, Any]]],
    marked: Mapping[str, tuple[str, ...]],
    key: Callable[[], SubjectKey | ShredReceipt],
) -> dict[str, list[Mapping[str, Any]]]:
    """One person's rows with their encrypted fields decrypted; after their key was shredded, each such field reads
    ERASED. `key` is called once, and only when a sealed value is found. Values that fail to decrypt raise."""
    opened: list[SubjectKey | ShredReceipt] = []
    out: dict[str, list[Mapping[str, Any]]] = {}
    for collection, found in rows.items():
        paths = [tuple(p.split(".")) for p in marked.get(collection, ())]
        out[collection] = []
        for row in found:
            for path in paths:
                value = _at(row, path)
                if value is None or not is_sealed(value):
                    continue
                where = f"{collection}.{'.'.join(path)}"
                if not opened:
                    opened.append(key())
                try:
                    row = _with(row, path, _open(opened[0], value, field_aad(collection, ".".join(path))))
                except DecryptionFailed as exc:
                    raise DecryptionFailed(f"{where}: {exc}") from None
            out[collection].append(row)
    return out


def _open(key: SubjectKey | ShredReceipt, value: str | bytes | bytearray, aad: bytes) -> Any:
    if isinstance(key, SubjectKey):
        return unseal(key, value, aad)
    found = key_id_of(sealed_blob(value))
    if found != key.key_id:
        raise DecryptionFailed(
            f"the value is under data key {found}, not the shredded key of subject {key.subject_id!r}"
            f" ({key.key_id or 'none was ever made'}): it belongs to another subject"
        )
    return ERASED
