"""Redaction of detected spans in free text: mask, replace, hash (keyed), pseudonymise.

An operator is a small frozen class with a `name` that turns one value into its stand-in. `redact` applies one
to every span, working from the end of the text to its start so that the offsets of spans not yet replaced stay
valid, and reports what it replaced (entity, where it was, where its stand-in is, which operator) without the
original values, so the report can be logged.

Overlapping spans are refused rather than resolved silently: pass the output of `detect_all`, which never
overlaps, or resolve them first with `resolve_overlaps`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from types import MappingProxyType
from typing import ClassVar, Protocol

from privet.deid.detection import Entity, Span


class Operator(Protocol):
    @property
    def name(self) -> str: ...

    def apply(self, entity: str, value: str) -> str:
        """The stand-in for `value`, an occurrence of `entity`."""
        ...


_KEEP_LAST_DEFAULT = MappingProxyType({Entity.CREDIT_CARD.value: 4, Entity.PHONE.value: 4})


@dataclass(frozen=True)
class Mask:
    """Every letter and digit becomes `char`; separators stay, and so do the last digits of cards and phones."""

    name: ClassVar[str] = "mask"
    char: str = "*"
    keep_last: Mapping[str, int] = field(default_factory=lambda: _KEEP_LAST_DEFAULT)
    keep_separators: bool = True

    def __post_init__(self) -> None:
        if len(self.char) != 1:
            raise ValueError(f"the mask character must be one character, not {self.char!r}")

    def apply(self, entity: str, value: str) -> str:
        keep = self.keep_last.get(entity, 0)
        out = []
        for ch in reversed(value):
            if ch.isalnum():
                out.append(ch if keep > 0 else self.char)
                keep -= 1
            else:
                out.append(ch if self.keep_separators else self.char)
        return "".join(reversed(out))


@dataclass(frozen=True)
class Replace:
    """The entity's name in angle brackets, or any `template` with `{entity}`."""

    name: ClassVar[str] = "replace"
    template: str = "<{entity}>"

    def apply(self, entity: str, value: str) -> str:
        return self.template.format(entity=entity)


@dataclass(frozen=True)
class Hash:
    """A hex prefix of the value's SHA-256, or of its HMAC-SHA-256 under `key` (without a key, a hash of a phone
    number or a card is reversible by trying every number; use a key)."""

    name: ClassVar[str] = "hash"
    key: bytes | None = field(default=None, repr=False)
    length: int = 16
    template: str = "{digest}"

    def __post_init__(self) -> None:
        if not 4 <= self.length <= 64:
            raise ValueError(f"the hash length must be between 4 and 64 hex digits, not {self.length}")

    def apply(self, entity: str, value: str) -> str:
        data = value.encode("utf-8")
        if self.key is None:
            digest = hashlib.sha256(data).hexdigest()
        else:
            digest = hmac.new(self.key, data, hashlib.sha256).hexdigest()
        return self.template.format(entity=entity, digest=digest[: self.length])


@dataclass(frozen=True)
class Pseudonymise:
    """Whatever `token(entity, value)` returns: a consistent pseudonym from the pseudonymisation module, say."""

    token: Callable[[str, str], str]
    name: ClassVar[str] = "pseudonymise"

    def apply(self, entity: str, value: str) -> str:
        return self.token(entity, value)


@dataclass(frozen=True)
class Replacement:
    """One span replaced: where it was in the original text, where its stand-in is in the new one."""

    entity: str
    start: int
    end: int
    new_start: int
    new_end: int
    operator: str
    detector: str


@dataclass(frozen=True)
class Redaction:
    text: str
    replaced: tuple[Replacement, ...]


class RedactionError(ValueError):
    """The spans cannot be applied to this text; the message says which and why."""


def redact(
    text: str,
    spans: Sequence[Span],
    operator: Operator,
    *,
    per_entity: Mapping[str, Operator] | None = None,
) -> Redaction:
    """`text` with every span replaced by `operator` (or `per_entity[span.entity]` where given)."""
    ordered = sorted(spans, key=lambda s: (s.start, s.end))
    for span in ordered:
        if not 0 <= span.start < span.end <= len(text):
            raise RedactionError(f"span {span.start}:{span.end} ({span.entity}) is outside a text of {len(text)}")
    for before, after in pairwise(ordered):
        if after.start < before.end:
            raise RedactionError(
                f"spans {before.start}:{before.end} ({before.entity}) and {after.start}:{after.end} "
                f"({after.entity}) overlap; resolve them first (detect_all never returns overlaps)"
            )
    chosen = per_entity or {}
    out = text
    stand_ins: list[tuple[Span, str, str]] = []
    for span in reversed(ordered):  # right to left: the offsets of the spans still to do do not move
        op = chosen.get(span.entity, operator)
        stand_in = op.apply(span.entity, text[span.start : span.end])
        out = out[: span.start] + stand_in + out[span.end :]
        stand_ins.append((span, stand_in, op.name))
    replaced = []
    shift = 0
    for span, stand_in, op_name in reversed(stand_ins):
        new_start = span.start + shift
        replaced.append(
            Replacement(span.entity, span.start, span.end, new_start, new_start + len(stand_in), op_name, span.detector)
        )
        shift += len(stand_in) - (span.end - span.start)
    return Redaction(out, tuple(replaced))
