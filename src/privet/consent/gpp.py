"""IAB Global Privacy Platform strings: the header and the MSPA US National section (usnat, section 7).

A GPP string is `header~section~section...`. The header (Int(6) Type = 3, Int(6) Version = 1, the section ids
as a Range(Fibonacci), sorted) lists the sections in the order they follow. The usnat section is a core
segment, optionally followed by `.` and a GPC sub-section (Int(2) SubsectionType = 1, Boolean Gpc).

usnat core, in order (IAB "MSPA US National Technical Specification"; each Int(2) unless noted):
Version Int(6); SharingNotice; SaleOptOutNotice; SharingOptOutNotice; TargetedAdvertisingOptOutNotice;
SensitiveDataProcessingOptOutNotice; SensitiveDataLimitUseNotice; SaleOptOut; SharingOptOut;
TargetedAdvertisingOptOut; SensitiveDataProcessing (N x Int(2)); KnownChildSensitiveDataConsents (M x Int(2));
PersonalDataConsents; MspaCoveredTransaction; MspaOptOutOptionMode; MspaServiceProviderMode.
Version 1 (Dec 2022) has N = 12, M = 2: 60 bits. Version 2 (Oct 2024) has N = 16, M = 3: 70 bits.

Sections privet does not decode (TCF, US states, ...) are kept verbatim as `RawSection` and reported in
`GppString.notes`; malformed input raises `GppError` naming the part and the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar

from privet.consent.gpp_bits import SECTION_NAMES, BitReader, BitWriter, GppError, decode_header, encode_header, where

__all__ = [
    "SECTION_NAMES",
    "Consent",
    "GppError",
    "GppString",
    "MspaMode",
    "Notice",
    "OptOut",
    "RawSection",
    "UsNat",
    "decode_gpp",
    "encode_gpp",
    "usnat_from_choices",
]


class Notice(IntEnum):
    NOT_APPLICABLE = 0
    PROVIDED = 1  # "Yes, notice was provided"
    NOT_PROVIDED = 2  # "No, notice was not provided"


class OptOut(IntEnum):
    NOT_APPLICABLE = 0  # the matching notice was not applicable or not given
    OPTED_OUT = 1
    DID_NOT_OPT_OUT = 2


class Consent(IntEnum):
    NOT_APPLICABLE = 0
    NO_CONSENT = 1
    CONSENT = 2


class MspaMode(IntEnum):
    NOT_APPLICABLE = 0  # not allowed for MspaCoveredTransaction, which is Yes or No
    YES = 1
    NO = 2


# (attribute, spec field name, value type), in bit order around the two lists.
_BEFORE_LISTS: tuple[tuple[str, str, type[IntEnum]], ...] = (
    ("sharing_notice", "SharingNotice", Notice),
    ("sale_opt_out_notice", "SaleOptOutNotice", Notice),
    ("sharing_opt_out_notice", "SharingOptOutNotice", Notice),
    ("targeted_advertising_opt_out_notice", "TargetedAdvertisingOptOutNotice", Notice),
    ("sensitive_data_processing_opt_out_notice", "SensitiveDataProcessingOptOutNotice", Notice),
    ("sensitive_data_limit_use_notice", "SensitiveDataLimitUseNotice", Notice),
    ("sale_opt_out", "SaleOptOut", OptOut),
    ("sharing_opt_out", "SharingOptOut", OptOut),
    ("targeted_advertising_opt_out", "TargetedAdvertisingOptOut", OptOut),
)
_AFTER_LISTS: tuple[tuple[str, str, type[IntEnum]], ...] = (
    ("personal_data_consents", "PersonalDataConsents", Consent),
    ("mspa_covered_transaction", "MspaCoveredTransaction", MspaMode),
    ("mspa_opt_out_option_mode", "MspaOptOutOptionMode", MspaMode),
    ("mspa_service_provider_mode", "MspaServiceProviderMode", MspaMode),
)
_LISTS = (
    ("sensitive_data_processing", "SensitiveDataProcessing"),
    ("known_child_sensitive_data_consents", "KnownChildSensitiveDataConsents"),
)
_LIST_LENGTHS = {1: (12, 2), 2: (16, 3)}  # version -> entries in each of _LISTS


def _core_bits(version: int) -> int:
    sensitive, child = _LIST_LENGTHS[version]
    return 6 + 2 * (len(_BEFORE_LISTS) + sensitive + child + len(_AFTER_LISTS))


def _enum(kind: type[IntEnum], value: int, name: str) -> IntEnum:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(int(m)) for m in kind)
        raise GppError(f"{name}: {value!r} is not one of {allowed}") from None


@dataclass(frozen=True, slots=True)
class UsNat:
    """The usnat section. Plain ints are normalised to the enums and every value is checked; the defaults
    are version 1's list lengths, so a version 2 value passes its 16 and 3 entries explicitly."""

    SECTION_ID: ClassVar[int] = 7

    version: int = 1
    sharing_notice: Notice = Notice.NOT_APPLICABLE
    sale_opt_out_notice: Notice = Notice.NOT_APPLICABLE
    sharing_opt_out_notice: Notice = Notice.NOT_APPLICABLE
    targeted_advertising_opt_out_notice: Notice = Notice.NOT_APPLICABLE
    sensitive_data_processing_opt_out_notice: Notice = Notice.NOT_APPLICABLE
    sensitive_data_limit_use_notice: Notice = Notice.NOT_APPLICABLE
    sale_opt_out: OptOut = OptOut.NOT_APPLICABLE
    sharing_opt_out: OptOut = OptOut.NOT_APPLICABLE
    targeted_advertising_opt_out: OptOut = OptOut.NOT_APPLICABLE
    sensitive_data_processing: tuple[Consent, ...] = (Consent.NOT_APPLICABLE,) * 12
    known_child_sensitive_data_consents: tuple[Consent, ...] = (Consent.NOT_APPLICABLE,) * 2
    personal_data_consents: Consent = Consent.NOT_APPLICABLE
    mspa_covered_transaction: MspaMode = MspaMode.NO
    mspa_opt_out_option_mode: MspaMode = MspaMode.NOT_APPLICABLE
    mspa_service_provider_mode: MspaMode = MspaMode.NOT_APPLICABLE
    gpc: bool | None = None  # None: no GPC sub-section

    def __post_init__(self) -> None:
        if self.version not in _LIST_LENGTHS:
            raise GppError(f"Version: usnat version {self.version!r} is not supported (1 or 2)")
        for attr, name, kind in _BEFORE_LISTS + _AFTER_LISTS:
            object.__setattr__(self, attr, _enum(kind, getattr(self, attr), name))
        if self.mspa_covered_transaction is MspaMode.NOT_APPLICABLE:
            raise GppError("MspaCoveredTransaction: must be 1 (yes) or 2 (no)")
        for (attr, name), expected in zip(_LISTS, _LIST_LENGTHS[self.version], strict=True):
            values = tuple(getattr(self, attr))
            if len(values) != expected:
                raise GppError(f"{name}: version {self.version} has {expected} entries, not {len(values)}")
            object.__setattr__(self, attr, tuple(_enum(Consent, v, f"{name}[{i}]") for i, v in enumerate(values)))
        if self.gpc is not None and not isinstance(self.gpc, bool):
            raise GppError(f"Gpc: {self.gpc!r} is not a bool or None")

    @property
    def section_id(self) -> int:
        return self.SECTION_ID

    def encode(self) -> str:
        w = BitWriter()
        w.uint(self.version, 6)
        for attr, _, _ in _BEFORE_LISTS:
            w.uint(getattr(self, attr), 2)
        for value in self.sensitive_data_processing + self.known_child_sensitive_data_consents:
            w.uint(value, 2)
        for attr, _, _ in _AFTER_LISTS:
            w.uint(getattr(self, attr), 2)
        if self.gpc is None:
            return w.text()
        gpc = BitWriter()
        gpc.uint(1, 2)  # SubsectionType 1 = GPC
        gpc.bool(self.gpc)
        return f"{w.text()}.{gpc.text()}"


