"""Which collections each retention rule governs, which facts they provide, and the actions due records need.

A rule governs a collection when an activity naming the rule runs on the collection's system and uses a category
of one of its fields (an activity using "all of the above" uses every field). Facts are columns the company
names per collection, in the dataset (`facts: {last_activity: last_seen_at, ...}`) or in a workspace mapping
({"dataset.collection": {...}}) that adds to and overrides it: fields say what a column holds, not which of its
dates ends a relationship.

The plan is pure: the bulk engine reads the facts and evaluates them; the actions it hands to the fulfilment
executor are made here, so a retention sweep and an erasure request change data the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from privet.fulfilment.erasure import ActionKind, ActionSet, Reason, ReasonCode
from privet.fulfilment.executor import RESTRICTED_COLUMNS
from privet.fulfilment.graph import CollectionNode, DatasetGraph, FieldNode, build_graph, under
from privet.fulfilment.masking import MaskingError, choose_strategy, column_for
from privet.fulfilment.plan import PlanError, plan_erasure
from privet.fulfilment.ports import Column
from privet.law.catalogue import Catalogue, catalogue
from privet.manifest.model import Manifest
from privet.manifest.period import Period
from privet.manifest.processing import FinalAction
from privet.retention.evaluate import final_state
from privet.retention.follow import Follows, evaluation_order, resolve
from privet.retention.rules import CompiledRule, Fact, Hold, HoldScope, RetentionState, compile_rule

FactsMapping = Mapping[str, Mapping[str, str]]


class FactsError(ValueError):
    """The facts mapping names what does not exist; every problem is listed."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


def parse_facts(raw: Mapping[str, Any], graph: DatasetGraph) -> dict[str, dict[Fact, str]]:
    """The mapping validated: known collections, known facts, one column name each."""
    problems: list[str] = []
    out: dict[str, dict[Fact, str]] = {}
    known = ", ".join(f.value for f in Fact)
    for collection, columns in raw.items():
        if collection not in graph.collections:
            problems.append(f"{collection}: no such collection in the datasets; write dataset.collection")
            continue
        if not isinstance(columns, Mapping):
            problems.append(f"{collection}: map fact names to column names ({known})")
            continue
        facts: dict[Fact, str] = {}
        for name, column in columns.items():
            if name not in Fact.__members__.values():
                problems.append(f"{collection}.{name}: not a fact; use one of {known}")
            elif not isinstance(column, str) or not column:
                problems.append(f"{collection}.{name}: give the column name as text")
            else:
                facts[Fact(name)] = column
        out[collection] = facts
    if problems:
        raise FactsError(problems)
    return out


