"""What an erasure does to each record found: delete it, mask fields, or keep fields restricted until a date.

What to do to which records (Action) is kept apart from why (Reason, the words the person is told), so that
retention sweeps can hand the same actions to the same executor for reasons of their own.

A field is kept when its categories are used by an activity that relies on a legal obligation (a `legal_obligation`
basis, or a purpose tagged legal_obligation or legal_claims) in a system the collection belongs to, or when a legal
hold covers it. Activities marked `all_categories` ("all of the above, for legal claims") keep nothing by themselves:
that data *may* be used for claims does not oblige anyone to keep all of it; a concrete claim is a legal hold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from privet.fulfilment.graph import CollectionNode, FieldNode, build_graph, under
from privet.fulfilment.masking import ALIASES, REGISTRY, MaskingError, choose_strategy, column_for, make_strategy
from privet.fulfilment.plan import ErasurePlan
from privet.fulfilment.ports import Column, Row
from privet.law.counting import add_months
from privet.manifest.model import Manifest
from privet.manifest.period import Period
from privet.manifest.processing import Activity, FinalAction, RetentionRule
from privet.taxonomy import PurposeTag


class ActionKind(StrEnum):
    DELETE = "delete"  # remove the row
    MASK = "mask"  # rewrite the fields with the strategy
    RESTRICT = "restrict"  # keep the fields, for storage and security only, and look again on `until`


class ReasonCode(StrEnum):
    REQUESTED = "requested"
    LEGAL_OBLIGATION = "legal_obligation"
    LEGAL_HOLD = "legal_hold"
    RETENTION = "retention"  # a retention rule of the manifest: the period ended, or it restricts processing


@dataclass(frozen=True, slots=True)
class Reason:
    code: ReasonCode
    text: str  # told to the person
    source: str | None = None  # the activity or legal hold that requires it
    cite: str | None = None


REQUESTED = Reason(ReasonCode.REQUESTED, "Erased at your request.")


@dataclass(frozen=True, slots=True)
class Action:
    collection: str
    key_field: str
    key: Any
    kind: ActionKind
    fields: tuple[str, ...] = ()  # empty for DELETE: the whole row
    strategy: str | None = None  # for MASK
    reason: Reason = REQUESTED
    until: dt.date | None = None  # for RESTRICT: when the obligation ends, if the rule says

    def __str__(self) -> str:
        what = f"{self.kind.value} {self.collection} {self.key_field}={self.key!r}"
        if self.fields:
            what += f" {', '.join(self.fields)}"
        if self.strategy:
            what += f" with {self.strategy}"
        if self.until:
            what += f" until {self.until.isoformat()}"
        return f"{what}: {self.reason.text}"


@dataclass(frozen=True, slots=True)
class ActionSet:
    """One action over many records of a collection, for one reason: the executor's unit (one statement per batch
    of keys where the change does not depend on a row's value). A retention sweep hands the executor these
    directly; an erasure request's per-row actions are grouped into them."""

    collection: str
    key_field: str
    keys: Sequence[Any]
    kind: ActionKind
    fields: tuple[str, ...] = ()
    strategy: str | None = None
    reason: Reason = REQUESTED


def action_sets(actions: Sequence[Action]) -> list[ActionSet]:
    """Per-row actions grouped by what is done and why, in first-seen order."""
    groups: dict[tuple[str, str, ActionKind, tuple[str, ...], str | None, Reason], list[Any]] = {}
    for a in actions:
        groups.setdefault((a.collection, a.key_field, a.kind, a.fields, a.strategy, a.reason), []).append(a.key)
    return [ActionSet(c, kf, keys, kind, fields, strategy, why) for (c, kf, kind, fields, strategy, why), keys
            in groups.items()]  # fmt: skip


@dataclass(frozen=True, slots=True)
class LegalHold:
    """Data of this person that must not be erased (a pending claim, an authority's order)."""

    key: str
    reason: str  # told to the person: "a pending warranty dispute"
    collections: tuple[str, ...] = ()  # empty: every collection
    categories: tuple[str, ...] = ()  # empty: every category
    until: dt.date | None = None


