"""From the manifest's `deidentification` section to a DeidProfile for one collection's columns.

The manifest says what happens to data categories; a DeidProfile says what happens to columns. A column's
categories come from its dataset field (with those of its nested fields); each category takes the most specific
rule that covers it (`user.contact` covers `user.contact.email` unless that has its own), the profile's own rules
merged over the section's. A column rule (`dataset.collection.field`, or a bare column name) wins over both.

What cannot be decided is said, not guessed: a field without categories, or with a category no rule covers, is
"unlisted" and follows the profile's `unlisted` (drop it, or refuse naming it); two categories asking for
different treatments are refused unless one of them drops the field (dropping is always the safe reading).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from privet.deid.profile import ColumnAction, DeidProfile, Drop, Generalise, Keep, Pseudonymise, Suppress
from privet.manifest.datasets import Field
from privet.manifest.deidentification import DeidProfileSpec, DeidRule, Role
from privet.manifest.model import Manifest
from privet.manifest.suggest import did_you_mean

SECTION = "deidentification"


class DeidConfigError(ValueError):
    """The manifest cannot make a profile for this collection; the message names the place and the fix."""


@dataclass(frozen=True)
class ColumnPlan:
    """What happens to one column and why (`source` names the rule, or says it was undecided)."""

    column: str
    categories: tuple[str, ...]
    action: str
    source: str
    role: Role | None = None


@dataclass(frozen=True)
class ResolvedProfile:
    profile: DeidProfile
    collection: str | None
    columns: tuple[ColumnPlan, ...]
    notes: tuple[str, ...] = ()


def profile_spec(manifest: Manifest, name: str) -> DeidProfileSpec:
    profiles = manifest.deidentification.profiles
    spec = profiles.get(name)
    if spec is None:
        known = ", ".join(sorted(profiles)) or "none are defined"
        raise DeidConfigError(
            f"no de-identification profile {name!r}{did_you_mean(name, profiles)}; profiles: {known}"
            f" (define it under {SECTION}.profiles in the manifest)"
        )
    return spec


def field_categories(fld: Field) -> tuple[str, ...]:
    """The field's categories with those of its nested fields: a column holding an object holds them all."""
    found: dict[str, None] = dict.fromkeys(fld.categories)
    stack = list(fld.fields.values())
    while stack:
        child = stack.pop(0)
        found.update(dict.fromkeys(child.categories))
        stack[0:0] = list(child.fields.values())
    return tuple(found)


def column_categories(fields: Mapping[str, Field]) -> dict[str, tuple[str, ...]]:
    """Categories by column: a top-level field holds its own and its nested fields' categories; a nested field
    stored flat (`address.street`, as SQL tables and flattened files hold objects) holds its own, or its parent's."""
    out: dict[str, tuple[str, ...]] = {}
    for name, fld in fields.items():
        out[name] = field_categories(fld)
        stack: list[tuple[tuple[str, ...], Field, tuple[str, ...]]] = [
            ((name, key), child, fld.categories) for key, child in fld.fields.items()
        ]
        while stack:
            path, child, inherited = stack.pop(0)
            own = child.categories or inherited
            out[".".join(path)] = tuple(dict.fromkeys((*own, *field_categories(child))))
            stack[0:0] = [((*path, key), grandchild, own) for key, grandchild in child.fields.items()]
    return out


def covering_rule(category: str, rules: Mapping[str, object]) -> str | None:
    """The key of the most specific rule covering `category`, if any."""
    best = None
    for key in rules:
        if (category == key or category.startswith(key + ".")) and (best is None or len(key) > len(best)):
            best = key
    return best


def _collection_fields(manifest: Manifest, collection: str) -> dict[str, Field]:
    dataset, _, name = collection.partition(".")
    ds = manifest.datasets.get(dataset)
    known = [f"{d}.{c}" for d, data in manifest.datasets.items() for c in data.collections]
    if ds is None or name not in ds.collections:
        raise DeidConfigError(
            f"no collection {collection!r} in the manifest's datasets{did_you_mean(collection, known)};"
            " write dataset.collection"
        )
    return dict(ds.collections[name].fields)