@dataclass(frozen=True)
class Scope:
    """One collection under its rules: what to read, how to address rows, what to do to due ones."""

    collection: str
    system: str | None
    key_field: str
    rules: tuple[CompiledRule, ...]
    activities: tuple[str, ...]  # the activities whose rules govern it
    facts: Mapping[Fact, str]  # fact -> column
    due: RetentionState  # DUE_DELETE or DUE_ANONYMISE
    masks: Mapping[str, str] = field(default_factory=dict)  # field -> strategy, for anonymising
    holds: tuple[Hold, ...] = ()  # holds covering every record
    person_holds: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # person id -> holds naming them
    notes: tuple[str, ...] = ()
    follows: Follows | None = None  # where its records take their outcome from (see `retention.follow`)

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns to read: the key, every mapped fact, and the reference to the parent it follows."""
        parent = [self.follows.field] if self.follows is not None else []
        return tuple(dict.fromkeys([self.key_field, *self.facts.values(), *parent]))

    @property
    def deciders(self) -> tuple[CompiledRule, ...]:
        """The rules that may decide its records: its own, then those of the parent it follows (codes index this)."""
        if self.follows is None:
            return self.rules
        own = {r.key for r in self.rules}
        return (*self.rules, *(r for r in self.follows.rules if r.key not in own))

    @property
    def person_unknown(self) -> bool:
        """A hold names a person and nothing says whose its records are (a follower's parent says it)."""
        return bool(self.person_holds) and Fact.PERSON not in self.facts and self.follows is None

    @property
    def hold_ids(self) -> tuple[str, ...]:
        return tuple(h.hold_id for h in self.holds)

    def record(self, row: Mapping[str, Any]) -> dict[Fact, Any]:
        return {fact: row.get(column) for fact, column in self.facts.items()}

    def holds_of(self, row: Mapping[str, Any]) -> tuple[str, ...]:
        person = row.get(self.facts[Fact.PERSON]) if Fact.PERSON in self.facts else None
        return self.hold_ids + (self.person_holds.get(str(person), ()) if person is not None else ())

    def rule(self, key: str) -> CompiledRule:
        return next(r for r in self.deciders if r.key == key)


@dataclass(frozen=True)
class RetentionPlan:
    as_of: dt.date
    scopes: tuple[Scope, ...]  # children before parents, so that a row is deleted before the row it references
    holds: tuple[Hold, ...]  # every active hold, shown in every plan
    ungoverned: tuple[str, ...]  # collections holding personal data that no retention rule governs
    skipped: Mapping[str, str] = field(default_factory=dict)  # collection -> why it cannot be swept
    notes: tuple[str, ...] = ()
    # Collections of other systems that a one-system plan evaluates but neither shows nor changes: the parents its
    # collections follow (their states), and the collections following its own (their held records hold a parent).
    context: tuple[Scope, ...] = ()

    def scope(self, collection: str) -> Scope:
        return next(s for s in self.scopes if s.collection == collection)

    @property
    def evaluation_order(self) -> tuple[Scope, ...]:
        """Every scope to evaluate (the context too), each after the parent it follows."""
        return tuple(evaluation_order([*reversed(self.scopes), *self.context]))

    def only(self, system: str | None) -> RetentionPlan:
        """The plan for one system, with its context in other systems: the parents its collections follow, and the
        collections that follow its own (a held record of theirs holds the parent record it names)."""
        if system is None:
            return self
        scopes = tuple(s for s in self.scopes if s.system == system)
        every = {s.collection: s for s in (*self.scopes, *self.context)}
        kept = {s.collection for s in scopes}
        followers: dict[str, list[Scope]] = {}
        for s in every.values():
            if s.follows is not None:
                followers.setdefault(s.follows.parent, []).append(s)
        context: dict[str, Scope] = {}
        below = list(scopes)
        while below:
            for child in followers.get(below.pop().collection, []):
                if child.collection not in kept and child.collection not in context:
                    context[child.collection] = child
                    below.append(child)
        for s in (*scopes, *list(context.values())):
            here = s
            while here.follows is not None and here.follows.parent in every:
                here = every[here.follows.parent]
                if here.collection not in kept:
                    context.setdefault(here.collection, here)
        return RetentionPlan(self.as_of, scopes, self.holds, self.ungoverned, self.skipped, self.notes,
                             tuple(context.values()))  # fmt: skip


def governing(manifest: Manifest, graph: DatasetGraph) -> dict[str, dict[str, list[str]]]:
    """collection -> rule -> the activities that bring the rule to it."""
    out: dict[str, dict[str, list[str]]] = {}
    for akey, activity in manifest.activities.items():
        if not activity.retention or activity.retention not in manifest.retention:
            continue
        for node in graph.collections.values():
            if node.skip or node.system not in activity.systems:
                continue
            uses = activity.all_categories or any(
                under(c, a) or under(a, c) for f in _personal(node) for c in f.categories for a in activity.categories
            )
            if uses:
                out.setdefault(node.key, {}).setdefault(activity.retention, []).append(akey)
    return out


def manifest_facts(manifest: Manifest) -> dict[str, dict[Fact, str]]:
    """The facts the datasets declare: collection -> fact -> column."""
    return {
        f"{dkey}.{ckey}": dict(collection.facts)
        for dkey, dataset in manifest.datasets.items()
        for ckey, collection in dataset.collections.items()
        if collection.facts
    }


def plan_retention(
    manifest: Manifest,
    facts_mapping: FactsMapping,
    as_of: dt.date,
    holds: Sequence[Hold] = (),
    *,
    live: Mapping[str, Mapping[str, Column]] | None = None,
    prefer: FinalAction = FinalAction.DELETE,
    jurisdictions: Catalogue | None = None,
) -> RetentionPlan:
    """The sweep of `as_of`: scopes in erase order, every active hold, and what cannot be swept and why.

    A collection that maps none of its rules' triggers follows the parent it holds the key of (`follow.resolve`):
    the plan notes it, and orders it before that parent.

    `holds` are the legal holds in force (every one is shown; each covers what it names); `live` is each
    collection's live schema where a connector described it (masking strategies and the restriction flag column
    come from it); `prefer` settles rules that allow deleting or anonymising.
    """
    graph = build_graph(manifest.datasets)
    facts = manifest_facts(manifest)
    for key, columns in parse_facts(facts_mapping, graph).items():  # the workspace's mapping adds and overrides
        facts[key] = {**facts.get(key, {}), **columns}
    cat = jurisdictions or catalogue()
    rules = {key: compile_rule(rule, cat) for key, rule in manifest.retention.items()}
    governed = governing(manifest, graph)
    person_targets: dict[str, tuple[str, ...]] = {}
    for h in holds:
        if h.scope is HoldScope.PERSON:
            person_targets[h.target] = (*person_targets.get(h.target, ()), h.hold_id)
    scopes: list[Scope] = []
    skipped: dict[str, str] = {}
    for key in _erase_order(graph):
        if key not in governed:
            continue
        node = graph.node(key)
        if len(node.primary_key) != 1:
            skipped[key] = (
                f"{'no' if not node.primary_key else 'more than one'} primary-key field, so its rows cannot be "
                "addressed one by one; mark exactly one field primary_key: true"
            )
            continue
        columns = dict(facts.get(key, {}))
        flag = next((c for c in RESTRICTED_COLUMNS if c in (live or {}).get(key, {})), None)
        if Fact.RESTRICTED not in columns and flag is not None:
            columns[Fact.RESTRICTED] = flag
        scope_rules = tuple(rules[r] for r in governed[key])
        due = final_state(scope_rules, prefer)
        masks: dict[str, str] = {}
        notes: list[str] = []
        if due is RetentionState.DUE_ANONYMISE:
            masks, notes = _masks(node, (live or {}).get(key, {}), _links_to_people(graph, node))
            if not masks:
                due = RetentionState.DUE_DELETE
        scopes.append(
            Scope(
                collection=key,
                system=node.system,
                key_field=node.primary_key[0],
                rules=scope_rules,
                activities=tuple(dict.fromkeys(a for acts in governed[key].values() for a in acts)),
                facts=columns,
                due=due,
                masks=masks,
                holds=tuple(h for h in holds if h.covers(node)),
                person_holds=person_targets,
                notes=tuple(notes),
            )
        )
    scopes, notes = resolve(scopes, graph)
    ungoverned = tuple(k for k, n in graph.collections.items() if k not in governed and not n.skip and _personal(n))
    notes += [f"{k}: facts are given for a collection no retention rule governs" for k in facts if k not in governed]
    return RetentionPlan(as_of, tuple(scopes), tuple(holds), ungoverned, skipped, tuple(notes))


def _personal(node: CollectionNode) -> list[FieldNode]:
    return [f for f in node.fields if f.personal]


def _erase_order(graph: DatasetGraph) -> list[str]:
    try:
        order = list(plan_erasure(graph, {kind: ["*"] for kind in graph.identity_types}).order)
    except PlanError:
        order = []
    return order + [k for k in graph.collections if k not in order]


def _links_to_people(graph: DatasetGraph, node: CollectionNode) -> dict[str, str]:
    """The fields of `node` that hold the key of a record with personal data: the link from a row to a person's."""
    return {name: other for name, other in graph.key_links(node.key).items() if _personal(graph.node(other))}


def _masks(node: CollectionNode, live: Mapping[str, Column],
           links: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:  # fmt: skip
    """Strategy per top-level personal field, and NULL for each link to a person's record (`links`): a row that
    still names the record it belonged to is pseudonymous, not anonymous, and would keep a parent that is deleted
    in the same run from going (a foreign key). None (so the row is deleted) where the key itself is personal or
    is such a link, or where a link takes no NULL."""
    key = node.field(node.primary_key[0])
    if key is not None and key.personal:
        return {}, [f"{node.key}: its key {key.path} is personal data, so due rows are deleted, not anonymised"]
    if node.primary_key[0] in links:
        return {}, [f"{node.key}: its key {node.primary_key[0]} names a record of {links[node.primary_key[0]]}, "
                    "so due rows are deleted, not anonymised"]  # fmt: skip
    for name, other in links.items():
        fld = node.field(name)
        if fld is not None and not column_for(fld, live.get(name)).nullable:
            return {}, [f"{node.key}.{name} links each row to a record of {other} and takes no NULL, so due rows "
                        "are deleted, not anonymised"]  # fmt: skip
    masks: dict[str, str] = dict.fromkeys(links, "null")
    notes: list[str] = []
    for name in dict.fromkeys(f.path.split(".")[0] for f in _personal(node)):
        fld = node.field(name)
        if fld is None or fld.primary_key or name in links:
            continue
        column = column_for(fld, live.get(name))
        try:
            strategy = choose_strategy(fld, column).strategy
        except MaskingError as exc:
            notes.append(f"{node.key}.{name}: {exc}; due rows are deleted instead")
            return {}, notes
        if strategy == "delete_row":
            return {}, [f"{node.key}.{name} says masking: delete, so due rows are deleted"]
        if strategy == "hmac":  # a keyed hash is a pseudonym: anonymous only if nothing can link it
            strategy = "null" if column.nullable else "hmac"
            if strategy == "hmac":
                notes.append(f"{node.key}.{name} takes no NULL: it keeps a keyed hash, a pseudonym")
        masks[name] = strategy
    return masks, notes


def reason(scope: Scope, state: RetentionState, rule_key: str, limitation: int | None) -> Reason:
    """Why, in words a person can read: the rule, what started the clock, and the periods that followed."""
    rule = scope.rule(rule_key)
    lim = rule.limitations[limitation] if limitation is not None and limitation >= 0 else None
    periods = [f"{rule.after} in use"] if rule.after != Period() else []
    if lim is not None:
        periods.append(f"the limitation period of {lim.period}" + (f" ({lim.cite})" if lim.cite else ""))
    if rule.grace != Period():
        periods.append(f"{rule.grace} more")
    kept = f"kept after {rule.trigger_text()}" + (f" for {' and '.join(periods)}" if periods else "")
    if state is RetentionState.RESTRICTED:
        text = (f"Under '{rule.title}' it is {kept}. Until then it is only stored and kept secure, and used for "
                "nothing else except legal claims and legal duties.")  # fmt: skip
    else:
        done = "anonymised" if state is RetentionState.DUE_ANONYMISE else "deleted"
        text = f"The retention period under '{rule.title}' has ended: it was {kept}. So it is {done}."
    return Reason(ReasonCode.RETENTION, text, rule.key, rule.cite)


def action_sets_for(
    scope: Scope, state: RetentionState, rule_key: str, limitation: int | None, keys: Sequence[Any]
) -> list[ActionSet]:
    """The executor's action sets for records in `state` decided by one rule and limitation entry."""
    why = reason(scope, state, rule_key, limitation)
    c, k = scope.collection, scope.key_field
    if state is RetentionState.DUE_DELETE:
        return [ActionSet(c, k, keys, ActionKind.DELETE, reason=why)]
    if state is RetentionState.DUE_ANONYMISE:
        groups: dict[str, list[str]] = {}
        for name, strategy in scope.masks.items():
            groups.setdefault(strategy, []).append(name)
        return [ActionSet(c, k, keys, ActionKind.MASK, tuple(names), strategy, why)
                for strategy, names in groups.items()]  # fmt: skip
    if state is RetentionState.RESTRICTED:
        return [ActionSet(c, k, keys, ActionKind.RESTRICT, reason=why)]
    raise ValueError(f"records in state {state.value} need no action")
