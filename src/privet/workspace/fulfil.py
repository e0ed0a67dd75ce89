"""Fulfilling a request against the company's systems: the adapter that joins the workflow to the executor.

Opt-outs, objections, restriction and withdrawal are recorded in the consent ledger, where every decision reads
them. Access builds a package from every collection the plan reaches. Erasure is planned whole and recorded
before anything changes, then carried out collection by collection with checkpoints: running it again after a
crash finishes the rest and repeats nothing. A request only reaches "fulfilled" when every field is done.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from privet.connectors.registry import connector_for
from privet.consent.events import Evidence, Signal, Source
from privet.consent.ledger import ChoiceInput
from privet.crypto import (
    CryptoError,
    ShredOutcome,
    ShredReceipt,
    SubjectKey,
    encrypted_fields,
    field_aad,
    is_sealed,
    open_rows,
    open_subject,
    seal,
)
from privet.crypto import shred as shred_key
from privet.fulfilment.erasure import Action, ActionKind, Reason, ReasonCode
from privet.fulfilment.executor import (
    FulfilmentError,
    StepRecord,
    StepState,
    apply_actions,
    check_schema,
    collect,
    plan_actions,
    table_of,
)
from privet.fulfilment.graph import DatasetGraph, build_graph
from privet.fulfilment.package import build_access_package
from privet.fulfilment.plan import plan_access, plan_erasure
from privet.fulfilment.ports import Connector, Row, Update
from privet.law.catalogue import catalogue
from privet.law.vocabulary import Right
from privet.requests.lifecycle import Event, EventKind
from privet.requests.model import Request, State
from privet.store.session import unit_of_work
from privet.workspace.files import write_atomic
from privet.workspace.runtime import Runtime

SIGNALS: dict[Right, tuple[tuple[str, bool], ...]] = {
    Right.OPT_OUT_SALE: ((Signal.OPT_OUT_SALE.value, True), (Signal.OPT_OUT_SHARING.value, True)),
    Right.OPT_OUT_SHARING: ((Signal.OPT_OUT_SHARING.value, True),),
    Right.OPT_OUT_TARGETED_ADVERTISING: ((Signal.OPT_OUT_TARGETED_ADVERTISING.value, True),),
    Right.OPT_OUT_PROFILING: ((Signal.OBJECTION.value, True),),
    Right.LIMIT_SENSITIVE: ((Signal.LIMIT_SENSITIVE.value, True),),
    Right.OBJECTION: ((Signal.OBJECTION.value, True),),
    Right.OBJECT_DIRECT_MARKETING: ((Signal.OBJECTION_DIRECT_MARKETING.value, True),),
    Right.RESTRICTION: ((Signal.RESTRICTION.value, True),),
}
ACCESS_KINDS = frozenset({Right.ACCESS, Right.PORTABILITY, Right.KNOW})
ENCRYPTED_IN_LOG = "(encrypted)"  # what the audit log shows of an encrypted field's value, never the value or a hash


class FulfilmentIncomplete(FulfilmentError):
    """Work remains (a failed system, manual tasks): the request stays in progress and can be run again."""


def identities_of(rt: Runtime, request: Request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    r = request.requester
    if r.email:
        out.setdefault("email", []).append(r.email.strip().lower())
    if r.phone:
        out.setdefault("phone_number", []).append(r.phone)
    if r.subject_id:
        for ident in rt.subjects.identifiers(r.subject_id):
            name = {"phone": "phone_number"}.get(ident.kind.value, ident.kind.value)
            if ident.value not in out.get(name, []):
                out.setdefault(name, []).append(ident.value)
    return out


@contextmanager
def connectors(rt: Runtime) -> Iterator[dict[str, Connector]]:
    opened = {key: connector_for(key, config) for key, config in rt.settings.systems.items()}
    try:
        yield opened
    finally:
        for c in opened.values():
            c.close()


def fulfil_request(rt: Runtime, request_id: str, actor: str = "system") -> Request:
    """Carry out an in-progress request; returns it fulfilled, partially fulfilled, or still in progress."""
    request = rt.request_service.get(request_id)
    if request.state not in (State.IN_PROGRESS, State.EXTENDED):
        raise FulfilmentError(f"request {request_id} is {request.state.value}; fulfilment runs on requests in progress")
    now = rt.now()
    if request.kind in SIGNALS or request.kind is Right.WITHDRAW_CONSENT:
        summary = _record_choices(rt, request, now)
        if request.kind is Right.RESTRICTION and rt.settings.systems:
            _restrict_rows(rt, request, now, actor)
            summary += "; the person's records are marked restricted"
        return rt.request_service.act(
            request.request_id, Event(EventKind.FULFIL, text=summary), now, actor, extra={"summary": summary}
        )
    if request.kind in ACCESS_KINDS:
        return _access(rt, request, now, actor)
    if request.kind is Right.DELETION:
        return _erase(rt, request, now, actor)
    if request.kind is Right.CORRECTION:
        return _correct(rt, request, now, actor)
    raise FulfilmentError(f"privet cannot fulfil {request.kind.value} requests automatically; a person must")


def _subject(rt: Runtime, request: Request) -> str | None:
    if request.requester.subject_id:
        return request.requester.subject_id
    from privet.consent.identifiers import Identifier, IdentifierKind

    if request.requester.email:
        return rt.subjects.find(Identifier(IdentifierKind.EMAIL, request.requester.email.strip().lower()))
    return None


def _restrict_rows(rt: Runtime, request: Request, now: dt.datetime, actor: str) -> None:
    """GDPR Art. 18: mark the person's rows restricted where a system has a flag; elsewhere a manual task."""
    graph = build_graph(rt.manifest.datasets)
    ids = identities_of(rt, request)
    plan = plan_access(graph, ids)
    reason = Reason(ReasonCode.REQUESTED, "Processing restricted to storage at your request (GDPR Art. 18).")
    with connectors(rt) as conns:
        rows = collect(plan, graph, conns, ids)
        actions = []
        for collection, found in rows.items():
            keys = [f.path for f in graph.node(collection).fields if f.primary_key]
            if keys:
                actions += [
                    Action(collection, keys[0], row[keys[0]], ActionKind.RESTRICT, reason=reason) for row in found
                ]
        outcome = apply_actions(
            request.request_id,
            actions,
            plan.collections,
            graph,
            conns,
            rt.checkpoints,
            rt.settings.secret_key,
            now,
            phase="restrict",
        )
    rt.audit.record(
        now,
        actor,
        "restricted",
        f"request:{request.request_id}",
        {"done": outcome.done, "manual": list(outcome.manual), "failed": outcome.failed},
    )
    if outcome.failed or outcome.manual:
        raise FulfilmentIncomplete(
            "restriction is not complete: " + "; ".join([*outcome.failed.values(), *outcome.manual])
        )


