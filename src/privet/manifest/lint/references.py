"""R-rules: every key a manifest entry names must exist."""

from __future__ import annotations

from collections.abc import Iterator

from privet.manifest.datasets import IdentityType
from privet.manifest.lint.registry import Finding, LintContext, rule
from privet.manifest.model import Manifest
from privet.manifest.suggest import did_you_mean

Path = tuple[str | int, ...]
# (path, names, namespace): a list of names at path[0..n-1], or a single name at path itself.
Site = tuple[Path, tuple[str, ...] | str, str]


def reference_sites(m: Manifest, activities: bool = True) -> Iterator[Site]:
    """Every place the manifest names another entry, with the namespace the names live in."""

    def each(prefix: Path, values: tuple[str, ...], space: str) -> Iterator[Site]:
        if values:
            yield prefix, values, space

    yield from each(("notice", "jurisdictions"), m.notice.jurisdictions, "jurisdiction")
    for k, ent in m.organisation.authorities.items():
        yield from each(("organisation", "authorities", k, "jurisdictions"), ent.jurisdictions, "jurisdiction")
    for k, fam in m.product_families.items():
        p: Path = ("product_families", k)
        yield from each((*p, "brands"), fam.brands, "brand")
        yield from each((*p, "subjects"), fam.subjects, "subject")
        yield from each((*p, "systems"), fam.systems, "system")
        yield from each((*p, "collects", "provided"), fam.collects.provided, "category")
        yield from each((*p, "collects", "automatic"), fam.collects.automatic, "category")
        for i, tp in enumerate(fam.collects.third_party):
            yield (*p, "collects", "third_party", i, "source"), tp.source, "source"
            yield from each((*p, "collects", "third_party", i, "categories"), tp.categories, "category")
    for k, prod in m.products.items():
        yield ("products", k, "family"), prod.family, "product_family"
        if prod.brand:
            yield ("products", k, "brand"), prod.brand, "brand"
    for k, src in m.sources.items():
        if src.recipient:
            yield ("sources", k, "recipient"), src.recipient, "recipient"
    for k, sysm in m.systems.items():
        if sysm.owner:
            yield ("systems", k, "owner"), sysm.owner, "entity"
        yield from each(("systems", k, "product_families"), sysm.product_families, "product_family")
        yield from each(("systems", k, "recipients"), sysm.recipients, "recipient")
    for k, rec in m.recipients.items():
        if rec.entity:
            yield ("recipients", k, "entity"), rec.entity, "entity"
    for k, tr in m.transfers.items():
        yield from each(("transfers", k, "exporters"), tr.exporters, "jurisdiction")
        yield from each(("transfers", k, "recipients"), tr.recipients, "recipient")
    for k, act in m.activities.items() if activities else ():
        p = ("activities", k)
        yield from each((*p, "purposes"), act.purposes, "purpose")
        yield from each((*p, "categories"), act.categories, "category")
        yield from each((*p, "subjects"), act.subjects, "subject")
        yield from each((*p, "sources"), act.sources, "source")
        yield from each((*p, "systems"), act.systems, "system")
        yield from each((*p, "recipients"), act.recipients, "recipient")
        yield from each((*p, "product_families"), act.product_families, "product_family")
        yield from each((*p, "jurisdictions"), act.jurisdictions, "jurisdiction")
        if act.retention:
            yield (*p, "retention"), act.retention, "retention"
        if act.consent:
            yield (*p, "consent"), act.consent, "consent"
        if act.special_condition:
            yield (*p, "special_condition"), act.special_condition, "special_condition"
        for i, claim in enumerate(act.bases):
            yield (*p, "bases", i, "basis"), claim.basis, "legal_basis"
            yield from each((*p, "bases", i, "categories"), claim.categories, "category")
            yield from each((*p, "bases", i, "jurisdictions"), claim.jurisdictions, "jurisdiction")
            if claim.consent:
                yield (*p, "bases", i, "consent"), claim.consent, "consent"
    for k, con in m.consents.items():
        if con.channel:
            yield ("consents", k, "channel"), con.channel, "marketing_channel"
        yield from each(("consents", k, "jurisdictions"), con.jurisdictions, "jurisdiction")
    for k, ret in m.retention.items():
        for i, lp in enumerate(ret.limitation_periods):
            yield from each(
                ("retention", k, "limitation_periods", i, "jurisdictions"), lp.jurisdictions, "jurisdiction"
            )
    for k, offer in m.rights.items():
        yield from each(("rights", k, "jurisdictions"), offer.jurisdictions, "jurisdiction")
        yield from each(("rights", k, "channels"), offer.channels, "contact_channel")
    for k, ch in m.marketing_channels.items():
        if ch.consent:
            yield ("marketing_channels", k, "consent"), ch.consent, "consent"
        if ch.tracking_consent:
            yield ("marketing_channels", k, "tracking_consent"), ch.tracking_consent, "consent"
    for k, cc in m.cookie_categories.items():
        if cc.consent:
            yield ("cookie_categories", k, "consent"), cc.consent, "consent"
        yield from each(("cookie_categories", k, "purposes"), cc.purposes, "purpose")
        yield from each(("cookie_categories", k, "recipients"), cc.recipients, "recipient")
    for k, ck in m.cookies.items():
        yield ("cookies", k, "category"), ck.category, "cookie_category"
        if ck.recipient:
            yield ("cookies", k, "recipient"), ck.recipient, "recipient"
    for k, inc in m.incentives.items():
        yield from each(("incentives", k, "categories"), inc.categories, "category")
    for k, ds in m.datasets.items():
        if ds.system:
            yield ("datasets", k, "system"), ds.system, "system"
        for cname, coll in ds.collections.items():
            cp: Path = ("datasets", k, "collections", cname)
            yield from each((*cp, "after"), coll.after, "collection")
            yield from each((*cp, "erase_after"), coll.erase_after, "collection")
        for cname, fpath, fld in ds.walk_fields():
            fp: Path = ("datasets", k, "collections", cname, "fields")
            for part in fpath[:-1]:
                fp = (*fp, part, "fields")
            fp = (*fp, fpath[-1])
            yield from each((*fp, "categories"), fld.categories, "category")
            if fld.identity:
                yield (*fp, "identity"), fld.identity, "identity"
            for i, ref in enumerate(fld.references):
                yield (*fp, "references", i, "to"), ref.to, "field"


