"""What the notice promises people directly: rights, channels, marketing, cookies, minors, incentives."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from privet.law.vocabulary import Right
from privet.manifest.base import Entry, Sourced
from privet.manifest.period import PeriodField


class NoticeMeta(Sourced):
    title: str = "Privacy Notice"
    issuer: str = ""  # "issued by X and its affiliates"
    last_updated: dt.date | None = None
    version: str = ""
    audience: str = ""  # to whom the notice is addressed
    languages: tuple[str, ...] = ("en",)
    jurisdictions: tuple[str, ...]  # where the company operates; activities default to these
    changes: str = ""  # how material changes are announced


class ChannelKind(StrEnum):
    EMAIL = "email"
    WEB = "web"
    PHONE = "phone"
    POST = "post"
    IN_APP = "in_app"
    REPLY = "reply"  # replying to a message (appeals)


class ContactChannel(Entry):
    kind: ChannelKind
    address: str = ""  # email address, phone number, postal address or URL


class RightsOffer(Entry):
    """The rights a group of jurisdictions gets and how people exercise them."""

    jurisdictions: tuple[str, ...]
    rights: tuple[Right, ...]
    channels: tuple[str, ...] = ()
    verification: str = ""  # how identity is verified, in the notice's words
    agents: str = ""  # how authorised agents prove authority
    appeal: str = ""  # how to appeal a decision
    appeal_window: PeriodField | None = None  # how long after a decision the company accepts appeals
    notes: tuple[str, ...] = ()


class MarketingKind(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PHONE = "phone"
    POST = "post"
    PUSH = "push"
    IN_APP = "in_app"


class MarketingChannel(Entry):
    kind: MarketingKind
    consent: str | None = None
    per_campaign_unsubscribe: bool = True
    global_unsubscribe: str = ""  # URL or instruction to leave every campaign
    keywords: tuple[str, ...] = ()  # SMS reply keywords that unsubscribe
    tracking: tuple[str, ...] = ()  # "opens", "clicks"
    tracking_consent: str | None = None


class CookieCategory(Entry):
    consent: str | None = None  # None: strictly necessary, no choice
    purposes: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    opt_out_links: tuple[str, ...] = ()


class Cookie(Entry):
    category: str
    provider: str = ""
    recipient: str | None = None
    duration: PeriodField | None = None
    first_party: bool = True


class Minors(Sourced):
    no_sale_under: int | None = None  # never sold or shared for targeted ads below this age
    services_directed_to_children: bool = False
    statement: str = ""


class Incentive(Entry):
    categories: tuple[str, ...] = ()
    how_to_join: str = ""
    how_to_withdraw: str = ""
    value_method: str = ""  # how the value of the data is estimated (CCPA regs 7016/7081)


class AutomatedDecisions(Sourced):
    performed: bool = False
    statement: str = ""
    logic: str = ""


class Statement(Entry):
    """A passage of the notice that is a statement, not data (de-identified data, links, security)."""

    text: str
    section: str = ""


class SecurityMeasure(Entry):
    pass
