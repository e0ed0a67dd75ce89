"""De-identification in the manifest: what happens to each data category in an export, and named profiles.

    deidentification:
      rules:                                   # per data category; a rule covers the sub-categories without their own
        user.contact: {action: drop}
        user.unique_id: {action: pseudonymise, domain: user_id}
        user.demographic.date_of_birth: {action: generalise, generaliser: year_band, config: {years: 20},
                                         role: quasi_identifier}
      profiles:
        analytics:
          k: 5
          unlisted: drop                       # fields no rule covers (and columns the manifest does not know)
          columns:                             # per column: `dataset.collection.field`, or a bare column name
            accounts_db.users.created_at: {action: generalise, generaliser: timestamp, config: {unit: week}}

The models only hold the shapes; whether a category, generaliser or domain exists is checked by the lint rules
(`privet.manifest.lint.deid`) and, for one collection, by `privet.deid.manifest_profiles`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from privet.manifest.base import Model, Sourced


class Role(StrEnum):
    QUASI_IDENTIFIER = "quasi_identifier"  # combined with others it can single a person out: k is measured on it
    SENSITIVE = "sensitive"  # what must not be learnt from being in a class: l is measured on it


class DeidRule(Sourced):
    action: Literal["keep", "drop", "pseudonymise", "generalise", "suppress"]
    domain: str | None = None  # pseudonymise: the token space ("email", "user_id"); equal domains join
    generaliser: str | None = None  # generalise: age_band, birth_year, year_band, postcode, timestamp, grid
    config: dict[str, Any] = Field(default_factory=dict)
    longitude_column: str | None = None  # grid over two columns, in a column rule: this one is the latitude
    role: Role | None = None
    description: str = ""


class DeidProfileSpec(Sourced):
    description: str = ""
    k: int = Field(ge=1)
    l: int | None = Field(default=None, ge=1)  # noqa: E741
    # Only fields whose every category is one of these (or below one) leave; the others are dropped. Empty: all.
    categories: tuple[str, ...] = ()
    rules: dict[str, DeidRule] = Field(default_factory=dict)  # this profile's own category rules
    columns: dict[str, DeidRule] = Field(default_factory=dict)
    unlisted: Literal["drop", "refuse"] = "refuse"
    suppress_small_classes: bool = False
    max_suppressed_share: float = Field(default=0.05, ge=0, le=1)


class Deidentification(Model):
    rules: dict[str, DeidRule] = Field(default_factory=dict)
    profiles: dict[str, DeidProfileSpec] = Field(default_factory=dict)