def _action(rule: DeidRule, where: str) -> ColumnAction:
    try:
        if rule.action == "pseudonymise":
            if rule.domain is None:
                raise DeidConfigError(f"{where}: pseudonymise needs a domain (domain: email, user_id, ...)")
            return Pseudonymise(domain=rule.domain)
        if rule.action == "generalise":
            if rule.generaliser is None:
                raise DeidConfigError(f"{where}: generalise needs a generaliser (generaliser: year_band, ...)")
            return Generalise(generaliser=rule.generaliser, config=rule.config, longitude_column=rule.longitude_column)
    except ValidationError as exc:
        raise DeidConfigError(f"{where}: {_reason(exc)}") from None
    if rule.action == "drop":
        return Drop()
    return Suppress() if rule.action == "suppress" else Keep()


def _reason(exc: ValidationError) -> str:
    return "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())


@dataclass(frozen=True)
class _Decision:
    rule: DeidRule | None  # None: undecided (unlisted)
    source: str
    role: Role | None


def _decide(
    column: str,
    categories: tuple[str, ...],
    collection: str | None,
    spec: DeidProfileSpec,
    rules: Mapping[str, DeidRule],
    own: Mapping[str, DeidRule],
    where: str,
) -> _Decision:
    qualified = f"{collection}.{column}" if collection else None
    for key in (qualified, column):
        if key is not None and key in spec.columns:
            rule = spec.columns[key]
            return _Decision(rule, f"{where}.columns.{key}", rule.role)
    if spec.categories and categories and not all(covering_rule(c, dict.fromkeys(spec.categories)) for c in categories):
        return _Decision(DeidRule(action="drop"), f"outside {where}.categories", None)
    if not categories:
        return _Decision(None, "no categories in the manifest", None)
    chosen: dict[str, DeidRule] = {}
    for category in categories:
        key = covering_rule(category, rules)
        if key is None:
            return _Decision(None, f"no rule covers {category}", None)
        chosen[category] = rules[key]
    places = {
        c: f"{where}.rules.{k}" if k in own else f"{SECTION}.rules.{k}"
        for c in chosen
        if (k := covering_rule(c, rules)) is not None
    }
    drops = [c for c, r in chosen.items() if r.action == "drop"]
    if drops:
        return _Decision(DeidRule(action="drop"), places[drops[0]], None)
    treatments = {r.model_dump_json(include={"action", "domain", "generaliser", "config"}) for r in chosen.values()}
    if len(treatments) > 1:
        detail = ", ".join(f"{c} -> {chosen[c].action} ({places[c]})" for c in chosen)
        raise DeidConfigError(
            f"{collection or 'the table'}.{column}: its categories ask for different treatments ({detail}); give the"
            f" column its own rule under {where}.columns.{qualified or column}"
        )
    roles = {r.role for r in chosen.values() if r.role is not None}
    if len(roles) > 1:
        raise DeidConfigError(
            f"{collection or 'the table'}.{column}: its categories make it both a quasi-identifier and sensitive;"
            f" give the column its own rule under {where}.columns.{qualified or column} with one role"
        )
    first = next(iter(chosen))
    return _Decision(chosen[first], places[first], roles.pop() if roles else None)


