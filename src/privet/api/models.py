"""Bases of the API's pydantic models: frozen values; inputs refuse fields they do not know."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class Output(BaseModel):
    model_config = ConfigDict(frozen=True)


class Input(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Text = Annotated[str, StringConstraints(max_length=2_000)]
Line = Annotated[str, StringConstraints(max_length=320)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2_000)]
SubjectId = Annotated[str, StringConstraints(min_length=1, max_length=100)]
IdentifierText = Annotated[str, StringConstraints(min_length=3, max_length=400, pattern=r"^[A-Za-z_]+:")]
Jurisdiction = Annotated[str, StringConstraints(min_length=2, max_length=20, pattern=r"^[a-z]{2}(-[a-z0-9]{1,8})?$")]


class WhoIn(Input):
    """The person: a subject id, or an identifier such as email:ann@example.com."""

    subject_id: SubjectId | None = Field(default=None, description="privet's subject id")
    identifier: IdentifierText | None = Field(default=None, description="kind:value, e.g. email:ann@example.com")


class Ping(Output):
    status: str = "ok"
