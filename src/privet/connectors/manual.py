"""Systems nobody can reach from code (paper files, spreadsheets, a team's inbox): each call becomes a task.

`select`, `update` and `delete` record a ManualTask for the system's owner and return nothing found or changed (an
empty list, 0): the work is not done yet. The caller takes the tasks with `take_tasks()`, persists them, and keeps
the request waiting until a person marks each one done.

`describe()` returns None for every collection: a manual system has no live schema to compare with the manifest,
so callers fall back on what the manifest declares (as they do for a collection a connector did not describe).
Here None means "unknown", not "missing". `count()` cannot know either and returns 0 without making a task;
`transaction()` is a no-op.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from privet.fulfilment.ports import Column, Row, Update, distinct, plain


class ManualAction(StrEnum):
    FIND = "find"  # look up the person's records and send back what they hold
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True)
class ManualTask:
    system: str
    owner: str  # who does the work: a team, a mailbox, a person
    collection: str
    action: ManualAction
    field: str  # the field the keys are values of
    keys: tuple[Any, ...]
    fields: tuple[str, ...]  # the fields to check, send back or change; empty: every field
    instructions: str
    updates: tuple[Update, ...] = ()  # the new values, key by key (UPDATE only)


class ManualConnector:
    batch_records: int | None = 50_000

    def __init__(self, system: str, owner: str) -> None:
        self.name = system
        self.owner = owner
        self._tasks: list[ManualTask] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ManualConnector({self.name!r}, owner={self.owner!r})"

    @property
    def tasks(self) -> tuple[ManualTask, ...]:
        return tuple(self._tasks)

    def take_tasks(self) -> list[ManualTask]:
        """The tasks made so far, handed over once (the caller persists them)."""
        with self._lock:
            taken, self._tasks = self._tasks, []
        return taken

    def describe(self, collection: str) -> dict[str, Column] | None:
        return None

    def select(
        self, collection: str, field: str, values: Sequence[Any], columns: Sequence[str] | None = None
    ) -> list[Row]:
        if values:
            wanted = tuple(columns or ())
            what = ", ".join(wanted) if wanted else "every field"
            self._add(
                collection,
                ManualAction.FIND,
                field,
                values,
                wanted,
                f"In {self.name}, find the {collection} records whose {field} is one of the keys below and send back"
                f" {what} of each (or say that there are none).",
            )
        return []

    def count(self, collection: str, field: str, values: Sequence[Any]) -> int:
        return 0

    def update(self, collection: str, key_field: str, updates: Sequence[Update]) -> int:
        changes = tuple(u for u in updates if u.values)
        if changes:
            fields = tuple(dict.fromkeys(n for u in changes for n in u.values))
            self._add(
                collection,
                ManualAction.UPDATE,
                key_field,
                [u.key for u in changes],
                fields,
                f"In {self.name}, in the {collection} records whose {key_field} is one of the keys below, replace"
                f" {', '.join(fields)} with the values given for that key, then confirm.",
                changes,
            )
        return 0

    def update_all(self, collection: str, key_field: str, keys: Sequence[Any], values: Mapping[str, Any]) -> int:
        return self.update(collection, key_field, [Update(k, values) for k in distinct(keys)])

    def delete(self, collection: str, key_field: str, keys: Sequence[Any]) -> int:
        keys = plain(keys)
        if keys:
            self._add(
                collection,
                ManualAction.DELETE,
                key_field,
                keys,
                (),
                f"In {self.name}, delete the {collection} records whose {key_field} is one of the keys below,"
                " including copies kept elsewhere in the system, then confirm.",
            )
        return 0

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        yield

    def close(self) -> None:
        pass

    def _add(
        self,
        collection: str,
        action: ManualAction,
        field: str,
        keys: Sequence[Any],
        fields: tuple[str, ...],
        instructions: str,
        updates: tuple[Update, ...] = (),
    ) -> None:
        task = ManualTask(
            self.name, self.owner, collection, action, field, tuple(dict.fromkeys(keys)), fields, instructions, updates
        )
        with self._lock:
            self._tasks.append(task)


class ManualConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["manual"] = "manual"
    owner: str


def from_config(system: str, config: Mapping[str, Any]) -> ManualConnector:
    return ManualConnector(system, ManualConfig.model_validate(config).owner)
