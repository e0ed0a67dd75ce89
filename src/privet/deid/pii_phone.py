"""Phone numbers: candidates found by a regular expression, validated against `phonenumbers` metadata.

`phonenumbers.parse` followed by `is_valid_number` costs about 100 microseconds per candidate on the reference
machine, more than every other detector together; Presidio spends most of its time there. The validity rules
themselves are cheap: normalise to digits, find the country calling code (after "+" or the region's international
prefix), strip the national prefix, then test the national number against the region's per-type patterns and
possible lengths. `PhoneValidator` applies those rules to `phonenumbers`' own metadata, compiled once per region,
and falls back to the library for the few regions whose national prefix needs a transformation rule. A test
compares it with the library on thousands of numbers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

from privet.deid.detection import Entity, PreparedDetector, Span, register
from privet.deid.pii_scan import Prepared

_NON_GEO = "001"
_MIN_NSN, _MAX_NSN = 2, 17
_TYPE_FIELDS = (
    "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail", "fixed_line",
    "mobile",
)  # fmt: skip


@dataclass(frozen=True)
class _Desc:
    lengths: frozenset[int]  # empty: any length the general description allows
    pattern: re.Pattern[str]

    def matches(self, number: str) -> bool:
        return (not self.lengths or len(number) in self.lengths) and self.pattern.fullmatch(number) is not None


@dataclass(frozen=True)
class _Region:
    code: str
    country_code: int
    international_prefix: re.Pattern[str] | None
    national_prefix: re.Pattern[str] | None
    needs_library: bool  # a national-prefix transformation rule: leave this region to phonenumbers
    general: _Desc | None
    lengths: tuple[int, ...]
    local_lengths: frozenset[int]
    types_by_length: dict[int, re.Pattern[str]]  # the union of every number type's pattern allowing that length
    leading_digits: re.Pattern[str] | None

    def viable(self, number: str) -> bool:
        return self.general is not None and self.general.pattern.fullmatch(number) is not None

    def known_type(self, number: str) -> bool:
        """phonenumbers' number type is not UNKNOWN."""
        if self.general is None or not self.general.matches(number):
            return False
        union = self.types_by_length.get(len(number))
        return union is not None and union.fullmatch(number) is not None

    def length_usable(self, number: str) -> bool:
        """Not too short, not a local-only or impossible length (too long is usable, as in phonenumbers)."""
        n = len(number)
        if n in self.local_lengths or not self.lengths:
            return False
        if n == self.lengths[0]:
            return True
        if n < self.lengths[0]:
            return False
        return n > self.lengths[-1] or n in self.lengths[1:]

    def strip_national_prefix(self, number: str) -> str:
        if self.national_prefix is None:
            return number
        m = self.national_prefix.match(number)
        if m is None:
            return number
        stripped = number[m.end() :]
        if self.viable(number) and not self.viable(stripped):
            return number
        return stripped


def _desc(desc: Any) -> _Desc | None:
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = frozenset(n for n in (desc.possible_length or ()) if n > 0)
    if desc.possible_length == (-1,):
        lengths = frozenset({-1})  # no number of this type exists
    return _Desc(lengths, re.compile(desc.national_number_pattern))


@cache
def _region(code: str, country_code: int | None = None) -> _Region | None:
    if code == _NON_GEO and country_code is not None:
        meta = PhoneMetadata.metadata_for_nongeo_region(country_code)
    else:
        meta = PhoneMetadata.metadata_for_region(code)
    if meta is None or meta.country_code is None or meta.general_desc is None:
        return None
    general = _desc(meta.general_desc)
    types = [d for d in (_desc(getattr(meta, f)) for f in _TYPE_FIELDS) if d is not None]
    lengths = {n for d in types for n in d.lengths if n > 0} | set(general.lengths if general else ())
    types_by_length = {}
    for n in lengths:
        patterns = [d.pattern.pattern for d in types if not d.lengths or n in d.lengths]
        if patterns:
            types_by_length[n] = re.compile("|".join(f"(?:{p})" for p in patterns))
    return _Region(
        code=code,
        country_code=meta.country_code,
        international_prefix=re.compile(meta.international_prefix) if meta.international_prefix else None,
        national_prefix=re.compile(meta.national_prefix_for_parsing) if meta.national_prefix_for_parsing else None,
        needs_library=bool(meta.national_prefix_transform_rule),
        general=general,
        lengths=tuple(sorted(n for n in (meta.general_desc.possible_length or ()) if n > 0)),
        local_lengths=frozenset(meta.general_desc.possible_length_local_only or ()),
        types_by_length=types_by_length,
        leading_digits=re.compile(meta.leading_digits) if meta.leading_digits else None,
    )


