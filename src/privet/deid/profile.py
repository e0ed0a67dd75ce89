"""De-identification profiles: what happens to each column, and the k (and l) the result must reach.

A profile names columns, not data categories; which columns hold which category comes from the manifest and is
mapped onto a profile by the caller. Every column of a table must be covered (kept, dropped, pseudonymised,
generalised or suppressed) unless the profile says to drop unlisted ones: nothing leaves de-identification by
oversight. Applying a profile (`privet.engines.deid.apply_profile`) refuses with DeidRefused when the target is not
met, optionally after dropping the rows of too-small classes when they are few enough.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from privet.deid.generalise import GeneraliseError, Generaliser, make_generaliser
from privet.deid.kanon import KAnonymityError, KAnonymityReport, check_targets
from privet.deid.pseudonymise import PseudonymError, check_domain


class _Action(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Keep(_Action):
    action: Literal["keep"] = "keep"


class Drop(_Action):
    action: Literal["drop"] = "drop"


class Pseudonymise(_Action):
    action: Literal["pseudonymise"] = "pseudonymise"
    domain: str  # "email", "phone", "customer_id": the same domain in two tables makes tokens that join

    @model_validator(mode="after")
    def _domain(self) -> Pseudonymise:
        try:
            check_domain(self.domain)
        except PseudonymError as exc:
            raise ValueError(str(exc)) from None
        return self


class Generalise(_Action):
    action: Literal["generalise"] = "generalise"
    generaliser: str
    config: dict[str, Any] = Field(default_factory=dict)
    # For "grid" over two columns: this column is the latitude and `longitude_column` the longitude.
    longitude_column: str | None = None

    @model_validator(mode="after")
    def _builds(self) -> Generalise:
        try:
            self.build()
        except GeneraliseError as exc:
            raise ValueError(str(exc)) from None
        if self.longitude_column is not None and self.generaliser != "grid":
            raise ValueError(f"longitude_column is for the grid generaliser, not {self.generaliser!r}")
        return self

    def build(self) -> Generaliser[Any]:
        return make_generaliser(self.generaliser, self.config)


class Suppress(_Action):
    action: Literal["suppress"] = "suppress"


ColumnAction = Annotated[Keep | Drop | Pseudonymise | Generalise | Suppress, Field(discriminator="action")]


class DeidProfile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    k: int = Field(ge=1)
    quasi_identifiers: tuple[str, ...] = ()
    l: int | None = Field(default=None, ge=1)  # noqa: E741
    sensitive: str | None = None
    columns: dict[str, ColumnAction]
    unlisted: Literal["refuse", "drop"] = "refuse"
    suppress_small_classes: bool = False
    max_suppressed_share: float = Field(default=0.05, ge=0, le=1)

    @model_validator(mode="after")
    def _consistent(self) -> DeidProfile:
        try:
            check_targets(self.quasi_identifiers, self.k, self.l, self.sensitive)
        except KAnonymityError as exc:
            raise ValueError(str(exc)) from None
        if self.k > 1 and not self.quasi_identifiers:
            raise ValueError(f"k={self.k} needs the quasi-identifier columns it is measured over")
        partners = self.partner_columns()
        for column, partner in partners.items():
            if partner in self.columns:
                raise ValueError(f"{partner!r} is rewritten with {column!r} by the grid; do not list it as a column")
        present = set(self.output_columns()) | set(partners.values())
        for column in (*self.quasi_identifiers, *([self.sensitive] if self.sensitive else [])):
            if column not in self.columns and column not in partners.values():
                raise ValueError(f"{column!r} is not one of the profile's columns; give it an action")
            if column not in present:
                raise ValueError(f"{column!r} is dropped, so it cannot be measured; keep or generalise it")
        return self

    def partner_columns(self) -> dict[str, str]:
        """Latitude column -> longitude column, for grids over two columns."""
        return {
            c: a.longitude_column
            for c, a in self.columns.items()
            if isinstance(a, Generalise) and a.longitude_column is not None
        }

    def output_columns(self) -> list[str]:
        return [c for c, a in self.columns.items() if not isinstance(a, Drop)]


@dataclass(frozen=True)
class DeidReport:
    """What applying a profile did: per-column actions, values suppressed, rows dropped, and k before and after."""

    profile: str
    rows_in: int
    rows_out: int
    actions: dict[str, str]  # column -> "keep", "drop", "pseudonymise:email", "generalise:age_band", ...
    cells_suppressed: dict[str, int]  # column -> values turned into NULL (not counting those already NULL)
    before: KAnonymityReport  # after the column actions, before any row was dropped
    after: KAnonymityReport
    rows_suppressed: int = 0
    unlisted_dropped: tuple[str, ...] = field(default=())

    @property
    def suppressed_share(self) -> float:
        return self.rows_suppressed / self.rows_in if self.rows_in else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "rows_suppressed": self.rows_suppressed,
            "suppressed_share": self.suppressed_share,
            "actions": dict(self.actions),
            "unlisted_dropped": list(self.unlisted_dropped),
            "cells_suppressed": dict(self.cells_suppressed),
            "before": self.before.as_json(),
            "after": self.after.as_json(),
        }


class ProfileError(ValueError):
    """The profile does not fit the table (a column missing, or present but not covered)."""


class DeidRefused(Exception):
    """The result would not meet the profile's target; nothing is returned. `report` says by how much."""

    def __init__(self, profile: DeidProfile, report: KAnonymityReport) -> None:
        self.profile = profile.name
        self.report = report
        fix = "generalise further (wider bands, shorter postcode prefixes, coarser grid cells or dates)"
        if profile.suppress_small_classes:
            fix += (
                f"; dropping the rows at risk would remove {report.share_at_risk:.1%} of the rows, more than the"
                f" {profile.max_suppressed_share:.1%} allowed"
            )
        else:
            fix += ", or allow suppress_small_classes"
        super().__init__(f"de-identification profile {profile.name!r} refused: {report.describe()}; {fix}")


def may_suppress(profile: DeidProfile, report: KAnonymityReport) -> bool:
    """Whether the rows at risk may be dropped to reach the target, instead of refusing."""
    return profile.suppress_small_classes and report.share_at_risk <= profile.max_suppressed_share


def describe_action(action: ColumnAction) -> str:
    if isinstance(action, Pseudonymise):
        return f"pseudonymise:{action.domain}"
    if isinstance(action, Generalise):
        return f"generalise:{action.generaliser}"
    return action.action