class ErasureError(ValueError):
    """The erasure cannot be decided safely; every problem is listed, and nothing has been changed."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class _Keep:
    reason: Reason
    until: dt.date | None
    categories: tuple[str, ...] = ()  # empty: every category
    collections: tuple[str, ...] = ()
    systems: tuple[str, ...] = ()

    def covers(self, node: CollectionNode, fld: FieldNode) -> bool:
        if self.collections and node.key not in self.collections:
            return False
        if self.systems and node.system is not None and node.system not in self.systems:
            return False
        return not self.categories or any(under(c, k) for c in fld.categories for k in self.categories)


def erasure_actions(
    plan: ErasurePlan,
    rows_found: Mapping[str, Sequence[Row]],
    manifest: Manifest,
    holds: Sequence[LegalHold] = (),
    *,
    on: dt.date,
    jurisdictions: Collection[str] = (),
    columns: Mapping[str, Mapping[str, Column]] | None = None,
) -> list[Action]:
    """Actions for every row found, in the plan's erase order.

    `on` starts the retention clock of kept data (the request date); `jurisdictions` are the request's jurisdiction
    and the groups it belongs to (empty: every rule applies); `columns` is the live schema where a connector
    described it, else the manifest's data_type decides the column type.
    """
    graph = build_graph(manifest.datasets)
    problems = [f"rows were found in {c}, which the plan does not reach" for c in rows_found if c not in plan.order]
    keeps = [_hold(h) for h in holds] + _obligations(manifest, jurisdictions, on)
    # Collections whose rows this erasure deletes: a row that is masked instead lets go of its link to them, so
    # that it does not point at a deleted row (and a foreign key does not stop the delete).
    deleted = {c for c in plan.order if rows_found.get(c) and _deletes_rows(graph.node(c), _kept(graph.node(c), keeps))}
    actions: list[Action] = []
    for collection in plan.order:
        rows = rows_found.get(collection, ())
        if rows:
            node = graph.node(collection)
            links = {name: other for name, other in graph.key_links(collection).items() if other in deleted}
            actions += _collection_actions(node, rows, keeps, (columns or {}).get(collection, {}), links, problems)
    if problems:
        raise ErasureError(problems)
    return actions


def _kept(node: CollectionNode, keeps: list[_Keep]) -> dict[str, _Keep]:
    """The personal fields of `node` an obligation or a hold keeps, each with the longest that covers it."""
    kept: dict[str, _Keep] = {}
    for fld in node.leaves:
        covering = [k for k in keeps if fld.personal and k.covers(node, fld)]
        if covering:  # the longest obligation decides; open-ended ones are longest
            kept[fld.path] = max(covering, key=lambda k: k.until or dt.date.max)
    return kept


def _deletes_rows(node: CollectionNode, kept: Mapping[str, _Keep]) -> bool:
    """Whether the person's rows of `node` are deleted rather than masked: nothing of them is kept, and the key is
    personal itself (the key addresses the row, so it is never rewritten) or a field's masking deletes the row."""
    personal = [f for f in node.leaves if f.personal]
    maskable = [f for f in personal if f.path not in kept and not f.primary_key]
    return not kept and (any(f.primary_key for f in personal) or any(_deletes_row(f) for f in maskable))


def _collection_actions(node: CollectionNode, rows: Sequence[Row], keeps: list[_Keep], live: Mapping[str, Column],
                        links: Mapping[str, str], problems: list[str]) -> list[Action]:  # fmt: skip
    """`links`: the fields that name rows of collections this erasure deletes (field -> collection)."""
    if len(node.primary_key) != 1:
        problems.append(
            f"{node.key} has {'no' if not node.primary_key else 'more than one'} primary-key field, so its rows cannot"
            " be addressed one by one; mark exactly one field primary_key: true"
        )
        return []
    (key_field,) = node.primary_key
    kept = _kept(node, keeps)
    maskable = [f for f in node.leaves if f.personal and f.path not in kept and not f.primary_key]
    delete = _deletes_rows(node, kept)
    emptied: list[str] = []  # links set to NULL
    for name in links if not delete else ():
        fld = node.field(name)
        if fld is None or any(path == name or path.startswith(f"{name}.") for path in kept):
            continue  # a kept link stays with the rest of what is kept
        if fld.primary_key or not column_for(fld, live.get(name)).nullable:
            delete = not kept  # it cannot let go: the row goes, unless part of it must stay
            break
        emptied.append(name)
    maskable = [f for f in maskable if f.path not in emptied]
    strategies = {} if delete else _strategies(node, maskable, live, bool(kept), problems)
    if not delete:
        strategies |= dict.fromkeys(emptied, "null")

    by_reason: dict[_Keep, list[str]] = {}
    for path, keep in kept.items():
        by_reason.setdefault(keep, []).append(path)
    by_strategy: dict[str, list[str]] = {}
    for path, name in strategies.items():
        by_strategy.setdefault(name, []).append(path)

    actions: list[Action] = []
    for row in rows:
        if key_field not in row or row[key_field] is None:
            problems.append(f"a row of {node.key} has no value in its primary key {key_field!r}")
            continue
        key = row[key_field]
        if delete:
            actions.append(Action(node.key, key_field, key, ActionKind.DELETE))
            continue
        actions += [
            Action(node.key, key_field, key, ActionKind.RESTRICT, tuple(paths), None, keep.reason, keep.until)
            for keep, paths in by_reason.items()
        ]
        actions += [
            Action(node.key, key_field, key, ActionKind.MASK, tuple(paths), name) for name, paths in by_strategy.items()
        ]
    return actions