def resolve_profile(
    manifest: Manifest, name: str, collection: str | None = None, columns: Sequence[str] | None = None
) -> ResolvedProfile:
    """The profile `name` for `collection` (dataset.collection), over the table's `columns` when they are known.

    Without a collection (a file the manifest does not describe) only the profile's bare column rules apply.
    """
    spec = profile_spec(manifest, name)
    where = f"{SECTION}.profiles.{name}"
    if collection is None and columns is None:
        raise DeidConfigError("name the collection (dataset.collection) or give the table's columns")
    notes: list[str] = []
    categories_of: dict[str, tuple[str, ...]] = {}
    if collection is not None:
        fields = _collection_fields(manifest, collection)
        categories_of = column_categories(fields)
        if columns is None:
            categories_of = {c: categories_of[c] for c in fields}
        else:
            absent = [c for c in fields if c not in columns and not any(n.startswith(c + ".") for n in columns)]
            if absent:
                notes.append(f"in the manifest but not in the table, so not exported: {', '.join(absent)}")
            categories_of = {c: cats for c, cats in categories_of.items() if c in columns}
    names = list(categories_of)
    strangers = [c for c in columns or () if c not in categories_of]
    names += strangers
    rules = {**manifest.deidentification.rules, **spec.rules}
    plans: list[ColumnPlan] = []
    actions: dict[str, ColumnAction] = {}
    undecided: list[str] = []
    for column in names:
        cats = categories_of.get(column, ())
        decision = _decide(column, cats, collection, spec, rules, spec.rules, where)
        if decision.rule is None:
            if column in strangers and collection is not None and not _has_column_rule(spec, collection, column):
                why = "not in the manifest"
            else:
                why = decision.source
            undecided.append(f"{column} ({why})")
            plans.append(ColumnPlan(column, cats, f"{spec.unlisted} (unlisted)", why))
            continue
        action = _action(decision.rule, f"{collection or 'the table'}.{column}, from {decision.source}")
        actions[column] = action
        role = None if isinstance(action, Drop) else decision.role
        plans.append(ColumnPlan(column, cats, decision.rule.action, decision.source, role))
    if undecided and spec.unlisted == "refuse":
        raise DeidConfigError(
            f"profile {name!r} cannot decide what to do with {', '.join(undecided)} of {collection or 'the table'};"
            f" add a rule for their categories under {SECTION}.rules, a column rule under {where}.columns, or set"
            f" {where}.unlisted: drop"
        )
    partners = {a.longitude_column for a in actions.values() if isinstance(a, Generalise) and a.longitude_column}
    actions = {c: a for c, a in actions.items() if c not in partners}
    return ResolvedProfile(_profile(name, spec, collection, plans, actions), collection, tuple(plans), tuple(notes))


def _has_column_rule(spec: DeidProfileSpec, collection: str, column: str) -> bool:
    return column in spec.columns or f"{collection}.{column}" in spec.columns


def _profile(
    name: str,
    spec: DeidProfileSpec,
    collection: str | None,
    plans: Sequence[ColumnPlan],
    actions: dict[str, ColumnAction],
) -> DeidProfile:
    where = f"{SECTION}.profiles.{name}"
    subject = collection or "the table"
    qis = tuple(p.column for p in plans if p.role is Role.QUASI_IDENTIFIER)
    sensitive = [p.column for p in plans if p.role is Role.SENSITIVE]
    if spec.k > 1 and not qis:
        raise DeidConfigError(
            f"profile {name!r} asks for k={spec.k}, but no column of {subject} is a quasi-identifier; mark the"
            f" categories that could single a person out with role: quasi_identifier under {SECTION}.rules"
        )
    chosen = None
    if spec.l is not None:
        if len(sensitive) != 1:
            found = ", ".join(sensitive) or "none"
            raise DeidConfigError(
                f"profile {name!r} asks for l={spec.l}, which is measured on one sensitive column; {subject} has"
                f" {found}. Mark exactly one category or column with role: sensitive, or drop {where}.l"
            )
        chosen = sensitive[0]
    try:
        return DeidProfile(
            name=name,
            k=spec.k,
            l=spec.l if chosen else None,
            sensitive=chosen,
            quasi_identifiers=qis,
            columns=actions,
            unlisted=spec.unlisted,
            suppress_small_classes=spec.suppress_small_classes,
            max_suppressed_share=spec.max_suppressed_share,
        )
    except ValidationError as exc:
        raise DeidConfigError(f"profile {name!r} for {subject}: {_reason(exc)}; fix {where}") from None