@dataclass(frozen=True, slots=True)
class RawSection:
    """A section kept as the text it arrived in: privet does not decode it (or not this version of it)."""

    section_id: int
    text: str

    def __post_init__(self) -> None:
        if self.section_id < 1 or self.section_id == 3:
            raise GppError(f"{self.section_id} is not a section id (positive, and 3 is the header)")
        if not self.text or "~" in self.text or not all(33 <= ord(c) < 127 for c in self.text):
            raise GppError(f"{where(self.section_id)}: {self.text!r} is not web-safe text without '~'")

    @property
    def name(self) -> str | None:
        return SECTION_NAMES.get(self.section_id)

    def encode(self) -> str:
        return self.text


Section = UsNat | RawSection


@dataclass(frozen=True, slots=True)
class GppString:
    sections: tuple[Section, ...]
    notes: tuple[str, ...] = ()  # sections kept raw, lenient readings

    @property
    def section_ids(self) -> tuple[int, ...]:
        return tuple(s.section_id for s in self.sections)

    @property
    def usnat(self) -> UsNat | None:
        return next((s for s in self.sections if isinstance(s, UsNat)), None)

    @property
    def raw(self) -> tuple[RawSection, ...]:
        return tuple(s for s in self.sections if isinstance(s, RawSection))


def encode_gpp(sections: Iterable[Section]) -> str:
    """The header and the sections, sorted by id as the spec requires; bits padded to 6, no '=' padding."""
    ordered = sorted(sections, key=lambda s: s.section_id)
    ids = [s.section_id for s in ordered]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise GppError(f"a GPP string holds each section once; repeated: {', '.join(map(str, duplicates))}")
    return "~".join([encode_header(ids), *(s.encode() for s in ordered)])


