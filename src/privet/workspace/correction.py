"""Correcting a person's data across the company's systems (GDPR Art. 16), logged without what must stay secret."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from privet.crypto import CryptoError, encrypted_fields, field_aad, open_subject, seal
from privet.fulfilment.executor import FulfilmentError, collect, table_of
from privet.fulfilment.graph import build_graph
from privet.fulfilment.plan import plan_access
from privet.fulfilment.ports import Update
from privet.requests.lifecycle import Event, EventKind
from privet.requests.model import Request
from privet.workspace.runtime import Runtime
from privet.workspace.systems import connectors, identities_of, notify_recipients, subject_of

ENCRYPTED_IN_LOG = "(encrypted)"  # what the audit log shows of an encrypted field's value, never the value or a hash


def correct(rt: Runtime, request: Request, now: dt.datetime, actor: str) -> Request:
    """details holds one correction a line: dataset.collection.field = new value."""
    corrections = _corrections(request.details)
    if not corrections:
        raise FulfilmentError(
            "a correction request names what to change: one 'dataset.collection.field = value' a line in its details"
        )
    graph = build_graph(rt.manifest.datasets)
    ids = identities_of(rt, request)
    plan = plan_access(graph, ids)
    changed: list[dict[str, Any]] = []
    with connectors(rt) as conns:
        rows = collect(plan, graph, conns, ids)
        for (collection, field_name), value in corrections.items():
            node = graph.node(collection)
            keys = [f.path for f in node.fields if f.primary_key]
            if not keys:
                raise FulfilmentError(f"{collection} has no primary key in the dataset; privet cannot address its rows")
            conn = conns[node.system or ""]
            stored = _sealed_if_marked(rt, request, collection, field_name, value)
            updates = [Update(row[keys[0]], {field_name: stored}) for row in rows.get(collection, [])]
            with conn.transaction():
                n = conn.update(table_of(collection), keys[0], updates)
            before = [row.get(field_name) for row in rows.get(collection, [])]
            sensitive = any(
                c in rt.manifest.taxonomy.categories and rt.manifest.taxonomy.categories[c].sensitive
                for f in node.fields
                if f.path == field_name
                for c in f.categories
            )
            if stored is not value:  # encrypted: the immutable log must not keep what shredding will destroy
                before, value, sensitive = [ENCRYPTED_IN_LOG] * len(before), ENCRYPTED_IN_LOG, False
            changed.append(
                {
                    "field": f"{collection}.{field_name}",
                    "rows": n,
                    "before": [_maybe_hash(v, sensitive) for v in before],
                    "after": _maybe_hash(value, sensitive),
                }
            )
    rt.audit.record(now, actor, "corrected", f"request:{request.request_id}", {"changes": changed})
    touched = {graph.node(c).system or "" for c, _ in corrections}
    notify_recipients(rt, request, touched, "correct", now)
    summary = "; ".join(f"{c['field']}: {c['rows']} row(s)" for c in changed)
    return rt.request_service.act(
        request.request_id, Event(EventKind.FULFIL, text=summary), now, actor, extra={"summary": summary}
    )


def _sealed_if_marked(rt: Runtime, request: Request, collection: str, field_name: str, value: str) -> Any:
    """A corrected value of a field the manifest marks `encrypted` is stored sealed, like the value it replaces."""
    if field_name not in encrypted_fields(rt.manifest.datasets).get(collection, ()):
        return value
    subject = subject_of(rt, request)
    if subject is None:
        raise FulfilmentError(f"{collection}.{field_name} is encrypted, and the request names no privet subject,"
                              " whose key would seal the new value; nothing was changed")  # fmt: skip
    if rt.keks is None:
        raise FulfilmentError(f"{collection}.{field_name} is encrypted, and privet.toml has no [crypto] KEKs to"
                              " seal the new value; configure [crypto]; nothing was changed")  # fmt: skip
    try:
        key = open_subject(rt.data_keys, rt.keks, subject, create=True)
    except CryptoError as exc:
        raise FulfilmentError(f"{collection}.{field_name} is encrypted and cannot take a new value: {exc}") from None
    return seal(key, value, field_aad(collection, field_name))


def _corrections(details: str) -> dict[tuple[str, str], str]:
    out = {}
    for line in details.splitlines():
        target, sep, value = line.partition("=")
        parts = target.strip().split(".")
        if sep and len(parts) >= 3:
            out[(".".join(parts[:2]), ".".join(parts[2:]))] = value.strip()
    return out


def _maybe_hash(value: Any, sensitive: bool) -> Any:
    if not sensitive or value is None:
        return value
    return "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()