@cache
def _regions_for(country_code: int) -> tuple[_Region, ...]:
    codes = COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    found = (_region(code, country_code) for code in codes)
    return tuple(r for r in found if r is not None)


@cache
def _lengths_for(country_code: int) -> frozenset[int] | None:
    """Every length a national number under this calling code can have (None: the metadata does not say)."""
    lengths: set[int] = set()
    for region in _regions_for(country_code):
        if not region.lengths:
            return None
        lengths.update(region.lengths)
    return frozenset(lengths)


def _valid_national(country_code: int, national: str) -> bool:
    """phonenumbers.is_valid_number for a national significant number under a calling code."""
    lengths = _lengths_for(country_code)
    if lengths is not None and len(national) not in lengths:
        return False  # every region's general description would refuse it
    regions = _regions_for(country_code)
    if len(regions) > 1:
        chosen = None
        for region in regions:
            if region.leading_digits is not None:
                if region.leading_digits.match(national):
                    chosen = region
                    break
            elif region.known_type(national):
                chosen = region
                break
        if chosen is None:
            return False
        return chosen.known_type(national)
    return bool(regions) and regions[0].known_type(national)


def _split_country_code(digits: str) -> tuple[int, str]:
    if not digits or digits[0] == "0":
        return 0, digits
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            return code, digits[size:]
    return 0, digits


def _library_valid(number: str, region: str | None) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(number, region))
    except phonenumbers.NumberParseException:
        return False


_NOT_DIGITS = re.compile(r"[^0-9]")


class PhoneValidator:
    """Is a phone-number string (no extension) valid when dialled from `region`, as phonenumbers would say?"""

    def valid(
        self, number: str, region: str | None, *, digits: str | None = None, after_bad_plus: bool = False
    ) -> bool:
        """`digits` may be given when the caller has them already (the number's digits, in order)."""
        digits = _NOT_DIGITS.sub("", number) if digits is None else digits
        if not digits:
            return False
        home = _region(region) if region is not None else None
        if region is not None and home is None:
            return False
        international = number.lstrip()[:1] == "+"
        if not international and home is not None and home.international_prefix is not None:
            m = home.international_prefix.match(digits)
            if m and digits[m.end() : m.end() + 1] not in ("", "0"):
                digits, international = digits[m.end() :], True
        if international:
            if len(digits) <= _MIN_NSN:
                return False
            country_code, national = _split_country_code(digits)
            if country_code == 0:
                # phonenumbers then reads the number without its "+", but only keeps a calling code found there
                plus = number.lstrip()
                if home is not None and home.needs_library:
                    return _library_valid(number, region)
                return region is not None and plus[:1] == "+" and self.valid(plus[1:], region, after_bad_plus=True)
            regions = _regions_for(country_code)
            if not regions or regions[0].needs_library:
                return _library_valid(number, region)
            return self._after_country_code(country_code, national, regions[0])
        if home is None:
            return False
        if home.needs_library:
            return _library_valid(number, region)
        country_code, national = home.country_code, digits
        code_text = str(country_code)
        if digits.startswith(code_text):  # the calling code written without "+" ("49 30 ...")
            rest = home.strip_national_prefix(digits[len(code_text) :])
            too_long = bool(home.lengths) and len(digits) > home.lengths[-1]
            if (not home.viable(digits) and home.viable(rest)) or too_long:
                return _MIN_NSN <= len(rest) <= _MAX_NSN and _valid_national(country_code, rest)
        if after_bad_plus:
            return False
        return self._after_country_code(country_code, national, home)

    @staticmethod
    def _after_country_code(country_code: int, national: str, main: _Region) -> bool:
        if len(national) < _MIN_NSN:
            return False
        stripped = main.strip_national_prefix(national)
        if stripped != national and main.length_usable(stripped):
            national = stripped
        return _MIN_NSN <= len(national) <= _MAX_NSN and _valid_national(country_code, national)


