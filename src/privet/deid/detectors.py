"""Built-in detectors for structured identifiers, the public detection API, and `detect_all`.

Identifiers with a check (cards: Luhn; IBANs: country length and mod 97; phones: `phonenumbers` metadata; IP
addresses: octet ranges and `ipaddress`) are found by a permissive pattern and then validated, so precision comes
from the check rather than from a clever pattern. Patterns run over the prepared views of `pii_scan` and start on
a literal wherever possible. Phones live in `pii_phone`, URLs and IP and MAC addresses in `pii_network`, postal
addresses in `pii_address`, device serials, names and dates of birth in `pii_text`.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from privet.deid.detection import (
    REGISTRY,
    Detector,
    Entity,
    PreparedDetector,
    Span,
    default_detectors,
    make_detector,
    register,
    resolve_overlaps,
)
from privet.deid.pii_address import PostalAddressDetector
from privet.deid.pii_checksums import IBAN_LENGTHS, iban_valid, luhn_valid
from privet.deid.pii_network import IpAddressDetector, MacAddressDetector, UrlDetector
from privet.deid.pii_phone import PhoneDetector, PhoneValidator
from privet.deid.pii_scan import WORDISH, Prepared, latin1, prepare_batch
from privet.deid.pii_text import DateOfBirthDetector, DeviceSerialDetector, PersonDetector, SerialPattern

__all__ = [
    "REGISTRY",
    "CreditCardDetector",
    "DateOfBirthDetector",
    "Detector",
    "DeviceSerialDetector",
    "EmailDetector",
    "Entity",
    "IbanDetector",
    "IpAddressDetector",
    "MacAddressDetector",
    "PersonDetector",
    "PhoneDetector",
    "PhoneValidator",
    "PostalAddressDetector",
    "PreparedDetector",
    "SerialPattern",
    "Span",
    "UrlDetector",
    "default_detectors",
    "detect_all",
    "detect_batch",
    "make_detector",
    "register",
    "resolve_overlaps",
]

_LETTER = "A-Za-z\xc0-\xd6\xd8-\xf6\xf8-\xff"


@dataclass(frozen=True)
class EmailConfig:
    confidence: float = 0.95


_EMAIL_LOCAL = re.compile(latin1(rf"[{_LETTER}0-9._%+-]+\Z"))  # searched backwards from the "@"
_EMAIL_DOMAIN = re.compile(
    latin1(rf"(?:[{_LETTER}0-9](?:[{_LETTER}0-9-]{{0,61}}[{_LETTER}0-9])?\.)+[A-Za-z]{{2,24}}(?![{_LETTER}0-9_-])")
)


@register
class EmailDetector(PreparedDetector[EmailConfig]):
    name = "email"
    entity = Entity.EMAIL
    config_type = EmailConfig

    def scan(self, p: Prepared) -> list[Span]:
        if "@" not in p.text:
            return []
        raw, spans = p.raw, []
        at = raw.find(b"@")
        while at > 0:
            local = _EMAIL_LOCAL.search(raw, max(0, at - 64), at)
            domain = _EMAIL_DOMAIN.match(raw, at + 1)
            if local is not None and domain is not None:
                start = local.start()
                while start < at and raw[start] in b".-+":
                    start += 1
                if start < at and raw[at - 1] != 46:  # "."
                    spans.append(Span(start, domain.end(), self.entity, self.config.confidence, self.name))
            at = raw.find(b"@", at + 1)
        return spans


@dataclass(frozen=True)
class CreditCardConfig:
    first_digits: str = "123456"  # issuer industry digits of the card networks (7-9 and 0 are not payment cards)
    confidence: float = 0.95
    twelve_digit_confidence: float = 0.7  # a 12-digit number that passes Luhn is weaker evidence


# On the shape view: 12-19 digits, 4-4-4(-4(-3)) groups (Maestro has 12 digits), American Express 4-6-5, Diners
# 4-6-4.
_CARD = re.compile(
    rb"0000(?:0{8,15}|(?P<s>[ -])0000(?P=s)0000(?:(?P=s)0{1,4}(?:(?P=s)000)?)?|(?P<t>[ -])000000(?P=t)0{4,5})"
    rb"(?![0Aa_-]|[.,]0)"
)


@register
class CreditCardDetector(PreparedDetector[CreditCardConfig]):
    name = "credit_card"
    entity = Entity.CREDIT_CARD
    config_type = CreditCardConfig

    def scan(self, p: Prepared) -> list[Span]:
        raw, shape, spans = p.raw, p.shape, []
        first_digits = self.config.first_digits.encode()
        m = _CARD.search(shape)
        while m is not None:
            start, end = m.span()
            glued = start and (shape[start - 1] in WORDISH or raw[start - 1] in b".,-")
            if not glued and raw[start] in first_digits:
                digits = raw[start:end].replace(b" ", b"").replace(b"-", b"").decode()
                if luhn_valid(digits):
                    c = self.config
                    confidence = c.twelve_digit_confidence if len(digits) == 12 else c.confidence
                    spans.append(Span(start, end, self.entity, confidence, self.name))
            m = _CARD.search(shape, end)
        return spans


@dataclass(frozen=True)
class IbanConfig:
    confidence: float = 0.98


# Country code and check digits (on the shape view), then the country's number of characters, optionally grouped
# by single spaces. Upper case only: a lower-case IBAN is missed.
_IBAN_START = re.compile(rb"AA00")
_IBAN_BODY = {n: re.compile(rb"(?: ?[A-Za-z0-9]){%d}" % (n - 4)) for n in set(IBAN_LENGTHS.values())}


@register
class IbanDetector(PreparedDetector[IbanConfig]):
    name = "iban"
    entity = Entity.IBAN
    config_type = IbanConfig

    def scan(self, p: Prepared) -> list[Span]:
        raw, spans = p.raw, []
        m = _IBAN_START.search(p.shape)
        while m is not None:
            start = end = m.start()
            length = IBAN_LENGTHS.get(raw[start : start + 2].decode("latin-1"))
            body = _IBAN_BODY[length].match(raw, start + 4) if length and not p.word_before(start) else None
            if body is not None:
                end = body.end()
                glued = p.word_at(end) and raw[end - 1] != 32  # the run goes on without a space
                if not glued and iban_valid(raw[start:end].replace(b" ", b"").decode("latin-1")):
                    spans.append(Span(start, end, self.entity, self.config.confidence, self.name))
            m = _IBAN_START.search(p.shape, max(end, start + 1))
        return spans


def detect_all(text: str, detectors: Sequence[Detector[Any]] | None = None) -> list[Span]:
    """Every entity in `text` found by `detectors` (default: all registered), overlaps resolved, in text order."""
    prepared = Prepared(text)
    found: list[Span] = []
    for detector in default_detectors() if detectors is None else detectors:
        if detector.prepared:  # a class flag: an isinstance test against an ABC costs a microsecond
            found += cast(PreparedDetector[Any], detector).scan(prepared)
        else:
            found += detector.detect(text)
    return resolve_overlaps(found) if len(found) > 1 else found


_NEVER = 1 << 62
BATCH_SIZE = 200  # messages per prepared batch: enough to amortise the calls, small enough to stay in cache


def detect_batch(texts: Sequence[str], detectors: Sequence[Detector[Any]] | None = None) -> list[list[Span]]:
    """`detect_all` for many messages at once, several times faster: each pattern scans a whole batch per call."""
    chosen = default_detectors() if detectors is None else detectors
    results: list[list[Span]] = []
    for first in range(0, len(texts), BATCH_SIZE):
        chunk = texts[first : first + BATCH_SIZE]
        prepared = prepare_batch(chunk)
        found: list[Span] = []
        per_message: list[list[Span]] = [[] for _ in chunk]
        for detector in chosen:
            if detector.prepared:
                found += cast(PreparedDetector[Any], detector).scan(prepared)
            else:
                for i, text in enumerate(chunk):
                    found += [
                        s._replace(start=s.start + prepared.starts[i], end=s.end + prepared.starts[i])
                        for s in detector.detect(text)
                    ]
        _distribute(sorted(found), prepared.starts, per_message)
        results.extend(resolve_overlaps(spans) if len(spans) > 1 else spans for spans in per_message)
    return results


def _distribute(spans: list[Span], starts: Sequence[int], per_message: list[list[Span]]) -> None:
    """Hand batch spans (sorted) to their messages, with offsets made relative to each message."""
    index, offset, following = -1, 0, -1
    bucket = per_message[0] if per_message else []
    for start, end, entity, confidence, name in spans:
        if start >= following:
            index = bisect_right(starts, start) - 1
            offset, bucket = starts[index], per_message[index]
            following = starts[index + 1] if index + 1 < len(starts) else _NEVER
        bucket.append(Span(start - offset, end - offset, entity, confidence, name))