def _record_choices(rt: Runtime, request: Request, now: dt.datetime) -> str:
    """The request's choices, dated when the person asked; recording them again (a rerun) changes nothing."""
    from privet.consent.identifiers import Identifier, IdentifierKind

    subject = _subject(rt, request)
    ident = None if subject else Identifier(IdentifierKind.EMAIL, (request.requester.email or "").strip().lower())
    evidence = Evidence(request_id=request.request_id, note=f"{request.kind.value} request")
    if request.kind is Right.WITHDRAW_CONSENT:
        pairs = tuple((key, False) for key in sorted(rt.manifest.consents))
    else:
        pairs = SIGNALS[request.kind]
    choices = [
        ChoiceInput(
            key,
            granted,
            Source.REQUEST,
            subject_id=subject,
            identifier=ident,
            at=request.received_at,
            event_id=f"{request.request_id}:{key}",
            jurisdiction=request.jurisdiction,
            evidence=evidence,
        )
        for key, granted in pairs
    ]
    rt.ledger.record(choices, now)
    return f"recorded in the consent ledger: {', '.join(k for k, _ in pairs)}"


def _access(rt: Runtime, request: Request, now: dt.datetime, actor: str) -> Request:
    graph = build_graph(rt.manifest.datasets)
    ids = identities_of(rt, request)
    plan = plan_access(graph, ids)
    with connectors(rt) as conns:
        problems = check_schema(plan, graph, conns)
        if problems:
            raise FulfilmentIncomplete("the datasets do not match the live systems:\n  " + "\n  ".join(problems))
        rows = collect(plan, graph, conns, ids)
    package = build_access_package(request.request_id, rt.manifest, _open_encrypted(rt, request, rows), now)
    path = rt.settings.root / "packages" / f"{request.request_id}.zip"
    write_atomic(path, package)
    count = sum(len(v) for v in rows.values())
    rt.checkpoints.put(
        StepRecord(
            request.request_id,
            "access",
            "*",
            StepState.DONE,
            count,
            detail={"package": str(path), "sha256": hashlib.sha256(package).hexdigest()},
        ),
        now,
    )
    summary = f"{count} records from {sum(1 for v in rows.values() if v)} collections"
    return rt.request_service.act(
        request.request_id, Event(EventKind.FULFIL, text=summary), now, actor, extra={"summary": summary}
    )


