"""The audit log as a hash chain: each entry's hash covers its content and the hash of the entry before it.

Editing, removing, inserting or reordering an entry breaks a link, and `verify_chain` names the sequence
number where the chain first breaks. Removing entries from the *end* breaks no link; against that the
operator keeps `anchor` lines somewhere else (a ticket, an email, another system) and passes the latest one
back to `verify_chain`. Someone able to rewrite the whole chain from some entry onwards recomputes every hash;
an anchor taken before the rewrite catches that too.

Verification streams: it holds one entry and a bounded list of problems, so a log of any length is checked in
constant memory.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeAlias

JSON: TypeAlias = bool | int | float | str | Sequence["JSON"] | Mapping[str, "JSON"] | None

GENESIS = "0" * 64  # the prev_hash of the first entry
ANCHOR_VERSION = "privet-audit-anchor/1"
MAX_PROBLEMS = 100

_HEX64 = re.compile(r"[0-9a-f]{64}")
_ANCHOR = re.compile(rf"{re.escape(ANCHOR_VERSION)} seq=(0|[1-9][0-9]*) sha256=([0-9a-f]{{64}})")
_EMPTY: Mapping[str, JSON] = MappingProxyType({})


class AuditError(ValueError):
    """An entry that cannot be written or read as part of the chain; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int  # 1, 2, 3 ... with no gaps
    at: dt.datetime  # aware; written as UTC
    actor: str  # a staff user, the requester, "system"
    action: str  # "received", "verified", "consent_withdrawn", "erased" ...
    subject_ref: str  # what the entry is about: "request:ID", "subject:ID", "dataset:NAME"
    payload: Mapping[str, JSON]  # facts of the step; never raw secrets (see `redact`)
    prev_hash: str
    hash: str

    def content(self) -> dict[str, object]:
        """The fields the hash covers; prev_hash is chained in by `chain_hash` itself."""
        return {
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "subject_ref": self.subject_ref,
            "payload": self.payload,
        }


@dataclass(frozen=True, slots=True)
class Anchor:
    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    entries_checked: int
    last_seq: int  # the last entry read in order: where the next one links and a new anchor points
    last_hash: str
    problems: tuple[str, ...]  # each names its seq: "seq 7: ..."
    first_broken_seq: int | None = None

    def checkpoint(self) -> str:
        """An anchor line for the end of the chain just checked."""
        return anchor(self.last_hash, self.last_seq)


def canonical_bytes(entry_fields: Mapping[str, object]) -> bytes:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 text unescaped, datetimes as UTC ISO 8601."""
    return _canonical(entry_fields)


def chain_hash(prev_hash: str, canonical: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("utf-8") + canonical).hexdigest()


def next_entry(
    prev: AuditEntry | None,
    at: dt.datetime,
    actor: str,
    action: str,
    subject_ref: str,
    payload: Mapping[str, JSON] = _EMPTY,
) -> AuditEntry:
    """The entry that follows `prev` (or starts the chain), with its payload copied and frozen."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise AuditError(f"the time of an audit entry must carry its time zone, got {at.isoformat()}")
    for name, value in (("actor", actor), ("action", action), ("subject_ref", subject_ref)):
        if not value.strip():
            raise AuditError(f"an audit entry needs its {name}")
    frozen = _freeze(payload, "payload")
    assert isinstance(frozen, Mapping)
    seq = 1 if prev is None else prev.seq + 1
    prev_hash = GENESIS if prev is None else prev.hash
    entry = AuditEntry(seq, at.astimezone(dt.UTC), actor, action, subject_ref, frozen, prev_hash, hash="")
    return dataclasses.replace(entry, hash=chain_hash(prev_hash, canonical_bytes(entry.content())))


def anchor(last_hash: str, seq: int) -> str:
    """A one-line checkpoint of the chain up to `seq`, to keep outside the log."""
    if seq < 0 or not _HEX64.fullmatch(last_hash):
        raise AuditError(f"an anchor needs seq >= 0 and a 64-digit lower-case hex hash, got {seq} and {last_hash!r}")
    return f"{ANCHOR_VERSION} seq={seq} sha256={last_hash}"


def parse_anchor(text: str) -> Anchor:
    match = _ANCHOR.fullmatch(text.strip())
    if match is None:
        raise AuditError(f"not an audit anchor: {text.strip()[:100]!r}; expected "
                         f"'{ANCHOR_VERSION} seq=N sha256=<64 hex digits>' as `anchor` writes it")  # fmt: skip
    return Anchor(int(match[1]), match[2])


