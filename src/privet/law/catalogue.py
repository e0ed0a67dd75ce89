"""The jurisdiction catalogue shipped with privet, read from the package's own data files."""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict

from privet.law.vocabulary import Regime


class Jurisdiction(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    name: str
    country: str
    regime: Regime
    legal_basis_required: bool = False
    cite: str
    zone: str  # IANA time zone whose calendar day counts as the day of receipt (see jurisdictions.yml)

    def local_date(self, at: dt.datetime) -> dt.date:
        """The calendar day `at` falls on where the law counts it (a naive `at` is taken as UTC)."""
        aware = at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
        return aware.astimezone(ZoneInfo(self.zone)).date()


class Catalogue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    jurisdictions: dict[str, Jurisdiction]
    groups: dict[str, tuple[str, ...]]
    adequacy: dict[Regime, frozenset[str]]
    eea_members: frozenset[str] = frozenset()
    home: dict[Regime, frozenset[str]] = {}

    def expand(self, keys: tuple[str, ...]) -> tuple[str, ...]:
        """Group keys replaced by their members, in order, without repeats."""
        out: dict[str, None] = {}
        for key in keys:
            for member in self.groups.get(key, (key,)):
                out[member] = None
        return tuple(out)

    def local_date(self, key: str | None, at: dt.datetime) -> dt.date:
        """The day of `at` in the jurisdiction's zone; UTC's day where the jurisdiction is not known."""
        jurisdiction = self.jurisdictions.get(key or "")
        if jurisdiction is None:
            return (at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).date()
        return jurisdiction.local_date(at)

    def known(self, key: str) -> bool:
        return key in self.jurisdictions or key in self.groups

    def region_of(self, country: str) -> str:
        """EEA for a member state (adequacy lists and transfer rules speak of the EEA as one)."""
        return "EEA" if country in self.eea_members else country

    def domestic(self, exporter: Regime, country: str) -> bool:
        """Data staying where the exporter's law applies is no international transfer."""
        return self.region_of(country) in self.home.get(exporter, frozenset())

    def adequate(self, exporter: Regime, country: str) -> bool:
        """Domestic, or covered by an adequacy finding of the exporter's law."""
        region = self.region_of(country)
        return self.domestic(exporter, country) or region in self.adequacy.get(exporter, frozenset())


@cache
def catalogue() -> Catalogue:
    # Package data shipped with privet, not the user's files: see docs/architecture.md.
    raw = yaml.safe_load(resources.files("privet.law").joinpath("data/jurisdictions.yml").read_text("utf-8"))
    juris = {k: {"key": k, **v} for k, v in raw["jurisdictions"].items()}
    return Catalogue.model_validate({**raw, "jurisdictions": juris})
