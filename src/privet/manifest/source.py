"""YAML text to plain data, keeping where every value came from.

Two paths give the same data. The fast one (yaml-rs, in Rust) reads ordinary documents: YAML 1.2 scalars,
duplicate keys refused, alias replay bounded. Documents using anchors, aliases, tags, merge keys or several
documents, and any document the fast path rejects, take the careful one: PyYAML composes a node tree (it keeps
marks) and we turn nodes into data ourselves, refusing duplicate keys, unsupported tags and alias bombs with
file:line:col. Locations for findings come from that node tree, composed only when a finding needs one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True)
class Document:
    """One parsed YAML file: its data, and its node tree (composed on first use) for locating paths."""

    file: str
    data: Any
    text: str = field(default="", repr=False)
    _root: list[yaml.Node | None] = field(default_factory=list, repr=False, compare=False)

    @property
    def root(self) -> yaml.Node | None:
        if not self._root:
            try:
                self._root.append(_compose(self.text, self.file) if self.text else None)
            except ManifestUnreadable:
                self._root.append(None)
        return self._root[0]

    def locate(self, path: Sequence[str | int]) -> Location:
        """The deepest node on `path` that exists (a missing key points at its parent mapping)."""
        node = self.root
        if node is None:
            return Location(self.file, 1, 1)
        best = node
        for step in path:
            child = _child(node, step)
            if child is None:
                break
            node = best = child
        mark = best.start_mark
        return Location(self.file, mark.line + 1, mark.column + 1)

    def key_location(self, path: Sequence[str | int]) -> Location:
        """Where the key at the end of `path` is written (better than the value for duplicate keys)."""
        if not path:
            return self.locate(path)
        parent = self.root
        for step in path[:-1]:
            parent = _child(parent, step) if parent is not None else None
        if isinstance(parent, yaml.MappingNode):
            for key_node, _ in parent.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(path[-1]):
                    mark = key_node.start_mark
                    return Location(self.file, mark.line + 1, mark.column + 1)
        return self.locate(path)


def _child(node: yaml.Node | None, step: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(step):
                return value_node  # type: ignore[no-any-return]
    elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
        return node.value[step]  # type: ignore[no-any-return]
    return None


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
        return Document(file, None, text, [None])
    return Document(file, _Builder(file).build(root, 0), text, [root])


def _compose(text: str, file: str) -> yaml.Node | None:
    try:
        loader = _Loader(text)
        try:
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
