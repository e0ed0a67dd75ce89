"""Generalisers: make a value coarser so that it describes a group of people rather than one person.

Each is a small class with a `name` and a frozen, typed configuration, held by one registry. `apply` works on one
value and is the reference; the Arrow engine (`privet.engines.deid`) has a vectorised version of each built-in that
must agree with it. A NULL stays NULL. A value of the right type that cannot be generalised (a malformed postcode, a
negative age, a latitude of 200) becomes NULL, i.e. is suppressed: it is more likely to single someone out than
to blend in. A value of the wrong type raises GeneraliseError, because the column mapping is wrong.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, TypeVar

ConfigT = TypeVar("ConfigT")

KM_PER_DEGREE = 6371.0088 * math.pi / 180  # along a meridian, on the mean Earth radius


class GeneraliseError(ValueError):
    """A generaliser is misconfigured or was given a value of the wrong type."""


class Generaliser(ABC, Generic[ConfigT]):
    name: ClassVar[str]
    config_type: ClassVar[type[Any]]

    def __init__(self, config: ConfigT | None = None) -> None:
        self.config: ConfigT = config if config is not None else self.config_type()

    @abstractmethod
    def apply(self, value: Any) -> Any: ...

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"


GeneraliserType = type[Generaliser[Any]]
REGISTRY: dict[str, GeneraliserType] = {}


def register(cls: GeneraliserType) -> GeneraliserType:
    if cls.name in REGISTRY:
        raise ValueError(f"a generaliser named {cls.name!r} is already registered")
    REGISTRY[cls.name] = cls
    return cls


def make_generaliser(name: str, options: Mapping[str, Any] | None = None) -> Generaliser[Any]:
    cls = REGISTRY.get(name)
    if cls is None:
        raise GeneraliseError(f"no generaliser {name!r}; use one of {', '.join(sorted(REGISTRY))}")
    try:
        return cls(cls.config_type(**(options or {})))
    except TypeError as exc:
        raise GeneraliseError(f"generaliser {name!r}: bad options {dict(options or {})!r} ({exc})") from None


def _wrong_type(generaliser: str, wanted: str, value: Any) -> GeneraliseError:
    return GeneraliseError(f"{generaliser} generalises {wanted}, not {type(value).__name__} ({value!r})")


@dataclass(frozen=True, slots=True)
class NoConfig:
    pass


@dataclass(frozen=True, slots=True)
class AgeBandConfig:
    """Band edges in years: (0, 18, 25) makes 0-17, 18-24 and 25+."""

    edges: tuple[int, ...] = (0, 18, 25, 35, 45, 55, 65, 75, 90)

    def __post_init__(self) -> None:
        edges = tuple(self.edges)
        object.__setattr__(self, "edges", edges)
        if not edges or any(not isinstance(e, int) or isinstance(e, bool) or e < 0 for e in edges):
            raise GeneraliseError(f"age band edges must be whole years of 0 or more, got {edges!r}")
        if any(a >= b for a, b in itertools.pairwise(edges)):
            raise GeneraliseError(f"age band edges must increase, got {edges!r}")

    @property
    def labels(self) -> tuple[str, ...]:
        """The label for an age below the first edge, then one per band."""
        e = self.edges
        return (f"<{e[0]}", *(f"{lo}-{hi - 1}" for lo, hi in itertools.pairwise(e)), f"{e[-1]}+")


@register
class AgeBand(Generaliser[AgeBandConfig]):
    name = "age_band"
    config_type = AgeBandConfig

    def apply(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _wrong_type(self.name, "ages in years (numbers)", value)
        if math.isnan(value) or value < 0:
            return None
        return self.config.labels[bisect.bisect_right(self.config.edges, value)]


@register
class BirthYear(Generaliser[NoConfig]):
    name = "birth_year"
    config_type = NoConfig

    def apply(self, value: Any) -> int | None:
        if value is None:
            return None
        if not isinstance(value, dt.date):
            raise _wrong_type(self.name, "dates", value)
        return value.year


@dataclass(frozen=True, slots=True)
class YearBandConfig:
    """Bands of `years` calendar years, aligned on multiples of it: 20 makes 1960-1979, 1980-1999, ..."""

    years: int = 10

    def __post_init__(self) -> None:
        if isinstance(self.years, bool) or not isinstance(self.years, int) or not 1 <= self.years <= 100:
            raise GeneraliseError(f"year bands must be 1 to 100 years wide, got {self.years!r}")


@register
class YearBand(Generaliser[YearBandConfig]):
    """A date becomes the band of years it falls in ("1960-1979"): coarser than birth_year where people are few."""

    name = "year_band"
    config_type = YearBandConfig

    def apply(self, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, dt.date):
            raise _wrong_type(self.name, "dates", value)
        start = value.year - value.year % self.config.years
        return str(start) if self.config.years == 1 else f"{start}-{start + self.config.years - 1}"


@dataclass(frozen=True, slots=True)
class PostcodeRule:
    """`pattern` matches a whole postcode or its kept part; its group `keep` is what remains."""

    pattern: str
    pad_digits: int | None = None  # a postcode stored as a number lost its leading zeros: pad back to this width


_SPACE = "[ \\t\\r\\n]*"  # spelled out: Python's \s and Arrow's (RE2) \s disagree beyond ASCII
POSTCODE_RULES: dict[str, PostcodeRule] = {
    # United Kingdom: the outward code (district), "SW1A 1AA" -> "SW1A".
    "GB": PostcodeRule("(?P<keep>[A-Za-z]{1,2}[0-9][A-Za-z0-9]?)(?:[ \\t]*[0-9][A-Za-z]{2})?"),
    # United States: the 3-digit ZIP prefix, "02134-1234" -> "021" (HIPAA Safe Harbor also zeroes sparse ones).
    "US": PostcodeRule("(?P<keep>[0-9]{3})(?:[0-9]{2}(?:-?[0-9]{4})?)?", pad_digits=5),
    # Germany: the 2-digit postal region, "10115" -> "10".
    "DE": PostcodeRule("(?P<keep>[0-9]{2})(?:[0-9]{3})?", pad_digits=5),
    # France: the département, "75008" -> "75".
    "FR": PostcodeRule("(?P<keep>[0-9]{2})(?:[0-9]{3})?", pad_digits=5),
    # Netherlands: the 4-digit area, "1012 AB" -> "1012".
    "NL": PostcodeRule("(?P<keep>[1-9][0-9]{3})(?:[ \\t]*[A-Za-z]{2})?"),
    # Canada: the forward sortation area, "K1A 0B1" -> "K1A".
    "CA": PostcodeRule("(?P<keep>[A-Za-z][0-9][A-Za-z])(?:[ \\t]*[0-9][A-Za-z][0-9])?"),
}
COUNTRY_ALIASES = {"UK": "GB"}


def postcode_pattern(rule: PostcodeRule) -> str:
    """The whole-value pattern, with surrounding blanks allowed (the same text for Python's re and Arrow's RE2)."""
    return f"{_SPACE}{rule.pattern}{_SPACE}"


@dataclass(frozen=True, slots=True)
class PostcodeConfig:
    country: str = "GB"
    # Prefixes that still single people out (sparsely populated areas) and become all zeros, e.g. HIPAA's 3-digit ZIPs.
    zeroed: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        country = COUNTRY_ALIASES.get(self.country.upper(), self.country.upper())
        object.__setattr__(self, "country", country)
        object.__setattr__(self, "zeroed", frozenset(self.zeroed))
        if country not in POSTCODE_RULES:
            raise GeneraliseError(
                f"no postcode rule for country {self.country!r}; known: {', '.join(sorted(POSTCODE_RULES))}"
            )

    @property
    def rule(self) -> PostcodeRule:
        return POSTCODE_RULES[self.country]


@register
class PostcodePrefix(Generaliser[PostcodeConfig]):
    name = "postcode"
    config_type = PostcodeConfig

    def __init__(self, config: PostcodeConfig | None = None) -> None:
        super().__init__(config)
        self._pattern = re.compile(postcode_pattern(self.config.rule))

    def apply(self, value: Any) -> str | None:
        if value is None:
            return None
        rule = self.config.rule
        if isinstance(value, int) and not isinstance(value, bool) and rule.pad_digits is not None:
            value = str(value).zfill(rule.pad_digits)
        if not isinstance(value, str):
            raise _wrong_type(self.name, "postcodes (text)", value)
        match = self._pattern.fullmatch(value)
        if match is None:
            return None
        kept = match["keep"].upper()
        return "0" * len(kept) if kept in self.config.zeroed else kept


@dataclass(frozen=True, slots=True)
class TimestampConfig:
    unit: Literal["day", "week"] = "day"  # week: the Monday that starts the ISO week

    def __post_init__(self) -> None:
        if self.unit not in ("day", "week"):
            raise GeneraliseError(f"timestamps generalise to 'day' or 'week', not {self.unit!r}")


@register
class TimestampTruncate(Generaliser[TimestampConfig]):
    """Truncate to the start of the day or ISO week, in the value's own time zone; the type is kept."""

    name = "timestamp"
    config_type = TimestampConfig

    def apply(self, value: Any) -> dt.date | None:
        if value is None:
            return None
        if not isinstance(value, dt.date):
            raise _wrong_type(self.name, "dates or timestamps", value)
        day: dt.date = value
        if isinstance(value, dt.datetime):
            day = value.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.config.unit == "week":
            day = day - dt.timedelta(days=day.weekday())
        return day


