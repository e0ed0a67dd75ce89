"""The manifest's datasets as a graph: collections are nodes, identity fields are seeds, references are edges.

Addresses are text: a collection is "dataset.collection", a field is "dataset.collection.path" where the path joins
nested field names with dots ("address.city"). The graph is built once and never changed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property

from privet.manifest.datasets import Dataset, Direction, Field

# Category roots that describe the system rather than a person: such fields are not personal data.
NOT_PERSONAL_ROOTS = ("system",)


class GraphError(ValueError):
    """The datasets cannot form a graph: a reference or an ordering names something that does not exist."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


def under(category: str, root: str) -> bool:
    """True when `category` is `root` or one of its dotted descendants."""
    return category == root or category.startswith(root + ".")


@dataclass(frozen=True, slots=True)
class FieldNode:
    path: str  # within its collection, nested names joined with dots
    categories: tuple[str, ...]  # its own, or the nearest enclosing object's when it declares none
    identity: str | None = None
    data_type: str | None = None
    masking: str | None = None
    length: int | None = None
    primary_key: bool = False
    description: str = ""
    leaf: bool = True  # holds a value itself rather than declared nested fields

    @property
    def personal(self) -> bool:
        return any(not any(under(c, root) for root in NOT_PERSONAL_ROOTS) for c in self.categories)


@dataclass(frozen=True, slots=True)
class CollectionNode:
    key: str  # "dataset.collection"
    dataset: str
    name: str
    system: str | None
    fields: tuple[FieldNode, ...]
    description: str = ""
    after: tuple[str, ...] = ()  # collections read before this one
    erase_after: tuple[str, ...] = ()  # collections erased before this one
    skip: bool = False

    def field(self, path: str) -> FieldNode | None:
        return next((f for f in self.fields if f.path == path), None)

    @property
    def primary_key(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.fields if f.primary_key)

    @property
    def leaves(self) -> tuple[FieldNode, ...]:
        return tuple(f for f in self.fields if f.leaf)


@dataclass(frozen=True, slots=True)
class Link:
    """A reference as declared: `holder`'s field names `target`'s field."""

    holder: str
    holder_field: str
    target: str
    target_field: str
    direction: Direction | None

    def __str__(self) -> str:
        return f"{self.holder}.{self.holder_field} -> {self.target}.{self.target_field}"


@dataclass(frozen=True, slots=True)
class Edge:
    """Values of `source_field` in rows of `source` find rows of `target` by `target_field`."""

    source: str
    source_field: str
    target: str
    target_field: str
    directed: bool  # from a reference with a direction; undirected references give an edge each way

    def __str__(self) -> str:
        return f"{self.source}.{self.source_field} -> {self.target}.{self.target_field}"


@dataclass(frozen=True, slots=True)
class Seed:
    identity: str
    collection: str
    field: str


@dataclass(frozen=True, slots=True)
class Reference:
    """A reference seen from one collection: its `field` and the `other` collection's field it names."""

    field: str
    other: str
    other_field: str
    declared_here: bool  # declared on this collection's field, not on the other's


