"""The data-flow picture: sources -> systems -> recipients -> countries, as self-contained SVG or Graphviz DOT."""

from __future__ import annotations

import re
import textwrap
from collections import defaultdict
from dataclasses import dataclass

from privet.manifest.entities import SourceKind
from privet.manifest.model import Manifest
from privet.manifest.processing import Activity

__all__ = ["COLUMNS", "Edge", "FlowGraph", "Node", "flow_graph", "graph_dot", "graph_svg"]

COLUMNS = ("Sources", "Systems", "Recipients", "Countries")
_PERSON, _AUTOMATIC, _UNSTATED, _NO_SYSTEM = "source:*person", "source:*automatic", "source:*unstated", "system:*none"
_KIND_ORDER = {k: i for i, k in enumerate(("subject", "automatic", "created", "public", "third_party"))}


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    column: int  # index into COLUMNS
    label: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    activities: tuple[str, ...]  # the activity names the flow carries, or what it is when no activity names it


@dataclass(frozen=True, slots=True)
class FlowGraph:
    title: str
    nodes: tuple[Node, ...]  # column by column, each in drawing order
    edges: tuple[Edge, ...]


def flow_graph(manifest: Manifest) -> FlowGraph:
    nodes: dict[str, Node] = {}
    flows: dict[tuple[str, str], dict[str, None]] = defaultdict(dict)
    for key, src in manifest.sources.items():
        nodes[f"source:{key}"] = Node(f"source:{key}", 0, src.title, src.kind.value.replace("_", " "))
    for key, system in manifest.systems.items():
        detail = system.kind.value + (f" · hosted in {', '.join(system.countries)}" if system.countries else "")
        nodes[f"system:{key}"] = Node(f"system:{key}", 1, system.title, detail)
    for key, rec in manifest.recipients.items():
        flags = [rec.kind.value.replace("_", " ")]
        flags += [w for w, on in (("sale", rec.sale), ("sharing", rec.sharing)) if on]
        nodes[f"recipient:{key}"] = Node(f"recipient:{key}", 2, rec.title, " · ".join(flags))

    def node(node_id: str, column: int, label: str, detail: str = "") -> str:
        nodes.setdefault(node_id, Node(node_id, column, label, detail))
        return node_id

    for activity in manifest.activities.values():
        sources = [node(*s) for s in _activity_sources(manifest, activity)]
        systems = [node(f"system:{s}", 1, s) for s in activity.systems] or [node(_NO_SYSTEM, 1, "No system stated")]
        for a in sources:
            for b in systems:
                flows[(a, b)][activity.title] = None
        for b in systems:
            for r in activity.recipients:
                flows[(b, node(f"recipient:{r}", 2, r))][activity.title] = None
    for key, system in manifest.systems.items():
        users = [a.title for a in manifest.activities.values() if key in a.systems] or ["operating the system"]
        for r in system.recipients:
            flows[(f"system:{key}", node(f"recipient:{r}", 2, r))].update(dict.fromkeys(users))
    for key, rec in manifest.recipients.items():
        carried: dict[str, None] = {}
        for (_, target), acts in flows.items():
            if target == f"recipient:{key}":
                carried.update(acts)
        for country in rec.countries:
            flows[(f"recipient:{key}", node(f"country:{country}", 3, country))].update(carried or {"based there": None})
    edges = tuple(Edge(a, b, tuple(acts)) for (a, b), acts in flows.items())
    ordered = _order(list(nodes.values()), edges, manifest)
    return FlowGraph(f"{manifest.organisation.name}: personal data flows", tuple(ordered), edges)


def _activity_sources(manifest: Manifest, activity: Activity) -> list[tuple[str, int, str]]:
    if activity.sources:
        return [(f"source:{s}", 0, s) for s in activity.sources]
    out: dict[tuple[str, int, str], None] = {}
    for key in activity.product_families:
        family = manifest.product_families.get(key)
        if family is None:
            continue
        if family.collects.provided:
            out[_kind_node(manifest, SourceKind.SUBJECT)] = None
        if family.collects.automatic:
            out[_kind_node(manifest, SourceKind.AUTOMATIC)] = None
        out.update({(f"source:{t.source}", 0, t.source): None for t in family.collects.third_party})
    return list(out) or [(_UNSTATED, 0, "Source not stated")]


