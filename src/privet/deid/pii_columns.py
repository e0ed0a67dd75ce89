"""Proposing data categories for a table column from its name and a sample of its values.

`classify_column` is the pure core of `privet scan`: the caller reads a sample from a database or a file, and
gets back the taxonomy categories the column probably holds, each with its evidence (the share of sampled values
a detector recognised, a hint in the column's name, or both). A proposal is a suggestion for a person to confirm
in the manifest, never a decision.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from privet.deid.detection import Detector, Entity
from privet.deid.detectors import detect_batch

# The taxonomy category each entity's values belong to (keys of privet's default taxonomy).
ENTITY_CATEGORIES: Mapping[str, str] = MappingProxyType(
    {
        Entity.EMAIL: "user.contact.email",
        Entity.PHONE: "user.contact.phone_number",
        Entity.IP_ADDRESS: "user.device.ip_address",
        Entity.MAC_ADDRESS: "user.device.mac_address",
        Entity.CREDIT_CARD: "user.financial.credit_card",
        Entity.IBAN: "user.financial.bank_account",
        Entity.DEVICE_SERIAL: "user.device.serial_number",
        Entity.POSTAL_ADDRESS: "user.contact.address",
        Entity.PERSON: "user.name",
        Entity.URL: "user.contact.url",
        Entity.DATE_OF_BIRTH: "user.demographic.date_of_birth",
    }
)

# Column-name words (after splitting on "_", "-", ".", spaces and camelCase) and the category they suggest. A
# tuple of words must appear in that order ("first", "name").
NAME_HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("e", "mail"), "user.contact.email"),
    (("email",), "user.contact.email"),
    (("mail",), "user.contact.email"),
    (("phone",), "user.contact.phone_number"),
    (("mobile",), "user.contact.phone_number"),
    (("tel",), "user.contact.phone_number"),
    (("telephone",), "user.contact.phone_number"),
    (("msisdn",), "user.contact.phone_number"),
    (("fax",), "user.contact.fax_number"),
    (("dob",), "user.demographic.date_of_birth"),
    (("birth",), "user.demographic.date_of_birth"),
    (("birthday",), "user.demographic.date_of_birth"),
    (("birthdate",), "user.demographic.date_of_birth"),
    (("ip",), "user.device.ip_address"),
    (("ipv4",), "user.device.ip_address"),
    (("ipv6",), "user.device.ip_address"),
    (("ipaddr",), "user.device.ip_address"),
    (("mac",), "user.device.mac_address"),
    (("serial",), "user.device.serial_number"),
    (("sn",), "user.device.serial_number"),
    (("device", "id"), "user.device.device_id"),
    (("iban",), "user.financial.bank_account"),
    (("bank", "account"), "user.financial.bank_account"),
    (("card", "number"), "user.financial.credit_card"),
    (("cc", "number"), "user.financial.credit_card"),
    (("pan",), "user.financial.credit_card"),
    (("first", "name"), "user.name.first"),
    (("firstname",), "user.name.first"),
    (("given", "name"), "user.name.first"),
    (("last", "name"), "user.name.last"),
    (("lastname",), "user.name.last"),
    (("surname",), "user.name.last"),
    (("family", "name"), "user.name.last"),
    (("full", "name"), "user.name"),
    (("name",), "user.name"),
    (("nickname",), "user.name.alias"),
    (("street",), "user.contact.address.street"),
    (("address",), "user.contact.address"),
    (("zip",), "user.contact.address.postal_code"),
    (("postcode",), "user.contact.address.postal_code"),
    (("postal", "code"), "user.contact.address.postal_code"),
    (("plz",), "user.contact.address.postal_code"),
    (("city",), "user.contact.address.city"),
    (("country",), "user.contact.address.country"),
    (("url",), "user.contact.url"),
    (("website",), "user.contact.url"),
    (("username",), "user.account.username"),
    (("login",), "user.account.username"),
    (("password",), "user.authorization.password"),
    (("user", "id"), "user.unique_id.user_id"),
    (("uuid",), "user.unique_id.uuid"),
    (("gender",), "user.demographic.gender"),
)

_SPLIT = re.compile(r"[_\-.\s]+|(?<=[a-z0-9])(?=[A-Z])")
# A bare date, for a column whose name says it holds dates of birth (values carry no "DOB" label).
_DATE_VALUE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}(?:[T ][\d:.]+Z?)?|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")


@dataclass(frozen=True)
class ColumnScanConfig:
    min_share: float = 0.6  # of non-empty sampled values a detector must recognise
    min_coverage: float = 0.8  # of a value's characters the recognised span must cover


@dataclass(frozen=True)
class Proposal:
    """`category` for this column; `share` of non-empty sampled values matched (None: name only)."""

    category: str
    entity: str | None
    share: float | None
    matched: int
    sampled: int
    from_name: bool

    @property
    def reason(self) -> str:
        parts = []
        if self.share is not None:
            parts.append(f"{self.matched} of {self.sampled} values look like {self.entity} ({self.share:.0%})")
        if self.from_name:
            parts.append("the column name suggests it")
        return "; ".join(parts)


def name_words(name: str) -> list[str]:
    return [w.lower() for w in _SPLIT.split(name) if w]


def name_hints(name: str) -> list[str]:
    """Categories the column's name suggests, most specific first."""
    words = name_words(name)
    found: list[str] = []
    for hint, category in NAME_HINTS:
        n = len(hint)
        if any(tuple(words[i : i + n]) == hint for i in range(len(words) - n + 1)) and category not in found:
            found.append(category)
    # "first_name" says user.name.first; do not also propose its parent user.name
    return [c for c in found if not any(other.startswith(c + ".") for other in found)]


def classify_column(
    name: str,
    sample: Sequence[str],
    *,
    config: ColumnScanConfig | None = None,
    detectors: Sequence[Detector[Any]] | None = None,
) -> list[Proposal]:
    """Categories for a column, from the share of sampled values a detector recognises and from its name."""
    config = config or ColumnScanConfig()
    values = [v.strip() for v in sample if v is not None and v.strip()]
    hinted = name_hints(name)
    counts: dict[str, int] = {}
    for value, spans in zip(values, detect_batch(values, detectors), strict=True):
        for entity in {s.entity for s in spans if s.end - s.start >= config.min_coverage * len(value)}:
            counts[entity] = counts.get(entity, 0) + 1
    if "user.demographic.date_of_birth" in hinted:
        counts[Entity.DATE_OF_BIRTH] = sum(1 for v in values if _DATE_VALUE.fullmatch(v))
    proposals: dict[str, Proposal] = {}
    for entity, matched in counts.items():
        share = matched / len(values) if values else 0.0
        category = ENTITY_CATEGORIES.get(entity)
        if category is None or share < config.min_share:
            continue
        named = next((h for h in hinted if h == category or h.startswith(category + ".")), None)
        key = named or category
        proposals[key] = Proposal(key, entity, share, matched, len(values), named is not None)
    for category in hinted:
        if category not in proposals and not any(p.startswith(category + ".") for p in proposals):
            proposals[category] = Proposal(category, None, None, 0, len(values), True)
    return sorted(proposals.values(), key=lambda p: (p.share is None, -(p.share or 0.0), not p.from_name))
