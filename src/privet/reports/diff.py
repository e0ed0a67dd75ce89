"""What changed between two versions of a manifest, and which changes are material (people must be told)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Literal

from privet.law.catalogue import catalogue
from privet.manifest.model import KEYED_SECTIONS, SINGLE_SECTIONS, Manifest
from privet.manifest.period import Period
from privet.manifest.processing import Activity, FinalAction, RetentionRule
from privet.reports.ropa import (
    ACTION_WORDS,
    activity_jurisdictions,
    category_name,
    effective_recipients,
    purpose_name,
    retention_terms,
    system_operators,
)

__all__ = ["Change", "ChangeKind", "diff_manifests", "render_diff"]

SECTIONS = SINGLE_SECTIONS + KEYED_SECTIONS


class ChangeKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class Change:
    kind: ChangeKind
    section: str
    key: str  # the entry's key; empty for sections written once (notice, organisation ...)
    field: str  # dotted path inside the entry; empty when the whole entry came or went
    old: str | None
    new: str | None
    material: bool
    reason: str


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the old manifest already disclosed, to tell 'new to this entry' from 'new to people'."""

    categories: frozenset[str]
    countries: frozenset[str]
    destinations: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Diff:
    old: Manifest
    new: Manifest
    facts: _Facts
    section: str
    key: str
    path: tuple[str, ...]
    kind: ChangeKind
    before: Any
    after: Any

    @property
    def value(self) -> Any:
        return self.after if self.kind is not ChangeKind.REMOVED else self.before


Verdict = tuple[bool, str]
_WORDING = "wording, contact details or citation; what is done with the data is unchanged"
_NEUTRAL = "does not change what is collected, why, who receives it, where it goes or how long it is kept"


def diff_manifests(old: Manifest, new: Manifest) -> list[Change]:
    facts = _Facts(
        categories=frozenset(old.collected_categories),
        countries=frozenset(_countries(old)),
        destinations=frozenset(t.to for t in old.transfers.values()),
    )
    changes: list[Change] = []
    for section in SINGLE_SECTIONS:
        a, b = getattr(old, section).model_dump(mode="json"), getattr(new, section).model_dump(mode="json")
        changes += _field_changes(old, new, facts, section, "", a, b)
    for section in KEYED_SECTIONS:
        before, after = getattr(old, section), getattr(new, section)
        for key in sorted(before.keys() | after.keys()):
            if key not in before:
                material, reason = _entry_added(new, facts, section, key)
                changes.append(Change(ChangeKind.ADDED, section, key, "", None, _label(after[key]), material, reason))
            elif key not in after:
                material, reason = _entry_removed(section)
                changes.append(
                    Change(ChangeKind.REMOVED, section, key, "", _label(before[key]), None, material, reason)
                )
            elif before[key] != after[key]:
                changes += _entry_changes(old, new, facts, section, key)
    order = {s: i for i, s in enumerate(SECTIONS)}
    kinds = list(ChangeKind)
    return sorted(
        changes,
        key=lambda c: (order[c.section], c.key, c.field, kinds.index(c.kind), c.old or "", c.new or ""),
    )


def _label(entry: Any) -> str:
    title = getattr(entry, "title", None) or getattr(entry, "name", None)
    return str(title or entry.key)


def _countries(m: Manifest) -> set[str]:
    out = {c for r in m.recipients.values() for c in r.countries}
    out |= {c for s in m.systems.values() for c in s.countries}
    return out | {t.to for t in m.transfers.values()}


# --- walking entries -------------------------------------------------------------------------------------------


def _entry_changes(old: Manifest, new: Manifest, facts: _Facts, section: str, key: str) -> list[Change]:
    a = getattr(old, section)[key]
    b = getattr(new, section)[key]
    out: list[Change] = []
    if section == "activities":
        out += _basis_changes(old, new, a, b)
        out += _jurisdiction_changes(old, new, a, b)
    if section == "retention":
        out += _limitation_changes(a, b)
    skip = _SPECIAL.get(section, ())
    da = {k: v for k, v in a.model_dump(mode="json").items() if k not in skip}
    db = {k: v for k, v in b.model_dump(mode="json").items() if k not in skip}
    return out + _field_changes(old, new, facts, section, key, da, db)


