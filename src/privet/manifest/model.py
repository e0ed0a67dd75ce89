"""The privacy manifest: every section, merged from the files of a manifest folder."""

from __future__ import annotations

from functools import cached_property

from pydantic import Field

from privet.manifest.base import Keyed, Model
from privet.manifest.datasets import Dataset
from privet.manifest.deidentification import Deidentification
from privet.manifest.entities import (
    Brand,
    Organisation,
    Product,
    ProductFamily,
    Recipient,
    Source,
    System,
    Transfer,
)
from privet.manifest.notice import (
    AutomatedDecisions,
    ContactChannel,
    Cookie,
    CookieCategory,
    Incentive,
    MarketingChannel,
    Minors,
    NoticeMeta,
    RightsOffer,
    SecurityMeasure,
    Statement,
)
from privet.manifest.processing import Activity, Consent, RetentionRule
from privet.taxonomy import DataCategory, Purpose, Subject, Taxonomy

# Sections written once in the whole folder.
SINGLE_SECTIONS = ("notice", "organisation", "minors", "automated_decisions", "deidentification")
# Sections whose entries are keyed; files add entries, a key defined twice is an error.
KEYED_SECTIONS = (
    "brands",
    "product_families",
    "products",
    "sources",
    "systems",
    "datasets",
    "recipients",
    "transfers",
    "activities",
    "consents",
    "retention",
    "rights",
    "contact_channels",
    "marketing_channels",
    "cookie_categories",
    "cookies",
    "incentives",
    "statements",
    "security_measures",
    "data_categories",
    "purposes",
    "subjects",
)


class Manifest(Model):
    notice: NoticeMeta
    organisation: Organisation
    minors: Minors = Minors()
    automated_decisions: AutomatedDecisions = AutomatedDecisions()
    deidentification: Deidentification = Deidentification()

    brands: Keyed[Brand] = Field(default_factory=dict)
    product_families: Keyed[ProductFamily] = Field(default_factory=dict)
    products: Keyed[Product] = Field(default_factory=dict)
    sources: Keyed[Source] = Field(default_factory=dict)
    systems: Keyed[System] = Field(default_factory=dict)
    datasets: Keyed[Dataset] = Field(default_factory=dict)
    recipients: Keyed[Recipient] = Field(default_factory=dict)
    transfers: Keyed[Transfer] = Field(default_factory=dict)
    activities: Keyed[Activity] = Field(default_factory=dict)
    consents: Keyed[Consent] = Field(default_factory=dict)
    retention: Keyed[RetentionRule] = Field(default_factory=dict)
    rights: Keyed[RightsOffer] = Field(default_factory=dict)
    contact_channels: Keyed[ContactChannel] = Field(default_factory=dict)
    marketing_channels: Keyed[MarketingChannel] = Field(default_factory=dict)
    cookie_categories: Keyed[CookieCategory] = Field(default_factory=dict)
    cookies: Keyed[Cookie] = Field(default_factory=dict)
    incentives: Keyed[Incentive] = Field(default_factory=dict)
    statements: Keyed[Statement] = Field(default_factory=dict)
    security_measures: Keyed[SecurityMeasure] = Field(default_factory=dict)

    # The manifest's own additions to the default taxonomy.
    data_categories: Keyed[DataCategory] = Field(default_factory=dict)
    purposes: Keyed[Purpose] = Field(default_factory=dict)
    subjects: Keyed[Subject] = Field(default_factory=dict)

    # Filled by the loader: the default taxonomy merged with the additions above.
    taxonomy: Taxonomy = Field(default_factory=Taxonomy, exclude=True)

    @cached_property
    def collected_categories(self) -> tuple[str, ...]:
        """Every category the manifest says is collected or processed, in first-seen order."""
        seen: Keyed[None] = {}
        for family in self.product_families.values():
            seen.update(dict.fromkeys(family.collects.categories()))
        for activity in self.activities.values():
            seen.update(dict.fromkeys(activity.categories))
        return tuple(seen)

    def activities_using(self, category: str) -> list[Activity]:
        return [a for a in self.activities.values() if category in a.categories]
