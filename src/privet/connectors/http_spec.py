"""The YAML declaration of an HTTP service: where it is, how to sign in, how to find, change and delete records.

A spec holds no secret: authentication names a secret, which the connector looks up in what settings give it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from privet.connectors.registry import explain
from privet.fulfilment.ports import ColumnType, ConnectorError


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BearerAuth(_Spec):
    type: Literal["bearer"]
    token: str  # the name of the secret holding the token


class HeaderAuth(_Spec):
    type: Literal["header"]
    header: str
    value: str  # the name of the secret holding the header's value


class BasicAuth(_Spec):
    type: Literal["basic"]
    username: str
    password: str  # the name of the secret holding the password


Auth = Annotated[BearerAuth | HeaderAuth | BasicAuth, Field(discriminator="type")]


class NoPages(_Spec):
    type: Literal["none"] = "none"


class PagePages(_Spec):
    """?page=1&per_page=100, until a page comes back short."""

    type: Literal["page"]
    param: str = "page"
    size_param: str | None = "per_page"
    size: int = Field(default=100, ge=1)
    first: int = 1


class CursorPages(_Spec):
    """The body names the next cursor (`next`, a dotted path); it goes back as `param` until it is empty."""

    type: Literal["cursor"]
    param: str = "cursor"
    next: str = "next_cursor"


class LinkPages(_Spec):
    """The next page's URL, from the body (`next`, a dotted path) or else the `Link: <...>; rel="next"` header."""

    type: Literal["link"]
    next: str | None = None


Pagination = Annotated[NoPages | PagePages | CursorPages | LinkPages, Field(discriminator="type")]


class Read(_Spec):
    """How to find records by one field: `/users?email=a,b` (param) or `/users/{value}` (in the path)."""

    path: str
    param: str | None = None
    batch: int = Field(default=1, ge=1)  # values one call may carry; 1: one call per value
    separator: str | None = ","  # how several values share the parameter; None: the parameter is repeated
    records: str = ""  # dotted path to the records in the body; "": the body itself
    pagination: Pagination = NoPages()

    @model_validator(mode="after")
    def _one_place_for_the_value(self) -> Read:
        in_path = "{value}" in self.path
        if in_path == (self.param is not None):
            raise ValueError("put the value either in the path as {value} or in a query parameter `param`")
        if in_path and self.batch > 1:
            raise ValueError("a value in the path cannot be batched; use batch: 1")
        return self


class Write(_Spec):
    """An update (`PATCH /users/{key}` with the new values) or a delete (`DELETE /users/{key}`).

    With `batch` > 1 one call carries several rows: an update sends a list of objects holding the key, a delete
    sends the keys in the query parameter `param`. `changed` is the dotted path of the number of rows the service
    says it changed; without it every row sent counts.
    """

    method: Literal["PATCH", "PUT", "POST", "DELETE"]
    path: str
    wrap: str | None = None  # the body is {wrap: ...} rather than the values themselves
    batch: int = Field(default=1, ge=1)
    param: str | None = None
    separator: str | None = ","
    changed: str | None = None

    @model_validator(mode="after")
    def _one_place_for_the_key(self) -> Write:
        if self.batch == 1 and "{key}" not in self.path:
            raise ValueError("a call per row needs {key} in the path")
        if self.batch > 1 and "{key}" in self.path:
            raise ValueError("a batched call carries its keys in the body or a parameter, not {key} in the path")
        return self


class HttpCollection(_Spec):
    key: str = "id"  # the field updates and deletes address rows by
    fields: dict[str, ColumnType] = {}  # what describe() reports; empty: unknown
    read: dict[str, Read] = {}  # by the field searched on
    update: Write | None = None
    delete: Write | None = None


class HttpSpec(_Spec):
    base_url: str
    auth: Auth | None = None
    headers: dict[str, str] = {}
    timeout: float = Field(default=10.0, gt=0)
    concurrency: int = Field(default=4, ge=1)  # calls in flight at once
    max_pages: int = Field(default=1000, ge=1)
    collections: dict[str, HttpCollection]

    @classmethod
    def from_yaml(cls, path: str | Path) -> HttpSpec:
        source = Path(path)
        try:
            return cls.model_validate(yaml.safe_load(source.read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError) as exc:
            raise ConnectorError(f"{source}: cannot read the service spec: {exc}") from exc
        except ValidationError as exc:
            raise ConnectorError(f"{source}: {explain(exc)}") from None
