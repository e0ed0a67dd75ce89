"""The access package: what was found about a person, as data.json, one CSV per collection and a readable page.

Only personal data goes in: fields with a data category outside the system roots. Log-in secrets are withheld
(the package says which fields and why). The zip is deterministic: the same input gives the same bytes.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import math
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from typing import Any

from privet.fulfilment.graph import CollectionNode, FieldNode, build_graph, under
from privet.fulfilment.ports import Row
from privet.manifest.model import Manifest
from privet.manifest.processing import Activity

# Categories never handed out, with the reason the package gives: a secret in the file would let whoever gets
# hold of it into the account (GDPR Art. 15(4): the copy must not harm the rights of others, or the person).
WITHHELD: tuple[tuple[str, str], ...] = (
    ("user.authorization.password", "a password or its hash would help anyone holding this file into your account"),
    ("user.authorization.credentials", "a log-in secret would let anyone holding this file into your account"),
)

# Spreadsheets run cells that start with these as formulas; such text is prefixed with an apostrophe in the CSVs.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class PackageError(ValueError):
    """Rows were given for a collection the manifest does not describe."""


@dataclass(frozen=True, slots=True)
class _Part:
    node: CollectionNode
    fields: tuple[FieldNode, ...]
    records: tuple[dict[str, Any], ...]  # field path -> value, as found


def withheld_because(fld: FieldNode) -> str | None:
    for category in fld.categories:
        for root, why in WITHHELD:
            if under(category, root):
                return why
    return None


def disclosed(node: CollectionNode) -> tuple[FieldNode, ...]:
    """The fields of a collection that go into an access package."""
    return tuple(f for f in node.leaves if f.personal and withheld_because(f) is None)


def build_access_package(
    request_id: str, manifest: Manifest, rows: Mapping[str, Sequence[Row]], generated_at: dt.datetime
) -> bytes:
    graph = build_graph(manifest.datasets)
    unknown = sorted(c for c in rows if c not in graph.collections)
    if unknown:
        raise PackageError(f"rows were given for {', '.join(unknown)}, which no dataset of the manifest describes")
    parts = []
    for key, found in rows.items():
        node = graph.collections[key]
        fields = disclosed(node)
        if fields:
            records = tuple({f.path: _at(row, f.path) for f in fields} for row in found)
            parts.append(_Part(node, fields, records))
    withheld = [
        (key, f, why)
        for key in rows
        for f in graph.collections[key].leaves
        if f.personal and (why := withheld_because(f)) is not None
    ]

    files = {
        "data.json": _data_json(request_id, manifest, parts, withheld, generated_at).encode(),
        "index.html": _index_html(request_id, manifest, parts, withheld, generated_at).encode(),
    }
    files |= {f"{part.node.key}.csv": _csv(part).encode("utf-8-sig") for part in parts}
    return _zip(files, generated_at)


def _at(row: Row, path: str) -> Any:
    value: Any = row
    for name in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


def _plain(value: Any) -> Any:
    """The value as JSON can hold it."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_plain(v) for v in value), key=repr)
    return str(value)  # Decimal, UUID and the like: their text is exact


