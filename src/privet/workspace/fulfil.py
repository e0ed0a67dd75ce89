"""Fulfilling a request against the company's systems: the adapter that joins the workflow to the executor.

Opt-outs, objections, restriction and withdrawal are recorded in the consent ledger, where every decision reads
them. Access builds a package from every collection the plan reaches. Erasure (`workspace/erasure.py`) and
correction (`workspace/correction.py`) have modules of their own. A request only reaches "fulfilled" when every
field is done.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence

from privet.consent.events import Evidence, Signal, Source
from privet.consent.ledger import ChoiceInput
from privet.crypto import CryptoError, ShredReceipt, SubjectKey, encrypted_fields, is_sealed, open_rows, open_subject
from privet.fulfilment.erasure import Action, ActionKind, Reason, ReasonCode
from privet.fulfilment.executor import FulfilmentError, StepRecord, StepState, apply_actions, check_schema, collect
from privet.fulfilment.graph import build_graph
from privet.fulfilment.package import build_access_package
from privet.fulfilment.plan import plan_access
from privet.fulfilment.ports import Row
from privet.law.vocabulary import Right
from privet.requests.lifecycle import Event, EventKind
from privet.requests.model import Request, State
from privet.workspace.correction import correct
from privet.workspace.erasure import erase
from privet.workspace.files import write_atomic
from privet.workspace.runtime import Runtime
from privet.workspace.systems import FulfilmentIncomplete, connectors, identities_of, subject_of

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
        return erase(rt, request, now, actor)
    if request.kind is Right.CORRECTION:
        return correct(rt, request, now, actor)
    raise FulfilmentError(f"privet cannot fulfil {request.kind.value} requests automatically; a person must")


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

    subject = subject_of(rt, request)
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


def _open_encrypted(rt: Runtime, request: Request, rows: Mapping[str, Sequence[Row]]) -> Mapping[str, Sequence[Row]]:
    """The rows with fields the manifest marks `encrypted` decrypted under the person's data key (whose key that is:
    see `_shred_on_erasure` in workspace/erasure.py); a shredded person's fields read "erased (key destroyed)"."""
    marked = encrypted_fields(rt.manifest.datasets)
    if not marked:
        return rows

    def key() -> SubjectKey | ShredReceipt:
        subject = subject_of(rt, request)
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


def package_path(rt: Runtime, request_id: str) -> str | None:
    record = rt.checkpoints.get(request_id, "access", "*")
    return str(record.detail.get("package")) if record else None


__all__ = ["FulfilmentIncomplete", "fulfil_request", "held_points", "identities_of", "package_path"]


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
