"""Processing activities and what governs them: legal bases, consent keys, retention rules."""

from __future__ import annotations

from enum import StrEnum

from privet.manifest.base import Entry, Sourced
from privet.manifest.period import PeriodField


class BasisClaim(Sourced):
    """A legal basis an activity relies on, for some of its purposes, in some jurisdictions."""

    basis: str  # taxonomy legal-basis key: consent, contract, legal_obligation, legitimate_interests ...
    purposes: tuple[str, ...] = ()  # empty: every purpose of the activity
    categories: tuple[str, ...] = ()  # empty: every category of the activity (a setting may govern only some)
    jurisdictions: tuple[str, ...] = ()  # empty: every jurisdiction of the activity
    consent: str | None = None  # consent key, where the basis is consent
    condition: str = ""  # when this basis applies, in the notice's words ("insofar as ... tailoring ads")
    interest: str = ""  # the legitimate interest pursued, where that is the basis


class Activity(Entry):
    purposes: tuple[str, ...]
    bases: tuple[BasisClaim, ...] = ()
    categories: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    systems: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    product_families: tuple[str, ...] = ()
    jurisdictions: tuple[str, ...] = ()  # empty: every jurisdiction the manifest operates in
    retention: str | None = None
    consent: str | None = None  # switches the whole activity off when withdrawn
    special_condition: str | None = None  # GDPR Art. 9(2) condition for special categories
    all_categories: bool = False  # "All of the above" (the legal-claims activity, say)

    def consent_keys(self) -> tuple[str, ...]:
        keys = [self.consent] if self.consent else []
        keys += [b.consent for b in self.bases if b.consent]
        return tuple(dict.fromkeys(keys))


class ConsentKind(StrEnum):
    SETTING = "setting"  # an app or device setting ("Share App Analytics")
    COOKIE = "cookie"  # a cookie category in the banner
    MARKETING = "marketing"  # a marketing channel or campaign subscription
    SENSITIVE = "sensitive"  # explicit consent for special categories / US sensitive data
    SALE = "sale"  # opt-in or opt-out of sale/sharing
    PROGRAMME = "programme"  # participation in an event, contest, club or incentive


class ConsentDefault(StrEnum):
    OPT_IN = "opt_in"  # off until the person says yes
    OPT_OUT = "opt_out"  # on until the person says no (where the law allows)


class Consent(Entry):
    kind: ConsentKind
    default: ConsentDefault = ConsentDefault.OPT_IN
    prompt: str = ""  # the words the person sees where they choose
    how_to_withdraw: str = ""
    channel: str | None = None  # marketing channel key, for marketing consents
    jurisdictions: tuple[str, ...] = ()


class RetentionTrigger(StrEnum):
    RELATIONSHIP_END = "relationship_end"  # account closed, unsubscribed, contract ended
    PURPOSE_FULFILLED = "purpose_fulfilled"  # order delivered, warranty expired, claim settled
    LAST_ACTIVITY = "last_activity"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    COLLECTED = "collected"  # a fixed time after collection


class FinalAction(StrEnum):
    DELETE = "delete"
    ANONYMISE = "anonymise"
    DELETE_OR_ANONYMISE = "delete_or_anonymise"


class LimitationPeriod(Sourced):
    jurisdictions: tuple[str, ...] = ()  # empty: the default where no other entry matches
    period: PeriodField


class RetentionRule(Entry):
    triggers: tuple[RetentionTrigger, ...]
    after_trigger: PeriodField | None = None  # time kept after the trigger before the limitation clock runs
    limitation_periods: tuple[LimitationPeriod, ...] = ()
    grace: PeriodField | None = None  # "an additional two (2) month period"
    restrict_during_limitation: bool = True  # storage and security only, except for claims and legal duties
    legal_claims_extend: bool = True
    final_action: FinalAction = FinalAction.DELETE
