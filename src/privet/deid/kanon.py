"""k-anonymity and l-diversity: what a table's quasi-identifiers reveal, as a report.

Rows that agree on every quasi-identifier (age band, postcode district, ...) form an equivalence class. A table is
k-anonymous when every class holds at least k rows, so anyone looked up by those attributes hides among k-1 others.
It is (distinct) l-diverse for a sensitive column when every class holds at least l distinct non-null values there,
so being in a class does not reveal the sensitive value. A NULL quasi-identifier (a suppressed value) is a value
like any other: all rows with it in the same place fall into one class.

The counting runs over Arrow tables in `privet.engines.deid`; this module holds the targets, the report and the
rules that read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RISK_LIST_LIMIT = 20  # at-risk classes listed in a report; the counts always cover all of them


class KAnonymityError(ValueError):
    """The check itself is asked wrongly (a missing column, k below 1, l without a sensitive column)."""


def check_targets(quasi_identifiers: tuple[str, ...], k: int, l: int | None, sensitive: str | None) -> None:  # noqa: E741
    if k < 1:
        raise KAnonymityError(f"k must be 1 or more, got {k}")
    if len(set(quasi_identifiers)) != len(quasi_identifiers):
        raise KAnonymityError(f"quasi-identifiers are listed twice: {', '.join(quasi_identifiers)}")
    if (l is None) != (sensitive is None):
        raise KAnonymityError("l-diversity needs both l and the sensitive column it is measured on")
    if l is not None and l < 1:
        raise KAnonymityError(f"l must be 1 or more, got {l}")
    if sensitive is not None and sensitive in quasi_identifiers:
        raise KAnonymityError(f"the sensitive column {sensitive!r} cannot also be a quasi-identifier")


@dataclass(frozen=True, slots=True)
class RiskyClass:
    """One equivalence class below target: its quasi-identifier values, its size, its distinct sensitive values."""

    values: Mapping[str, Any]
    size: int
    distinct: int | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"values": {k: _plain(v) for k, v in self.values.items()}, "size": self.size}
        if self.distinct is not None:
            out["distinct"] = self.distinct
        return out


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@dataclass(frozen=True, slots=True)
class KAnonymityReport:
    """What the quasi-identifiers of a table reveal. `smallest_class` is the k achieved; `least_diverse` the l."""

    quasi_identifiers: tuple[str, ...]
    k: int
    rows: int
    classes: int
    smallest_class: int | None  # None: the table is empty
    classes_below_k: int
    rows_below_k: int
    classes_at_risk: int  # below k, or below l when l is asked
    rows_at_risk: int
    at_risk: tuple[RiskyClass, ...]  # the smallest at-risk classes first, at most RISK_LIST_LIMIT of them
    l: int | None = None  # noqa: E741
    sensitive: str | None = None
    least_diverse: int | None = None
    classes_below_l: int = 0
    rows_below_l: int = 0

    @property
    def meets_k(self) -> bool:
        return self.classes_below_k == 0

    @property
    def meets_l(self) -> bool:
        return self.classes_below_l == 0

    @property
    def ok(self) -> bool:
        return self.classes_at_risk == 0

    @property
    def share_at_risk(self) -> float:
        return self.rows_at_risk / self.rows if self.rows else 0.0

    @property
    def listed_all(self) -> bool:
        return len(self.at_risk) == self.classes_at_risk

    def describe(self) -> str:
        """One sentence for a message or a log line."""
        if self.rows == 0:
            return "the table is empty"
        text = f"k={self.smallest_class} achieved ({self.k} required) over {self.classes} classes of {self.rows} rows"
        if self.l is not None:
            text += f", l={self.least_diverse} achieved ({self.l} required) on {self.sensitive!r}"
        if not self.ok:
            classes = f"{self.classes_at_risk} class{'' if self.classes_at_risk == 1 else 'es'}"
            text += f"; {self.rows_at_risk} rows ({self.share_at_risk:.1%}) in {classes} are at risk"
        return text

    def as_json(self) -> dict[str, Any]:
        return {
            "quasi_identifiers": list(self.quasi_identifiers),
            "k": self.k,
            "k_achieved": self.smallest_class,
            "l": self.l,
            "l_achieved": self.least_diverse,
            "sensitive": self.sensitive,
            "rows": self.rows,
            "classes": self.classes,
            "classes_below_k": self.classes_below_k,
            "rows_below_k": self.rows_below_k,
            "classes_below_l": self.classes_below_l,
            "rows_below_l": self.rows_below_l,
            "classes_at_risk": self.classes_at_risk,
            "rows_at_risk": self.rows_at_risk,
            "at_risk": [c.as_json() for c in self.at_risk],
            "at_risk_listed_all": self.listed_all,
        }
