"""Consent events: the append-only evidence of what each person chose, when, where and on which notice."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

import uuid_utils

from privet.consent.identifiers import Identifier


class Source(StrEnum):
    APP_SETTING = "app_setting"
    COOKIE_BANNER = "cookie_banner"
    GPC = "gpc"  # a Global Privacy Control signal (Sec-GPC: 1)
    EMAIL_LINK = "email_link"  # an unsubscribe link in an email
    ONE_CLICK = "one_click"  # RFC 8058 one-click unsubscribe
    SMS_KEYWORD = "sms_keyword"
    PRIVACY_CENTER = "privacy_center"
    REQUEST = "request"  # a data-subject request (objection, restriction, opt-out)
    API = "api"
    IMPORT = "import"


class Signal(StrEnum):
    """Choices the law gives people besides consent keys; `granted` means the signal is in force."""

    OPT_OUT_SALE = "opt_out.sale"
    OPT_OUT_SHARING = "opt_out.sharing"
    OPT_OUT_TARGETED_ADVERTISING = "opt_out.targeted_advertising"
    LIMIT_SENSITIVE = "limit.sensitive"
    OBJECTION = "objection"  # to processing on legitimate interests or public task (GDPR Art. 21(1))
    OBJECTION_DIRECT_MARKETING = "objection.direct_marketing"  # GDPR Art. 21(2)-(3)
    RESTRICTION = "restriction"  # GDPR Art. 18: storage and legal claims only
    OPT_IN_SALE = "opt_in.sale"  # a minor's (or parent's) opt-in to sale or sharing


SIGNALS = frozenset(s.value for s in Signal)


@dataclass(frozen=True, slots=True)
class Evidence:
    user_agent: str | None = None
    ip: str | None = None  # kept only where the manifest allows; see ConsentPolicy.keep_ip
    request_id: str | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {
            k: v
            for k, v in (
                ("user_agent", self.user_agent),
                ("ip", self.ip),
                ("request_id", self.request_id),
                ("note", self.note),
            )
            if v
        }


@dataclass(frozen=True, slots=True)
class ConsentEvent:
    event_id: str  # chosen by the caller; the same id twice is the same event (idempotent)
    subject_id: str
    key: str  # a consent key of the manifest, or a Signal value
    granted: bool
    source: Source
    at: dt.datetime  # when the person chose (timezone-aware)
    scope: str = ""  # a campaign, for per-campaign marketing choices; "" for the whole key
    identifier: Identifier | None = None  # the identifier the choice arrived with
    jurisdiction: str | None = None
    manifest_version: str | None = None
    notice_hash: str | None = None  # hash of the notice text the person saw
    evidence: Evidence = field(default_factory=Evidence)

    def same_facts(self, other: ConsentEvent) -> bool:
        """Whether a repeated event id carries the same choice (a retry) or a different one (a conflict)."""
        return (self.subject_id, self.key, self.granted, self.scope, self.at) == (
            other.subject_id,
            other.key,
            other.granted,
            other.scope,
            other.at,
        )


def new_event_id(recorded_at: dt.datetime) -> str:
    """A new event's id: a UUIDv7 (RFC 9562) from the instant it is recorded, then random bits. Ids made in order
    sort in order, so the ledger's unique index on them grows at one end, as its sequence does, instead of taking
    a write at a random place for every event. The instant says nothing the event does not already record."""
    nanoseconds = int(recorded_at.timestamp()) * 1_000_000_000 + recorded_at.microsecond * 1_000
    return str(uuid_utils.uuid7(nanoseconds=nanoseconds))


class LedgerError(ValueError):
    """A consent event that cannot be recorded as given."""


class EventConflict(LedgerError):
    pass
