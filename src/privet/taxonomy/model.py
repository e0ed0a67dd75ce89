"""Taxonomy entries and the merged vocabulary (defaults plus a manifest's own additions)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from privet.law.vocabulary import Regime


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    name: str
    description: str = ""
    cite: str | None = None
    inferred: bool = False


class Sensitivity(StrEnum):
    GDPR_ART9 = "gdpr_art9"  # special categories, GDPR Art. 9(1)
    GDPR_ART10 = "gdpr_art10"  # criminal convictions and offences
    US_SENSITIVE = "us_sensitive"  # "sensitive personal information/data" under US state laws
    CHILD = "child"  # data of a known child


class UsCategory(_Entry):
    """A category of personal information as US state disclosures list them (CCPA 1798.140(v)(1))."""


class DataCategory(_Entry):
    sensitive: frozenset[Sensitivity] = frozenset()
    us_category: str | None = None
    fideslang: bool = False  # the key is fideslang's own


class PurposeTag(StrEnum):
    """What the law cares about in a purpose; the policy engine keys its rules on these."""

    ESSENTIAL = "essential"  # providing what the person asked for
    SALE = "sale"
    SHARING = "sharing"  # CCPA cross-context behavioural advertising
    TARGETED_ADVERTISING = "targeted_advertising"
    DIRECT_MARKETING = "direct_marketing"
    ANALYTICS = "analytics"
    PROFILING = "profiling"
    SECURITY = "security"
    LEGAL_OBLIGATION = "legal_obligation"
    LEGAL_CLAIMS = "legal_claims"
    STORAGE = "storage"  # keeping data, nothing more (allowed under restriction)


class Purpose(_Entry):
    tags: frozenset[PurposeTag] = frozenset()


class Subject(_Entry):
    minor: bool = False
    plural: str = ""  # the group in running text ("children"), where the name alone reads wrong there


class LegalBasis(_Entry):
    """A lawful basis of processing, e.g. GDPR Art. 6(1)(a) consent."""

    article: str
    regimes: frozenset[Regime] = frozenset({Regime.GDPR, Regime.UK_GDPR, Regime.SWISS_FADP})
    needs_consent: bool = False
    objectable: bool = False  # the person may object (GDPR Art. 21(1)): public task, legitimate interests


class SpecialCondition(_Entry):
    """A condition of GDPR Art. 9(2) that lifts the ban on processing special categories."""

    article: str
    needs_consent: bool = False


class Taxonomy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    categories: dict[str, DataCategory] = Field(default_factory=dict)
    purposes: dict[str, Purpose] = Field(default_factory=dict)
    subjects: dict[str, Subject] = Field(default_factory=dict)
    legal_bases: dict[str, LegalBasis] = Field(default_factory=dict)
    special_conditions: dict[str, SpecialCondition] = Field(default_factory=dict)
    us_categories: dict[str, UsCategory] = Field(default_factory=dict)

    @classmethod
    def from_data(cls, raw: dict[str, Any]) -> Taxonomy:
        """Build from the shipped YAML shape: each section maps key -> fields; parents inherit down."""
        keyed = {
            section: {k: {"key": k, **(v or {})} for k, v in (entries or {}).items()}
            for section, entries in raw.items()
        }
        return cls.model_validate(keyed).inherited()

    def inherited(self) -> Taxonomy:
        """Sensitivity and US category flow from a dotted parent to its children (user.health -> user.health.x)."""
        resolved: dict[str, DataCategory] = {}
        for key in sorted(self.categories, key=lambda k: k.count(".")):
            cat = self.categories[key]
            parent = resolved.get(key.rpartition(".")[0]) if "." in key else None
            if parent is not None:
                cat = cat.model_copy(
                    update={
                        "sensitive": cat.sensitive | parent.sensitive,
                        "us_category": cat.us_category or parent.us_category,
                    }
                )
            resolved[key] = cat
        return self.model_copy(update={"categories": {k: resolved[k] for k in self.categories}})

    def merged(self, other: Taxonomy) -> Taxonomy:
        """This vocabulary with `other`'s entries added (the caller has checked for clashes)."""
        combined = {
            name: {**getattr(self, name), **getattr(other, name)}
            for name in ("categories", "purposes", "subjects", "legal_bases", "special_conditions", "us_categories")
        }
        return Taxonomy(**combined).inherited()

    def is_sensitive(self, category: str, kind: Sensitivity | None = None) -> bool:
        cat = self.categories.get(category)
        if cat is None:
            return False
        return bool(cat.sensitive) if kind is None else kind in cat.sensitive

    def descendants(self, category: str) -> list[str]:
        prefix = category + "."
        return [k for k in self.categories if k == category or k.startswith(prefix)]