def verify_chain(
    entries: Iterable[AuditEntry],
    expected_anchor: str | Anchor | None = None,
    *,
    since: str | Anchor | None = None,
    max_problems: int = MAX_PROBLEMS,
) -> ChainReport:
    """Check every link of `entries`, read in storage order.

    `expected_anchor` is a checkpoint kept outside the log: the entry at its seq must still be there with the
    same hash, which reveals entries removed from the end and chains rewritten up to it. `since` is a trusted
    checkpoint where `entries` begin (the entry after it comes first), to check only what was appended since.
    """
    start = _as_anchor(since) if since is not None else Anchor(0, GENESIS)
    goal = _as_anchor(expected_anchor) if expected_anchor is not None else None
    if goal is not None and goal.seq < start.seq:
        raise AuditError(f"the anchor at seq {goal.seq} lies before the entries checked (after seq {start.seq})")
    problems = _Problems(max_problems)
    next_seq, last_hash = start.seq + 1, start.hash
    goal_open = goal is not None
    if goal is not None and goal.seq == start.seq:
        goal_open = False
        if goal.hash != start.hash:
            problems.add(goal.seq, f"seq {goal.seq}: the starting checkpoint disagrees with the anchor")
    checked = 0
    for entry in entries:
        checked += 1
        seq = entry.seq
        in_order = seq >= next_seq
        if seq > next_seq:
            gone = f"seq {next_seq}" if seq == next_seq + 1 else f"seqs {next_seq}-{seq - 1}"
            problems.add(next_seq, f"seq {next_seq}: missing, the next entry found is seq {seq} ({gone} removed or "
                                   "moved)")  # fmt: skip
        elif seq < next_seq:
            problems.add(seq, f"seq {seq}: found after seq {next_seq - 1} (reordered, duplicated or inserted)")
        elif entry.prev_hash != last_hash:
            before = "the chain's start" if seq == start.seq + 1 and since is None else f"seq {seq - 1}"
            problems.add(seq, f"seq {seq}: its prev_hash does not match the hash of {before} (an entry before it "
                              "was replaced or inserted)")  # fmt: skip
        _check_hash(entry, problems)
        if not in_order:
            continue
        if goal is not None and goal_open and seq >= goal.seq:
            goal_open = False
            if seq == goal.seq and entry.hash != goal.hash:
                problems.add(seq, f"seq {seq}: its hash differs from the anchor's (the chain was rewritten up to "
                                  "here)")  # fmt: skip
        next_seq, last_hash = seq + 1, entry.hash
    if goal is not None and goal_open:
        end = next_seq - 1
        gone = f"seq {goal.seq}" if goal.seq == end + 1 else f"seqs {end + 1}-{goal.seq}"
        problems.add(end + 1, f"seq {end + 1}: the log ends at seq {end} but the anchor records seq {goal.seq} "
                              f"({gone} removed from the end)")  # fmt: skip
    listed = problems.listed()
    return ChainReport(not listed, checked, next_seq - 1, last_hash, listed, problems.first)


def redact(payload: Mapping[str, JSON], keys: Iterable[str], *, pepper: bytes | None = None) -> dict[str, JSON]:
    """A copy of `payload` in which the values of `keys`, at any depth, are replaced by their digests.

    A plain "sha256:..." digest still lets someone holding the value confirm it was logged, which is what an
    auditor needs; but a short value such as an email or phone number can be guessed by hashing candidates.
    With a `pepper` (a secret key kept outside the log) the digest is an HMAC ("hmac-sha256:...") and cannot.
    """
    names = frozenset(keys)

    def walk(value: JSON) -> JSON:
        if isinstance(value, Mapping):
            return {k: _digest(v, pepper) if k in names else walk(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [walk(v) for v in value]
        return value

    result = walk(payload)
    assert isinstance(result, dict)
    return result


def _check_hash(entry: AuditEntry, problems: _Problems) -> None:
    try:
        actual = chain_hash(entry.prev_hash, canonical_bytes(entry.content()))
    except ValueError as error:  # an AuditError, or a prev_hash that is not even text
        problems.add(entry.seq, f"seq {entry.seq}: cannot be hashed ({error}); it was edited or stored wrongly")
        return
    if actual != entry.hash:
        problems.add(entry.seq, f"seq {entry.seq}: its hash does not match its content (the entry was edited)")


class _Problems:
    """The problems found, kept up to a limit so that a badly broken log still verifies in bounded memory."""

    def __init__(self, limit: int) -> None:
        self.limit = max(limit, 1)
        self.items: list[str] = []
        self.more = 0
        self.first: int | None = None

    def add(self, seq: int, message: str) -> None:
        if self.first is None:
            self.first = seq
        if len(self.items) < self.limit:
            self.items.append(message)
        else:
            self.more += 1

    def listed(self) -> tuple[str, ...]:
        tail = (f"... and {self.more} more problems",) if self.more else ()
        return (*self.items, *tail)


def _as_anchor(value: str | Anchor) -> Anchor:
    return value if isinstance(value, Anchor) else parse_anchor(value)


def _canonical(value: object) -> bytes:
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                          default=_jsonable)  # fmt: skip
        return text.encode("utf-8")
    except (TypeError, ValueError) as error:  # ValueError covers NaN and unencodable (surrogate) text
        raise AuditError(f"not writable as canonical JSON: {error}") from None


def _jsonable(value: object) -> object:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise TypeError(f"the time {value.isoformat()} has no time zone")
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _freeze(value: object, where: str) -> JSON:
    """A deep, read-only copy of a JSON value: objects become mapping proxies, arrays tuples."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise AuditError(f"{where}: {value} is not a JSON number")
        return value
    if isinstance(value, Mapping):
        frozen: dict[str, JSON] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise AuditError(f"{where}: the key {key!r} is not a string; JSON object keys are strings")
            frozen[key] = _freeze(item, f"{where}.{key}")
        return MappingProxyType(frozen)
    if isinstance(value, list | tuple):
        return tuple(_freeze(item, f"{where}[{i}]") for i, item in enumerate(value))
    hint = "; hex- or base64-encode bytes, or record their digest" if isinstance(value, bytes | bytearray) else ""
    raise AuditError(f"{where}: a {type(value).__name__} is not JSON (use a string, number, boolean, null, list or "
                     f"object{hint})")  # fmt: skip


def _digest(value: JSON, pepper: bytes | None) -> str:
    data = value.encode("utf-8") if isinstance(value, str) else _canonical(value)
    if pepper is not None:
        return "hmac-sha256:" + hmac.new(pepper, data, hashlib.sha256).hexdigest()
    return "sha256:" + hashlib.sha256(data).hexdigest()
