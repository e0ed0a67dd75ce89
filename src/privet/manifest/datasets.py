"""Datasets: the collections and fields where personal data actually lives (the idea of Fides datasets)."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

from pydantic import Field as PydanticField

from privet.manifest.base import Entry, Model


class Fact(StrEnum):
    """What a record can tell about itself; a collection names the column that holds each."""

    RELATIONSHIP_END = "relationship_end"  # account closed, contract ended
    PURPOSE_FULFILLED = "purpose_fulfilled"  # order delivered, warranty expired
    LAST_ACTIVITY = "last_activity"
    CONSENT_WITHDRAWN = "consent_withdrawn"  # unsubscribed
    COLLECTED = "collected"
    JURISDICTION = "jurisdiction"  # a jurisdiction key (eu, uk, us-ca) or a country code (DE, GB)
    LEGAL_CLAIM = "legal_claim"  # true, or any value, while a claim concerning the record is open
    PERSON = "person"  # whose record it is, for legal holds on a person
    RESTRICTED = "restricted"  # the system's own flag: processing already restricted


class Direction(StrEnum):
    TO = "to"  # values flow from this field to the referenced one
    FROM = "from"  # values flow from the referenced field into this one


class Reference(Model):
    to: str  # "dataset.collection.field" (nested fields joined with dots after the collection)
    direction: Direction | None = None  # None: both ways


class Field(Model):
    categories: tuple[str, ...] = ()
    description: str = ""
    identity: str | None = None  # the identity type this field holds: email, phone_number, user_id ...
    references: tuple[Reference, ...] = ()
    primary_key: bool = False
    data_type: str | None = None
    masking: str | None = None  # erasure strategy override
    encrypted: bool = False  # stored under the person's data key: erasure shreds the key (crypto-shredding)
    length: int | None = None
    fields: dict[str, Field] = PydanticField(default_factory=dict)  # nested object fields
    inferred: bool = False


class DatasetCollection(Model):
    description: str = ""
    fields: dict[str, Field]
    after: tuple[str, ...] = ()  # "dataset.collection" to read before this one
    erase_after: tuple[str, ...] = ()  # "dataset.collection" to erase before this one
    # Retention facts: which column tells what (relationship_end, last_activity, jurisdiction, person ...).
    # The fields say what a column holds; only the company knows which of its dates ends a relationship.
    facts: dict[Fact, str] = PydanticField(default_factory=dict)
    skip_processing: bool = False
    inferred: bool = False


class Dataset(Entry):
    system: str | None = None
    collections: dict[str, DatasetCollection]

    def walk_fields(self) -> Iterator[tuple[str, tuple[str, ...], Field]]:
        """(collection, field path, field) for every field, nested ones included."""
        for cname, collection in self.collections.items():
            stack: list[tuple[tuple[str, ...], Field]] = [((n,), f) for n, f in collection.fields.items()]
            while stack:
                path, fld = stack.pop(0)
                yield cname, path, fld
                stack[0:0] = [((*path, n), f) for n, f in fld.fields.items()]


class IdentityType(StrEnum):
    EMAIL = "email"
    PHONE_NUMBER = "phone_number"
    USER_ID = "user_id"
    DEVICE_SERIAL = "device_serial"
    DEVICE_ID = "device_id"
    COOKIE_ID = "cookie_id"
    ORDER_ID = "order_id"
    EXTERNAL_ID = "external_id"
