"""Plans over the datasets graph: which collections to read, in which order, with which values; and erase order.

Reading starts at the collections holding an identity the request gives and follows references outward. A
reference with a direction is a hard dependency; an undirected one is followed away from the identities (from the
collection reached first to the one reached later), so it never forms a loop on its own. `after` orders reads and
wins over a reference that points the other way. Erasure reads everything first, then writes children before
parents (the collection holding another's key goes first) and honours `erase_after`.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from privet.fulfilment.graph import CollectionNode, DatasetGraph, Edge, Link


class PlanError(ValueError):
    """The datasets cannot be planned over (a loop no `after` orders); the message names the loop and the fix."""


@dataclass(frozen=True, slots=True)
class Input:
    """Where a step's lookup values come from: the request's identities, or the rows of an earlier step."""

    field: str  # the field of the step's collection that is looked up
    identity: str | None = None
    upstream: str | None = None  # collection
    upstream_field: str | None = None

    def __str__(self) -> str:
        if self.identity is not None:
            return f"{self.field} = the request's {self.identity}"
        return f"{self.field} = {self.upstream}.{self.upstream_field}"


@dataclass(frozen=True, slots=True)
class Step:
    number: int
    collection: str
    system: str | None
    inputs: tuple[Input, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(i.field for i in self.inputs))

    @property
    def upstream(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(i.upstream for i in self.inputs if i.upstream is not None))


@dataclass(frozen=True, slots=True)
class Unreachable:
    collection: str
    reason: str


@dataclass(frozen=True, slots=True)
class AccessPlan:
    identities: tuple[str, ...]  # the identity types the request gives, in its order
    steps: tuple[Step, ...]
    unreachable: tuple[Unreachable, ...]
    notes: tuple[str, ...] = ()

    @property
    def collections(self) -> tuple[str, ...]:
        return tuple(s.collection for s in self.steps)

    def step(self, collection: str) -> Step:
        for s in self.steps:
            if s.collection == collection:
                return s
        raise KeyError(f"the plan does not reach {collection}")

    def describe(self) -> list[str]:
        numbers = {s.collection: s.number for s in self.steps}
        lines = [f"Read, starting from the request's {', '.join(self.identities) or 'identities (none given)'}:"]
        for s in self.steps:
            where = f" [{s.system}]" if s.system else ""
            lines.append(f"  {s.number}. {s.collection}{where}")
            for i in s.inputs:
                step_ref = f" (step {numbers[i.upstream]})" if i.upstream in numbers else ""
                lines.append(f"       where {i}{step_ref}")
        if not self.steps:
            lines.append("  nothing: no collection holds an identity the request gives")
        if self.unreachable:
            lines.append("Not reached:")
            lines += [f"  - {u.collection}: {u.reason}" for u in self.unreachable]
        if self.notes:
            lines.append("Notes:")
            lines += [f"  - {n}" for n in self.notes]
        return lines


@dataclass(frozen=True, slots=True)
class ErasureStep:
    number: int
    collection: str
    after: tuple[tuple[str, str], ...]  # (collection erased earlier, why)


@dataclass(frozen=True, slots=True)
class ErasurePlan:
    access: AccessPlan  # every row is found before anything is changed
    steps: tuple[ErasureStep, ...]
    notes: tuple[str, ...] = ()

    @property
    def order(self) -> tuple[str, ...]:
        return tuple(s.collection for s in self.steps)

    def describe(self) -> list[str]:
        lines = self.access.describe()
        lines.append("Then erase, children before parents:")
        for s in self.steps:
            lines.append(f"  {s.number}. {s.collection}")
            lines += [f"       after {c}: {why}" for c, why in s.after]
        if not self.steps:
            lines.append("  nothing")
        if self.notes:
            lines.append("Erasure notes:")
            lines += [f"  - {n}" for n in self.notes]
        return lines


def plan_access(graph: DatasetGraph, identities: Mapping[str, Sequence[str]]) -> AccessPlan:
    given = tuple(kind for kind, values in identities.items() if values)
    order = {key: i for i, key in enumerate(graph.collections)}
    active = {key for key, node in graph.collections.items() if not node.skip}
    seeds = [s for s in graph.seeds if s.identity in given and s.collection in active]
    notes = [f"no collection holds the identity {kind!r}" for kind in given if kind not in graph.identity_types]

    edges = [e for e in graph.edges if e.source in active and e.target in active]
    notes += [f"{e} stays within one collection and is not followed" for e in edges if e.source == e.target]
    edges = [e for e in edges if e.source != e.target]
    distance = _distances({s.collection for s in seeds}, edges)

    read_first = _closure({k: graph.collections[k].after for k in active}, active)
    kept: list[Edge] = []
    for e in edges:
        if e.source not in distance or e.target not in distance:
            continue
        if e.target in read_first[e.source]:
            notes.append(f"{e} is not followed: `after` reads {e.target} before {e.source}")
        elif e.directed or distance[e.source] < distance[e.target]:
            kept.append(e)
    reached = _distances({s.collection for s in seeds}, kept)
    kept = [e for e in kept if e.source in reached]

    depends: dict[str, dict[str, str]] = {key: {} for key in reached}
    for e in kept:
        depends[e.target].setdefault(e.source, str(e))
    for key in reached:
        for first in graph.collections[key].after:
            if first in reached:
                depends[key].setdefault(first, f"{key} has after: {first}")
    ranked = _topological(depends, lambda k: (reached[k], order[k]), what="dataset references")

    steps = []
    for number, key in enumerate(ranked, start=1):
        node = graph.collections[key]
        inputs = [Input(s.field, identity=s.identity) for s in seeds if s.collection == key]
        inputs += [
            Input(e.target_field, upstream=e.source, upstream_field=e.source_field) for e in kept if e.target == key
        ]
        steps.append(Step(number, key, node.system, tuple(inputs)))

    unreachable = [
        Unreachable(key, _why_unreached(graph, key, distance)) for key in graph.collections if key not in reached
    ]
    return AccessPlan(given, tuple(steps), tuple(unreachable), tuple(dict.fromkeys(notes)))


def plan_erasure(graph: DatasetGraph, identities: Mapping[str, Sequence[str]]) -> ErasurePlan:
    access = plan_access(graph, identities)
    reached = {s.collection: s.number for s in access.steps}
    erase_first = _closure({k: graph.collections[k].erase_after for k in reached}, set(reached))
    depends: dict[str, dict[str, str]] = {key: {} for key in reached}
    notes: list[str] = []
    for link in graph.links:
        holder = _key_holder(graph, link)
        if holder is None:
            continue
        child, parent = holder
        if child == parent or child not in reached or parent not in reached:
            continue
        if parent in erase_first[child]:
            notes.append(f"{parent} is erased before {child}, which holds its key ({link}): erase_after says so")
            continue
        depends[parent].setdefault(child, f"it holds the key ({link})")
    for key in reached:
        for first in graph.collections[key].erase_after:
            if first in reached:
                depends[key][first] = "erase_after"
    ranked = _topological(depends, lambda k: (reached[k],), what="keys held between collections")
    steps = tuple(
        ErasureStep(number, key, tuple(sorted(depends[key].items(), key=lambda kv: reached[kv[0]])))
        for number, key in enumerate(ranked, start=1)
    )
    return ErasurePlan(access, steps, tuple(notes))


def _key_holder(graph: DatasetGraph, link: Link) -> tuple[str, str] | None:
    """(child, parent) of a reference: the side that holds the other's primary key. Where both fields are primary
    keys (a one-to-one extension), the declaring side is the child; where neither is, no key is held."""
    holder_pk = _is_key(graph.collections[link.holder], link.holder_field)
    target_pk = _is_key(graph.collections[link.target], link.target_field)
    if not holder_pk and not target_pk:
        return None
    if holder_pk and not target_pk:
        return link.target, link.holder
    return link.holder, link.target


def _is_key(node: CollectionNode, path: str) -> bool:
    fld = node.field(path)
    return fld is not None and fld.primary_key


def _distances(starts: set[str], edges: Iterable[Edge]) -> dict[str, int]:
    out = dict.fromkeys(starts, 0)
    nxt: dict[str, list[str]] = {}
    for e in edges:
        nxt.setdefault(e.source, []).append(e.target)
    queue = deque(sorted(starts))
    while queue:
        here = queue.popleft()
        for there in nxt.get(here, ()):
            if there not in out:
                out[there] = out[here] + 1
                queue.append(there)
    return out


def _closure(first: Mapping[str, Sequence[str]], within: set[str]) -> dict[str, set[str]]:
    """For each collection, every collection that must come before it, transitively."""
    out: dict[str, set[str]] = {}
    for key in within:
        seen: set[str] = set()
        stack = [k for k in first.get(key, ()) if k in within]
        while stack:
            k = stack.pop()
            if k not in seen:
                seen.add(k)
                stack += [n for n in first.get(k, ()) if n in within]
        out[key] = seen
    return out


def _topological(
    depends: Mapping[str, Mapping[str, str]], rank: Callable[[str], tuple[int, ...]], what: str
) -> list[str]:
    """Kahn's algorithm; ties go to the lowest rank. A loop raises PlanError naming it."""
    waiting = {k: set(v) for k, v in depends.items()}
    users: dict[str, list[str]] = {}
    for k, firsts in waiting.items():
        for f in firsts:
            users.setdefault(f, []).append(k)
    ready = [(rank(k), k) for k, firsts in waiting.items() if not firsts]
    heapq.heapify(ready)
    out: list[str] = []
    while ready:
        _, key = heapq.heappop(ready)
        out.append(key)
        for user in users.get(key, ()):
            waiting[user].discard(key)
            if not waiting[user]:
                heapq.heappush(ready, (rank(user), user))
    if len(out) < len(waiting):
        loop = _find_loop({k: v for k, v in waiting.items() if v})
        steps = " -> ".join([*loop, loop[0]])
        why = "; ".join(depends[b][a] for a, b in zip(loop, [*loop[1:], loop[0]], strict=True))
        raise PlanError(
            f"{what} form a loop: {steps} ({why}); "
            "give one of these collections `after:` (for reading) or `erase_after:` (for erasing) to order them"
        )
    return out


def _find_loop(waiting: Mapping[str, set[str]]) -> list[str]:
    """A loop among collections that all still wait: follow what each waits for until a collection repeats."""
    here = min(waiting)
    path: list[str] = []
    while here not in path:
        path.append(here)
        here = min(waiting[here])
    loop = list(reversed(path[path.index(here) :]))
    first = loop.index(min(loop))
    return loop[first:] + loop[:first]


def _why_unreached(graph: DatasetGraph, key: str, distance: Mapping[str, int]) -> str:
    node = graph.collections[key]
    if node.skip:
        return "skip_processing is set"
    if key in distance:
        return "only references that `after` orders the other way lead into it"
    sources = sorted({e.source for e in graph.incoming(key) if e.source != key})
    own = sorted({f.identity for f in node.fields if f.identity})
    parts = []
    if own:
        parts.append(f"it holds the identity {', '.join(own)}, which the request does not give")
    if sources:
        parts.append(f"the collections that lead into it ({', '.join(sources)}) are not reached")
    elif not own:
        parts.append("it holds no identity and no reference leads into it")
    else:
        parts.append("no reference leads into it")
    return "; ".join(parts)
