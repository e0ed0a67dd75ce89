"""Records that follow a parent record: retention outcomes inherited through references.

A child collection (addresses, shipments, order lines) rarely holds the dates that start a retention clock: it
holds its parent's key. A governed collection that maps none of its rules' triggers follows the collection it
references by that collection's primary key, when the parent decides (maps a trigger) or itself follows one: each
child record takes the outcome of the parent record it names, the same state, deciding rule, limitation entry and
dates. Facts the child maps itself win: a child that maps a trigger keeps its own clock.

What stays the child's own: its final action (a due parent, or one privet has anonymised, makes a child due to be
deleted or anonymised as the child's rules say), the holds covering its system, categories or collection, person
holds where it maps a person, and open claims where it maps them. A record whose reference is empty or names no
parent record is undecidable (`Missing.PARENT`), never deleted. And a due parent record that a held child record
belongs to is held too: deleting it would orphan the held record (or fail on a foreign key). Chains follow to the
first collection that decides; a loop of collections that all follow each other decides nothing, and the plan says
so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from privet.fulfilment.graph import DatasetGraph
from privet.retention.evaluate import Evaluation
from privet.retention.rules import CompiledRule, Missing, RetentionState

if TYPE_CHECKING:
    from privet.retention.plan import Scope

DUE = frozenset({RetentionState.DUE_DELETE, RetentionState.DUE_ANONYMISE})
# A parent record whose period has ended: due, or anonymised already (`retention.journal`); its followers are due.
ENDED = DUE | {RetentionState.ANONYMISED}
V = TypeVar("V")
H = TypeVar("H")


@dataclass(frozen=True, slots=True)
class Follows:
    """Where a collection's records take their outcome from."""

    parent: str  # the collection whose records decide, "dataset.collection"
    field: str  # the child's column holding the parent's key
    rules: tuple[CompiledRule, ...]  # the parent's deciders, in the parent's order


def decides(scope: Scope) -> bool:
    """Whether the collection maps a trigger of one of its rules, so its own facts start its clocks."""
    return any(t in scope.facts for r in scope.rules for t in r.triggers)


def candidates(graph: DatasetGraph, key: str, sole_key: Mapping[str, str]) -> list[tuple[str, str]]:
    """(parent, child field) for each reference by which `key` holds another collection's sole primary key, in the
    order the datasets declare them. `sole_key` is each planned collection's key field. A reference the parent
    declares onto the child's own key is not followed (two collections sharing a key: which one is the parent?)."""
    return list(dict.fromkeys(
        (ref.other, ref.field) for ref in graph.references_of(key)
        if sole_key.get(ref.other) == ref.other_field and (ref.declared_here or sole_key.get(key) != ref.field)
    ))  # fmt: skip


def resolve(scopes: Sequence[Scope], graph: DatasetGraph) -> tuple[list[Scope], list[str]]:
    """The scopes with `follows` set where a collection inherits, children before their parents (so deleting a
    parent never orphans a child), and notes on what follows what and on chains that stop."""
    by_key = {s.collection: s for s in scopes}
    sole_key = {s.collection: s.key_field for s in scopes}
    parent_of: dict[str, tuple[str, str]] = {}
    notes: list[str] = []
    looped: set[str] = set()  # collections a search came back to

    def reaches(key: str, path: tuple[str, ...]) -> bool:
        if decides(by_key[key]) or key in parent_of:
            return True
        for parent, fld in candidates(graph, key, sole_key):
            if parent in path:
                looped.add(parent)
                continue
            if reaches(parent, (*path, key)):
                parent_of[key] = (parent, fld)
                return True
        return False

    for scope in scopes:
        key = scope.collection
        if decides(scope) or key in parent_of:
            continue
        found = candidates(graph, key, sole_key)
        looped.clear()
        if not found or reaches(key, ()):
            continue
        loop = bool(looped)
        why = f"{key}: maps no trigger, and no collection it references ({', '.join(p for p, _ in found)}) decides: "
        if loop:
            why += "the references form a loop of collections that all follow each other, so the chain stops; "
        notes.append(why + "its records stay undecidable; map a trigger (facts:) on it or on one of them")
    built: dict[str, Scope] = {}

    def build(key: str) -> Scope:
        if key not in built:
            scope = by_key[key]
            if key in parent_of:
                parent, fld = parent_of[key]
                up = build(parent)
                others = [p for p, _ in candidates(graph, key, sole_key) if p != parent]
                why = f"{key}: maps no trigger of its own, so each record follows the {parent} record its {fld} names"
                why += " (state, deciding rule and dates); a record naming none is undecidable"
                if others:
                    why += f"; it also references {', '.join(others)}, which it does not follow"
                scope = dataclasses.replace(scope, follows=Follows(parent, fld, up.deciders), notes=(*scope.notes, why))
            built[key] = scope
        return built[key]

    ordered = _children_first([build(s.collection) for s in scopes])
    return ordered, notes


