"""L-rules: the promises a privacy notice must keep, checked over the whole manifest."""

from __future__ import annotations

from collections.abc import Iterator

from privet.law.vocabulary import Regime
from privet.manifest.diagnostics import Severity
from privet.manifest.entities import TransferMechanism
from privet.manifest.lint.registry import Finding, LintContext, rule
from privet.manifest.processing import Activity
from privet.taxonomy import PurposeTag, Sensitivity

_SALE_TAGS = frozenset({PurposeTag.SALE, PurposeTag.SHARING, PurposeTag.TARGETED_ADVERTISING})


def _covers(granted: str, category: str) -> bool:
    """A category entry covers itself and its dotted descendants (user.contact covers user.contact.email)."""
    return category == granted or category.startswith(granted + ".")


def _covered_by(pool: frozenset[str]) -> dict[str, list[str]]:
    """For every key that is in `pool` or an ancestor of one, the pool keys it covers (built once per rule)."""
    out: dict[str, list[str]] = {}
    for key in sorted(pool):
        parts = key.split(".")
        for n in range(1, len(parts) + 1):
            out.setdefault(".".join(parts[:n]), []).append(key)
    return out


def _reaching(
    ctx: LintContext, act: Activity, covered: dict[str, list[str]]
) -> tuple[tuple[str | int, ...], list[str]]:
    """Where an activity takes in the keys of a pool (given as `_covered_by(pool)`), and how, in words.

    A listed key brings in the pool keys it covers (`user` covers user.biometric and the rest); `all_categories`
    brings in every pool key that what the manifest collects covers. The path points at the categories when they
    contribute, else at all_categories.
    """
    said = [_covering(c, covered[c]) for c in act.categories if c in covered]
    path: tuple[str | int, ...] = ("activities", act.key, "categories")
    if act.all_categories:
        collected = sorted({s for c in ctx.manifest.collected_categories for s in covered.get(c, ())})
        if collected:
            said.append(_covering("all_categories", collected))
            if len(said) == 1:
                path = ("activities", act.key, "all_categories")
    return path, said


def _covering(listed: str, keys: list[str]) -> str:
    below = [k for k in keys if k != listed]
    if not below:
        return listed
    named = ", ".join(below[:3]) + (f" and {len(below) - 3} more" if len(below) > 3 else "")
    return f"{listed} (covering {named})"


@rule(
    "L001",
    "purpose-and-basis",
    "Each activity needs a purpose, and a legal basis for every purpose where the law asks for one.",
)
def purpose_and_basis(ctx: LintContext) -> Iterator[Finding]:
    for key, act in ctx.manifest.activities.items():
        if not act.purposes:
            yield Finding(
                ("activities", key, "purposes"), f"activity {key} has no purpose", "list at least one purpose"
            )
            continue
        for juris in ctx.jurisdictions_of(act.jurisdictions):
            j = ctx.law.jurisdictions.get(juris)
            if j is None or not j.legal_basis_required:
                continue
            uncovered = [p for p in act.purposes if not _basis_for(ctx, act, p, juris)]
            if uncovered:
                yield Finding(
                    ("activities", key),
                    f"activity {key} has no legal basis in {juris} for {', '.join(uncovered)}",
                    "add a bases: entry covering these purposes and this jurisdiction",
                    key_position=True,
                )


def _basis_for(ctx: LintContext, act: Activity, purpose: str, juris: str) -> bool:
    """Some claim applies to this purpose and jurisdiction for every category of the activity."""
    uncovered = set(act.categories) or {"*"}
    for claim in act.bases:
        if claim.purposes and purpose not in claim.purposes:
            continue
        if claim.jurisdictions and juris not in ctx.jurisdictions_of(claim.jurisdictions):
            continue
        if not claim.categories:
            return True
        uncovered = {c for c in uncovered if not any(_covers(g, c) for g in claim.categories)}
        if not uncovered:
            return True
    return False


@rule("L002", "consent-key", "Processing based on consent must name the consent key that switches it off.")
def consent_key(ctx: LintContext) -> Iterator[Finding]:
    bases = ctx.manifest.taxonomy.legal_bases
    for key, act in ctx.manifest.activities.items():
        for i, claim in enumerate(act.bases):
            basis = bases.get(claim.basis)
            if basis and basis.needs_consent and not (claim.consent or act.consent):
                yield Finding(
                    ("activities", key, "bases", i),
                    f"activity {key} relies on {claim.basis} but names no consent key",
                    "add consent: <key> (defined under consents:) to the basis or the activity",
                )


