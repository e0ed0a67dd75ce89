"""The US state disclosure tables (CCPA and its sister laws), derived from the manifest, never written by hand."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, TypeVar

from privet.manifest.entities import Recipient, RecipientKind, SourceKind
from privet.manifest.model import Manifest
from privet.manifest.processing import Activity
from privet.reports.templating import (
    RECIPIENT_KINDS,
    RIGHTS,
    SOURCE_KINDS,
    Block,
    Bullets,
    Cell,
    Document,
    Item,
    Names,
    Para,
    Row,
    Section,
    Table,
    Text,
    Trace,
    expand,
    is_us_state,
    listed,
    render,
)
from privet.taxonomy import PurposeTag, Sensitivity

__all__ = [
    "JurisdictionRights",
    "MinorsLine",
    "Party",
    "Ref",
    "SensitiveRow",
    "SourceGroup",
    "UsCategoryRow",
    "UsDisclosures",
    "disclosures",
    "disclosures_document",
    "render_disclosures",
]

_T = TypeVar("_T")
_SALE_TAGS = frozenset({PurposeTag.SALE})
_SHARING_TAGS = frozenset({PurposeTag.SHARING, PurposeTag.TARGETED_ADVERTISING})
# Recipients that act on the business's behalf: disclosing to them is not a sale or sharing by itself.
_ON_OUR_BEHALF = frozenset({RecipientKind.PROCESSOR, RecipientKind.GROUP_ENTITY})


@dataclass(frozen=True, slots=True)
class Ref:
    key: str
    name: str


@dataclass(frozen=True, slots=True)
class SourceGroup:
    kind: str  # SourceKind value: the category of source
    name: str
    sources: tuple[Ref, ...]  # the manifest's sources of this kind


@dataclass(frozen=True, slots=True)
class Party:
    key: str
    name: str
    kind: str  # RecipientKind value: the category of recipient


@dataclass(frozen=True, slots=True)
class UsCategoryRow:
    key: str
    name: str
    description: str
    statute: str | None  # the statute defining the category
    collected: bool  # in the last 12 months
    examples: tuple[Ref, ...]  # the manifest's categories that map to it
    sources: tuple[SourceGroup, ...]
    purposes: tuple[Ref, ...]  # business or commercial purposes
    disclosed_to: tuple[Party, ...]  # for a business purpose
    sold: bool
    sold_to: tuple[Party, ...]
    shared: bool  # for cross-context behavioural or targeted advertising
    shared_with: tuple[Party, ...]
    retention: tuple[Ref, ...]
    activities: tuple[str, ...]
    inferred: bool


@dataclass(frozen=True, slots=True)
class SensitiveRow:
    key: str
    name: str
    us_category: str | None
    uses: tuple[Ref, ...]  # purposes
    activities: tuple[str, ...]
    sold: bool
    shared: bool
    inferred: bool


@dataclass(frozen=True, slots=True)
class MinorsLine:
    no_sale_under: int | None
    statement: str
    cite: str | None


@dataclass(frozen=True, slots=True)
class JurisdictionRights:
    jurisdiction: str
    name: str
    rights: tuple[str, ...]
    offers: tuple[str, ...]  # the manifest's rights entries that grant them
    channels: tuple[Ref, ...]
    verification: str
    agents: str
    appeal: str


@dataclass(frozen=True, slots=True)
class UsDisclosures:
    jurisdictions: tuple[str, ...]
    categories: tuple[UsCategoryRow, ...]
    sensitive: tuple[SensitiveRow, ...]
    minors: MinorsLine
    rights: tuple[JurisdictionRights, ...]
    unmapped: tuple[Ref, ...]  # collected categories that map to no US category

    @property
    def sells(self) -> bool:
        return any(r.sold for r in self.categories)

    @property
    def shares(self) -> bool:
        return any(r.shared for r in self.categories)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


@dataclass(slots=True)
class _Flow:
    """What one activity does with a category, as US disclosures count it."""

    purposes: list[Ref]
    disclosed: list[Party]
    sold: list[Party]
    shared: list[Party]
    is_sale: bool
    is_sharing: bool


def disclosures(manifest: Manifest) -> UsDisclosures:
    m = manifest
    names = Names(m)
    tax = m.taxonomy
    collected = m.collected_categories
    flows = {a.key: _flow(m, names, a) for a in m.activities.values()}

    uses: dict[str, list[Activity]] = {c: [] for c in collected}
    for act in m.activities.values():
        for c in collected if act.all_categories else act.categories:
            uses.setdefault(c, []).append(act)

    # Per category: (kind of source, the named source or None where the kind is all the manifest says).
    sources: dict[str, list[tuple[str, Ref | None]]] = {c: [] for c in collected}
    for fam in m.product_families.values():
        for c in fam.collects.provided:
            sources[c].append((SourceKind.SUBJECT.value, None))
        for c in fam.collects.automatic:
            sources[c].append((SourceKind.AUTOMATIC.value, None))
        for tp in fam.collects.third_party:
            for c in tp.categories:
                sources[c].append(_source(m, names, tp.source))
    for act in m.activities.values():
        if act.all_categories:
            continue  # it reuses what other activities collect; its sources say nothing of each category
        for c in act.categories:
            sources.setdefault(c, []).extend(_source(m, names, s) for s in act.sources)

    family_inferred = {c for fam in m.product_families.values() if fam.inferred for c in fam.collects.categories()}
    by_us: dict[str, list[str]] = {}
    unmapped: list[Ref] = []
    for c in uses:
        cat = tax.categories.get(c)
        if cat is None or cat.us_category is None:
            unmapped.append(Ref(c, names.category(c)))
        else:
            by_us.setdefault(cat.us_category, []).append(c)

    rows = []
    for key in [*tax.us_categories, *(k for k in by_us if k not in tax.us_categories)]:
        us = tax.us_categories.get(key)
        cats = by_us.get(key, [])
        acts = list({a.key: a for c in cats for a in uses[c]}.values())
        fl = [flows[a.key] for a in acts]
        rows.append(
            UsCategoryRow(
                key=key,
                name=us.name if us else key,
                description=us.description if us else "",
                statute=us.cite if us else None,
                collected=bool(cats),
                examples=tuple(Ref(c, names.category(c)) for c in cats),
                sources=_groups(s for c in cats for s in sources.get(c, [])),
                purposes=_unique(p for f in fl for p in f.purposes),
                disclosed_to=_unique(p for f in fl for p in f.disclosed),
                sold=any(f.is_sale for f in fl),
                sold_to=_unique(p for f in fl for p in f.sold),
                shared=any(f.is_sharing for f in fl),
                shared_with=_unique(p for f in fl for p in f.shared),
                retention=_unique(Ref(a.retention, names.retention(a.retention)) for a in acts if a.retention),
                activities=tuple(a.key for a in acts),
                inferred=any(a.inferred for a in acts) or any(c in family_inferred for c in cats),
            )
        )

    sensitive = []
    for c in uses:
        cat = tax.categories.get(c)
        if cat is None or Sensitivity.US_SENSITIVE not in cat.sensitive:
            continue
        acts = list(uses[c])
        fl = [flows[a.key] for a in acts]
        sensitive.append(
            SensitiveRow(
                key=c,
                name=cat.name,
                us_category=cat.us_category,
                uses=_unique(p for f in fl for p in f.purposes),
                activities=tuple(a.key for a in acts),
                sold=any(f.is_sale for f in fl),
                shared=any(f.is_sharing for f in fl),
                inferred=any(a.inferred for a in acts) or c in family_inferred,
            )
        )

    states = tuple(j for j in expand(m.notice.jurisdictions) if is_us_state(j))
    return UsDisclosures(
        jurisdictions=states,
        categories=tuple(rows),
        sensitive=tuple(sensitive),
        minors=MinorsLine(m.minors.no_sale_under, m.minors.statement, m.minors.cite),
        rights=tuple(_rights(m, names, j) for j in states),
        unmapped=tuple(unmapped),
    )


def _flow(m: Manifest, names: Names, act: Activity) -> _Flow:
    tax = m.taxonomy
    tags = {t for p in act.purposes if p in tax.purposes for t in tax.purposes[p].tags}
    is_sale = bool(tags & _SALE_TAGS)
    is_sharing = bool(tags & _SHARING_TAGS)
    disclosed: list[Party] = []
    sold: list[Party] = []
    shared: list[Party] = []
    for key in act.recipients:
        rec = m.recipients.get(key)
        if rec is None:
            continue
        party = _party(rec)
        third = rec.kind not in _ON_OUR_BEHALF
        if rec.sale or (is_sale and third):
            sold.append(party)
        if rec.sharing or (is_sharing and third):
            shared.append(party)
        if not (rec.sale or rec.sharing or ((is_sale or is_sharing) and third)):
            disclosed.append(party)
    return _Flow(
        purposes=[Ref(p, names.purpose(p)) for p in act.purposes],
        disclosed=disclosed,
        sold=sold,
        shared=shared,
        is_sale=is_sale or bool(sold),
        is_sharing=is_sharing or bool(shared),
    )


def _source(m: Manifest, names: Names, key: str) -> tuple[str, Ref | None]:
    src = m.sources.get(key)
    if src is not None:
        return src.kind.value, Ref(key, src.title)
    return SourceKind.THIRD_PARTY.value, Ref(key, names.recipient(key))  # a recipient that is also a source


def _groups(found: Iterable[tuple[str, Ref | None]]) -> tuple[SourceGroup, ...]:
    by_kind: dict[str, list[Ref]] = {}
    for kind, ref in found:
        refs = by_kind.setdefault(kind, [])
        if ref is not None and ref not in refs:
            refs.append(ref)
    return tuple(SourceGroup(k, label, tuple(by_kind[k])) for k, label in SOURCE_KINDS.items() if k in by_kind)


def _party(rec: Recipient) -> Party:
    return Party(rec.key, rec.title, rec.kind.value)


def _rights(m: Manifest, names: Names, juris: str) -> JurisdictionRights:
    offers = [o for o in m.rights.values() if juris in expand(o.jurisdictions)]
    return JurisdictionRights(
        jurisdiction=juris,
        name=names.jurisdiction(juris),
        rights=_unique(r.value for o in offers for r in o.rights),
        offers=tuple(o.key for o in offers),
        channels=_unique(
            Ref(c, m.contact_channels[c].title if c in m.contact_channels else c) for o in offers for c in o.channels
        ),
        verification=" ".join(_unique(o.verification for o in offers if o.verification)),
        agents=" ".join(_unique(o.agents for o in offers if o.agents)),
        appeal=" ".join(_unique(o.appeal for o in offers if o.appeal)),
    )


def _unique(items: Iterable[_T]) -> tuple[_T, ...]:
    return tuple(dict.fromkeys(items))


# --- rendering -------------------------------------------------------------------------------------------------


def render_disclosures(manifest: Manifest, fmt: Literal["html", "md", "json"]) -> str:
    """The US state disclosures as a standalone HTML page, Markdown, or stable JSON (sorted keys) for machines."""
    d = disclosures(manifest)
    if fmt == "json":
        return d.to_json()
    return render("disclosures", fmt, doc=disclosures_document(manifest, d))


def disclosures_document(manifest: Manifest, d: UsDisclosures | None = None) -> Document:
    d = d if d is not None else disclosures(manifest)
    m = manifest
    names = Names(m)
    states = ", ".join(names.jurisdiction(j) for j in d.jurisdictions) or "none of the US states privet knows"
    intro: tuple[Block, ...] = (
        Para(
            (
                f"These disclosures supplement the {m.notice.title} of {m.organisation.name} for residents of: "
                f"{states}. They cover the preceding 12 months.",
            ),
            Trace(("notice",), m.notice.cite),
        ),
    )
    sections = [
        Section(
            "collection",
            "1. Personal information we collect",
            (
                Table(
                    "Categories of personal information collected, their sources, purposes and retention",
                    ("Category", "Collected", "Examples", "Sources", "Business or commercial purposes", "Retention"),
                    tuple(
                        Row(
                            (
                                _lines(r.name),
                                _lines(_yes(r.collected)),
                                _lines(*(x.name for x in r.examples)),
                                _lines(*(_source_line(g) for g in r.sources)),
                                _lines(*(x.name for x in r.purposes)),
                                _lines(*(x.name for x in r.retention)),
                            ),
                            _row_trace(r.activities, r.inferred),
                        )
                        for r in d.categories
                    ),
                ),
            ),
            Trace(("activities", "product_families")),
        ),
        Section(
            "disclosure",
            "2. Disclosure, sale and sharing",
            (
                Para((_yes_no_sentence(d),)),
                Table(
                    "Categories of recipients, by category of personal information",
                    (
                        "Category",
                        "Disclosed for a business purpose to",
                        "Sold to",
                        "Shared for cross-context behavioural or targeted advertising with",
                    ),
                    tuple(
                        Row(
                            (
                                _lines(r.name),
                                _parties(r.disclosed_to, r.collected),
                                _parties(r.sold_to, r.collected, r.sold),
                                _parties(r.shared_with, r.collected, r.shared),
                            ),
                            _row_trace(r.activities, r.inferred),
                        )
                        for r in d.categories
                    ),
                ),
            ),
            Trace(("recipients", "activities")),
        ),
    ]
    if d.sensitive:
        sensitive = Table(
            "Sensitive personal information",
            ("Category", "Uses", "Sold", "Shared for targeted advertising"),
            tuple(
                Row(
                    (_lines(r.name), _lines(*(u.name for u in r.uses)), _lines(_yes(r.sold)), _lines(_yes(r.shared))),
                    _row_trace(r.activities, r.inferred),
                )
                for r in d.sensitive
            ),
        )
        sold = [r.name for r in d.sensitive if r.sold or r.shared]
        words = (
            "We do not sell sensitive personal information and do not share it for targeted advertising."
            if not sold
            else "Sensitive personal information that may be sold or shared: " + ", ".join(sold) + "."
        )
        sections.append(
            Section("sensitive", "Sensitive personal information", (sensitive, Para((words,))), Trace(("activities",)))
        )
    minors: list[Block] = []
    if d.minors.statement:
        minors.append(Para((d.minors.statement,)))
    elif d.minors.no_sale_under is not None:
        minors.append(
            Para(
                (
                    f"We do not sell the personal information of consumers we know to be under "
                    f"{d.minors.no_sale_under} "
                    "years of age, and do not share it for targeted advertising.",
                )
            )
        )
    if minors:
        sections.append(Section("minors", "Minors", tuple(minors), Trace(("minors",), d.minors.cite)))
    if d.rights:
        sections.append(_rights_section(d))
    if d.unmapped:
        sections.append(
            Section(
                "unmapped",
                "Personal data not assigned to a US category",
                (
                    Para(
                        (
                            "These categories are collected but map to no US category of personal information; "
                            "the privacy team should assign one (us_category in the taxonomy):",
                        )
                    ),
                    Bullets(
                        tuple(Item((f"{u.name} ({u.key})",), Trace((f"data_categories.{u.key}",))) for u in d.unmapped)
                    ),
                ),
                Trace(("data_categories",), inferred=True),
            )
        )
    numbered = [
        Section(s.id, f"{i}. {s.title.split('. ', 1)[-1]}", s.blocks, s.trace) for i, s in enumerate(sections, 1)
    ]
    return Document(
        title="US State Privacy Disclosures",
        lang=m.notice.languages[0] if m.notice.languages else "en",
        intro=intro,
        sections=tuple(numbered),
        trace=Trace(("notice",), m.notice.cite),
        footer="Generated by privet from the privacy manifest; every row names the processing activities it "
        "derives from.",
    )


def _rights_section(d: UsDisclosures) -> Section:
    rows = tuple(
        Row(
            (
                _lines(r.name),
                tuple((f"{RIGHTS[x][0]}",) for x in r.rights if x in RIGHTS) or _lines("—"),
                _lines(*(c.name for c in r.channels)),
            ),
            Trace(tuple(f"rights.{o}" for o in r.offers)),
        )
        for r in d.rights
    )
    blocks: list[Block] = [Table("Rights by state", ("State", "Rights", "How to submit a request"), rows)]
    for label, texts in (
        ("How we verify requests", _unique(r.verification for r in d.rights if r.verification)),
        ("Authorised agents", _unique(r.agents for r in d.rights if r.agents)),
        ("Appeals", _unique(r.appeal for r in d.rights if r.appeal)),
    ):
        blocks += [Para((f"{label}: {t}",)) for t in texts]
    return Section("rights", "Your rights", tuple(blocks), Trace(("rights",)))


def _lines(*texts: str) -> Cell:
    return tuple((t,) for t in texts) or (("—",),)


def _parties(parties: tuple[Party, ...], collected: bool, flag: bool | None = None) -> Cell:
    if not collected:
        return _lines("—")
    by_kind: dict[str, list[str]] = {}
    for p in parties:
        by_kind.setdefault(p.kind, []).append(p.name)
    lines: list[Text] = [(f"{RECIPIENT_KINDS.get(k, k)}: {listed(v)}",) for k, v in by_kind.items()]
    if flag and not lines:
        lines.append(("yes, by the purpose of the processing",))
    if flag is False and not lines:
        lines.append(("no",))
    return tuple(lines) or _lines("none")


def _source_line(group: SourceGroup) -> str:
    # "Directly from you" needs no names; third parties and public sources are named.
    named = group.kind not in (SourceKind.SUBJECT.value, SourceKind.AUTOMATIC.value, SourceKind.CREATED.value)
    if named and group.sources:
        return f"{group.name}: {listed(s.name for s in group.sources)}"
    return group.name


def _row_trace(activities: tuple[str, ...], inferred: bool) -> Trace:
    return Trace(tuple(f"activities.{a}" for a in activities), None, inferred)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _yes_no_sentence(d: UsDisclosures) -> str:
    sells = "We sell personal information" if d.sells else "We do not sell personal information"
    shares = "we share it" if d.shares else "we do not share it"
    return f"{sells}, and {shares} for cross-context behavioural or targeted advertising, as this table details."
