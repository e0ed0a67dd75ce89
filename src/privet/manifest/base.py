"""What every manifest entry shares: a stable key, an optional notice citation, and an inferred flag."""

from __future__ import annotations

import typing
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _keys_from_mapping(cls, data: Any) -> Any:
        # Entries are written as `key: {fields}`; the key becomes the entry's `key` field.
        if not isinstance(data, dict):
            return data
        keyed = _keyed_fields(cls)
        if not keyed:
            return data
        out = dict(data)
        for name in keyed:
            entries = out.get(name)
            if isinstance(entries, dict):
                out[name] = {k: _with_key(k, v) for k, v in entries.items()}
        return out


def _with_key(key: str, value: Any) -> Any:
    if value is None:
        return {"key": key}
    if isinstance(value, dict):
        if "key" in value and value["key"] != key:
            raise ValueError(f"entry {key!r} says key: {value['key']!r}; leave `key` out, the mapping key is the key")
        return {**value, "key": key}
    return value


@cache
def _keyed_fields(cls: type[BaseModel]) -> tuple[str, ...]:
    names = []
    for name, info in cls.model_fields.items():
        ann = info.annotation
        if typing.get_origin(ann) is dict:
            value_type = typing.get_args(ann)[1]
            if isinstance(value_type, type) and issubclass(value_type, BaseModel) and "key" in value_type.model_fields:
                names.append(name)
    return tuple(names)


class Entry(Model):
    key: str
    name: str = ""
    description: str = ""
    cite: str | None = None  # the notice section or Annex I row this entry implements
    inferred: bool = False  # true where the notice is silent or cut off and the entry was completed

    @property
    def title(self) -> str:
        return self.name or self.key.replace("_", " ")