def _text(value: Any) -> str:
    """The value as one line of text, for CSV cells and the page."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | Decimal):
        return str(value)
    plain = _plain(value)
    return plain if isinstance(plain, str) else json.dumps(plain, ensure_ascii=False, sort_keys=True)


def _data_json(
    request_id: str,
    manifest: Manifest,
    parts: list[_Part],
    withheld: list[tuple[str, FieldNode, str]],
    generated_at: dt.datetime,
) -> str:
    categories = manifest.taxonomy.categories
    document = {
        "request_id": request_id,
        "generated_at": generated_at.isoformat(),
        "controller": manifest.organisation.name,
        "collections": {
            part.node.key: {
                "dataset": part.node.dataset,
                "collection": part.node.name,
                "description": part.node.description,
                "fields": {
                    f.path: {
                        "categories": list(f.categories),
                        "category_names": [categories[c].name if c in categories else c for c in f.categories],
                        "description": f.description,
                    }
                    for f in part.fields
                },
                "records": [{k: _plain(v) for k, v in r.items()} for r in part.records],
            }
            for part in parts
        },
        "withheld": [{"collection": key, "field": f.path, "why": why} for key, f, why in withheld],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _csv(part: _Part) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f.path for f in part.fields])
    for record in part.records:
        writer.writerow([_guard(_text(record[f.path]), record[f.path]) for f in part.fields])
    return out.getvalue()


def _guard(text: str, value: Any) -> str:
    return "'" + text if isinstance(value, str) and text.startswith(_FORMULA_STARTS) else text


def _serves(activity: Activity, category: str, places: list[tuple[_Part, FieldNode, list[str]]]) -> bool:
    """Whether the activity uses data of this category kept in one of these places (its systems, where it names any)."""
    if not activity.all_categories and not any(under(category, a) or under(a, category) for a in activity.categories):
        return False
    systems = {part.node.system for part, _, _ in places}
    return not activity.systems or None in systems or bool(systems & set(activity.systems))


def _index_html(
    request_id: str,
    manifest: Manifest,
    parts: list[_Part],
    withheld: list[tuple[str, FieldNode, str]],
    generated_at: dt.datetime,
) -> str:
    tax = manifest.taxonomy
    # category -> [(collection, field, values)]
    found: dict[str, list[tuple[_Part, FieldNode, list[str]]]] = {}
    for part in parts:
        for f in part.fields:
            values = [_text(r[f.path]) for r in part.records if r[f.path] is not None]
            for c in f.categories:
                found.setdefault(c, []).append((part, f, values))

    def name(category: str) -> str:
        return tax.categories[category].name if category in tax.categories else category

    def where(part: _Part, f: FieldNode) -> str:
        return escape(f"{part.node.key} › {f.path}")

    org = escape(manifest.organisation.name)
    h = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Your personal data held by {org}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;"
        "vertical-align:top}</style>",
        "</head><body>",
        "<h1>Your personal data</h1>",
        f"<p>Held by {org}. Request {escape(request_id)}, prepared {escape(generated_at.isoformat())}.</p>",
        "<p>The same data are in <code>data.json</code> (for programs) and in one CSV file per place we keep it.</p>",
        "<h2>By kind of data</h2>",
    ]
    for category, places in found.items():
        entry = tax.categories.get(category)
        h.append(f'<section id="{escape(category)}"><h3>{escape(name(category))}</h3>')
        if entry is not None and entry.description:
            h.append(f"<p>{escape(entry.description)}</p>")
        users = [a.title for a in manifest.activities.values() if _serves(a, category, places)]
        if users:
            h.append(f"<p>Used for: {escape('; '.join(users))}.</p>")
        h.append("<table><tr><th>Where</th><th>Value</th></tr>")
        for part, f, values in places:
            cells = "<br>".join(escape(v) for v in values) or "<em>empty</em>"
            h.append(f"<tr><td>{where(part, f)}</td><td>{cells}</td></tr>")
        h.append("</table></section>")
    if not found:
        h.append("<p>We found no personal data about you.</p>")

    h.append("<h2>By purpose</h2>")
    for activity in manifest.activities.values():
        used = [c for c, places in found.items() if _serves(activity, c, places)]
        if not used:
            continue
        h.append(f"<section><h3>{escape(activity.title)}</h3>")
        if activity.description:
            h.append(f"<p>{escape(activity.description)}</p>")
        purposes = [tax.purposes[p].name if p in tax.purposes else p for p in activity.purposes]
        h.append(f"<p>Purposes: {escape('; '.join(purposes))}.</p><ul>")
        h += [f'<li><a href="#{escape(c)}">{escape(name(c))}</a></li>' for c in used]
        h.append("</ul></section>")

    if withheld:
        h.append("<h2>Not included</h2><ul>")
        h += [f"<li>{escape(f'{key} › {f.path}')}: {escape(why)}</li>" for key, f, why in withheld]
        h.append("</ul>")
    h.append("</body></html>")
    return "\n".join(h) + "\n"


def _zip(files: Mapping[str, bytes], generated_at: dt.datetime) -> bytes:
    stamp = generated_at.astimezone(dt.UTC) if generated_at.tzinfo else generated_at
    if stamp.year < 1980:
        raise PackageError("a zip file cannot carry a date before 1980; give generated_at a real date")
    date_time = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the permissions below mean the same everywhere
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return buffer.getvalue()
