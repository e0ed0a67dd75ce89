"""YAML text to plain data, keeping where every value came from.

Two paths give the same data. The fast one (yaml-rs, in Rust) reads ordinary documents: YAML 1.2 scalars,
duplicate keys refused, alias replay bounded. Documents using anchors, aliases, tags, merge keys or several
documents, and any document the fast path rejects, take the careful one: PyYAML composes a node tree (it keeps
marks) and we turn nodes into data ourselves, refusing duplicate keys, unsupported tags and alias bombs with
file:line:col. Locations for findings come from the same parser's events, read only when a finding needs one.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import yaml

try:
    import yaml_rs
except ImportError:  # pragma: no cover - a platform without the wheel reads everything the careful way
    yaml_rs = None  # type: ignore[assignment]

from privet.manifest.diagnostics import Diagnostic, Location, ManifestUnreadable

try:
    _Loader: type[Any] = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader


# Re-visiting aliased nodes beyond this many is an expansion attack, not a manifest.
MAX_ALIAS_EXPANSION = 10_000
MAX_DEPTH = 64

Path = tuple[str | int, ...]

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_NULL = "tag:yaml.org,2002:null"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_PLAIN_TAGS = frozenset({_BOOL, _INT, _FLOAT, _NULL, "tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp"})


# Constructs the fast path does not handle the way privet wants: anchors, aliases, tags, merge keys, complex
# keys, several documents. A false alarm only costs speed.
_CAREFUL = re.compile(r"(?:^|[\s\[{,:-])[&*!][^\s,\]}]|<<|^\?(?:\s|$)|^(?:---|\.\.\.)", re.M)


# Where a node is written (0-based line and column, as YAML marks count) and what is under it: a mapping's keys,
# each with where the key is written and its value, a sequence's items, or None for a scalar.
Spot: TypeAlias = "tuple[int, int, Under]"
Under: TypeAlias = "dict[str, tuple[int, int, Spot]] | list[Spot] | None"


def _child(spot: Spot, step: str | int) -> Spot | None:
    under = spot[2]
    if isinstance(under, dict):
        found = under.get(str(step))
        return found[2] if found is not None else None
    if isinstance(under, list) and isinstance(step, int) and 0 <= step < len(under):
        item: Spot = under[step]
        return item
    return None


@dataclass(frozen=True)
class Document:
    """One parsed YAML file: its data, and where each of its nodes is written (read on first use) for locating
    paths."""

    file: str
    data: Any
    text: str = field(default="", repr=False)
    _spots: list[Spot | None] = field(default_factory=list, repr=False, compare=False)

    @property
    def spots(self) -> Spot | None:
        if not self._spots:
            self._spots.append(_spots(self.text) if self.text else None)
        return self._spots[0]

    def locate(self, path: Sequence[str | int]) -> Location:
        """The deepest node on `path` that exists (a missing key points at its parent mapping)."""
        node = self.spots
        if node is None:
            return Location(self.file, 1, 1)
        for step in path:
            child = _child(node, step)
            if child is None:
                break
            node = child
        return Location(self.file, node[0] + 1, node[1] + 1)

    def key_location(self, path: Sequence[str | int]) -> Location:
        """Where the key at the end of `path` is written (better than the value for duplicate keys)."""
        if not path:
            return self.locate(path)
        parent = self.spots
        for step in path[:-1]:
            parent = _child(parent, step) if parent is not None else None
        keys = parent[2] if parent is not None else None
        found = keys.get(str(path[-1])) if isinstance(keys, dict) else None
        if found is not None:
            return Location(self.file, found[0] + 1, found[1] + 1)
        return self.locate(path)


def _spots(text: str) -> Spot | None:
    """Where each node of the document is written, read from libyaml's events: the marks a composed node tree
    would carry, without the tree. A tree keeps a node and two marks per scalar, millions of objects for a large
    manifest, and made every later garbage collection slow. None when the text does not parse.

    The loop is the hot part of locating findings in a large manifest, hence its plain shape."""
    anchors: dict[str, Spot] = {}
    roots: list[Spot] = []
    # The open collections, and for each mapping the key read and waiting for its value (where it is written, and
    # its text: None for a key that is not a scalar).
    open_: list[dict[str, tuple[int, int, Spot]] | list[Spot]] = []
    waiting: list[tuple[int, int, str | None] | None] = []
    loader = _Loader(text)
    more, get = loader.check_event, loader.get_event
    try:
        with gc_paused():
            while more():
                event = get()
                kind = type(event)
                if kind is _END_MAP or kind is _END_SEQ:
                    open_.pop()
                    waiting.pop()
                    continue
                mark = event.start_mark
                name: str | None = None
                under: Under = None
                if kind is _SCALAR:
                    name = event.value
                elif kind is _START_MAP:
                    under = {}
                elif kind is _START_SEQ:
                    under = []
                elif kind is not _ALIAS:
                    continue  # stream and document starts and ends
                if kind is _ALIAS:  # the node its anchor names, as a composed tree has it
                    node: Spot = anchors.get(event.anchor) or (mark.line, mark.column, None)
                else:
                    node = (mark.line, mark.column, under)
                    if event.anchor:
                        anchors[event.anchor] = node
                if not open_:
                    roots.append(node)
                else:
                    parent = open_[-1]
                    if isinstance(parent, list):
                        parent.append(node)
                    else:
                        key = waiting[-1]
                        if key is None:  # this node is the key of the next entry
                            waiting[-1] = (mark.line, mark.column, name)
                        else:
                            if key[2] is not None and key[2] not in parent:  # a duplicated key: the first, as loaded
                                parent[key[2]] = (key[0], key[1], node)
                            waiting[-1] = None
                if under is not None:
                    open_.append(under)
                    waiting.append(None)
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()
    return roots[0] if roots else None


_SCALAR, _ALIAS = yaml.ScalarEvent, yaml.AliasEvent
_START_MAP, _START_SEQ = yaml.MappingStartEvent, yaml.SequenceStartEvent
_END_MAP, _END_SEQ = yaml.MappingEndEvent, yaml.SequenceEndEvent


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a manifest's objects are built. Every object they create lives on, so a
    collection frees nothing, yet each full one walks everything built so far: with a large manifest in memory,
    composing one file's node tree for locating took four times as long as on its own."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _needs_care(text: str) -> bool:
    # Substring tests run at C speed; the regex runs only when one of the characters appears at all.
    if not any(mark in text for mark in ("&", "*", "!", "<<", "?", "---", "...")):
        return False
    return _CAREFUL.search(text) is not None


_LINE_COL = re.compile(r"line (\d+), column (\d+)")


def parse_yaml(text: str, file: str) -> Document:
    """Parse one YAML document. Raises ManifestUnreadable naming the place on any problem."""
    if yaml_rs is not None and not _needs_care(text):
        try:
            data = yaml_rs.loads(
                text,
                parse_datetime=False,
                alias_limits=yaml_rs.AliasLimits(max_total_replayed_events=MAX_ALIAS_EXPANSION),
                duplicate_key_policy=yaml_rs.DuplicateKeyPolicy.Error,
            )
        except yaml_rs.YAMLDecodeError as exc:
            parse_careful(text, file)  # names the place the PyYAML way when it also refuses the text
            first = str(exc).splitlines()[0]
            at = _LINE_COL.search(first)
            loc = Location(file, int(at.group(1)), int(at.group(2))) if at else Location(file, 1, 1)
            raise ManifestUnreadable([Diagnostic("P001", f"YAML error: {first}", loc)]) from None
        return Document(file, data, text)
    return parse_careful(text, file)


def parse_careful(text: str, file: str) -> Document:
    root = _compose(text, file)
    if root is None:
        return Document(file, None, text)
    return Document(file, _Builder(file).build(root, 0), text)


def _compose(text: str, file: str) -> yaml.Node | None:
    try:
        loader = _Loader(text)
        try:
            with gc_paused():
                root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file, 1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise ManifestUnreadable(
            [Diagnostic("P001", f"YAML syntax error: {problem}", loc, hint="fix the YAML syntax at this place")]
        ) from None
    except yaml.YAMLError as exc:
        raise ManifestUnreadable([Diagnostic("P001", f"YAML error: {exc}", Location(file, 1, 1))]) from None
    return root  # type: ignore[no-any-return]


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.seen: set[int] = set()
        self.revisits = 0
        self.scalars = yaml.SafeLoader("")  # only its scalar constructors are used

    def _fail(self, code: str, message: str, node: yaml.Node, hint: str | None = None) -> ManifestUnreadable:
        mark = node.start_mark
        return ManifestUnreadable(
            [Diagnostic(code, message, Location(self.file, mark.line + 1, mark.column + 1), hint=hint)]
        )

    def build(self, node: yaml.Node, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise self._fail("P004", f"nesting deeper than {MAX_DEPTH} levels", node, "flatten the structure")
        ident = id(node)
        if ident in self.seen:
            self.revisits += 1
            if self.revisits > MAX_ALIAS_EXPANSION:
                raise self._fail(
                    "P004",
                    f"YAML aliases expand to more than {MAX_ALIAS_EXPANSION:,} nodes (an alias bomb?)",
                    node,
                    "write the values out or use fewer nested aliases",
                )
        else:
            self.seen.add(ident)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if node.tag not in (_SEQ, _MAP) and not isinstance(node, yaml.ScalarNode):
            raise self._fail("P006", f"unsupported YAML tag {node.tag}", node, "remove the tag; write plain values")
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, depth + 1) for item in node.value]
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise self._fail("P006", "YAML merge keys (<<) are not supported", key_node, "write the keys out")
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self._fail("P006", "mapping keys must be plain scalars", key_node)
                key = str(key_node.value)
                if key in out:
                    raise self._fail(
                        "P005", f"duplicate key {key!r} in the same mapping", key_node, "remove one of them"
                    )
                out[key] = self.build(value_node, depth + 1)
            return out
        raise self._fail("P006", "unsupported YAML node", node)  # pragma: no cover

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        tag = node.tag
        if tag not in _PLAIN_TAGS:
            raise self._fail("P006", f"unsupported YAML tag {tag}", node, "remove the tag; write plain values")
        if tag == _BOOL and node.value.lower() not in ("true", "false"):
            # YAML 1.1 reads yes/no/on/off (and Norway's country code NO) as booleans; YAML 1.2 and people do not.
            return node.value
        if tag in (_BOOL, _INT, _FLOAT, _NULL):
            return self.scalars.construct_object(node)
        # Dates and every other tag stay text; the models parse them and report errors with the place.
        return node.value