# Fields compared by meaning, not by their text: whole-field handlers above.
_SPECIAL = {"activities": ("bases", "jurisdictions"), "retention": ("limitation_periods",)}


def _field_changes(old: Manifest, new: Manifest, facts: _Facts, section: str, key: str, a: Any, b: Any) -> list[Change]:
    out = []
    for kind, path, before, after in _walk((), a, b):
        diff = _Diff(old, new, facts, section, key, path, kind, before, after)
        rule = _RULES.get((section, path[0])) if path else None
        material, reason = (rule(diff) if rule else None) or _default(diff)
        out.append(Change(kind, section, key, ".".join(path), _show(before), _show(after), material, reason))
    return out


def _walk(path: tuple[str, ...], a: Any, b: Any) -> Iterator[tuple[ChangeKind, tuple[str, ...], Any, Any]]:
    if a == b:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in b:
                yield ChangeKind.REMOVED, (*path, k), a[k], None
            elif k not in a:
                yield ChangeKind.ADDED, (*path, k), None, b[k]
            else:
                yield from _walk((*path, k), a[k], b[k])
    elif isinstance(a, list) and isinstance(b, list):
        ia, ib = {_identity(x): x for x in a}, {_identity(x): x for x in b}
        yield from ((ChangeKind.REMOVED, path, ia[k], None) for k in ia if k not in ib)
        yield from ((ChangeKind.ADDED, path, None, ib[k]) for k in ib if k not in ia)
    elif a is None:
        yield ChangeKind.ADDED, path, None, b
    elif b is None:
        yield ChangeKind.REMOVED, path, a, None
    else:
        yield ChangeKind.CHANGED, path, a, b