@dataclass(frozen=True)
class DatasetGraph:
    collections: Mapping[str, CollectionNode]  # in manifest order
    links: tuple[Link, ...]

    def node(self, key: str) -> CollectionNode:
        try:
            return self.collections[key]
        except KeyError:
            raise GraphError([f"no collection {key!r} in the datasets"]) from None

    @cached_property
    def edges(self) -> tuple[Edge, ...]:
        # The same pair of fields may be declared from both ends; a direction stated at either end wins.
        found: dict[tuple[str, str, str, str], bool] = {}
        for link in self.links:
            here, there = (link.holder, link.holder_field), (link.target, link.target_field)
            directed = link.direction is not None
            if link.direction is not Direction.FROM:
                found[(*here, *there)] = found.get((*here, *there), False) or directed
            if link.direction is not Direction.TO:
                found[(*there, *here)] = found.get((*there, *here), False) or directed
        return tuple(Edge(*ends, directed=directed) for ends, directed in found.items())

    def references_of(self, key: str) -> list[Reference]:
        """Every reference between a field of collection `key` and another collection, from `key`'s side, in the
        order the datasets declare them (a collection referencing itself is left out)."""
        out: list[Reference] = []
        for link in self.links:
            if link.holder == link.target:
                continue
            if link.holder == key:
                out.append(Reference(link.holder_field, link.target, link.target_field, declared_here=True))
            elif link.target == key:
                out.append(Reference(link.target_field, link.holder, link.holder_field, declared_here=False))
        return out

    def key_links(self, key: str) -> dict[str, str]:
        """Top-level field -> collection, for each field of collection `key` that holds another collection's
        primary key, whichever end declares the reference: what ties its rows to that collection's records."""
        found: dict[str, str] = {}
        for ref in self.references_of(key):
            if ref.other_field in self.node(ref.other).primary_key:
                found.setdefault(ref.field.split(".")[0], ref.other)
        return found

    @cached_property
    def seeds(self) -> tuple[Seed, ...]:
        return tuple(
            Seed(f.identity, node.key, f.path) for node in self.collections.values() for f in node.fields if f.identity
        )

    @property
    def identity_types(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.identity for s in self.seeds))

    def incoming(self, key: str) -> tuple[Edge, ...]:
        return tuple(e for e in self.edges if e.target == key)

    def outgoing(self, key: str) -> tuple[Edge, ...]:
        return tuple(e for e in self.edges if e.source == key)


def build_graph(datasets: Mapping[str, Dataset]) -> DatasetGraph:
    """Compile datasets (keyed as in the manifest) into a graph; every dangling name is reported at once."""
    collections: dict[str, CollectionNode] = {}
    declared: list[tuple[str, str, str, Direction | None]] = []  # holder, holder field, "to" text, direction
    for dkey, dataset in datasets.items():
        for cname, coll in dataset.collections.items():
            key = f"{dkey}.{cname}"
            fields = tuple(_flatten(coll.fields))
            collections[key] = CollectionNode(
                key=key,
                dataset=dkey,
                name=cname,
                system=dataset.system,
                fields=fields,
                description=coll.description,
                after=coll.after,
                erase_after=coll.erase_after,
                skip=coll.skip_processing,
            )
        for cname, path, fld in dataset.walk_fields():
            declared += [(f"{dkey}.{cname}", ".".join(path), ref.to, ref.direction) for ref in fld.references]

    problems: list[str] = []
    links: list[Link] = []
    for holder, holder_field, to, direction in declared:
        parts = to.split(".")
        target, target_field = ".".join(parts[:2]), ".".join(parts[2:])
        here = f"{holder}.{holder_field}"
        if target not in collections:
            problems.append(f"{here} references {to}, but no collection {target!r} exists")
        elif not target_field or collections[target].field(target_field) is None:
            problems.append(f"{here} references {to}, but {target} has no field {target_field!r}")
        else:
            links.append(Link(holder, holder_field, target, target_field, direction))
    for node in collections.values():
        for word, names in (("after", node.after), ("erase_after", node.erase_after)):
            problems += [f"{node.key} has {word}: {n}, which is no collection" for n in names if n not in collections]
    if problems:
        raise GraphError(problems)
    return DatasetGraph(collections, tuple(links))


def _flatten(fields: Mapping[str, Field], prefix: str = "", inherited: tuple[str, ...] = ()) -> Iterator[FieldNode]:
    for name, fld in fields.items():
        path = f"{prefix}{name}"
        categories = fld.categories or inherited
        yield FieldNode(
            path=path,
            categories=categories,
            identity=fld.identity,
            data_type=fld.data_type,
            masking=fld.masking,
            length=fld.length,
            primary_key=fld.primary_key,
            description=fld.description,
            leaf=not fld.fields,
        )
        yield from _flatten(fld.fields, path + ".", categories)