@rule("L003", "sensitive-no-sale", "Sensitive categories are never sold, shared or used for targeted advertising.")
def sensitive_no_sale(ctx: LintContext) -> Iterator[Finding]:
    m = ctx.manifest
    tax = m.taxonomy
    any_sensitive = _covered_by(ctx.sensitive())
    for key, act in m.activities.items():
        tags = {t for p in act.purposes if p in tax.purposes for t in tax.purposes[p].tags}
        bad_purposes = sorted(t.value for t in tags & _SALE_TAGS)
        bad_recipients = _sale_recipients(ctx, act)
        if not (bad_purposes or bad_recipients):
            continue
        path, sensitive = _reaching(ctx, act, any_sensitive)
        if sensitive:
            what = ", ".join(bad_purposes + [f"recipient {r} (sale/sharing)" for r in bad_recipients])
            yield Finding(
                path,
                f"activity {key} uses sensitive {'; '.join(sensitive)} for {what}",
                "move the sensitive categories to an activity that neither sells, shares nor targets ads",
            )


@rule(
    "L004", "art9-condition", "Special categories (GDPR Art. 9) need an Art. 9(2) condition besides the Art. 6 basis."
)
def art9_condition(ctx: LintContext) -> Iterator[Finding]:
    art9 = _covered_by(ctx.sensitive(Sensitivity.GDPR_ART9))
    for key, act in ctx.manifest.activities.items():
        if act.special_condition:
            continue
        path, special = _reaching(ctx, act, art9)
        if not special:
            continue
        gdpr = [
            j
            for j in ctx.jurisdictions_of(act.jurisdictions)
            if j in ctx.law.jurisdictions and ctx.law.jurisdictions[j].legal_basis_required
        ]
        if gdpr:
            yield Finding(
                path,
                f"activity {key} processes special categories ({'; '.join(special)}) in {', '.join(gdpr)} "
                "without an Art. 9(2) condition",
                "add special_condition: explicit_consent (or another Art. 9(2) condition)",
            )


@rule("L005", "transfer-safeguard", "A transfer to a country without adequacy must name a safeguard (SCCs, BCRs, ...).")
def transfer_safeguard(ctx: LintContext) -> Iterator[Finding]:
    m = ctx.manifest
    exporters = {
        ctx.law.jurisdictions[j].regime
        for j in ctx.law.expand(m.notice.jurisdictions)
        if j in ctx.law.jurisdictions and ctx.law.jurisdictions[j].legal_basis_required
    }
    covered: dict[tuple[str, str], set[TransferMechanism]] = {}
    for tkey, tr in m.transfers.items():
        for r in tr.recipients:
            covered.setdefault((r, tr.to), set()).update(tr.mechanisms)
        for regime in _regimes(ctx, tr.exporters) or exporters:
            if TransferMechanism.ADEQUACY in tr.mechanisms and not ctx.law.adequate(regime, tr.to):
                yield Finding(
                    ("transfers", tkey, "mechanisms"),
                    f"transfer {tkey} claims adequacy for {tr.to}, which has no adequacy finding under {regime.value}",
                    "name the safeguard actually used (scc, bcr, uk_idta, dpf, derogation)",
                )
    for rkey, rec in m.recipients.items():
        for country in rec.countries:
            for regime in sorted(exporters):
                if ctx.law.adequate(regime, country):
                    continue
                mechs = covered.get((rkey, country), set()) - {TransferMechanism.ADEQUACY}
                if country == "US" and rec.dpf_certified:
                    continue
                if not mechs:
                    yield Finding(
                        ("recipients", rkey, "countries"),
                        f"recipient {rkey} receives data in {country}, which has no adequacy under {regime.value}, "
                        "and no transfer names a safeguard",
                        f"add a transfers: entry to {country} listing {rkey} with its mechanisms",
                    )
                    break


def _regimes(ctx: LintContext, keys: tuple[str, ...]) -> set[Regime]:
    return {ctx.law.jurisdictions[j].regime for j in ctx.law.expand(keys) if j in ctx.law.jurisdictions}