def _identity(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


def _show(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    if isinstance(value, dict) and "source" in value and "categories" in value:
        return f"{', '.join(value['categories'])} from {value['source']}"
    if isinstance(value, dict) and isinstance(value.get("name") or value.get("key"), str):
        return str(value.get("name") or value["key"])  # a whole entry came or went: its name says which
    return _identity(value)


def _default(d: _Diff) -> Verdict:
    last = d.path[-1] if d.path else ""
    if d.section == "activities" and d.kind is ChangeKind.REMOVED and last in _NARROWING:
        return False, f"the activity does less: {_NARROWING[last]} {d.before} dropped"
    if d.section in _DOING and d.kind is ChangeKind.REMOVED and last not in _WORDS:
        return False, f"narrower: {_show(d.before)} removed, so less is collected, used or disclosed"
    if last == "inferred":
        return False, "annotation only: whether the notice states this or it was completed"
    if last == "note":
        return False, "editor's note only; the notice does not show it"
    if last in _WORDS:
        return False, _WORDING
    return False, _NEUTRAL


_DOING = frozenset({"activities", "product_families", "systems", "recipients", "transfers", "cookie_categories",
                    "cookies", "marketing_channels", "incentives"})  # fmt: skip
_NARROWING = {
    "purposes": "purpose",
    "categories": "category",
    "subjects": "data subject category",
    "sources": "source",
    "systems": "system",
    "recipients": "recipient",
    "product_families": "product family",
}

# fmt: off
_WORDS = frozenset({
    "name", "description", "cite", "text", "prompt", "details", "condition", "interest", "statement",
    "how_to_withdraw", "how_to_join", "verification", "agents", "appeal", "notes", "title", "issuer", "version",
    "audience", "changes", "logic", "section", "examples", "value_method", "address", "email", "phone", "url",
    "global_unsubscribe", "last_updated", "joint_control", "languages", "provider", "opt_out_links",
})
# fmt: on


# --- entries that come and go ------------------------------------------------------------------------------------


def _entry_added(new: Manifest, facts: _Facts, section: str, key: str) -> Verdict:
    entry = getattr(new, section)[key]
    if section == "activities":
        return True, "new processing activity: " + _describe_activity(new, entry)
    if section == "recipients":
        where = f" in {', '.join(entry.countries)}" if entry.countries else ""
        return True, f"new recipient ({entry.kind.value.replace('_', ' ')}{where})"
    if section == "transfers":
        if entry.to in facts.destinations:
            return False, f"another transfer to {entry.to}, already a disclosed destination"
        return True, f"new transfer country: {entry.to}"
    if section == "systems":
        fresh = [c for c in entry.countries if c not in facts.countries]
        if fresh:
            return True, f"new system hosted in {_not_named_before(fresh)}"
        return False, "new internal system; no new recipient or country"
    if section == "product_families":
        fresh = [c for c in entry.collects.categories() if c not in facts.categories]
        if fresh:
            return True, "new product family collecting categories not collected before: " + _names(new, fresh)
        return False, "new product family; the categories it collects were already disclosed"
    if section == "cookies" and (entry.recipient or not entry.first_party):
        return True, "new third-party cookie"
    if section == "rights":
        return False, "new rights offered; more choice for people"
    return False, f"new {section.replace('_', ' ').rstrip('s')} entry; " + _NEUTRAL


def _not_named_before(countries: list[str]) -> str:
    plural = "countries" if len(countries) > 1 else "a country"
    return f"{', '.join(countries)}, {plural} not named before"


def _entry_removed(section: str) -> Verdict:
    if section == "consents":
        return True, "a consent choice people had is no longer offered"
    if section == "rights":
        return True, "a rights offer people had is removed"
    if section == "activities":
        return False, "processing activity stopped; nothing new is done with the data"
    if section == "recipients":
        return False, "recipient removed; fewer disclosures"
    return False, f"{section.replace('_', ' ')} entry removed; " + _NEUTRAL


def _describe_activity(m: Manifest, a: Activity) -> str:
    text = "purposes " + ", ".join(purpose_name(m, p) for p in a.purposes)
    if a.categories:
        text += "; categories " + _names(m, a.categories)
    return text


def _names(m: Manifest, categories: Any) -> str:
    return ", ".join(category_name(m, c) + (" (sensitive)" if m.taxonomy.is_sensitive(c) else "") for c in categories)


# --- rules by (section, field) -----------------------------------------------------------------------------------

Rule = Callable[[_Diff], Verdict | None]


def _only(kind: ChangeKind, rule: Callable[[_Diff], Verdict]) -> Rule:
    return lambda d: rule(d) if d.kind is kind else None


def _activity(d: _Diff) -> Activity:
    entry: Activity = d.new.activities[d.key]
    return entry


def _sensitive_of(m: Manifest, a: Activity) -> list[str]:
    pool = list(a.categories) + (list(m.collected_categories) if a.all_categories else [])
    return [c for c in dict.fromkeys(pool) if m.taxonomy.is_sensitive(c)]


def _new_purpose(d: _Diff) -> Verdict:
    sensitive = _sensitive_of(d.new, _activity(d))
    text = f"new purpose for this activity: {purpose_name(d.new, d.value)}"
    return True, text + (f", using sensitive categories {_names(d.new, sensitive)}" if sensitive else "")


def _new_category(d: _Diff) -> Verdict:
    c, purposes = d.value, ", ".join(purpose_name(d.new, p) for p in _activity(d).purposes)
    sensitive = "sensitive category" if d.new.taxonomy.is_sensitive(c) else "category"
    if c not in d.facts.categories:
        return True, f"{sensitive} {category_name(d.new, c)} newly collected"
    return True, f"{sensitive} {category_name(d.new, c)} now used for this activity's purposes ({purposes})"


def _new_system(d: _Diff) -> Verdict:
    system = d.new.systems.get(d.value)
    if system is None:
        return False, "system not defined; nothing can reach it"
    before = set(effective_recipients(d.old, d.old.activities[d.key]))
    reached = [r for r in system_operators(d.new, system) if r not in before]
    fresh = [c for c in system.countries if c not in d.facts.countries]
    if reached or fresh:
        parts = [f"data now reaches {', '.join(reached)} through this system"] if reached else []
        parts += [f"stored in {_not_named_before(fresh)}"] if fresh else []
        return True, "; ".join(parts)
    return False, "internal system; no new recipient or country"


def _new_recipient(d: _Diff) -> Verdict:
    before = set(effective_recipients(d.old, d.old.activities[d.key]))
    if d.value in before:
        return False, "already received this activity's data: it operates or hosts one of the activity's systems"
    rec = d.new.recipients.get(d.value)
    flags = " and ".join(w for w, on in (("sale", rec and rec.sale), ("sharing", rec and rec.sharing)) if on)
    return True, f"{d.value} newly receives this activity's data" + (f" (a {flags})" if flags else "")


def _retention_ref(d: _Diff) -> Verdict:
    a = d.old.retention.get(d.before) if d.before else None
    b = d.new.retention.get(d.after) if d.after else None
    if b is None:
        return (True, "no retention limit is stated any more") if a is not None else (False, _NEUTRAL)
    if a is None:
        return False, "a retention limit now applies"
    return _compare_rules(a, b)


def _compare_rules(a: RetentionRule, b: RetentionRule) -> Verdict:
    if set(a.triggers) != set(b.triggers):
        return True, "retention now starts at a different event, which can make it longer"
    if _max_days(b) > _max_days(a):
        return True, f"kept longer: {retention_terms(b)} (was: {retention_terms(a)})"
    if _ACTIONS.index(b.final_action) > _ACTIONS.index(a.final_action):
        return True, f"at the end data is now {ACTION_WORDS[b.final_action]}, not {ACTION_WORDS[a.final_action]}"
    return False, "retention is the same length or shorter"


_ACTIONS = [FinalAction.DELETE, FinalAction.DELETE_OR_ANONYMISE, FinalAction.ANONYMISE]


def _max_days(rule: RetentionRule) -> float:
    limitation = max((p.period.approx_days() for p in rule.limitation_periods), default=0.0)
    return sum(p.approx_days() for p in (rule.after_trigger, rule.grace) if p) + limitation


def _period_field(d: _Diff) -> Verdict:
    a, b = (Period.parse(d.before) if d.before else None), (Period.parse(d.after) if d.after else None)
    what = _PERIOD_WORDS.get(d.path[0], d.path[0])
    if (b.approx_days() if b else 0.0) > (a.approx_days() if a else 0.0):
        return True, f"longer retention: the {what} grows from {a or 'none'} to {b}"
    return False, f"shorter retention: the {what} shrinks"


_PERIOD_WORDS = {"grace": "grace period", "after_trigger": "time kept after the trigger", "duration": "cookie lifetime"}


def _later_action(d: _Diff) -> Verdict:
    a, b = FinalAction(d.before), FinalAction(d.after)
    if _ACTIONS.index(b) > _ACTIONS.index(a):
        return True, f"at the end of retention data is now {ACTION_WORDS[b]} instead of {ACTION_WORDS[a]}"
    return False, "final action now removes more"


def _flag_on(what: str) -> Rule:
    return lambda d: (True, what) if d.after is True else (False, "protection added or flag cleared")


def _flag_off(what: str) -> Rule:
    return lambda d: (True, what) if d.after is False else (False, "protection added")


def _country(d: _Diff) -> Verdict:
    if d.value not in d.facts.countries:
        return True, f"new transfer country: {d.value}, not named before"
    return True, f"data now also goes to {d.value} through this entry"


def _kind_change(d: _Diff) -> Verdict | None:
    if d.kind is ChangeKind.CHANGED and d.before in _PROCESSORS and d.after not in _PROCESSORS:
        return True, f"the recipient now uses data for its own purposes ({d.before} -> {d.after})"
    return None


_PROCESSORS = {"processor", "group_entity"}


def _added(reason: Callable[[_Diff], str]) -> Rule:
    return _only(ChangeKind.ADDED, lambda d: (True, reason(d)))


def _removed(reason: Callable[[_Diff], str]) -> Rule:
    return _only(ChangeKind.REMOVED, lambda d: (True, reason(d)))


def _system_recipient(d: _Diff) -> Verdict | None:
    if d.kind is not ChangeKind.ADDED:
        return None
    users = [a.title for a in d.new.activities.values() if d.key in a.systems]
    if not users:
        return False, "no activity uses this system yet"
    return True, f"{d.value} newly receives data from this system (activities: {', '.join(users)})"


def _controller(d: _Diff) -> Verdict | None:
    roles = {"controller", "joint_controller"}
    if len(d.path) == 2 and d.kind is ChangeKind.ADDED and roles & set(d.after.get("roles", ())):
        return True, "new controller of the data"
    if len(d.path) == 3 and d.path[2] == "roles" and d.kind is ChangeKind.ADDED and d.after in roles:
        return True, "an entity newly becomes a controller of the data"
    return None


def _collects(d: _Diff) -> Verdict | None:
    if d.kind is not ChangeKind.ADDED:
        return None
    items = d.after.get("categories", ()) if isinstance(d.after, dict) else [d.after]
    fresh = [c for c in items if c not in d.facts.categories]
    if fresh:
        return True, "new category collected: " + _names(d.new, fresh)
    return False, "categories already collected elsewhere"


def _lower_age(d: _Diff) -> Verdict:
    if d.after is None or (d.before is not None and d.after < d.before):
        return True, "the age below which data is never sold or shared is lowered or removed"
    return False, "protection for minors extended"


_RULES: dict[tuple[str, str], Rule] = {
    ("activities", "purposes"): _only(ChangeKind.ADDED, _new_purpose),
    ("activities", "categories"): _only(ChangeKind.ADDED, _new_category),
    ("activities", "all_categories"): _flag_on("the activity now uses every category of personal data"),
    ("activities", "subjects"): _added(lambda d: f"now processes data about {d.value}"),
    ("activities", "sources"): _added(lambda d: f"data now also obtained from {d.value}"),
    ("activities", "systems"): _only(ChangeKind.ADDED, _new_system),
    ("activities", "recipients"): _only(ChangeKind.ADDED, _new_recipient),
    ("activities", "product_families"): _added(lambda d: f"now also processes data from product family {d.value}"),
    ("activities", "retention"): _retention_ref,
    ("activities", "consent"): _removed(lambda d: "withdrawing consent no longer switches this activity off"),
    ("activities", "special_condition"): lambda d: (
        (True, f"the Art. 9(2) condition changed from {d.before} to {d.after}")
        if d.kind is not ChangeKind.ADDED
        else (False, "an Art. 9(2) condition is now stated")
    ),
    ("recipients", "sale"): _flag_on("disclosures to this recipient may now be a sale under US state laws"),
    ("recipients", "sharing"): _flag_on("disclosures to this recipient may now be sharing for targeted ads"),
    ("recipients", "countries"): _only(ChangeKind.ADDED, _country),
    ("recipients", "kind"): _kind_change,
    ("recipients", "own_policy"): _flag_on("the recipient now uses data under its own privacy policy"),
    ("recipients", "safeguards"): _removed(lambda d: f"safeguard removed: {d.value}"),
    ("recipients", "dpf_certified"): _flag_off("the recipient is no longer certified under the Data Privacy Framework"),
    ("systems", "recipients"): _system_recipient,
    ("systems", "countries"): _only(ChangeKind.ADDED, _country),
    ("transfers", "to"): lambda d: (True, f"transfers now go to {d.after}"),
    ("transfers", "recipients"): _added(lambda d: f"the transfer now covers {d.value}"),
    ("transfers", "mechanisms"): _removed(lambda d: f"transfer safeguard removed: {d.value}"),
    ("retention", "after_trigger"): _period_field,
    ("retention", "grace"): _period_field,
    ("retention", "final_action"): _later_action,
    ("retention", "triggers"): lambda d: (True, "retention now starts at a different event, which can make it longer"),
    ("retention", "restrict_during_limitation"): _flag_off("data is no longer restricted during the limitation period"),
    ("retention", "legal_claims_extend"): _flag_on("legal claims may now extend retention"),
    ("product_families", "collects"): _collects,
    ("product_families", "subjects"): _added(lambda d: f"now collects data about {d.value}"),
    ("product_families", "permissions"): _added(lambda d: f"apps now ask for the device permission {d.value}"),
    ("consents", "default"): lambda d: (
        (True, "now on until the person says no")
        if d.after == "opt_out"
        else (False, "now off until the person agrees")
    ),
    ("rights", "rights"): _removed(lambda d: f"right no longer offered: {d.value}"),
    ("rights", "jurisdictions"): _removed(lambda d: f"people in {d.value} no longer get these rights"),
    ("cookie_categories", "consent"): _removed(lambda d: "these cookies are now set without a choice"),
    ("cookie_categories", "recipients"): _added(lambda d: f"{d.value} now receives cookie data"),
    ("cookie_categories", "purposes"): _added(lambda d: f"cookies now also used for {d.value}"),
    ("cookies", "recipient"): lambda d: (True, f"cookie data now goes to {d.after}") if d.after else None,
    ("cookies", "first_party"): _flag_off("the cookie is now set by a third party"),
    ("cookies", "duration"): lambda d: _period_field(d) if d.after else None,
    ("marketing_channels", "consent"): _removed(lambda d: "marketing on this channel no longer needs consent"),
    ("marketing_channels", "tracking"): _added(lambda d: f"marketing messages now track {d.value}"),
    ("marketing_channels", "tracking_consent"): _removed(lambda d: "tracking no longer needs consent"),
    ("organisation", "legal_entities"): _controller,
    ("minors", "no_sale_under"): _lower_age,
    ("minors", "services_directed_to_children"): _flag_on("services are now directed to children"),
    ("automated_decisions", "performed"): _flag_on("decisions are now made by automated means"),
}


# --- legal bases, jurisdictions and limitation periods, compared by meaning ---------------------------------------


def _basis_map(m: Manifest, a: Activity) -> dict[tuple[str, str], frozenset[str]]:
    juris = catalogue().expand(activity_jurisdictions(m, a))
    out: dict[tuple[str, str], set[str]] = defaultdict(set)
    for claim in a.bases:
        for p in claim.purposes or a.purposes:
            for j in catalogue().expand(claim.jurisdictions) if claim.jurisdictions else juris:
                out[(p, j)].add(claim.basis)
    return {k: frozenset(v) for k, v in out.items()}


def _basis_changes(old: Manifest, new: Manifest, a: Activity, b: Activity) -> list[Change]:
    # Compared per (purpose, jurisdiction) both versions have; new purposes and jurisdictions are reported apart.
    if a.bases == b.bases:
        return []
    ma, mb = _basis_map(old, a), _basis_map(new, b)
    kept = catalogue().expand(activity_jurisdictions(new, b))
    juris = [j for j in catalogue().expand(activity_jurisdictions(old, a)) if j in kept]
    shifts: dict[tuple[frozenset[str], frozenset[str]], list[tuple[str, str]]] = defaultdict(list)
    for p in (p for p in a.purposes if p in b.purposes):
        for j in juris:
            before, after = ma.get((p, j), frozenset()), mb.get((p, j), frozenset())
            if before != after:
                shifts[(before, after)].append((p, j))
    reasons, material = [], False
    for (before, after), where in shifts.items():
        scope = _scope(new, where)
        if _consents(old, before) - _consents(new, after):
            reasons.append(f"consent basis removed for {scope}")
            material = True
        elif after - before:
            was, now = _basis_names(old, before) or "none", _basis_names(new, after)
            reasons.append(f"legal basis for {scope} changed from {was} to {now}")
            material = True
        else:
            reasons.append(f"fewer legal bases claimed for {scope}; the remaining ones are unchanged")
    if not reasons:
        reasons.append("wording or scope of the legal-basis statements (conditions, interests, citations)")
    return [
        Change(
            ChangeKind.CHANGED,
            "activities",
            b.key,
            "bases",
            _bases_text(a),
            _bases_text(b),
            material,
            "; ".join(reasons),
        )
    ]


def _basis_names(m: Manifest, bases: frozenset[str]) -> str:
    legal = m.taxonomy.legal_bases
    return " + ".join(sorted(legal[b].name.lower() if b in legal else b.replace("_", " ") for b in bases))


def _consents(m: Manifest, bases: frozenset[str]) -> set[str]:
    legal = m.taxonomy.legal_bases
    return {b for b in bases if (legal[b].needs_consent if b in legal else b == "consent")}


def _scope(m: Manifest, where: list[tuple[str, str]]) -> str:
    purposes = dict.fromkeys(p for p, _ in where)
    juris = dict.fromkeys(j for _, j in where)
    return f"{', '.join(purpose_name(m, p) for p in purposes)} in {', '.join(juris)}"


def _bases_text(a: Activity) -> str:
    return "; ".join(
        c.basis
        + (f" for {', '.join(c.purposes)}" if c.purposes else "")
        + (f" in {', '.join(c.jurisdictions)}" if c.jurisdictions else "")
        for c in a.bases
    )


def _jurisdiction_changes(old: Manifest, new: Manifest, a: Activity, b: Activity) -> list[Change]:
    ja, jb = catalogue().expand(activity_jurisdictions(old, a)), catalogue().expand(activity_jurisdictions(new, b))
    gained, lost = ", ".join(j for j in jb if j not in ja), ", ".join(j for j in ja if j not in jb)
    out = []
    if gained:
        why = f"the activity now also covers people in {gained}; nothing changes for people already covered"
        out.append(Change(ChangeKind.ADDED, "activities", b.key, "jurisdictions", None, gained, False, why))
    if lost:
        why = f"the activity no longer covers people in {lost}"
        out.append(Change(ChangeKind.REMOVED, "activities", b.key, "jurisdictions", lost, None, False, why))
    return out


def _limitation_changes(a: RetentionRule, b: RetentionRule) -> list[Change]:
    scopes = dict.fromkeys(j for rule in (a, b) for p in rule.limitation_periods for j in p.jurisdictions)
    out = []
    for scope in ["", *scopes]:
        pa, pb = _limitation(a, scope), _limitation(b, scope)
        if pa == pb:
            continue
        where = f"in {scope}" if scope else "by default"
        kind = ChangeKind.ADDED if pa is None else ChangeKind.REMOVED if pb is None else ChangeKind.CHANGED
        longer = (pb.approx_days() if pb else 0.0) > (pa.approx_days() if pa else 0.0)
        reason = (
            f"longer retention: the limitation period {where} grows from {pa or 'none'} to {pb}"
            if longer
            else f"shorter retention: the limitation period {where} shrinks"
        )
        out.append(
            Change(
                kind, "retention", b.key, f"limitation_periods.{scope or 'default'}", _str(pa), _str(pb), longer, reason
            )
        )
    return out


def _limitation(rule: RetentionRule, jurisdiction: str) -> Period | None:
    for p in rule.limitation_periods:
        if jurisdiction in p.jurisdictions:
            return p.period
    return next((p.period for p in rule.limitation_periods if not p.jurisdictions), None)


def _str(p: Period | None) -> str | None:
    return str(p) if p is not None else None


# --- rendering -----------------------------------------------------------------------------------------------------


def render_diff(changes: list[Change], fmt: Literal["text", "md", "json"] = "text") -> str:
    material = [c for c in changes if c.material]
    other = [c for c in changes if not c.material]
    if fmt == "json":
        body = {"total": len(changes), "material": len(material), "changes": [asdict(c) for c in changes]}
        return json.dumps(body, indent=2, ensure_ascii=False) + "\n"
    if fmt == "md":
        return _markdown(changes, material, other)
    if fmt != "text":
        raise ValueError(f"unknown diff format {fmt!r}; use text, md or json")
    if not changes:
        return "No changes.\n"
    lines = [f"{len(changes)} change{'s' if len(changes) != 1 else ''}, {len(material)} material."]
    for title, group in (
        ("Material changes (tell people before they take effect):", material),
        ("Other changes:", other),
    ):
        if group:
            lines += ["", title]
            for c in group:
                lines.append(f"  {_SIGN[c.kind]} {_where(c)}: {_values(c)}")
                lines.append(f"      {c.reason}")
    return "\n".join(lines) + "\n"


_SIGN = {ChangeKind.ADDED: "+", ChangeKind.REMOVED: "-", ChangeKind.CHANGED: "~"}


def _where(c: Change) -> str:
    return ".".join(p for p in (c.section, c.key, c.field) if p)


def _values(c: Change) -> str:
    if c.kind is ChangeKind.ADDED:
        return f"added {c.new!r}"
    if c.kind is ChangeKind.REMOVED:
        return f"removed {c.old!r}"
    return f"{c.old!r} -> {c.new!r}"


def _markdown(changes: list[Change], material: list[Change], other: list[Change]) -> str:
    lines = ["# Manifest changes", ""]
    if not changes:
        return "\n".join([*lines, "No changes."]) + "\n"
    lines.append(f"{len(changes)} changes, **{len(material)} material**.")
    for title, group in (("Material changes", material), ("Other changes", other)):
        if not group:
            continue
        lines += ["", f"## {title}", "", "| Change | Where | Old | New | Why |", "| --- | --- | --- | --- | --- |"]
        for c in group:
            cells = [c.kind.value, f"`{_where(c)}`", _md(c.old), _md(c.new), _md(c.reason)]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _md(text: str | None) -> str:
    if text is None:
        return ""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace("\n", "<br>")