def namespaces(ctx: LintContext) -> dict[str, set[str]]:
    m, tax = ctx.manifest, ctx.manifest.taxonomy
    collections = {f"{d}.{c}" for d, ds in m.datasets.items() for c in ds.collections}
    fields = {f"{d}.{c}.{'.'.join(path)}" for d, ds in m.datasets.items() for c, path, _ in ds.walk_fields()}
    return {
        "jurisdiction": set(ctx.law.jurisdictions) | set(ctx.law.groups),
        "brand": set(m.brands),
        "subject": set(tax.subjects),
        "system": set(m.systems),
        "category": set(tax.categories),
        "purpose": set(tax.purposes),
        "source": set(m.sources),
        "product_family": set(m.product_families),
        "recipient": set(m.recipients),
        "entity": set(m.organisation.legal_entities) | set(m.organisation.representatives),
        "retention": set(m.retention),
        "consent": set(m.consents),
        "special_condition": set(tax.special_conditions),
        "legal_basis": set(tax.legal_bases),
        "marketing_channel": set(m.marketing_channels),
        "contact_channel": set(m.contact_channels),
        "cookie_category": set(m.cookie_categories),
        "collection": collections,
        "field": fields,
        "identity": {t.value for t in IdentityType},
    }


_WORDS = {
    "product_family": "product family",
    "legal_basis": "legal basis",
    "special_condition": "Art. 9(2) condition",
    "marketing_channel": "marketing channel",
    "contact_channel": "contact channel",
    "cookie_category": "cookie category",
    "retention": "retention rule",
    "consent": "consent key",
    "entity": "legal entity",
    "category": "data category",
    "field": "dataset field (dataset.collection.field)",
    "collection": "dataset collection (dataset.collection)",
    "identity": "identity type",
}


def resolved_sites(m: Manifest) -> Iterator[tuple[Path, str, str]]:
    """Every single reference as (path, name, namespace)."""
    for path, names, space in reference_sites(m):
        if isinstance(names, str):
            yield path, names, space
        else:
            for i, name in enumerate(names):
                yield (*path, i), name, space


@rule("R001", "unknown-reference", "Every key an entry names must be defined, or the promise it makes is empty.")
def unknown_reference(ctx: LintContext) -> Iterator[Finding]:
    spaces = namespaces(ctx)
    # Activities are most of a large manifest: check the union of their names first, walk them only if needed.
    for path, names, space in reference_sites(ctx.manifest, activities=not _activities_clean(ctx, spaces)):
        known = spaces[space]
        if isinstance(names, str):
            bad = [(path, names)] if names not in known else []
        elif known.issuperset(names):
            continue
        else:
            bad = [((*path, i), name) for i, name in enumerate(names) if name not in known]
        for where, value in bad:
            word = _WORDS.get(space, space)
            yield Finding(where, f"unknown {word} {value}{did_you_mean(value, known)}", hint=_hint(space))


_ACTIVITY_LISTS = (
    ("purposes", "purpose"), ("categories", "category"), ("subjects", "subject"), ("sources", "source"),
    ("systems", "system"), ("recipients", "recipient"), ("product_families", "product_family"),
    ("jurisdictions", "jurisdiction"),
)  # fmt: skip


def _activities_clean(ctx: LintContext, spaces: dict[str, set[str]]) -> bool:
    acts = ctx.manifest.activities.values()
    for attr, space in _ACTIVITY_LISTS:
        names: set[str] = set()
        for a in acts:
            names.update(getattr(a, attr))
        if not names <= spaces[space]:
            return False
    singles = (
        ({a.retention for a in acts if a.retention}, "retention"),
        ({k for a in acts for k in a.consent_keys()}, "consent"),
        ({a.special_condition for a in acts if a.special_condition}, "special_condition"),
        ({b.basis for a in acts for b in a.bases}, "legal_basis"),
        ({j for a in acts for b in a.bases for j in b.jurisdictions}, "jurisdiction"),
    )
    return all(names <= spaces[space] for names, space in singles)


# Taxonomy namespaces: (`privet taxonomy` section that lists the defaults, manifest section that adds to them).
_TAXONOMY_SECTIONS = {
    "category": ("categories", "data_categories"),
    "purpose": ("purposes", "purposes"),
    "subject": ("subjects", "subjects"),
}


def _hint(space: str) -> str:
    if space in _TAXONOMY_SECTIONS:
        listing, section = _TAXONOMY_SECTIONS[space]
        return f"use a key of the default taxonomy (privet taxonomy {listing}) or define it under {section}:"
    if space == "jurisdiction":
        return "jurisdictions are keys such as eu, uk, ch, us-ca, or the groups gdpr_like and us_states"
    return "define it in the manifest, or fix the spelling"