def decode_gpp(text: str) -> GppString:
    parts = text.strip().split("~")
    ids = decode_header(parts[0])
    bodies = parts[1:]
    if len(ids) != len(bodies):
        listed = ", ".join(where(i) for i in ids) or "no sections"
        raise GppError(f"header lists {listed}, but {len(bodies)} section(s) follow it")
    sections: list[Section] = []
    notes: list[str] = []
    for section_id, body in zip(ids, bodies, strict=True):
        if not body:
            raise GppError(f"{where(section_id)}: listed in the header but empty")
        if section_id == UsNat.SECTION_ID:
            section, more = _decode_usnat(body)
            notes += more
        else:
            section = RawSection(section_id, body)
            notes.append(f"{where(section_id)}: not decoded by privet, kept as raw text")
        sections.append(section)
    return GppString(tuple(sections), tuple(notes))


def _decode_usnat(text: str) -> tuple[Section, list[str]]:
    here = where(UsNat.SECTION_ID)
    core, *subsections = text.split(".")
    reader = BitReader(core, f"{here} core")
    version = reader.uint(6, "Version")
    if version not in _LIST_LENGTHS:
        return RawSection(UsNat.SECTION_ID, text), [f"{here}: version {version} is not supported, kept raw"]
    notes = []
    if version == 1 and len(reader) >= _core_bits(2) and "1" in reader.bits[_core_bits(1) :]:
        # Some releases of the IAB reference library wrote the version 2 layout with Version = 1. A true
        # version 1 core has only zero padding after bit 60; the version 2 layout has MspaCoveredTransaction
        # (1 or 2, never 0) at bits 64-65, so the bits after 60 tell them apart.
        version = 2
        notes.append(f"{here}: {len(reader)} bits labelled version 1 hold the version 2 layout; read as 2")
    if len(reader) < _core_bits(version):
        raise GppError(f"{here}: {len(reader)} bits, expected at least {_core_bits(version)} for version {version}")
    values: dict[str, Any] = {"version": version}
    for attr, name, _ in _BEFORE_LISTS:
        values[attr] = reader.uint(2, name)
    sensitive, child = _LIST_LENGTHS[version]
    values["sensitive_data_processing"] = tuple(reader.uint(2, "SensitiveDataProcessing") for _ in range(sensitive))
    values["known_child_sensitive_data_consents"] = tuple(
        reader.uint(2, "KnownChildSensitiveDataConsents") for _ in range(child)
    )
    for attr, name, _ in _AFTER_LISTS:
        values[attr] = reader.uint(2, name)
    gpc: bool | None = None
    for number, sub in enumerate(subsections, start=1):
        sub_reader = BitReader(sub, f"{here} sub-section {number}")
        sub_type = sub_reader.uint(2, "SubsectionType")
        if sub_type != 1 or gpc is not None:
            raise GppError(f"{here} sub-section {number}: type {sub_type}; only one GPC sub-section (1) may follow")
        gpc = sub_reader.bool("Gpc")
    try:
        usnat = UsNat(gpc=gpc, **values)
    except GppError as error:
        raise GppError(f"{here}: {error}") from None
    return usnat, notes


def usnat_from_choices(
    sale_opt_out: bool,
    sharing_opt_out: bool,
    targeted_ads_opt_out: bool,
    gpc: bool | None,
    notices_given: bool,
    sensitive_limited: bool,
    known_child: bool,
    *,
    version: int = 1,
) -> UsNat:
    """The usnat section for one person's choices, as the ledger knows them.

    - GPC on counts as an opt-out of sale, sharing and targeted advertising (CCPA regs 7025, Colorado UOOM);
      the GPC sub-section carries the signal itself (None leaves it out).
    - Without notice the spec has each opt-out field say "not applicable", whatever was chosen.
    - A limit on sensitive data is "no consent" for every category; without it the categories say "not
      applicable": a signal never claims consent that privet did not record.
    - A known child gets "no consent" in every age band. The transaction is declared not MSPA-covered.
    """
    notice = Notice.PROVIDED if notices_given else Notice.NOT_PROVIDED

    def opt_out(chosen: bool) -> OptOut:
        if not notices_given:
            return OptOut.NOT_APPLICABLE
        return OptOut.OPTED_OUT if chosen or gpc is True else OptOut.DID_NOT_OPT_OUT

    if version not in _LIST_LENGTHS:
        raise GppError(f"Version: usnat version {version!r} is not supported (1 or 2)")
    sensitive, child = _LIST_LENGTHS[version]
    return UsNat(
        version=version,
        sharing_notice=notice,
        sale_opt_out_notice=notice,
        sharing_opt_out_notice=notice,
        targeted_advertising_opt_out_notice=notice,
        sensitive_data_processing_opt_out_notice=notice,
        sensitive_data_limit_use_notice=notice,
        sale_opt_out=opt_out(sale_opt_out),
        sharing_opt_out=opt_out(sharing_opt_out),
        targeted_advertising_opt_out=opt_out(targeted_ads_opt_out),
        sensitive_data_processing=((Consent.NO_CONSENT if sensitive_limited else Consent.NOT_APPLICABLE),) * sensitive,
        known_child_sensitive_data_consents=((Consent.NO_CONSENT if known_child else Consent.NOT_APPLICABLE),) * child,
        gpc=gpc,
    )
