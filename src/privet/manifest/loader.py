"""Parsed YAML documents to one validated Manifest, with every error mapped to its file and line."""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from privet.manifest.diagnostics import Diagnostic, Location, ManifestUnreadable
from privet.manifest.model import KEYED_SECTIONS, SINGLE_SECTIONS, Manifest
from privet.manifest.source import Document, gc_paused
from privet.manifest.suggest import did_you_mean
from privet.taxonomy import Taxonomy

SECTIONS = SINGLE_SECTIONS + KEYED_SECTIONS


@dataclass
class SourceIndex:
    """Which document each section entry came from, so any path in the manifest maps to file:line:col."""

    owners: dict[tuple[str, ...], Document] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def document(self, path: Sequence[str | int]) -> Document | None:
        if not path:
            return None
        section = str(path[0])
        if len(path) > 1 and (section, str(path[1])) in self.owners:
            return self.owners[(section, str(path[1]))]
        return self.owners.get((section,))

    def locate(self, path: Sequence[str | int]) -> Location | None:
        doc = self.document(path)
        return doc.locate(path) if doc else None

    def key_location(self, path: Sequence[str | int]) -> Location | None:
        doc = self.document(path)
        return doc.key_location(path) if doc else None


@dataclass(frozen=True)
class LoadedManifest:
    manifest: Manifest
    index: SourceIndex


def merge(documents: Sequence[Document]) -> tuple[dict[str, Any], SourceIndex]:
    """Merge the documents' sections; raise ManifestUnreadable listing every structural problem."""
    merged: dict[str, Any] = {}
    index = SourceIndex(files=[d.file for d in documents])
    problems: list[Diagnostic] = []
    for doc in documents:
        if doc.data is None:
            continue
        if not isinstance(doc.data, dict):
            problems.append(Diagnostic("S001", "a manifest file must be a mapping of sections", doc.locate(())))
            continue
        for section, body in doc.data.items():
            if section not in SECTIONS:
                problems.append(
                    Diagnostic(
                        "S002",
                        f"unknown section {section!r}{did_you_mean(section, SECTIONS)}",
                        doc.key_location((section,)),
                        hint="sections: " + ", ".join(sorted(SECTIONS)),
                    )
                )
                continue
            if section in SINGLE_SECTIONS:
                first = index.owners.get((section,))
                if first is not None:
                    problems.append(_duplicate(section, doc, (section,), first))
                    continue
                index.owners[(section,)] = doc
                merged[section] = body
                continue
            if body is None:
                continue
            if not isinstance(body, dict):
                problems.append(
                    Diagnostic("S001", f"section {section!r} must map keys to entries", doc.locate((section,)))
                )
                continue
            target = merged.setdefault(section, {})
            for key, entry in body.items():
                first = index.owners.get((section, key))
                if first is not None:
                    problems.append(_duplicate(f"{section}.{key}", doc, (section, key), first))
                    continue
                index.owners[(section, key)] = doc
                target[key] = entry
    if problems:
        raise ManifestUnreadable(problems)
    return merged, index


def _duplicate(what: str, doc: Document, path: tuple[str, ...], first: Document) -> Diagnostic:
    return Diagnostic(
        "D001",
        f"{what} is defined twice; first at {first.key_location(path)}",
        doc.key_location(path),
        hint="keep one definition or rename one key",
    )


def load(documents: Sequence[Document], defaults: Taxonomy) -> LoadedManifest:
    """Validate merged documents into a Manifest whose taxonomy is `defaults` plus its own additions."""
    with gc_paused():
        return _load(documents, defaults)


def _load(documents: Sequence[Document], defaults: Taxonomy) -> LoadedManifest:
    merged, index = merge(documents)
    try:
        manifest = Manifest.model_validate(merged)
    except ValidationError as exc:
        raise ManifestUnreadable(_schema_errors(exc, index)) from None
    additions = Taxonomy(categories=manifest.data_categories, purposes=manifest.purposes, subjects=manifest.subjects)
    clashes = [
        Diagnostic(
            "D002",
            f"{section} {key!r} is already in the default taxonomy",
            index.key_location((section, key)),
            hint="use the default entry, or give yours another key",
        )
        for section, mine, theirs in (
            ("data_categories", manifest.data_categories, defaults.categories),
            ("purposes", manifest.purposes, defaults.purposes),
            ("subjects", manifest.subjects, defaults.subjects),
        )
        for key in mine
        if key in theirs
    ]
    if clashes:
        raise ManifestUnreadable(clashes)
    taxonomy = (
        defaults.merged(additions) if (additions.categories or additions.purposes or additions.subjects) else defaults
    )
    return LoadedManifest(manifest.model_copy(update={"taxonomy": taxonomy}), index)


def _schema_errors(exc: ValidationError, index: SourceIndex) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        dotted = ".".join(str(p) for p in loc)
        kind = err["type"]
        if kind == "extra_forbidden":
            name = str(loc[-1])
            allowed = _field_names(loc[:-1])
            out.append(
                Diagnostic(
                    "S002",
                    f"unknown key {name!r} in {'.'.join(str(p) for p in loc[:-1]) or 'the manifest'}"
                    + did_you_mean(name, allowed),
                    index.key_location(loc),
                    hint=("allowed: " + ", ".join(allowed)) if allowed else None,
                )
            )
        elif kind == "missing":
            out.append(
                Diagnostic(
                    "S003",
                    f"missing required key {str(loc[-1])!r} in {dotted.rpartition('.')[0] or 'the manifest'}",
                    index.locate(loc[:-1]),
                    hint=f"add {loc[-1]}:",
                )
            )
        else:
            out.append(Diagnostic("S001", f"{dotted}: {err['msg']}", index.locate(loc)))
    return out


def _field_names(loc: Sequence[str | int]) -> list[str]:
    """The keys allowed at `loc`, found by walking the model's type annotations."""
    current: Any = Manifest
    for step in loc:
        current = _step(current, step)
        if current is None:
            return []
    model = _model_of(current)
    return sorted(model.model_fields) if model else []


def _step(tp: Any, step: str | int) -> Any:
    model = _model_of(tp)
    if model is not None:
        info = model.model_fields.get(str(step))
        return info.annotation if info else None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is dict:
        return args[1]
    if origin is tuple or origin is list:
        return args[0]
    return None


def _model_of(tp: Any) -> type[BaseModel] | None:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    if typing.get_origin(tp) in (typing.Union, types.UnionType):  # X | None
        for arg in typing.get_args(tp):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                return arg
    return None
