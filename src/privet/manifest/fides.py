"""Fides interoperability: Fides `dataset:` and `system:` resources to privet manifest sections, and back.

Fides datasets map onto privet `datasets` almost field for field; a Fides system becomes a privet `systems`
entry and each of its privacy declarations an `activities` entry. Whatever privet has no place for is
reported as a warning naming where it was, never dropped silently. Pure: text or data in, data or text out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from privet.manifest.datasets import Dataset, DatasetCollection, Field, IdentityType
from privet.manifest.diagnostics import Location, ManifestUnreadable
from privet.manifest.entities import System, SystemKind
from privet.manifest.model import Manifest
from privet.manifest.processing import Activity
from privet.manifest.source import parse_yaml

__all__ = [
    "FidesFormatError",
    "FidesImport",
    "dump_yaml",
    "export_fides_text",
    "fides_to_manifest",
    "import_fides_text",
    "manifest_to_fides",
]

Path = tuple[str | int, ...]

# Fides `system_type` is free text; these are the words privet writes for each kind, and reads back.
SYSTEM_TYPES: dict[SystemKind, str] = {
    SystemKind.SITE: "Website",
    SystemKind.APP: "Application",
    SystemKind.SERVICE: "Service",
    SystemKind.DEVICE: "Device",
    SystemKind.STORE: "Database",
    SystemKind.MANUAL: "Manual process",
}
_KIND_WORDS: dict[str, SystemKind] = {
    **{word.lower(): kind for kind, word in SYSTEM_TYPES.items()},
    **{kind.value: kind for kind in SystemKind},
    "web site": SystemKind.SITE,
    "web": SystemKind.SITE,
    "mobile app": SystemKind.APP,
    "data store": SystemKind.STORE,
    "datastore": SystemKind.STORE,
    "data warehouse": SystemKind.STORE,
    "warehouse": SystemKind.STORE,
}

# Fides `legal_basis_for_processing` (GDPR Art. 6(1)) to privet legal-basis keys.
LEGAL_BASES: dict[str, str] = {
    "Consent": "consent",
    "Contract": "contract",
    "Legal obligations": "legal_obligation",
    "Vital interests": "vital_interests",
    "Public interest": "public_task",
    "Legitimate interests": "legitimate_interests",
}
_FIDES_BASES = {v: k for k, v in LEGAL_BASES.items()}

# Fides `special_category_legal_basis` (GDPR Art. 9(2)) to privet special-condition keys.
SPECIAL_CONDITIONS: dict[str, str] = {
    "Explicit consent": "explicit_consent",
    "Employment, social security and social protection": "employment_social_security",
    "Vital interests": "vital_interests",
    "Not-for-profit bodies": "not_for_profit_body",
    "Made public by the data subject": "made_public_by_subject",
    "Legal claims or judicial acts": "legal_claims",
    "Reasons of substantial public interest (with a basis in law)": "substantial_public_interest",
    "Health or social care (with a basis in law)": "health_or_social_care",
    "Public health (with a basis in law)": "public_health",
    "Archiving, research and statistics (with a basis in law)": "archiving_research_statistics",
}
_FIDES_CONDITIONS = {v: k for k, v in SPECIAL_CONDITIONS.items()}

# Keys privet reads, per Fides object; any other key with a non-default value is reported as dropped.
_DATASET_KEYS = frozenset({"fides_key", "name", "description", "collections"})
_COLLECTION_KEYS = frozenset({"name", "description", "fields", "fides_meta", "fidesops_meta"})
_COLLECTION_META_KEYS = frozenset({"after", "erase_after", "skip_processing"})
_FIELD_KEYS = frozenset({"name", "description", "data_categories", "fides_meta", "fidesops_meta", "fields"})
_FIELD_META_KEYS = frozenset(
    {"identity", "references", "primary_key", "data_type", "length", "masking_strategy_override"}
)
_REFERENCE_KEYS = frozenset({"dataset", "field", "direction"})
_MASKING_KEYS = frozenset({"strategy", "configuration"})
_SYSTEM_KEYS = frozenset(
    {"fides_key", "name", "description", "system_type", "privacy_declarations", "dataset_references"}
)
_DECLARATION_KEYS = frozenset(
    {
        "name",
        "data_categories",
        "data_use",
        "data_subjects",
        "legal_basis_for_processing",
        "processes_special_category_data",
        "special_category_legal_basis",
        "dataset_references",
    }
)
# Fides defaults that carry no information.
_RESOURCE_DEFAULTS: dict[str, object] = {"organization_fides_key": "default_organization"}
_SYSTEM_DEFAULTS: dict[str, object] = {
    **_RESOURCE_DEFAULTS,
    "administrating_department": "Not defined",
    "processes_personal_data": True,
}
_DECLARATION_DEFAULTS: dict[str, object] = {"flexible_legal_basis_for_processing": True}

_FIDES_KEY = re.compile(r"^[A-Za-z0-9_.<>-]+$")
_IDENTITIES = frozenset(t.value for t in IdentityType)


def render_path(path: Path) -> str:
    """("dataset", 0, "collections", 2) -> "dataset[0].collections[2]"."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out