def _erase(rt: Runtime, request: Request, now: dt.datetime, actor: str) -> Request:
    graph = build_graph(rt.manifest.datasets)
    ids = identities_of(rt, request)
    plan = plan_erasure(graph, ids)
    jurisdictions = catalogue().expand((request.jurisdiction,)) if request.jurisdiction else ()
    with connectors(rt) as conns:
        recorded = rt.checkpoints.get(request.request_id, "plan", "*")
        if recorded is None:
            from privet.retention.rules import legal_holds_for
            from privet.store.holds import SqlHolds

            person_ids = [v for values in ids.values() for v in values] + [request.requester.subject_id or ""]
            holds = legal_holds_for(SqlHolds(rt.db).active(now), graph, [p for p in person_ids if p], now)
            actions = plan_actions(
                plan,
                graph,
                rt.manifest,
                conns,
                ids,
                holds,
                request.received_at.date(),
                list(jurisdictions) + [g for g, m in catalogue().groups.items() if request.jurisdiction in m],
            )
            rt.checkpoints.put(
                StepRecord(
                    request.request_id,
                    "plan",
                    "*",
                    StepState.DONE,
                    len(actions),
                    detail={"actions": [_action_json(a) for a in actions]},
                ),
                now,
            )
            rt.audit.record(
                now,
                actor,
                "erasure_planned",
                f"request:{request.request_id}",
                {"actions": len(actions), "collections": list(plan.order)},
            )
        else:
            actions = [_action_from(a) for a in recorded.detail["actions"]]
        outcome = apply_actions(
            request.request_id, actions, plan.order, graph, conns, rt.checkpoints, rt.settings.secret_key, now
        )
    rt.audit.record(
        now,
        actor,
        "erasure_applied",
        f"request:{request.request_id}",
        {"done": outcome.done, "failed": outcome.failed, "manual": len(outcome.manual), "kept": len(outcome.kept)},
    )
    if outcome.failed:
        where = "; ".join(f"{c}: {e}" for c, e in outcome.failed.items())
        raise FulfilmentIncomplete(
            f"erasure stopped: {where}. Fix the system and run it again: what is done stays done"
        )
    if outcome.manual:
        raise FulfilmentIncomplete(
            f"{len(outcome.manual)} manual task(s) wait for the system owners:\n  " + "\n  ".join(outcome.manual)
        )
    shredding = _shred_on_erasure(rt, request, graph, plan.order, outcome.kept, now, actor)
    touched = {graph.node(c).system or "" for c in outcome.done}
    notified = notify_recipients(rt, request, touched, "erase", now)
    summary = f"erased or masked {sum(outcome.done.values())} records in {len(outcome.done)} collections"
    if shredding:
        summary += f"; {shredding}"
    if notified:
        summary += f"; {len(notified)} recipients to be told"
    if outcome.kept:
        reasons = tuple(
            dict.fromkeys(
                f"{a.collection}: {a.reason.text}" + (f" (kept until {a.until.isoformat()})" if a.until else "")
                for a in outcome.kept
            )
        )
        return rt.request_service.act(
            request.request_id,
            Event(EventKind.FULFIL_PARTIALLY, reasons=reasons, text=summary),
            now,
            actor,
            extra={"summary": summary},
        )
    return rt.request_service.act(
        request.request_id, Event(EventKind.FULFIL, text=summary), now, actor, extra={"summary": summary}
    )


