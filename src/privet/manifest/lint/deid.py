"""K-rules: the de-identification section names real categories, generalisers and columns, and can be measured."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from privet.deid.generalise import REGISTRY, GeneraliseError, make_generaliser
from privet.deid.pseudonymise import PseudonymError, check_domain
from privet.manifest.deidentification import DeidRule, Role
from privet.manifest.lint.registry import Finding, LintContext, rule
from privet.manifest.suggest import did_you_mean

Path = tuple[str | int, ...]


def _rules(ctx: LintContext) -> Iterator[tuple[Path, str, DeidRule]]:
    """(path, name, rule) for every rule of the section, of each profile, and each profile's column rules."""
    section = ctx.manifest.deidentification
    for key, r in section.rules.items():
        yield ("deidentification", "rules", key), key, r
    for name, spec in section.profiles.items():
        for key, r in spec.rules.items():
            yield ("deidentification", "profiles", name, "rules", key), key, r
        for key, r in spec.columns.items():
            yield ("deidentification", "profiles", name, "columns", key), key, r


@rule("K001", "deid-unknown-category", "A de-identification rule for a category nobody uses protects nothing.")
def unknown_category(ctx: LintContext) -> Iterator[Finding]:
    known = ctx.manifest.taxonomy.categories
    section = ctx.manifest.deidentification
    sites: list[tuple[Path, str]] = [(("deidentification", "rules", k), k) for k in section.rules]
    for name, spec in section.profiles.items():
        sites += [(("deidentification", "profiles", name, "rules", k), k) for k in spec.rules]
        sites += [(("deidentification", "profiles", name, "categories", i), c) for i, c in enumerate(spec.categories)]
    for path, key in sites:
        if key not in known:
            yield Finding(
                path,
                f"unknown data category {key}{did_you_mean(key, known)}",
                hint="use a key of the taxonomy (privet taxonomy categories)",
                key_position=path[-2] == "rules",
            )


@rule("K002", "deid-bad-action", "An action that cannot run (no generaliser, bad options, no domain) fails the export.")
def bad_action(ctx: LintContext) -> Iterator[Finding]:
    for path, _, r in _rules(ctx):
        if r.action == "generalise":
            if r.generaliser is None:
                yield Finding(
                    path, "generalise needs a generaliser", hint="generaliser: " + " | ".join(sorted(REGISTRY))
                )
            elif r.generaliser not in REGISTRY:
                yield Finding(
                    (*path, "generaliser"),
                    f"unknown generaliser {r.generaliser}{did_you_mean(r.generaliser, REGISTRY)}",
                    hint="one of " + ", ".join(sorted(REGISTRY)),
                )
            else:
                try:
                    make_generaliser(r.generaliser, r.config)
                except GeneraliseError as exc:
                    yield Finding((*path, "config"), str(exc))
            if r.longitude_column is not None and (path[-2] != "columns" or r.generaliser != "grid"):
                yield Finding(
                    (*path, "longitude_column"),
                    "longitude_column belongs to a column rule of the grid generaliser",
                    hint="give the latitude column a rule under columns:",
                )
        elif r.action == "pseudonymise":
            if r.domain is None:
                yield Finding(path, "pseudonymise needs a domain", hint="domain: email, phone, user_id, ...")
            else:
                try:
                    check_domain(r.domain)
                except PseudonymError as exc:
                    yield Finding((*path, "domain"), str(exc))
        unused = [f for f in ("domain", "generaliser") if getattr(r, f) is not None and r.action != _NEEDS[f]]
        for name in unused:
            yield Finding(
                (*path, name),
                f"{name} is ignored by action {r.action}",
                hint=f"remove {name}, or use action: {_NEEDS[name]}",
            )


_NEEDS = {"domain": "pseudonymise", "generaliser": "generalise"}


@rule("K003", "deid-measured-dropped", "A quasi-identifier or sensitive column that is dropped cannot be measured.")
def measured_but_dropped(ctx: LintContext) -> Iterator[Finding]:
    for path, _, r in _rules(ctx):
        if r.role is not None and r.action == "drop":
            yield Finding(
                (*path, "role"),
                f"a {r.role.value.replace('_', '-')} is dropped, so k and l cannot be measured on it",
                hint="generalise or keep it, or remove the role",
            )


def _roles(rules: Mapping[str, DeidRule]) -> set[Role]:
    return {r.role for r in rules.values() if r.role is not None and r.action != "drop"}


@rule("K004", "deid-unmeasurable-profile", "A profile asking for k or l needs the columns they are measured on.")
def unmeasurable_profile(ctx: LintContext) -> Iterator[Finding]:
    section = ctx.manifest.deidentification
    for name, spec in section.profiles.items():
        roles = _roles(section.rules) | _roles(spec.rules) | _roles(spec.columns)
        path: Path = ("deidentification", "profiles", name)
        if spec.k > 1 and Role.QUASI_IDENTIFIER not in roles:
            yield Finding(
                (*path, "k"),
                f"profile {name} asks for k={spec.k} but no rule is a quasi-identifier",
                hint="mark the categories that could single a person out with role: quasi_identifier",
            )
        if spec.l is not None and Role.SENSITIVE not in roles:
            yield Finding(
                (*path, "l"),
                f"profile {name} asks for l={spec.l} but no rule is sensitive",
                hint="mark the sensitive category with role: sensitive, or remove l",
            )


@rule("K005", "deid-unknown-column", "A column rule naming a field the datasets lack is never applied.")
def unknown_column(ctx: LintContext) -> Iterator[Finding]:
    m = ctx.manifest
    collections = {f"{d}.{c}": set(coll.fields) for d, ds in m.datasets.items() for c, coll in ds.collections.items()}
    for name, spec in m.deidentification.profiles.items():
        for key in spec.columns:
            owner = next((c for c in collections if key.startswith(c + ".")), None)
            if owner is None:
                if key.count(".") >= 2:  # looks qualified, but names no collection
                    yield Finding(
                        ("deidentification", "profiles", name, "columns", key),
                        f"no collection of the datasets holds {key}",
                        key_position=True,
                        hint="write dataset.collection.field, or a bare column name",
                    )
                continue
            column = key.removeprefix(owner + ".")
            if column not in collections[owner]:
                yield Finding(
                    ("deidentification", "profiles", name, "columns", key),
                    f"{owner} has no field {column}{did_you_mean(column, collections[owner])}",
                    key_position=True,
                    hint="fix the field name",
                )