def _say(path: Path, message: str, location: Location | None = None) -> str:
    parts = [str(location)] if location else []
    if path or not parts:
        parts.append(render_path(path) or "top level")
    return ": ".join([*parts, message])


class FidesFormatError(ValueError):
    """A Fides file privet cannot read; `path` names the place, `location` the file:line when known."""

    def __init__(self, path: Path, problem: str, location: Location | None = None) -> None:
        super().__init__(_say(path, problem, location))
        self.path = path
        self.problem = problem
        self.location = location


@dataclass(frozen=True)
class FidesImport:
    sections: dict[str, Any]  # `systems`, `datasets`, `activities`, as a manifest file writes them
    warnings: tuple[str, ...] = ()  # what privet could not keep, and what must be added by hand

    def to_yaml(self) -> str:
        """A manifest file, with the warnings as a comment on top so they travel with it."""
        head = "# Imported from Fides.\n"
        if self.warnings:
            head += "# Review before use:\n" + "".join(f"#   - {w}\n" for w in self.warnings)
        return head + dump_yaml(self.sections)


class _Dumper(yaml.SafeDumper):
    """Lists of plain values on one line (`categories: [a, b]`), as manifests are written by hand."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(isinstance(item, str | int | float | bool) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def dump_yaml(data: Mapping[str, Any]) -> str:
    return yaml.dump(dict(data), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


# --- Fides to privet -----------------------------------------------------------------------------------


def fides_to_manifest(data: object) -> FidesImport:
    """Parsed Fides YAML (top-level `dataset:` and/or `system:` lists) to privet manifest sections."""
    importer = _Importer()
    sections = importer.run(data)
    return FidesImport(sections, tuple(_say(p, m) for p, m in importer.notes))


def import_fides_text(text: str, file: str = "<fides>") -> FidesImport:
    """Like `fides_to_manifest`, from YAML text; errors and warnings carry file:line:column."""
    try:
        doc = parse_yaml(text, file)
    except ManifestUnreadable as exc:
        if not exc.diagnostics:
            raise FidesFormatError((), "unreadable YAML") from None
        first = exc.diagnostics[0]
        raise FidesFormatError((), first.message, first.location) from None
    importer = _Importer()
    try:
        sections = importer.run(doc.data)
    except FidesFormatError as exc:
        raise FidesFormatError(exc.path, exc.problem, doc.key_location(exc.path)) from None
    located = sorted(((doc.key_location(p), p, m) for p, m in importer.notes), key=lambda n: (n[0].line, n[0].column))
    return FidesImport(sections, tuple(_say(p, m, loc) for loc, p, m in located))


class _Importer:
    def __init__(self) -> None:
        self.notes: list[tuple[Path, str]] = []
        # dataset key -> (system key, where the link is written, written on a declaration rather than the system)
        self.links: dict[str, tuple[str, Path, bool]] = {}

    def run(self, data: object) -> dict[str, Any]:
        top = _mapping(data, (), "a Fides file")
        if "dataset" not in top and "system" not in top:
            raise FidesFormatError((), "no `dataset:` or `system:` list; privet imports Fides datasets and systems")
        for key, value in top.items():
            if key not in ("dataset", "system") and not _blank(value):
                self.note((key,), f"Fides `{key}` resources are not imported")
        datasets: dict[str, dict[str, Any]] = {}
        for path, raw in _items(top, "dataset", ()):
            key, entry = self.dataset(path, raw)
            if key in datasets:
                raise FidesFormatError((*path, "fides_key"), f"dataset {key!r} is defined twice")
            datasets[key] = entry
        systems: dict[str, dict[str, Any]] = {}
        activities: dict[str, dict[str, Any]] = {}
        for path, raw in _items(top, "system", ()):
            self.system(path, raw, systems, activities)
        for dkey, (skey, path, declared) in self.links.items():
            if dkey not in datasets:
                self.note(path, f"dataset {dkey} is not in this file; its link to system {skey} is not kept")
                continue
            if declared:
                self.note(path, f"dataset {dkey} is linked to the whole system {skey}, not one activity")
            entry = datasets[dkey]
            datasets[dkey] = {k: v for k, v in entry.items() if k != "collections"}
            datasets[dkey] |= {"system": skey, "collections": entry["collections"]}
        sections = {"systems": systems, "datasets": datasets, "activities": activities}
        sections = {k: v for k, v in sections.items() if v}
        _check(sections)
        return sections

    def note(self, path: Path, message: str) -> None:
        self.notes.append((path, message))

    def dropped(
        self, obj: dict[str, Any], path: Path, known: frozenset[str], what: str, defaults: Mapping[str, object]
    ) -> None:
        for key, value in obj.items():
            if key in known or (value == defaults[key] if key in defaults else _blank(value)):
                continue
            self.note((*path, key), f"`{key}` of {what} is dropped; privet has no place for it")

    def meta(self, obj: dict[str, Any], path: Path) -> tuple[Path, dict[str, Any]]:
        for key in ("fides_meta", "fidesops_meta"):  # fidesops_meta: the older name Fides still reads
            if obj.get(key) is not None:
                return (*path, key), _mapping(obj[key], (*path, key), f"`{key}`")
        return (*path, "fides_meta"), {}

    def dataset(self, path: Path, raw: object) -> tuple[str, dict[str, Any]]:
        obj = _mapping(raw, path, "a dataset")
        key = _key(obj, path, "dataset")
        if "." in key:
            raise FidesFormatError(
                (*path, "fides_key"), f"dataset key {key!r} contains '.'; privet names fields dataset.collection.field"
            )
        out = _titles(obj, path)
        collections: dict[str, Any] = {}
        for cpath, craw in _items(obj, "collections", path, required=True):
            name, entry = self.collection(cpath, craw, key)
            if name in collections:
                raise FidesFormatError((*cpath, "name"), f"collection {name!r} appears twice in dataset {key}")
            collections[name] = entry
        out["collections"] = collections
        self.dropped(obj, path, _DATASET_KEYS, f"dataset {key}", _RESOURCE_DEFAULTS)
        return key, out

    def collection(self, path: Path, raw: object, dataset: str) -> tuple[str, dict[str, Any]]:
        obj = _mapping(raw, path, "a collection")
        name = _name(obj, path, "collection")
        here = f"{dataset}.{name}"
        out = _titles(obj, path, name=False)
        mpath, meta = self.meta(obj, path)
        for key in ("after", "erase_after"):
            targets = _texts(meta, key, mpath)
            for i, target in enumerate(targets):
                if target.count(".") != 1:
                    raise FidesFormatError((*mpath, key, i), f"{target!r} must name dataset.collection")
            if targets:
                out[key] = targets
        if _flag(meta, "skip_processing", mpath):
            out["skip_processing"] = True
        out["fields"] = self.fields(obj, path, here, required=True)
        self.dropped(meta, mpath, _COLLECTION_META_KEYS, f"collection {here}", {"skip_processing": False})
        self.dropped(obj, path, _COLLECTION_KEYS, f"collection {here}", {})
        return name, out

    def fields(self, obj: dict[str, Any], path: Path, parent: str, required: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for fpath, fraw in _items(obj, "fields", path, required=required):
            name, entry = self.field(fpath, fraw, parent)
            if name in out:
                raise FidesFormatError((*fpath, "name"), f"field {name!r} appears twice in {parent}")
            out[name] = entry
        return out

    def field(self, path: Path, raw: object, parent: str) -> tuple[str, dict[str, Any]]:
        obj = _mapping(raw, path, "a field")
        name = _name(obj, path, "field")
        here = f"{parent}.{name}"
        out: dict[str, Any] = {}
        if categories := _texts(obj, "data_categories", path):
            out["categories"] = categories
        out |= _titles(obj, path, name=False)
        mpath, meta = self.meta(obj, path)
        if identity := _text(meta, "identity", mpath):
            out["identity"] = identity
            if identity not in _IDENTITIES:
                known = ", ".join(sorted(_IDENTITIES))
                self.note((*mpath, "identity"), f"identity {identity!r} of {here} is not one of {known}")
        if references := [self.reference(rpath, rraw) for rpath, rraw in _items(meta, "references", mpath)]:
            out["references"] = references
        if _flag(meta, "primary_key", mpath):
            out["primary_key"] = True
        if data_type := _text(meta, "data_type", mpath):
            out["data_type"] = data_type
        if masking := self.masking(meta, mpath, here):
            out["masking"] = masking
        length = meta.get("length")
        if length is not None:
            if not isinstance(length, int) or isinstance(length, bool) or length < 1:
                raise FidesFormatError((*mpath, "length"), f"length must be a positive whole number, not {length!r}")
            out["length"] = length
        if nested := self.fields(obj, path, here, required=False):
            out["fields"] = nested
        self.dropped(meta, mpath, _FIELD_META_KEYS, f"field {here}", {})
        self.dropped(obj, path, _FIELD_KEYS, f"field {here}", {})
        return name, out

    def reference(self, path: Path, raw: object) -> dict[str, Any]:
        obj = _mapping(raw, path, "a reference")
        dataset = _text(obj, "dataset", path, required=True)
        field = _text(obj, "field", path, required=True)
        if "." in dataset:
            raise FidesFormatError((*path, "dataset"), f"dataset key {dataset!r} contains '.'; privet cannot name it")
        if "." not in field.strip("."):
            raise FidesFormatError((*path, "field"), f"{field!r} must name collection.field")
        out: dict[str, Any] = {"to": f"{dataset}.{field}"}
        direction = obj.get("direction")
        if direction is not None:
            if direction not in ("from", "to"):
                raise FidesFormatError((*path, "direction"), f"direction must be `from` or `to`, not {direction!r}")
            out["direction"] = direction
        self.dropped(obj, path, _REFERENCE_KEYS, "a reference", {})
        return out

    def masking(self, meta: dict[str, Any], mpath: Path, here: str) -> str | None:
        raw = meta.get("masking_strategy_override")
        if raw is None:
            return None
        path = (*mpath, "masking_strategy_override")
        obj = _mapping(raw, path, "a masking strategy override")
        strategy = _text(obj, "strategy", path, required=True)
        config = obj.get("configuration")
        if config is not None:
            _mapping(config, (*path, "configuration"), "a masking configuration")
        if config:
            shown = json.dumps(config, sort_keys=True, default=str)
            kept = f"only {strategy!r} is kept"
            self.note((*path, "configuration"), f"masking configuration of {here} is dropped, {kept}: {shown}")
        self.dropped(obj, path, _MASKING_KEYS, f"the masking override of {here}", {})
        return strategy

    def system(self, path: Path, raw: object, systems: dict[str, Any], activities: dict[str, Any]) -> None:
        obj = _mapping(raw, path, "a system")
        key = _key(obj, path, "system")
        if key in systems:
            raise FidesFormatError((*path, "fides_key"), f"system {key!r} is defined twice")
        out = _titles(obj, path)
        system_type = _text(obj, "system_type", path, required=True)
        kind = _KIND_WORDS.get(system_type.strip().lower())
        if kind is None:
            kind = SystemKind.SERVICE
            words = ", ".join(SYSTEM_TYPES.values())
            self.note((*path, "system_type"), f"system_type {system_type!r} of {key} read as service (known: {words})")
        out["kind"] = kind.value
        systems[key] = out
        for rpath, dkey in _text_items(obj, "dataset_references", path):
            self.link(dkey, key, rpath, declared=False)
        for dpath, draw in _items(obj, "privacy_declarations", path, required=True):
            akey, activity = self.declaration(dpath, draw, key, activities)
            activities[akey] = activity
        self.dropped(obj, path, _SYSTEM_KEYS, f"system {key}", _SYSTEM_DEFAULTS)

    def declaration(
        self, path: Path, raw: object, system: str, taken: Mapping[str, object]
    ) -> tuple[str, dict[str, Any]]:
        obj = _mapping(raw, path, "a privacy declaration")
        name = _text(obj, "name", path)
        data_use = _text(obj, "data_use", path, required=True)
        categories = _texts(obj, "data_categories", path, required=True)
        subjects = _texts(obj, "data_subjects", path)
        key = _unique(f"{system}_{_slug(name or data_use)}", taken)
        out: dict[str, Any] = {"name": name} if name else {}
        out["purposes"] = [data_use]
        basis = _text(obj, "legal_basis_for_processing", path)
        if basis:
            if basis not in LEGAL_BASES:
                allowed = ", ".join(LEGAL_BASES)
                raise FidesFormatError((*path, "legal_basis_for_processing"), f"{basis!r} is not one of {allowed}")
            out["bases"] = [{"basis": LEGAL_BASES[basis]}]
        else:
            self.note(path, f"activity {key} has no legal basis; add `bases:` to it in the manifest")
        out["categories"] = categories
        if subjects:
            out["subjects"] = subjects
        out["systems"] = [system]
        condition = _text(obj, "special_category_legal_basis", path)
        if condition:
            if condition not in SPECIAL_CONDITIONS:
                allowed = "; ".join(SPECIAL_CONDITIONS)
                raise FidesFormatError(
                    (*path, "special_category_legal_basis"), f"{condition!r} is not one of {allowed}"
                )
            out["special_condition"] = SPECIAL_CONDITIONS[condition]
        elif _flag(obj, "processes_special_category_data", path):
            self.note(
                path, f"activity {key} processes special categories; add its `special_condition` (GDPR Art. 9(2))"
            )
        for rpath, dkey in _text_items(obj, "dataset_references", path):
            self.link(dkey, system, rpath, declared=True)
        self.dropped(obj, path, _DECLARATION_KEYS, f"activity {key}", _DECLARATION_DEFAULTS)
        return key, out

    def link(self, dataset: str, system: str, path: Path, declared: bool) -> None:
        if dataset not in self.links:
            self.links[dataset] = (system, path, declared)
        elif self.links[dataset][0] != system:
            first = self.links[dataset][0]
            self.note(path, f"dataset {dataset} already belongs to system {first}; its link to {system} is dropped")


def _check(sections: dict[str, Any]) -> None:
    # A safety net: the importer builds only what privet's models accept; a miss is reported, not raised raw.
    models: dict[str, type[BaseModel]] = {"systems": System, "datasets": Dataset, "activities": Activity}
    for section, entries in sections.items():
        for key, value in entries.items():
            try:
                models[section].model_validate({"key": key, **value})
            except ValidationError as exc:
                first = exc.errors()[0]
                where = (section, key, *(str(step) for step in first["loc"]))
                raise FidesFormatError(where, f"does not fit privet's model: {first['msg']}") from None


def _kind(value: object) -> str:
    names = {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number", float: "a number"}
    return "nothing" if value is None else names.get(type(value), type(value).__name__)


def _blank(value: object) -> bool:
    return value is None or value is False or value == "" or value == [] or value == {}


def _mapping(value: object, path: Path, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FidesFormatError(path, f"{what} must be a mapping, not {_kind(value)}")
    for key in value:
        if not isinstance(key, str):
            raise FidesFormatError(path, f"key {key!r} must be text")
    return value


def _items(obj: dict[str, Any], key: str, path: Path, required: bool = False) -> Iterator[tuple[Path, Any]]:
    value = obj.get(key)
    if value is None:
        if required:
            raise FidesFormatError(path, f"`{key}` is missing")
        return
    if not isinstance(value, list):
        raise FidesFormatError((*path, key), f"`{key}` must be a list, not {_kind(value)}")
    for i, item in enumerate(value):
        yield (*path, key, i), item


def _text_items(obj: dict[str, Any], key: str, path: Path) -> Iterator[tuple[Path, str]]:
    for ipath, item in _items(obj, key, path):
        if not isinstance(item, str) or not item:
            raise FidesFormatError(ipath, f"each entry of `{key}` must be text, not {_kind(item)}")
        yield ipath, item


def _texts(obj: dict[str, Any], key: str, path: Path, required: bool = False) -> list[str]:
    if required and key not in obj:
        raise FidesFormatError(path, f"`{key}` is missing")
    return [item for _, item in _text_items(obj, key, path)]


def _text(obj: dict[str, Any], key: str, path: Path, required: bool = False) -> str:
    value = obj.get(key)
    if value is None:
        if required:
            raise FidesFormatError(path, f"`{key}` is missing")
        return ""
    if not isinstance(value, str):
        raise FidesFormatError((*path, key), f"`{key}` must be text, not {_kind(value)}")
    if required and not value.strip():
        raise FidesFormatError((*path, key), f"`{key}` is empty")
    return value


def _flag(obj: dict[str, Any], key: str, path: Path) -> bool:
    value = obj.get(key)
    if value is not None and not isinstance(value, bool):
        raise FidesFormatError((*path, key), f"`{key}` must be true or false, not {value!r}")
    return bool(value)


def _name(obj: dict[str, Any], path: Path, what: str) -> str:
    name = obj.get("name")
    if name is None or name == "":
        raise FidesFormatError(path, f"{what} has no name")
    if not isinstance(name, str):
        raise FidesFormatError((*path, "name"), f"{what} name must be text, not {_kind(name)}")
    if "." in name:
        raise FidesFormatError((*path, "name"), f"{what} name {name!r} contains '.'; privet joins names with dots")
    return name


def _key(obj: dict[str, Any], path: Path, what: str) -> str:
    key = obj.get("fides_key")
    if key is None or key == "":
        raise FidesFormatError(path, f"{what} has no fides_key")
    if not isinstance(key, str) or not _FIDES_KEY.match(key):
        raise FidesFormatError((*path, "fides_key"), f"{key!r} is not a fides_key (letters, digits, _ . < > -)")
    return key


def _titles(obj: dict[str, Any], path: Path, name: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("name", "description") if name else ("description",):
        if value := _text(obj, key, path):
            out[key] = value
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "declaration"


def _unique(key: str, taken: Mapping[str, object]) -> str:
    n, out = 1, key
    while out in taken:
        n += 1
        out = f"{key}_{n}"
    return out


# --- privet to Fides -----------------------------------------------------------------------------------


def manifest_to_fides(manifest: Manifest) -> dict[str, Any]:
    """The manifest's datasets and systems (with declarations from their activities) as Fides resources."""
    out: dict[str, Any] = {}
    if manifest.datasets:
        out["dataset"] = [_dataset_out(ds) for ds in manifest.datasets.values()]
    if manifest.systems:
        out["system"] = [_system_out(system, manifest) for system in manifest.systems.values()]
    return out