def _children_first(scopes: list[Scope]) -> list[Scope]:
    """The scopes in their order, except that each parent waits until every collection following it is placed."""
    waiting: dict[str, int] = {}
    for s in scopes:
        if s.follows is not None:
            waiting[s.follows.parent] = waiting.get(s.follows.parent, 0) + 1
    out: list[Scope] = []
    held: dict[str, Scope] = {}
    position = {s.collection: i for i, s in enumerate(scopes)}

    def place(scope: Scope) -> None:
        out.append(scope)
        parent = scope.follows.parent if scope.follows is not None else None
        if parent is not None and parent in position:
            waiting[parent] -= 1
            if not waiting[parent] and parent in held:
                place(held.pop(parent))

    for scope in scopes:
        if waiting.get(scope.collection):
            held[scope.collection] = scope
        else:
            place(scope)
    out += sorted(held.values(), key=lambda s: position[s.collection])  # only reachable through a loop: none
    return out


def evaluation_order(scopes: Sequence[Scope]) -> list[Scope]:
    """Each scope after the scope it follows (parents first), otherwise in the given order."""
    every = {s.collection: s for s in scopes}
    out: list[Scope] = []
    seen: set[str] = set()
    for scope in scopes:
        chain: list[Scope] = []
        here: Scope | None = scope
        while here is not None and here.collection not in seen:
            seen.add(here.collection)
            chain.append(here)
            here = every.get(here.follows.parent) if here.follows is not None else None
        out += reversed(chain)
    return out


def followed(scopes: Sequence[Scope]) -> dict[str, int]:
    """collection -> how many of the scopes follow it (its states are kept until the last of them is judged)."""
    out: dict[str, int] = {}
    for s in scopes:
        if s.follows is not None:
            out[s.follows.parent] = out.get(s.follows.parent, 0) + 1
    return out


class Followers(Generic[V, H]):
    """The order every retention engine keeps for collections that follow a parent.

    Scopes are judged in the plan's evaluation order, parents first. A collection that others follow waits, with
    its evaluation (`V`, in the engine's own form), until each of its followers is judged; each follower then
    reports what it holds of the parent (`H`: the held records that keep their parent records), and the parent
    is finished with all of it. A collection nothing follows is finished at once. `finish(scope, evaluation,
    held)` tallies a finished collection, and for a follower calls `release` on its parent."""

    def __init__(self, order: Sequence[Scope], finish: Callable[[Scope, V, list[H]], None]) -> None:
        self._scopes = {s.collection: s for s in order}
        self._left = followed(order)
        self._waiting: dict[str, V] = {}
        self._held: dict[str, list[H]] = {}
        self._finish = finish

    def waiting(self, collection: str) -> V | None:
        """The evaluation of a collection that waits for its followers (None: not evaluated, or failed)."""
        return self._waiting.get(collection)

    def followed(self, collection: str) -> bool:
        return collection in self._left

    def judged(self, scope: Scope, evaluation: V) -> None:
        """`scope` is evaluated: finished now, or once every collection following it is."""
        if scope.collection in self._left:
            self._waiting[scope.collection] = evaluation
        else:
            self._finish(scope, evaluation, [])

    def release(self, parent: str, held: H | None) -> None:
        """A collection following `parent` is judged: `held` is what it holds of `parent` (None: nothing, or the
        follower failed). The last of them finishes the parent."""
        if held is not None and parent in self._waiting:
            self._held.setdefault(parent, []).append(held)
        self._left[parent] -= 1
        if not self._left[parent] and parent in self._waiting:
            self._finish(self._scopes[parent], self._waiting.pop(parent), self._held.pop(parent, []))


def inherit(
    parent: Evaluation | None,
    first: CompiledRule,
    *,
    due: RetentionState,
    holds: tuple[str, ...] = (),
    claim: bool = False,
) -> Evaluation:
    """A child record's outcome from its parent record's (None: the reference names no record). `first` is the
    child's first rule (it decides an orphan); `due`, `holds` and `claim` are the child's own."""
    if parent is None:
        return Evaluation(RetentionState.UNDECIDABLE, first, missing=Missing.PARENT, holds=holds)
    every = tuple(dict.fromkeys((*parent.holds, *holds)))
    if parent.state in ENDED:
        state = RetentionState.HELD if holds or claim else due
        return dataclasses.replace(parent, state=state, holds=every, claim=claim)
    return dataclasses.replace(parent, holds=every, claim=parent.claim or claim)


def keep(parent: Evaluation, holds: tuple[str, ...]) -> Evaluation:
    """A parent record that a held child record belongs to: held where it is due (`holds` are the child's)."""
    if parent.state not in DUE:
        return parent
    return dataclasses.replace(parent, state=RetentionState.HELD, holds=tuple(dict.fromkeys((*parent.holds, *holds))))