def _open_encrypted(rt: Runtime, request: Request, rows: Mapping[str, Sequence[Row]]) -> Mapping[str, Sequence[Row]]:
    """The rows with fields the manifest marks `encrypted` decrypted under the person's data key (see
    _shred_on_erasure for whose key that is); a shredded person's fields read "erased (key destroyed)"."""
    marked = encrypted_fields(rt.manifest.datasets)
    if not marked:
        return rows

    def key() -> SubjectKey | ShredReceipt:
        subject = _subject(rt, request)
        if subject is None:
            raise FulfilmentIncomplete(
                "the person's records hold encrypted fields, but the request names no privet subject, whose data key"
                " they are under; link the requester's email to their subject, then run the request again"
            )
        stored = rt.data_keys.get(subject)
        if isinstance(stored, ShredReceipt):
            return stored  # no KEK is needed to say that the data is gone
        if rt.keks is None:
            raise FulfilmentIncomplete(
                "the person's records hold encrypted fields and privet.toml has no [crypto] KEKs to decrypt them;"
                " configure [crypto] (see privet.toml's comments), then run the request again"
            )
        return open_subject(rt.data_keys, rt.keks, subject)

    try:
        return open_rows(rows, marked, key)
    except CryptoError as exc:
        raise FulfilmentIncomplete(f"the access package was not built: {exc}") from None


def shred_subject(rt: Runtime, subject_id: str, now: dt.datetime, actor: str, ref: str,
                  detail: Mapping[str, Any]) -> ShredOutcome:  # fmt: skip
    """Destroy the subject's data key and audit it in one transaction: key id, KEK id, time and the receipt's
    digest, never key material. Shredding again changes nothing and writes no second entry."""
    with unit_of_work(rt.db):
        outcome = shred_key(rt.data_keys, subject_id, now)
        if not outcome.already:
            r = outcome.receipt
            rt.audit.record(now, actor, "data_key_shredded", ref, {
                "key_id": r.key_id, "kek_id": r.kek_id, "shredded_at": r.shredded_at.isoformat(),
                "receipt_sha256": r.digest, **detail})  # fmt: skip
    return outcome


def _shred_on_erasure(rt: Runtime, request: Request, graph: DatasetGraph, erased: Sequence[str],
                      kept: Sequence[Action], now: dt.datetime, actor: str) -> str | None:  # fmt: skip
    """Crypto-shredding, once the erasure is done: when the erased systems hold fields the manifest marks
    `encrypted`, the person's data key is destroyed, so every copy of those fields (backups, logs) is unreadable.

    Whose key: the person as privet knows them, the request's subject id (set when the requester signed in or was
    matched), else the subject its verified email is linked to. Values are encrypted under that id (privet crypto
    encrypt --subject). Not the datasets' own ids: one person has many (user id, email, order ids) across systems,
    and privet's subject joins them. The key is kept while any record with encrypted fields is kept (a legal
    obligation or hold): shredding would destroy what the law requires to keep.
    """
    marked = encrypted_fields(rt.manifest.datasets)
    systems = {graph.node(c).system for c in erased}
    collections = sorted(c for c in marked if graph.node(c).system in systems)
    if not collections:
        return None
    ref = f"request:{request.request_id}"
    held = sorted({a.collection for a in kept if a.collection in marked})
    if held:
        reasons = sorted({f"{a.collection}: {a.reason.text}" for a in kept if a.collection in marked})
        rt.audit.record(now, actor, "data_key_kept", ref, {"collections": held, "reasons": reasons})
        return f"the key to the encrypted data is kept while records that must be retained hold it ({', '.join(held)})"
    subject = _subject(rt, request)
    if subject is None:
        rt.audit.record(now, actor, "data_key_not_shredded", ref,
                        {"collections": collections, "reason": "the request names no privet subject"})  # fmt: skip
        return "no encryption key was destroyed: the request names no privet subject, whose key it would be"
    outcome = shred_subject(rt, subject, now, actor, ref, {"collections": collections})
    if outcome.receipt.key_id is None:
        return "no encrypted data was held, and none will be"
    return "the key to the encrypted data was destroyed, so every copy of it, backups included, is unreadable"


