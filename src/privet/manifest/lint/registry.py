"""A lint rule is a code, a one-line rationale and a check that yields findings at manifest paths."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from privet.law.catalogue import Catalogue, catalogue
from privet.manifest.diagnostics import Diagnostic, Severity
from privet.manifest.loader import LoadedManifest
from privet.manifest.model import Manifest
from privet.manifest.source import gc_paused
from privet.taxonomy import Sensitivity


@dataclass(frozen=True, slots=True)
class Finding:
    path: tuple[str | int, ...]
    message: str
    hint: str | None = None
    severity: Severity = Severity.ERROR
    key_position: bool = False  # point at the key rather than its value


@dataclass(frozen=True)
class LintContext:
    manifest: Manifest
    law: Catalogue = field(default_factory=catalogue)
    _expanded: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict, repr=False)
    _sensitive: dict[Sensitivity | None, frozenset[str]] = field(default_factory=dict, repr=False)

    def jurisdictions_of(self, keys: Sequence[str]) -> tuple[str, ...]:
        """Group keys expanded, the manifest's own jurisdictions when none are given (memoised: rules ask often)."""
        wanted = tuple(keys) or self.manifest.notice.jurisdictions
        out = self._expanded.get(wanted)
        if out is None:
            out = self._expanded[wanted] = self.law.expand(wanted)
        return out

    def sensitive(self, kind: Sensitivity | None = None) -> frozenset[str]:
        """The category keys that are sensitive (of `kind`, or of any kind)."""
        out = self._sensitive.get(kind)
        if out is None:
            cats = self.manifest.taxonomy.categories.values()
            out = frozenset(c.key for c in cats if (c.sensitive if kind is None else kind in c.sensitive))
            self._sensitive[kind] = out
        return out


Check = Callable[[LintContext], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    rationale: str
    check: Check


_BUILTIN: list[Rule] = []


def rule(code: str, name: str, rationale: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        _BUILTIN.append(Rule(code, name, rationale, check))
        return check

    return register


def builtin_rules() -> list[Rule]:
    # Importing the rule modules registers them.
    from privet.manifest.lint import deid, practice, references  # noqa: F401

    return list(_BUILTIN)


def lint(loaded: LoadedManifest, rules: Iterable[Rule] | None = None) -> list[Diagnostic]:
    with gc_paused():  # the rules build indexes over the whole manifest (see gc_paused)
        return _lint(loaded, rules)


def _lint(loaded: LoadedManifest, rules: Iterable[Rule] | None) -> list[Diagnostic]:
    ctx = LintContext(loaded.manifest)
    out: list[Diagnostic] = []
    for r in builtin_rules() if rules is None else rules:
        for f in r.check(ctx):
            where = loaded.index.key_location(f.path) if f.key_position else loaded.index.locate(f.path)
            out.append(Diagnostic(r.code, f.message, where, f.severity, f.hint))
    return sorted(out, key=_order)


def _order(d: Diagnostic) -> tuple[str, int, int, str]:
    loc = d.location
    return (loc.file, loc.line, loc.column, d.code) if loc else ("", 0, 0, d.code)


def iter_paths(prefix: tuple[str | int, ...], values: Sequence[str]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    for i, value in enumerate(values):
        yield (*prefix, i), value
