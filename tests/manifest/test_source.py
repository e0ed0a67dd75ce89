"""Parsing YAML text: every failure is a clear error naming file, line and column."""

from __future__ import annotations

import pytest

from privet.manifest.diagnostics import ManifestUnreadable
from privet.manifest.source import parse_yaml


def error_of(text: str) -> str:
    with pytest.raises(ManifestUnreadable) as info:
        parse_yaml(text, "m.yml")
    (diag,) = info.value.diagnostics
    return diag.render()


def test_values_and_locations() -> None:
    doc = parse_yaml("a:\n  b: [1, two, true, null, 2.5]\n  when: 2024-12-13\n", "m.yml")
    assert doc.data == {"a": {"b": [1, "two", True, None, 2.5], "when": "2024-12-13"}}
    assert str(doc.locate(("a", "b", 1))) == "m.yml:2:10"
    assert str(doc.key_location(("a", "when"))) == "m.yml:3:3"
    # A path that does not exist points at the deepest part that does.
    assert str(doc.locate(("a", "missing"))) == "m.yml:2:3"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: [1, 2\nb: 3\n", "m.yml:2:2: P001 YAML syntax error"),
        ("a:\n  b: 1\n   c: 2\n", "m.yml:3:5: P001 YAML syntax error"),
        ("a: 1\na: 2\n", "m.yml:2:1: P005 duplicate key 'a'"),
        ("a:\n  b: 1\n  b: 2\n", "m.yml:3:3: P005 duplicate key 'b'"),
        ("base: &b {x: 1}\nother:\n  <<: *b\n", "m.yml:3:3: P006 YAML merge keys"),
        ("? [a, b]\n: 1\n", "m.yml:1:3: P006 mapping keys must be plain scalars"),
        ("a: !!python/object:os.system x\n", "m.yml:1:4: P006 unsupported YAML tag"),
    ],
)
def test_syntax_errors_name_the_place(text: str, expected: str) -> None:
    assert error_of(text).startswith(expected)


def test_alias_bomb_is_refused_not_expanded() -> None:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        prev = f"*l{i - 1}"
        lines.append(f"l{i}: &l{i} [{', '.join([prev] * 9)}]")
    message = error_of("\n".join(lines) + "\n")
    assert "P004" in message
    assert "alias" in message


def test_modest_aliases_are_fine() -> None:
    doc = parse_yaml("x: &x [1, 2]\ny: *x\nz: *x\n", "m.yml")
    assert doc.data == {"x": [1, 2], "y": [1, 2], "z": [1, 2]}


def test_recursive_alias_is_refused() -> None:
    assert "P004" in error_of("a: &a [*a]\n")


def test_empty_document() -> None:
    assert parse_yaml("# nothing\n", "m.yml").data is None


def test_tags_on_collections_are_refused() -> None:
    assert "P006 unsupported YAML tag tag:yaml.org,2002:set" in error_of("a: !!set {x, y}\n")


def test_yes_no_on_off_stay_text_as_in_yaml_1_2() -> None:
    doc = parse_yaml("countries: [NO, SE]\nflag: true\nother: off\n", "m.yml")
    assert doc.data == {"countries": ["NO", "SE"], "flag": True, "other": "off"}


def test_fast_and_careful_paths_read_the_same_data() -> None:
    from privet.manifest.source import _CAREFUL, parse_careful
    from tests.conftest import REPO

    files = sorted((REPO / "examples" / "anker").glob("*.yml")) + sorted((REPO / "tests" / "fixtures").rglob("*.yml"))
    fast = 0
    for path in files:
        text = path.read_text()
        fast += not _CAREFUL.search(text)
        assert parse_yaml(text, str(path)).data == parse_careful(text, str(path)).data, path
    assert fast > 5  # the comparison exercised the fast path


def test_locations_are_found_lazily_on_the_fast_path() -> None:
    doc = parse_yaml("a:\n  b: [1, 2]\n", "m.yml")
    assert str(doc.locate(("a", "b", 1))) == "m.yml:2:10"


def _paths(value: object, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
            out.append((*prefix, key, "not-there"))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, (*prefix, i))
        out.append((*prefix, len(value)))
    return out


def _composed(root: object, path: tuple[str | int, ...], key: bool) -> str:
    """Where PyYAML's composed node tree (`root`) says the path is: the reference the event-based locations must
    match."""
    import yaml

    node = root
    assert isinstance(node, yaml.Node)
    for step in path[:-1] if key else path:
        found = None
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(step)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            found = node.value[step]
        if found is None:
            mark = node.start_mark
            return _composed(root, path[:-1], False) if key else f"{mark.line + 1}:{mark.column + 1}"
        node = found
    if key:  # the key's own place where the parent is a mapping that has it; else where the path leads
        if isinstance(node, yaml.MappingNode):
            for k, _ in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(path[-1]):
                    return f"{k.start_mark.line + 1}:{k.start_mark.column + 1}"
        return _composed(root, path, False)
    return f"{node.start_mark.line + 1}:{node.start_mark.column + 1}"


ODD = """\
# comment first
plain: value   # trailing comment
quoted key: "x"
'single': 'it''s'
"double": {a: 1, b: [x, y], c: {d: e}}
empty:
indentless:
- one
- k: v
  k2: [1,
    2]
-
  - nested
block: |
  text: not a key
  more
folded: >-
  a
  b
anchor: &a {x: 1, y: [2, 3]}
alias: *a
dup_seq: [[1, 2], [3]]
"""


@pytest.mark.parametrize("name", ["odd", "anker"])
def test_locations_match_the_composed_node_tree(name: str) -> None:
    """Every path of the data, and one step past each (a key that is not there, an index past the end), is
    located where PyYAML's node tree says: flow and block styles, empty values, block scalars, anchors and aliases,
    comments and quoted keys."""
    import yaml

    from tests.conftest import REPO

    texts = [ODD] if name == "odd" else [p.read_text() for p in sorted((REPO / "examples" / "anker").glob("*.yml"))]
    checked = 0
    for text in texts:
        doc = parse_yaml(text, "m.yml")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        for path in _paths(doc.data):
            assert str(doc.locate(path)) == f"m.yml:{_composed(root, path, False)}", path
            if path:
                assert str(doc.key_location(path)) == f"m.yml:{_composed(root, path, True)}", path
            checked += 1
    assert checked > (40 if name == "odd" else 5_000)


def test_gc_is_paused_while_building_and_resumes_after() -> None:
    import gc

    from privet.manifest.source import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():  # nested: the outer one resumes it
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), gc_paused():
        raise ValueError
    assert gc.isenabled()