def _kind_node(manifest: Manifest, kind: SourceKind) -> tuple[str, int, str]:
    # The manifest's own source of that kind when it has one, else a stand-in.
    for key, src in manifest.sources.items():
        if src.kind is kind:
            return (f"source:{key}", 0, src.title)
    if kind is SourceKind.SUBJECT:
        return (_PERSON, 0, "The person")
    return (_AUTOMATIC, 0, "Automatic collection")


def _order(nodes: list[Node], edges: tuple[Edge, ...], manifest: Manifest) -> list[Node]:
    """Sources by kind, then each later column by the mean position of its inputs (few crossings, stable)."""
    kinds = {f"source:{k}": _KIND_ORDER.get(s.kind.value, 9) for k, s in manifest.sources.items()}
    kinds.update({_PERSON: 0, _AUTOMATIC: 1, _UNSTATED: 10})
    inputs: dict[str, list[str]] = defaultdict(list)
    for edge in edges:
        inputs[edge.target].append(edge.source)
    ordered = sorted((n for n in nodes if n.column == 0), key=lambda n: (kinds.get(n.id, 9), n.label.casefold(), n.id))
    position = {n.id: float(i) for i, n in enumerate(ordered)}
    for column in range(1, len(COLUMNS)):
        keyed = []
        for n in (n for n in nodes if n.column == column):
            seen = [position[s] for s in inputs[n.id] if s in position]
            keyed.append((sum(seen) / len(seen) if seen else float("inf"), n.label.casefold(), n.id, n))
        members = [k[-1] for k in sorted(keyed, key=lambda k: k[:3])]
        position.update({n.id: float(i) for i, n in enumerate(members)})
        ordered += members
    return ordered


# --- SVG -----------------------------------------------------------------------------------------------------------

_BOX_W, _GAP_X, _GAP_Y, _MARGIN, _TOP = 240, 130, 14, 24, 84
_LABEL_CHARS, _DETAIL_CHARS, _LABEL_LH, _DETAIL_LH, _PAD, _PORT = 26, 36, 16, 14, 8, 5
_COLOURS = ("#2b6cb0", "#2f855a", "#c05621", "#6b46c1")
_FILLS = ("#ebf4ff", "#f0fff4", "#fffaf0", "#faf5ff")
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _esc(text: str) -> str:
    text = _INVALID_XML.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=True) or [""]


@dataclass(frozen=True, slots=True)
class _Box:
    x: float
    y: float
    h: float
    label: list[str]
    detail: list[str]