@dataclass(frozen=True)
class PhoneConfig:
    regions: tuple[str, ...] = ("US", "GB", "DE", "FR")  # national numbers are tried in these regions
    min_digits: int = 7
    max_digits: int = 15  # E.164 maximum
    confidence: float = 0.85


# On the shape view (digits are "0", letters "A"/"a"), a candidate starts on a digit that follows no word,
# number, path, version, time or ticket mark and has at least 6 more digits after it with at most 3 separators
# between two of them; the start pattern begins with a literal, so the engine only stops at digits.
# Dates, dotted quads and 4-4-4 groups (cards, IBANs) are refused here too, before Python sees them.
_START = re.compile(
    rb"0(?<![0Aa_@/.\#-]0)(?=(?:[ ()./+-]{0,3}+0){6})"
    rb"(?!0000-00-00(?!0)|00?[./-]00?[./-](?:0000|00)(?!0)|0{1,3}(?:\.0{1,3}){3}(?!0)|0000([ -])0000\1)"
)
# From that digit, or the "+" or "(" just before it: the digit groups.
_CANDIDATE = re.compile(
    rb"""
    (?:\+\ ?|\(0{1,5}\)\ ?)?                  # "+44 ...", "(555) 123-4567", "(0161) 4960066"
    0++
    (?:(?:[\ ./-]|\ ?\(0{1,4}\)\ ?)0++)*+     # digit groups; "(0)" inside "+44 (0)20 ..."
    """,
    re.VERBOSE,
)
_EXTENSION = re.compile(rb" ?(?:x|ext\.?) ?[0-9]{1,6}(?![0-9])")  # on the lower-case view
_LABELLED_OTHERWISE = re.compile(  # on the lower-case view, just before a candidate
    rb"(?:order|invoice|ticket|case|tracking|ref|sku|model|serial|s/n|no\.|nr\.)[^0-9A-Za-z_\x00]{0,3}\Z"
)


@register
class PhoneDetector(PreparedDetector[PhoneConfig]):
    """A run of digit groups with a plausible digit count that phonenumbers' rules call valid.

    Dates, IPv4 addresses and numbers labelled as orders, tickets or serials are never validated. A national number
    is tried only in the configured regions its first digit fits: a leading 0 is the trunk prefix of GB, DE and FR;
    North American numbers have none, so "40321187" is not taken for a Hamburg number.
    """

    name = "phone"
    entity = Entity.PHONE
    config_type = PhoneConfig

    def __init__(self, config: PhoneConfig | None = None) -> None:
        super().__init__(config)
        trunk_zero = {r for r in self.config.regions if _national_prefix(r) == "0"}
        self._with_trunk_zero: Sequence[str] = [r for r in self.config.regions if r in trunk_zero]
        self._without_trunk_zero: Sequence[str] = [r for r in self.config.regions if r not in trunk_zero]
        self._validator = PhoneValidator()

    def scan(self, p: Prepared) -> list[Span]:
        raw, shape, lower, spans = p.raw, p.shape, p.lower, []
        lo, hi = self.config.min_digits, self.config.max_digits
        trigger = _START.search(shape)
        while trigger is not None:
            m = None
            if raw[trigger.start() - 1 : trigger.start()] in (b"+", b"(") and not p.word_before(trigger.start() - 1):
                m = _CANDIDATE.match(shape, trigger.start() - 1)  # "+44 ...", "(0161) ..."
            m = m or _CANDIDATE.match(shape, trigger.start())
            start, end = m.span() if m else trigger.span()
            if m is not None and lo <= shape.count(b"0", start, end) <= hi:
                labelled = start and _LABELLED_OTHERWISE.search(lower, max(0, start - 12), start)
                if not labelled and self.valid(raw[start:end].decode("latin-1")):
                    extension = _EXTENSION.match(lower, end)
                    end = extension.end() if extension else end
                    spans.append(Span(start, end, self.entity, self.config.confidence, self.name))
            trigger = _START.search(shape, max(end, trigger.end()))
        return spans

    def valid(self, number: str) -> bool:
        if number[0] == "+":
            return self._validator.valid(number, None)
        digits = _NOT_DIGITS.sub("", number)
        regions = self._with_trunk_zero if digits[:1] == "0" else self._without_trunk_zero
        return any(self._validator.valid(number, region, digits=digits) for region in regions)


def _national_prefix(region: str) -> str | None:
    metadata = PhoneMetadata.metadata_for_region(region)
    return None if metadata is None else metadata.national_prefix
