"""Words shared by the manifest, the request workflow and the law tables."""

from __future__ import annotations

from enum import StrEnum


class Right(StrEnum):
    """A data-subject right, named once for every law (the law tables say which law grants which)."""

    ACCESS = "access"  # GDPR Art. 15; US "right to know" specific pieces
    KNOW = "know"  # US: categories of data, sources, purposes, recipients
    PORTABILITY = "portability"
    CORRECTION = "correction"  # GDPR "rectification"
    DELETION = "deletion"  # GDPR "erasure"
    RESTRICTION = "restriction"
    OBJECTION = "objection"  # GDPR Art. 21(1), to processing on Art. 6(1)(e) or (f)
    OBJECT_DIRECT_MARKETING = "object_direct_marketing"  # GDPR Art. 21(2)
    OPT_OUT_SALE = "opt_out_sale"
    OPT_OUT_SHARING = "opt_out_sharing"  # CCPA cross-context behavioural advertising
    OPT_OUT_TARGETED_ADVERTISING = "opt_out_targeted_advertising"
    OPT_OUT_PROFILING = "opt_out_profiling"
    LIMIT_SENSITIVE = "limit_sensitive"
    WITHDRAW_CONSENT = "withdraw_consent"
    AUTOMATED_DECISIONS = "automated_decisions"  # GDPR Art. 22
    APPEAL = "appeal"
    COMPLAIN = "complain"  # lodge a complaint with a supervisory authority


class Regime(StrEnum):
    """The family of law a jurisdiction belongs to; it decides whether a legal basis is needed."""

    GDPR = "gdpr"
    UK_GDPR = "uk_gdpr"
    SWISS_FADP = "swiss_fadp"
    US_STATE = "us_state"
    OTHER = "other"
