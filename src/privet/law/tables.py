"""The law tables: per jurisdiction, which rights exist, how fast to answer, appeals, opt-out signals, minors.

Each jurisdiction is one YAML file under `data/tables/`, validated here into frozen models. Every row carries
the citation it rests on; a row whose figure could not be confirmed against the text says `inferred: true`.
Rows that change over time carry `since` (the date they apply from), so the tables answer "what did the law
say on the day the request arrived", not only "what does it say now".
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from privet.law.vocabulary import Right


class LawError(Exception):
    """A question the law tables cannot answer; the message says why and what to do."""


class UnknownJurisdiction(LawError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class LawTableError(LawError):
    """A table file is malformed; the message names the file and the key."""


class Unit(StrEnum):
    CALENDAR_DAYS = "calendar_days"
    BUSINESS_DAYS = "business_days"
    MONTHS = "months"


class WeekendRule(StrEnum):
    NEXT_BUSINESS_DAY = "next_business_day"  # a period ending on a weekend or holiday runs to the next working day
    NONE = "none"  # the period ends on its last day whatever day that is


class VerificationPolicy(StrEnum):
    ALLOWED = "allowed"  # the controller may ask the person to prove who they are
    PROHIBITED = "prohibited"  # it may only ask for what it needs to find the records


class Activity(StrEnum):
    """What a minors rule restricts."""

    PROCESSING = "processing"  # any processing of the child's data (US: a known child's data is sensitive data)
    ONLINE_SERVICE_CONSENT = "online_service_consent"  # GDPR Art. 8: consent to online services offered to a child
    SALE = "sale"
    SHARING = "sharing"  # CCPA cross-context behavioural advertising
    TARGETED_ADVERTISING = "targeted_advertising"
    PROFILING = "profiling"


class MinorEffect(StrEnum):
    PARENTAL_CONSENT = "parental_consent"
    CONSENT = "consent"  # the minor's own opt-in (with a parent's below the parental-consent age)
    PROHIBITED = "prohibited"


_STRICTNESS = (MinorEffect.PARENTAL_CONSENT, MinorEffect.CONSENT, MinorEffect.PROHIBITED)
_PERIOD = re.compile(r"^(\d+)\s+(calendar days?|days?|business days?|months?)$")
_UNIT_WORDS = {"business": Unit.BUSINESS_DAYS, "month": Unit.MONTHS, "months": Unit.MONTHS}  # by first word


class Period(BaseModel):
    """A length of time as a law states it: "45 days", "10 business days", "1 month"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: int = Field(gt=0)
    unit: Unit

    def __str__(self) -> str:
        words = {Unit.CALENDAR_DAYS: "calendar day", Unit.BUSINESS_DAYS: "business day", Unit.MONTHS: "month"}
        return f"{self.amount} {words[self.unit]}{'' if self.amount == 1 else 's'}"


