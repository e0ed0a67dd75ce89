"""What every manifest entry shares: a stable key, a notice citation, an inferred flag and an editor's note."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _keys_from_mapping(entries: Any) -> Any:
    # Entries are written as `key: {fields}`; the key becomes the entry's `key` field.
    if isinstance(entries, dict):
        return {k: _with_key(k, v) for k, v in entries.items()}
    return entries


T = TypeVar("T")
# A section of entries keyed by their stable key. Only these fields pay for key injection.
Keyed = Annotated[dict[str, T], BeforeValidator(_keys_from_mapping)]


def _with_key(key: str, value: Any) -> Any:
    if value is None:
        return {"key": key}
    if isinstance(value, dict):
        if "key" in value and value["key"] != key:
            raise ValueError(f"entry {key!r} says key: {value['key']!r}; leave `key` out, the mapping key is the key")
        return {**value, "key": key}
    return value


class Sourced(Model):
    """What ties a piece of the manifest to the notice it transcribes; documents never show it to the reader."""

    cite: str | None = None  # the notice section or Annex I row this entry implements
    inferred: bool = False  # true where the notice is silent or cut off and the entry was completed
    note: str = ""  # the editors' remark: why it was inferred, what the source lost; never rendered


class Entry(Sourced):
    key: str
    name: str = ""
    description: str = ""  # shown to the people the notice is for: plain words, no manifest keys

    @property
    def title(self) -> str:
        return self.name or self.key.replace("_", " ")