@rule("L006", "collected-is-used", "Every category a product collects must be used by some processing activity.")
def collected_is_used(ctx: LintContext) -> Iterator[Finding]:
    m = ctx.manifest
    used = {c for a in m.activities.values() if not a.all_categories for c in a.categories}
    for fkey, fam in m.product_families.items():
        lists: list[tuple[tuple[str | int, ...], tuple[str, ...]]] = [
            (("provided",), fam.collects.provided),
            (("automatic",), fam.collects.automatic),
        ]
        lists += [(("third_party", i, "categories"), tp.categories) for i, tp in enumerate(fam.collects.third_party)]
        for where, cats in lists:
            for i, cat in enumerate(cats):
                if not any(_covers(u, cat) for u in used):
                    yield Finding(
                        ("product_families", fkey, "collects", *where, i),
                        f"{cat} is collected by {fkey} but no activity uses it",
                        "add it to the activity that processes it, or stop collecting it",
                    )


@rule("L007", "recipient-disclosed", "Every recipient that receives data must be disclosed by an activity.")
def recipient_disclosed(ctx: LintContext) -> Iterator[Finding]:
    m = ctx.manifest
    disclosed = {r for a in m.activities.values() for r in a.recipients}
    disclosed |= {r for c in m.cookie_categories.values() for r in c.recipients}
    named: dict[str, tuple[str | int, ...]] = {}
    for s, sysm in m.systems.items():
        for r in sysm.recipients:
            named.setdefault(r, ("systems", s, "recipients"))
    for t, tr in m.transfers.items():
        for r in tr.recipients:
            named.setdefault(r, ("transfers", t, "recipients"))
    for c, ck in m.cookies.items():
        if ck.recipient:
            named.setdefault(ck.recipient, ("cookies", c, "recipient"))
    for rkey in m.recipients:
        named.setdefault(rkey, ("recipients", rkey))
    for rkey, path in named.items():
        if rkey in m.recipients and rkey not in disclosed:
            yield Finding(
                path,
                f"recipient {rkey} receives data but no activity discloses it",
                "list it under recipients: of the activities that send it data",
                key_position=len(path) == 2,
            )


@rule("L008", "activity-retention", "Every activity must say how long its data is kept.")
def activity_retention(ctx: LintContext) -> Iterator[Finding]:
    for key, act in ctx.manifest.activities.items():
        if not act.retention:
            yield Finding(
                ("activities", key),
                f"activity {key} has no retention rule",
                "add retention: <rule key> (defined under retention:)",
                key_position=True,
            )