def _period(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    match = _PERIOD.match(value.strip().lower())
    if not match:
        raise ValueError(f"not a period: {value!r}; write e.g. '45 days', '10 business days' or '1 month'")
    first = match.group(2).split()[0]
    unit = _UNIT_WORDS.get(first, Unit.CALENDAR_DAYS)
    return {"amount": int(match.group(1)), "unit": unit}


PeriodText = Annotated[Period, BeforeValidator(_period)]


class Row(BaseModel):
    """Every statement in the tables says where it comes from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cite: str = Field(min_length=3)
    inferred: bool = False  # the figure is our best reading, not confirmed against the text
    note: str | None = None


class Dated(Row):
    since: date | None = None  # applies from this date; None: from the law's effective date

    def applies(self, on: date) -> bool:
        return self.since is None or on >= self.since


class Effective(Row):
    start: date


class CalendarSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    country: str  # ISO 3166 code for the `holidays` package, or "EEA" (see calendars.py)
    subdiv: str | None = None


class Counting(Row):
    """How the jurisdiction counts a period that ends on a weekend or public holiday."""

    calendar: CalendarSpec
    weekend_rule: WeekendRule


class Extension(Row):
    period: PeriodText | None  # None: the law allows an extension without a fixed maximum
    notice_within_first_period: bool
    conditions: str


class ConfirmReceipt(Row):
    period: PeriodText


class ResponseRule(Row):
    """How fast to answer a request; `rights: null` is the rule for every right no other rule names."""

    rights: tuple[Right, ...] | None = None
    period: PeriodText
    extension: Extension | None
    confirm_receipt: ConfirmReceipt | None


class Appeal(Row):
    window: str  # how long the person has to appeal, in the law's words
    period: PeriodText
    extension: Extension | None
    on_denial: str | None = None


class UniversalOptOut(Dated):
    required: bool


class MinorRule(Dated):
    under: int = Field(gt=0, le=21)  # applies to people younger than this
    effect: MinorEffect
    activities: tuple[Activity, ...]
    knowledge: str  # when the controller is bound: "actual knowledge", "knew or should have known", ...


class VerificationLevel(Row):
    rights: tuple[Right, ...]
    certainty: str
    data_points: int | None = None
    signed_declaration: bool = False


class Verification(Row):
    standard: str
    opt_out: VerificationPolicy
    levels: tuple[VerificationLevel, ...]


class RecordKeeping(Row):
    months: int = Field(gt=0)


class FreeRequests(Row):
    per_12_months: int | None  # None: no numeric allowance; only manifestly unfounded or excessive requests
    rights: tuple[Right, ...] | None = None  # the requests the allowance counts; None: every request
    beyond: str  # what the controller may do past the allowance


class Law(BaseModel):
    """One jurisdiction's table. Fields without defaults must be stated in the file, even as `null`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    title: str
    cite: str
    as_of: date  # the date the table was last checked against the law
    effective: Effective
    counting: Counting
    rights: dict[Right, Dated]
    requests: tuple[ResponseRule, ...]
    appeal: Appeal | None
    universal_opt_out: UniversalOptOut
    minors: tuple[MinorRule, ...]
    verification: Verification
    record_keeping: RecordKeeping | None
    free_requests: FreeRequests

    @model_validator(mode="after")
    def _consistent(self) -> Law:
        defaults = [r for r in self.requests if r.rights is None]
        if len(defaults) != 1:
            raise ValueError("requests: exactly one rule must leave `rights` out (the rule for every other right)")
        named = [right for rule in self.requests for right in rule.rights or ()]
        if len(named) != len(set(named)):
            raise ValueError("requests: a right is named by two rules")
        if (Right.APPEAL in self.rights) != (self.appeal is not None):
            raise ValueError("rights.appeal and the appeal section must both be present or both absent")
        return self

    def grants(self, right: Right, on: date) -> bool:
        grant = self.rights.get(right)
        return on >= self.effective.start and grant is not None and grant.applies(on)

    def rights_on(self, on: date) -> frozenset[Right]:
        return frozenset(r for r in self.rights if self.grants(r, on))

    def rule_for(self, right: Right) -> ResponseRule:
        for rule in self.requests:
            if rule.rights is not None and right in rule.rights:
                return rule
        return next(rule for rule in self.requests if rule.rights is None)

    def universal_opt_out_required(self, on: date) -> bool:
        return self.universal_opt_out.required and self.universal_opt_out.applies(on)

    def minor_rules(self, on: date) -> tuple[MinorRule, ...]:
        return tuple(rule for rule in self.minors if rule.applies(on))

    def minor_rule(self, activity: Activity, age: int, on: date) -> MinorRule | None:
        """The strictest rule that binds `activity` for a person of `age` on `on`, or None."""
        binding = [r for r in self.minor_rules(on) if activity in r.activities and age < r.under]
        return max(binding, key=lambda r: _STRICTNESS.index(r.effect), default=None)


def _load(name: str, text: str) -> Law:
    try:
        raw = yaml.safe_load(text)
        law = Law.model_validate(raw)
    except yaml.YAMLError as exc:
        raise LawTableError(f"{name}: not valid YAML: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise LawTableError(f"{name}: {where}: {first['msg']} ({exc.error_count()} problem(s))") from exc
    if f"{law.key}.yml" != name:
        raise LawTableError(f"{name}: declares key {law.key!r}; name the file {law.key}.yml")
    return law


@cache
def law_tables() -> dict[str, Law]:
    """Every jurisdiction's table, by catalogue key. Package data shipped with privet, not the user's files."""
    folder = resources.files("privet.law").joinpath("data/tables")
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".yml")), key=lambda f: f.name)
    return {law.key: law for law in (_load(f.name, f.read_text("utf-8")) for f in files)}


def law_for(key: str) -> Law:
    try:
        return law_tables()[key]
    except KeyError:
        known = ", ".join(sorted(law_tables()))
        raise UnknownJurisdiction(f"no law table for {key!r}; known: {known}") from None
