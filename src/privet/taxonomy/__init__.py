"""The default vocabulary of data categories, purposes, subjects and legal bases, shipped as data."""

from privet.taxonomy.model import (
    DataCategory,
    LegalBasis,
    Purpose,
    PurposeTag,
    Sensitivity,
    SpecialCondition,
    Subject,
    Taxonomy,
    UsCategory,
)

__all__ = [
    "DataCategory",
    "LegalBasis",
    "Purpose",
    "PurposeTag",
    "Sensitivity",
    "SpecialCondition",
    "Subject",
    "Taxonomy",
    "UsCategory",
]