def graph_svg(manifest: Manifest) -> str:
    graph = flow_graph(manifest)
    ends: dict[tuple[str, bool], int] = defaultdict(int)  # (node, outgoing) -> lines on that side
    for e in graph.edges:
        ends[(e.source, True)] += 1
        ends[(e.target, False)] += 1
    boxes: dict[str, _Box] = {}
    bottoms = [float(_TOP)] * len(COLUMNS)
    for n in graph.nodes:
        label, detail = _wrap(n.label, _LABEL_CHARS), _wrap(n.detail, _DETAIL_CHARS) if n.detail else []
        # Tall enough for its text, and for its lines to arrive a few pixels apart.
        h = max(
            2 * _PAD + len(label) * _LABEL_LH + len(detail) * _DETAIL_LH,
            _PORT * max(ends[(n.id, True)], ends[(n.id, False)]),
        )
        x = _MARGIN + n.column * (_BOX_W + _GAP_X)
        boxes[n.id] = _Box(x, bottoms[n.column], h, label, detail)
        bottoms[n.column] += h + _GAP_Y
    width = 2 * _MARGIN + len(COLUMNS) * _BOX_W + (len(COLUMNS) - 1) * _GAP_X
    height = max(bottoms) + _MARGIN
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0f}" '
        f'viewBox="0 0 {width} {height:.0f}" role="img" aria-label="{_esc(graph.title)}">',
        f"<title>{_esc(graph.title)}</title>",
        "<style>text{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;fill:#1a202c}"
        ".h{font-size:15px;font-weight:600}.l{font-size:13px;font-weight:600}.d{font-size:11px;fill:#4a5568}"
        ".e path{fill:none;stroke-opacity:.55}.e:hover path{stroke-opacity:1;stroke-width:3}</style>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
        'markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0L10,5L0,10z" fill="#4a5568"/></marker></defs>',
        f'<text class="h" x="{_MARGIN}" y="28">{_esc(graph.title)}</text>',
        f'<text class="d" x="{_MARGIN}" y="46">Point at a line to see the processing activities it carries.</text>',
    ]
    for i, name in enumerate(COLUMNS):
        out.append(f'<text class="h" x="{_MARGIN + i * (_BOX_W + _GAP_X)}" y="{_TOP - 12}">{name}</text>')
    out += _svg_edges(graph, boxes)
    for n in graph.nodes:
        out.append(_svg_node(n, boxes[n.id]))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _svg_edges(graph: FlowGraph, boxes: dict[str, _Box]) -> list[str]:
    # Each box spreads its lines over its height, in the order of the boxes at the other end, so lines do not bunch.
    outs: dict[str, list[Edge]] = defaultdict(list)
    ins: dict[str, list[Edge]] = defaultdict(list)
    for e in graph.edges:
        outs[e.source].append(e)
        ins[e.target].append(e)
    port: dict[tuple[str, str, str], float] = {}
    for node_id, group, far in [(k, v, "target") for k, v in outs.items()] + [(k, v, "source") for k, v in ins.items()]:
        box = boxes[node_id]
        group.sort(key=lambda e: (boxes[getattr(e, far)].y, getattr(e, far)))
        for i, e in enumerate(group):
            port[(e.source, e.target, far)] = box.y + box.h * (i + 1) / (len(group) + 1)
    out = []
    for e in sorted(graph.edges, key=lambda e: (boxes[e.source].x, boxes[e.source].y, boxes[e.target].y)):
        a, b = boxes[e.source], boxes[e.target]
        x1, y1, x2, y2 = a.x + _BOX_W, port[(e.source, e.target, "target")], b.x, port[(e.source, e.target, "source")]
        mid = (x1 + x2) / 2
        colour = _COLOURS[min(int((a.x - _MARGIN) // (_BOX_W + _GAP_X)), len(_COLOURS) - 1)]
        stroke = 1.2 + 0.4 * min(len(e.activities), 5)
        out.append(
            f'<g class="e"><title>{_esc("; ".join(e.activities))}</title>'
            f'<path d="M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2 - 2:.1f},{y2:.1f}" '
            f'stroke="{colour}" stroke-width="{stroke:.1f}" marker-end="url(#arrow)"/></g>'
        )
    return out


def _svg_node(n: Node, box: _Box) -> str:
    tip = n.label + (f" ({n.detail})" if n.detail else "")
    parts = [
        f'<g class="n"><title>{_esc(tip)}</title>',
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{_BOX_W}" height="{box.h:.1f}" rx="6" '
        f'fill="{_FILLS[n.column]}" stroke="{_COLOURS[n.column]}"/>',
    ]
    y = box.y + _PAD
    for line in box.label:
        y += _LABEL_LH
        parts.append(f'<text class="l" x="{box.x + 10:.1f}" y="{y - 4:.1f}">{_esc(line)}</text>')
    for line in box.detail:
        y += _DETAIL_LH
        parts.append(f'<text class="d" x="{box.x + 10:.1f}" y="{y - 3:.1f}">{_esc(line)}</text>')
    parts.append("</g>")
    return "".join(parts)


# --- DOT -----------------------------------------------------------------------------------------------------------


def _dot(text: str) -> str:
    text = _INVALID_XML.sub("", text)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "") + '"'


def graph_dot(manifest: Manifest) -> str:
    graph = flow_graph(manifest)
    out = [
        "digraph privet {",
        f'  graph [rankdir=LR, nodesep=0.25, ranksep=1.2, fontname="Helvetica", labelloc=t, '
        f"label={_dot(graph.title)}];",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9, color="#4a5568"];',
    ]
    for i, name in enumerate(COLUMNS):
        out.append(f"  subgraph cluster_{i} {{")
        out.append(f'    label={_dot(name)}; style=dashed; color="{_COLOURS[i]}";')
        members = [n for n in graph.nodes if n.column == i]
        for n in members:
            label = n.label + (f"\n{n.detail}" if n.detail else "")
            out.append(f'    {_dot(n.id)} [label={_dot(label)}, fillcolor="{_FILLS[i]}", color="{_COLOURS[i]}"];')
        if members:
            out.append("    { rank=same; " + " ".join(_dot(n.id) for n in members) + " }")
        out.append("  }")
    for e in graph.edges:
        tip = _dot("; ".join(e.activities))
        out.append(f"  {_dot(e.source)} -> {_dot(e.target)} [tooltip={tip}, labeltooltip={tip}];")
    out.append("}")
    return "\n".join(out) + "\n"