def export_fides_text(manifest: Manifest) -> str:
    return dump_yaml(manifest_to_fides(manifest))


def _dataset_out(ds: Dataset) -> dict[str, Any]:
    out: dict[str, Any] = {"fides_key": ds.key}
    if ds.name:
        out["name"] = ds.name
    if ds.description:
        out["description"] = ds.description
    out["collections"] = [_collection_out(name, coll) for name, coll in ds.collections.items()]
    return out


def _collection_out(name: str, coll: DatasetCollection) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if coll.description:
        out["description"] = coll.description
    meta: dict[str, Any] = {}
    if coll.after:
        meta["after"] = list(coll.after)
    if coll.erase_after:
        meta["erase_after"] = list(coll.erase_after)
    if coll.skip_processing:
        meta["skip_processing"] = True
    if meta:
        out["fides_meta"] = meta
    out["fields"] = [_field_out(fname, fld) for fname, fld in coll.fields.items()]
    return out


def _field_out(name: str, fld: Field) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if fld.description:
        out["description"] = fld.description
    if fld.categories:
        out["data_categories"] = list(fld.categories)
    meta: dict[str, Any] = {}
    if fld.identity:
        meta["identity"] = fld.identity
    if fld.references:
        meta["references"] = []
        for ref in fld.references:
            dataset, _, field = ref.to.partition(".")
            entry = {"dataset": dataset, "field": field}
            if ref.direction is not None:
                entry["direction"] = ref.direction.value
            meta["references"].append(entry)
    if fld.primary_key:
        meta["primary_key"] = True
    if fld.data_type:
        meta["data_type"] = fld.data_type
    if fld.length is not None:
        meta["length"] = fld.length
    if fld.masking:
        meta["masking_strategy_override"] = {"strategy": fld.masking}
    if meta:
        out["fides_meta"] = meta
    if fld.fields:
        out["fields"] = [_field_out(fname, sub) for fname, sub in fld.fields.items()]
    return out