@dataclass(frozen=True, slots=True)
class GridConfig:
    """Square-ish cells of about `cell_km` on a side: bands of latitude, each cut into equal spans of longitude."""

    cell_km: float = 10.0

    def __post_init__(self) -> None:
        if not 0 < self.cell_km <= 20000:
            raise GeneraliseError(f"grid cells must be between 0 and 20000 km wide, got {self.cell_km!r}")

    @property
    def lat_bands(self) -> int:
        return max(1, round(180 / (self.cell_km / KM_PER_DEGREE)))


def lon_cells(lat_centre: float, lat_step: float) -> int:
    """How many cells one latitude band holds, so that each is about as wide as it is tall."""
    return max(1, math.floor(360 * math.cos(math.radians(lat_centre)) / lat_step))


@register
class GridCell(Generaliser[GridConfig]):
    """A (latitude, longitude) becomes the centre of its grid cell."""

    name = "grid"
    config_type = GridConfig

    def apply(self, value: Any) -> tuple[float, float] | None:
        if value is None:
            return None
        if not (isinstance(value, tuple | list) and len(value) == 2):
            raise _wrong_type(self.name, "(latitude, longitude) pairs", value)
        lat, lon = float(value[0]), float(value[1])
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):  # also false for NaN
            return None
        bands = self.config.lat_bands
        lat_step = 180 / bands
        lat_index = min(math.floor((lat + 90) / lat_step), bands - 1)
        lat_centre = -90 + (lat_index + 0.5) * lat_step
        cells = lon_cells(lat_centre, lat_step)
        lon_step = 360 / cells
        lon_index = math.floor((lon + 180) / lon_step) % cells
        return lat_centre, -180 + (lon_index + 0.5) * lon_step


@register
class Suppress(Generaliser[NoConfig]):
    name = "suppress"
    config_type = NoConfig

    def apply(self, value: Any) -> None:
        return None
