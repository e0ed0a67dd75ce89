"""The data-flow picture: well-formed, complete, escaped, readable and the same every time."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from privet.manifest.model import Manifest
from privet.reports.graph import COLUMNS, flow_graph, graph_dot, graph_svg
from privet.workspace.manifest_files import load_manifest
from tests.conftest import MINIMAL

MakeManifest = Callable[[Callable[[dict[str, Any]], None] | None], Path]
SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & Sons'


@pytest.fixture(scope="module")
def minimal() -> Manifest:
    return load_manifest(MINIMAL).manifest


def richer(data: dict[str, Any]) -> None:
    data["sources"] = {
        "you": {"name": "You", "kind": "subject"},
        "partners": {"name": "Retail partners", "kind": "third_party"},
    }
    data["systems"]["crm"] = {"name": "Customer relationship management with a long name", "recipients": ["host"]}
    data["recipients"]["host"] = {"name": "Cloud host", "kind": "processor", "countries": ["US", "DE"]}
    data["recipients"]["unused"] = {"name": "Auditor", "kind": "adviser"}
    data["activities"]["accounts"]["sources"] = ["you"]
    data["activities"]["newsletter"]["sources"] = ["you", "partners"]
    data["activities"]["newsletter"]["systems"] = ["shop", "crm"]


def hostile(data: dict[str, Any]) -> None:
    data["systems"]["shop"]["name"] = HOSTILE
    data["recipients"]["mailer"]["name"] = 'Mail "Express" & Co \\ <b>'


def tooltips(root: ET.Element, cls: str) -> list[str]:
    return [g.findtext(f"{SVG}title") or "" for g in root.iter(f"{SVG}g") if g.get("class") == cls]


def test_svg_is_well_formed_and_names_every_system_recipient_and_country(make_manifest: MakeManifest) -> None:
    m = load_manifest(make_manifest(richer)).manifest
    root = ET.fromstring(graph_svg(m))
    assert root.tag == f"{SVG}svg"
    nodes = tooltips(root, "n")
    for entry in [*m.systems.values(), *m.recipients.values(), *m.sources.values()]:
        assert any(t.startswith(entry.title) for t in nodes), entry.title
    assert {"US", "DE", "IE"} <= set(nodes)
    headings = {t.text for t in root.iter(f"{SVG}text")}
    assert set(COLUMNS) <= headings


def test_edges_follow_activities_and_name_them(make_manifest: MakeManifest) -> None:
    graph = flow_graph(load_manifest(make_manifest(richer)).manifest)
    edges = {(e.source, e.target): e.activities for e in graph.edges}
    assert edges[("source:you", "system:shop")] == ("Customer accounts", "Newsletter")
    assert edges[("source:partners", "system:crm")] == ("Newsletter",)
    assert ("source:partners", "system:shop") in edges and ("source:you", "system:crm") in edges
    assert edges[("system:crm", "recipient:mailer")] == ("Newsletter",)
    assert edges[("system:crm", "recipient:host")] == ("Newsletter",)  # the system's own processor
    assert edges[("recipient:host", "country:US")] == ("Newsletter",)
    assert ("system:shop", "recipient:host") not in edges
    columns = [n.column for n in graph.nodes]
    assert columns == sorted(columns)
    assert [n.id for n in graph.nodes if n.column == 0] == ["source:you", "source:partners"]


def test_activity_without_sources_or_systems_is_drawn_from_stand_ins(minimal: Manifest) -> None:
    graph = flow_graph(minimal)
    assert ("source:*unstated", "system:shop") in {(e.source, e.target) for e in graph.edges}
    tips = tooltips(ET.fromstring(graph_svg(minimal)), "e")
    assert "Customer accounts; Newsletter" in tips and "Newsletter" in tips


def test_hostile_names_are_escaped(make_manifest: MakeManifest) -> None:
    m = load_manifest(make_manifest(hostile)).manifest
    text = graph_svg(m)
    assert "<script" not in text and "<b>" not in text
    root = ET.fromstring(text)
    assert any(t.startswith(HOSTILE) for t in tooltips(root, "n"))
    dot = graph_dot(m)
    assert '"Mail \\"Express\\" & Co \\\\ <b>\\nprocessor"' in dot


def test_control_characters_do_not_break_the_xml(minimal: Manifest) -> None:
    shop = minimal.systems["shop"].model_copy(update={"name": "Shop\x01\x0b name"})
    m = minimal.model_copy(update={"systems": {"shop": shop}})
    assert any(t.startswith("Shop name") for t in tooltips(ET.fromstring(graph_svg(m)), "n"))


def test_boxes_in_a_column_do_not_overlap_and_fit_their_text(make_manifest: MakeManifest) -> None:
    root = ET.fromstring(graph_svg(load_manifest(make_manifest(richer)).manifest))
    rects = [(float(r.get("x", 0)), float(r.get("y", 0)), float(r.get("height", 0))) for r in root.iter(f"{SVG}rect")]
    by_column: dict[float, list[tuple[float, float]]] = {}
    for x, y, h in rects:
        by_column.setdefault(x, []).append((y, h))
    assert len(by_column) == len(COLUMNS)
    for boxes in by_column.values():
        boxes.sort()
        for (y1, h1), (y2, _) in itertools.pairwise(boxes):
            assert y1 + h1 < y2
    height = float(root.get("height", 0))
    assert all(y + h < height for _, y, h in rects)
    # A long name wraps onto more lines, and its box grows to hold them.
    assert max(h for _, _, h in rects) > min(h for _, _, h in rects)


def test_output_is_deterministic(minimal: Manifest) -> None:
    again = load_manifest(MINIMAL).manifest
    assert graph_svg(minimal) == graph_svg(again)
    assert graph_dot(minimal) == graph_dot(again)


def test_dot_names_every_node_and_edge(make_manifest: MakeManifest) -> None:
    m = load_manifest(make_manifest(richer)).manifest
    dot = graph_dot(m)
    assert dot.startswith("digraph privet {") and dot.rstrip().endswith("}")
    for key in m.systems:
        assert f'"system:{key}" [label=' in dot
    assert '"recipient:host" -> "country:DE" [tooltip="Newsletter"' in dot
    assert len(re.findall(r" -> ", dot)) == len(flow_graph(m).edges)