def notify_recipients(rt: Runtime, request: Request, systems: set[str], what: str, now: dt.datetime) -> list[str]:
    """GDPR Art. 19: every recipient that got the person's data from these systems must be told of the change.

    A notification task per recipient, recorded with the request (privet requests show lists them).
    """
    m = rt.manifest
    told: dict[str, str] = {}
    for activity in m.activities.values():
        if not systems.intersection(activity.systems):
            continue
        for key in activity.recipients:
            recipient = m.recipients.get(key)
            if recipient is not None and recipient.kind.value not in ("authority", "individual"):
                told.setdefault(key, recipient.title)
    for key, title in sorted(told.items()):
        task = f"tell {title} to {what} the person's data (GDPR Art. 19)"
        rt.checkpoints.put(
            StepRecord(request.request_id, "notify", key, StepState.MANUAL, 0, detail={"task": task}), now
        )
    if told:
        rt.audit.record(
            now, "system", "recipients_to_notify", f"request:{request.request_id}", {"recipients": sorted(told)}
        )
    return sorted(told)


def _correct(rt: Runtime, request: Request, now: dt.datetime, actor: str) -> Request:
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
    subject = _subject(rt, request)
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


def _action_json(a: Action) -> dict[str, Any]:
    return {
        "collection": a.collection,
        "key_field": a.key_field,
        "key": a.key,
        "kind": a.kind.value,
        "fields": list(a.fields),
        "strategy": a.strategy,
        "until": a.until.isoformat() if a.until else None,
        "reason": dataclasses.asdict(a.reason),
    }


def _action_from(d: Mapping[str, Any]) -> Action:
    r = d["reason"]
    return Action(
        d["collection"],
        d["key_field"],
        d["key"],
        ActionKind(d["kind"]),
        tuple(d["fields"]),
        d["strategy"],
        Reason(ReasonCode(r["code"]), r["text"], r.get("source"), r.get("cite")),
        dt.date.fromisoformat(d["until"]) if d["until"] else None,
    )


def package_path(rt: Runtime, request_id: str) -> str | None:
    record = rt.checkpoints.get(request_id, "access", "*")
    return str(record.detail.get("package")) if record else None


__all__ = ["FulfilmentIncomplete", "fulfil_request", "identities_of", "package_path", "shred_subject"]


# Which data category holds which verification data point.
POINT_CATEGORIES = {
    "email": "user.contact.email",
    "phone": "user.contact.phone_number",
    "name": "user.name",
    "postal_address": "user.contact.address",
    "date_of_birth": "user.demographic.date_of_birth",
    "device_serial": "user.device.serial_number",
    "account_id": "user.unique_id",
    "username": "user.account.username",
    "order_number": "user.commercial.order",
}


def held_points(rt: Runtime, request: Request) -> dict[str, list[str]]:
    """What the company holds about the requester, as verification data points, read from its systems."""
    graph = build_graph(rt.manifest.datasets)
    ids = identities_of(rt, request)
    plan = plan_access(graph, ids)
    held: dict[str, list[str]] = {}
    with connectors(rt) as conns:
        rows = collect(plan, graph, conns, ids)
    for collection, found in rows.items():
        for fld in graph.node(collection).fields:
            for point, category in POINT_CATEGORIES.items():
                if any(c == category or c.startswith(category + ".") for c in fld.categories):
                    # sealed values are left out: their ciphertext matches nothing the requester could give
                    held.setdefault(point, []).extend(
                        str(r[fld.path]) for r in found if r.get(fld.path) and not is_sealed(r[fld.path])
                    )
    return held