@rule("L009", "reference-cycle", "Directed dataset references must not loop unless an explicit `after` orders them.")
def reference_cycle(ctx: LintContext) -> Iterator[Finding]:
    m = ctx.manifest
    edges: dict[str, set[str]] = {}
    where: dict[tuple[str, str], tuple[str | int, ...]] = {}
    ordered: set[str] = set()
    for dkey, ds in m.datasets.items():
        for cname, coll in ds.collections.items():
            if coll.after:
                ordered.add(f"{dkey}.{cname}")
        for cname, fpath, fld in ds.walk_fields():
            here = f"{dkey}.{cname}"
            for ref in fld.references:
                there = ".".join(ref.to.split(".")[:2])
                if ref.direction is None or there == here:
                    continue
                a, b = (here, there) if ref.direction.value == "to" else (there, here)
                edges.setdefault(a, set()).add(b)
                where.setdefault((a, b), ("datasets", dkey, "collections", cname, "fields", fpath[0]))
    for cycle in _cycles(edges):
        if any(c in ordered for c in cycle):
            continue
        path = where.get((cycle[0], cycle[1 % len(cycle)]), ("datasets",))
        yield Finding(
            path,
            "dataset references form a cycle: " + " -> ".join([*cycle, cycle[0]]),
            "break the loop or give one collection an explicit after:",
            key_position=True,
        )


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One representative cycle per strongly connected component (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(edges.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, pending = work[-1]
            if pending:
                nxt = pending.pop(0)
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(edges.get(nxt, ()))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                if len(comp) > 1 or node in edges.get(node, ()):
                    out.append(sorted(comp))
    return out


@rule("L010", "unused-consent", "A consent key nothing depends on collects choices that change nothing.")
def unused_consent(ctx: LintContext) -> Iterator[Finding]:
    m = ctx.manifest
    used = {k for a in m.activities.values() for k in a.consent_keys()}
    used |= {c.consent for c in m.cookie_categories.values() if c.consent}
    used |= {c.consent for c in m.marketing_channels.values() if c.consent}
    used |= {c.tracking_consent for c in m.marketing_channels.values() if c.tracking_consent}
    for key in m.consents:
        if key not in used:
            yield Finding(
                ("consents", key),
                f"consent key {key} switches off no activity, cookie category or channel",
                "name it from the activity it governs, or remove it",
                Severity.WARNING,
                key_position=True,
            )


@rule("L011", "basis-purposes", "A legal basis can only be claimed for purposes of its own activity.")
def basis_purposes(ctx: LintContext) -> Iterator[Finding]:
    for key, act in ctx.manifest.activities.items():
        for i, claim in enumerate(act.bases):
            for j, p in enumerate(claim.purposes):
                if p not in act.purposes:
                    yield Finding(
                        ("activities", key, "bases", i, "purposes", j),
                        f"basis {claim.basis} of {key} names purpose {p}, which the activity does not list",
                        "add it to the activity's purposes or remove it here",
                    )


@rule("L012", "minors-no-sale", "Data of people under the notice's age line is never sold or shared for ads.")
def minors_no_sale(ctx: LintContext) -> Iterator[Finding]:
    m = ctx.manifest
    tax = m.taxonomy
    child = _covered_by(ctx.sensitive(Sensitivity.CHILD))
    minor_subjects = {k for k, s in tax.subjects.items() if s.minor}
    for key, act in m.activities.items():
        tags = {t for p in act.purposes if p in tax.purposes for t in tax.purposes[p].tags}
        buyers = _sale_recipients(ctx, act)
        if not (tags & _SALE_TAGS or buyers):
            continue
        minors = [s for s in act.subjects if s in minor_subjects]
        _, child_data = _reaching(ctx, act, child)
        if minors or child_data:
            how = "sale or targeted ads" if tags & _SALE_TAGS else f"recipient {', '.join(buyers)} (sale/sharing)"
            yield Finding(
                ("activities", key, "purposes" if tags & _SALE_TAGS else "recipients"),
                f"activity {key} processes children's data ({'; '.join(minors + child_data)}) for {how}",
                "children's data belongs in activities that neither sell nor target ads",
            )


def _sale_recipients(ctx: LintContext, act: Activity) -> list[str]:
    """The activity's recipients to which disclosing is a sale or sharing."""
    recipients = ctx.manifest.recipients
    return [r for r in act.recipients if r in recipients and (recipients[r].sale or recipients[r].sharing)]


@rule("L013", "fact-columns", "A retention fact must name a column the collection declares, so it is read and checked.")
def fact_columns(ctx: LintContext) -> Iterator[Finding]:
    for dkey, dataset in ctx.manifest.datasets.items():
        for ckey, coll in dataset.collections.items():
            for fact, column in coll.facts.items():
                if column not in coll.fields:
                    yield Finding(
                        ("datasets", dkey, "collections", ckey, "facts", fact.value),
                        f"{dkey}.{ckey}: fact {fact.value} names column {column}, which the collection does not list",
                        f"add {column} to the collection's fields (with its data_type), or name another column",
                    )


@rule(
    "L014",
    "retention-facts",
    "A retention rule can only be enforced where some data tells when its clock starts.",
)
def retention_facts(ctx: LintContext) -> Iterator[Finding]:
    m = ctx.manifest
    declared: dict[str, set[str]] = {}  # system -> facts its collections declare
    for dataset in m.datasets.values():
        for coll in dataset.collections.values():
            declared.setdefault(dataset.system or "", set()).update(f.value for f in coll.facts)
    for key, act in m.activities.items():
        rule_ = m.retention.get(act.retention or "")
        if rule_ is None:
            continue
        starts = {t.value for t in rule_.triggers}
        for system in act.systems:
            if system in declared and not starts & declared[system]:
                yield Finding(
                    ("activities", key, "retention"),
                    f"retention rule {act.retention} of {key} starts its clock at {' or '.join(sorted(starts))}, "
                    f"and no collection of system {system} says which column holds it",
                    "add facts: {" + f"{sorted(starts)[0]}: COLUMN" + "} to the collections of that system",
                    Severity.WARNING,
                )
