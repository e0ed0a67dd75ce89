"""Calendar periods ("P2M", "3 years"), which timedelta cannot express: months vary in length."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_ISO = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")
_WORDS = re.compile(r"^(\d+)\s*(year|month|week|day)s?$")
_UNITS = {"year": (1, 0, 0), "month": (0, 1, 0), "week": (0, 0, 7), "day": (0, 0, 1)}


@dataclass(frozen=True, slots=True, order=True)
class Period:
    years: int = 0
    months: int = 0
    days: int = 0

    @classmethod
    def parse(cls, text: str) -> Period:
        raw = text.strip()
        iso = _ISO.match(raw.upper())
        if iso and raw.upper() != "P":
            y, m, w, d = (int(g) if g else 0 for g in iso.groups())
            return cls(y, m, d + 7 * w)
        total = (0, 0, 0)
        for part in (p.strip() for p in raw.lower().replace(" and ", ",").split(",")):
            words = _WORDS.match(part)
            if not words:
                raise ValueError(f"not a period: {text!r}; write ISO 8601 like P2M or P3Y, or words like '2 months'")
            n = int(words.group(1))
            y, m, d = _UNITS[words.group(2)]
            total = (total[0] + n * y, total[1] + n * m, total[2] + n * d)
        return cls(*total)

    def approx_days(self) -> float:
        """For comparing lengths (longer retention is a material change), not for computing dates."""
        return self.years * 365.25 + self.months * 30.44 + self.days

    def iso(self) -> str:
        out = "P" + (f"{self.years}Y" if self.years else "") + (f"{self.months}M" if self.months else "")
        out += f"{self.days}D" if self.days or out == "P" else ""
        return out

    def __str__(self) -> str:
        parts = []
        for n, unit in ((self.years, "year"), (self.months, "month"), (self.days, "day")):
            if n:
                parts.append(f"{n} {unit}{'s' if n != 1 else ''}")
        return ", ".join(parts) or "0 days"


def _coerce(value: Any) -> Any:
    if isinstance(value, Period):
        return value
    if isinstance(value, str):
        return Period.parse(value)
    raise ValueError("a period must be text like P2M or '2 months'")


PeriodField = Annotated[Period, BeforeValidator(_coerce), PlainSerializer(lambda p: p.iso(), return_type=str)]
