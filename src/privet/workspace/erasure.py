"""Erasing a person across the company's systems: planned whole and recorded before anything changes, then carried
out collection by collection with checkpoints, so that running it again after a crash finishes the rest and repeats
nothing; then crypto-shredding and the recipients to tell."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from privet.crypto import ShredOutcome, encrypted_fields
from privet.crypto import shred as shred_key
from privet.fulfilment.erasure import Action, ActionKind, Reason, ReasonCode
from privet.fulfilment.executor import StepRecord, StepState, apply_actions, plan_actions
from privet.fulfilment.graph import DatasetGraph, build_graph
from privet.fulfilment.plan import plan_erasure
from privet.law.catalogue import catalogue
from privet.requests.lifecycle import Event, EventKind
from privet.requests.model import Request
from privet.store.session import unit_of_work
from privet.workspace.runtime import Runtime
from privet.workspace.systems import FulfilmentIncomplete, connectors, identities_of, notify_recipients, subject_of


def erase(rt: Runtime, request: Request, now: dt.datetime, actor: str) -> Request:
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
    subject = subject_of(rt, request)
    if subject is None:
        rt.audit.record(now, actor, "data_key_not_shredded", ref,
                        {"collections": collections, "reason": "the request names no privet subject"})  # fmt: skip
        return "no encryption key was destroyed: the request names no privet subject, whose key it would be"
    outcome = shred_subject(rt, subject, now, actor, ref, {"collections": collections})
    if outcome.receipt.key_id is None:
        return "no encrypted data was held, and none will be"
    return "the key to the encrypted data was destroyed, so every copy of it, backups included, is unreadable"


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
