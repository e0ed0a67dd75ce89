"""Which days are working days, per jurisdiction, from the `holidays` package.

- United States: federal holidays plus the state's own (`holidays.US(subdiv=...)`), as the package has them.
- United Kingdom: England and Wales bank holidays unless a nation is given (SCT, NIR, WLS).
- Switzerland: the federal days only (New Year, Ascension, 1 August, Christmas) unless a canton is given;
  most holidays in Switzerland are cantonal, so name the canton where the controller acts.
- EU/EEA: the public holidays of the member state where the controller acts (Regulation 1182/71 Art. 2(1)
  refers to the holidays of the Member State concerned). Without one, the default is the days that are public
  holidays in *every* EEA state (in practice 1 January and 25 December). That default can only make a due date
  earlier than a member state's own calendar would, never later, so a deadline computed with it is never missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

import holidays

from privet.law.tables import CalendarSpec, LawError

EEA = (
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IS", "IT", "LI",
    "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
)  # fmt: skip
_WEEKEND = (5, 6)  # Saturday, Sunday
_HOLIDAYS_VERSION = str(getattr(holidays, "__version__", "?"))  # holiday data changes between releases


class UnknownRegion(LawError):
    pass


@dataclass(frozen=True, slots=True)
class Calendar:
    """Working days for one place. `name` says which calendar decided, for explanations."""

    name: str
    country: str
    subdiv: str | None = None

    def holiday(self, day: date) -> str | None:
        if self.country == "EEA":
            return _eea_common(day.year).get(day)
        return _holidays(self.country, self.subdiv).get(day)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() not in _WEEKEND and self.holiday(day) is None

    def why_not_working(self, day: date) -> str | None:
        if day.weekday() in _WEEKEND:
            return day.strftime("%A")
        return self.holiday(day)


@cache
def _holidays(country: str, subdiv: str | None) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdiv)


@cache
def _eea_common(year: int) -> dict[date, str]:
    per_state = [holidays.country_holidays(code, years=year) for code in EEA]
    common = set(per_state[0]).intersection(*per_state[1:])
    return {day: f"{per_state[0][day]} (a public holiday in every EEA state)" for day in common}


def calendar_for(spec: CalendarSpec, region: str | None = None) -> Calendar:
    """The calendar for a jurisdiction, narrowed to `region` where the law lets the place matter.

    `region` is, for the EU, a member state ("DE") optionally with a subdivision ("DE-BY"); for the UK a nation
    ("SCT"); for Switzerland a canton ("ZH"). US states already have their own calendar and take no region.
    """
    country, subdiv = spec.country, spec.subdiv
    if region:
        if country == "EEA":
            country, _, sub = region.upper().partition("-")
            if country not in EEA:
                raise UnknownRegion(f"{region!r} is not an EEA member state; use an ISO code such as DE or FR")
            subdiv = sub or None
        elif country in ("GB", "CH"):
            subdiv = region.upper()
        else:
            raise UnknownRegion(f"the {country} calendar takes no region (got {region!r})")
    if country == "EEA":
        return Calendar("public holidays common to every EEA state", "EEA")
    try:
        _holidays(country, subdiv)
    except NotImplementedError as exc:
        raise UnknownRegion(f"no holiday calendar for {country} {subdiv or ''}: {exc}") from exc
    label = f"{country}-{subdiv}" if subdiv else country
    return Calendar(f"{label} public holidays (holidays {_HOLIDAYS_VERSION})", country, subdiv)