def _deletes_row(fld: FieldNode) -> bool:
    cls = REGISTRY.get(ALIASES.get(fld.masking, fld.masking)) if fld.masking else None
    return cls is not None and cls.deletes_row


def _strategies(
    node: CollectionNode, fields: list[FieldNode], live: Mapping[str, Column], row_kept: bool, problems: list[str]
) -> dict[str, str]:
    """Strategy name per field path, each checked against its column before anything is written."""
    out: dict[str, str] = {}
    for fld in fields:
        column = column_for(fld, live.get(fld.path))
        try:
            choice = choose_strategy(fld, column)
            strategy = make_strategy(choice.strategy)
            if strategy.deletes_row and row_kept:  # part of the row stays, so this field is masked instead
                strategy = make_strategy(choose_strategy(replace(fld, masking=None), column).strategy)
            strategy.check(column)
        except MaskingError as exc:
            problems.append(f"{node.key}.{fld.path}: {exc}")
            continue
        out[fld.path] = strategy.name
    return out


def _hold(hold: LegalHold) -> _Keep:
    until = f"until {_day(hold.until)}" if hold.until else "until the hold is lifted"
    text = (
        f"We must keep this because of a legal hold ({hold.reason}). {_first_upper(until)} it is only stored and kept"
        " secure, and not used for anything else."
    )
    return _Keep(Reason(ReasonCode.LEGAL_HOLD, text, hold.key), hold.until, hold.categories, hold.collections)


def _obligations(manifest: Manifest, jurisdictions: Collection[str], on: dt.date) -> list[_Keep]:
    out = []
    for key, activity in manifest.activities.items():
        if activity.all_categories or not activity.categories or not _obliged(activity, manifest, jurisdictions):
            continue
        rule = manifest.retention.get(activity.retention or "")
        until = _obligation_end(rule, jurisdictions, on) if rule else None
        final = _FINAL[rule.final_action] if rule else "deleted"
        when = f"until {_day(until)}" if until else "until the obligation ends"
        text = (
            f"We must keep this to comply with a legal obligation ({activity.title}). {_first_upper(when)} it is only"
            f" stored and kept secure, and not used for anything else; then it is {final}."
        )
        reason = Reason(ReasonCode.LEGAL_OBLIGATION, text, key, activity.cite)
        out.append(_Keep(reason, until, activity.categories, systems=activity.systems))
    return out


_KEEPING_TAGS = frozenset({PurposeTag.LEGAL_OBLIGATION, PurposeTag.LEGAL_CLAIMS})
_FINAL = {
    FinalAction.DELETE: "deleted",
    FinalAction.ANONYMISE: "anonymised",
    FinalAction.DELETE_OR_ANONYMISE: "deleted or anonymised",
}


def _applies(scopes: tuple[str, ...], jurisdictions: Collection[str]) -> bool:
    return not scopes or not jurisdictions or any(j in scopes for j in jurisdictions)


def _obliged(activity: Activity, manifest: Manifest, jurisdictions: Collection[str]) -> bool:
    if not _applies(activity.jurisdictions, jurisdictions):
        return False
    if any(b.basis == "legal_obligation" and _applies(b.jurisdictions, jurisdictions) for b in activity.bases):
        return True
    purposes = manifest.taxonomy.purposes
    return any(p in purposes and purposes[p].tags & _KEEPING_TAGS for p in activity.purposes)


def _obligation_end(rule: RetentionRule, jurisdictions: Collection[str], on: dt.date) -> dt.date | None:
    """`on` (the trigger) + time after it + the limitation period that applies + grace; None when none applies."""
    matching = [p for p in rule.limitation_periods if p.jurisdictions and _applies(p.jurisdictions, jurisdictions)]
    default = [p for p in rule.limitation_periods if not p.jurisdictions]
    chosen = (matching if jurisdictions else []) or default
    if not chosen:
        return None
    end = on
    for period in (rule.after_trigger, chosen[0].period, rule.grace):
        end = _add(end, period) if period else end
    return end


def _add(day: dt.date, period: Period) -> dt.date:
    return add_months(day, period.years * 12 + period.months) + dt.timedelta(days=period.days)


_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def _day(day: dt.date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]