def _system_out(system: System, manifest: Manifest) -> dict[str, Any]:
    out: dict[str, Any] = {"fides_key": system.key}
    if system.name:
        out["name"] = system.name
    if system.description:
        out["description"] = system.description
    out["system_type"] = SYSTEM_TYPES[system.kind]
    if datasets := [key for key, ds in manifest.datasets.items() if ds.system == system.key]:
        out["dataset_references"] = datasets
    out["privacy_declarations"] = [
        declaration
        for activity in manifest.activities.values()
        if system.key in activity.systems
        for declaration in _declarations(activity, manifest)
    ]
    return out


def _declarations(activity: Activity, manifest: Manifest) -> Iterator[dict[str, Any]]:
    # Fides declares one data use per declaration; an activity with several purposes becomes several.
    categories = activity.categories
    if activity.all_categories and not categories:
        categories = manifest.collected_categories
    for purpose in activity.purposes:
        out: dict[str, Any] = {"name": activity.name} if activity.name else {}
        out["data_use"] = purpose
        out["data_categories"] = list(categories)
        out["data_subjects"] = list(activity.subjects)
        basis = next(
            (b.basis for b in activity.bases if b.basis in _FIDES_BASES and (not b.purposes or purpose in b.purposes)),
            None,
        )
        if basis:
            out["legal_basis_for_processing"] = _FIDES_BASES[basis]
        if activity.special_condition:
            out["processes_special_category_data"] = True
            if activity.special_condition in _FIDES_CONDITIONS:
                out["special_category_legal_basis"] = _FIDES_CONDITIONS[activity.special_condition]
        yield out
