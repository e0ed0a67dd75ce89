"""Reading a manifest folder from disk: sizes, encodings and YAML, each failure named with its place."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from privet.manifest.diagnostics import Diagnostic, Location, ManifestUnreadable
from privet.manifest.loader import LoadedManifest, load
from privet.manifest.source import Document, gc_paused, parse_yaml
from privet.taxonomy.defaults import default_taxonomy

MAX_FILE_BYTES = 16 * 1024 * 1024
SUFFIXES = (".yml", ".yaml")


def manifest_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise ManifestUnreadable(
            [Diagnostic("P000", f"no manifest at {root}", hint="pass a folder of YAML files or one YAML file")]
        )
    files = sorted(p for p in root.rglob("*") if p.suffix in SUFFIXES and p.is_file() and not _hidden(p, root))
    if not files:
        raise ManifestUnreadable(
            [Diagnostic("P000", f"{root} holds no .yml or .yaml files", hint="put the manifest's YAML files there")]
        )
    return files


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def read_document(path: Path, label: str, max_bytes: int = MAX_FILE_BYTES) -> Document:
    size = path.stat().st_size
    if size > max_bytes:
        raise ManifestUnreadable(
            [
                Diagnostic(
                    "P003",
                    f"file is {size / 2**20:.1f} MiB; a manifest file may be at most {max_bytes / 2**20:.0f} MiB",
                    Location(label, 1, 1),
                    hint="split it into several files in the folder",
                )
            ]
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ManifestUnreadable(
            [
                Diagnostic(
                    "P002",
                    f"not UTF-8: byte 0x{raw[exc.start]:02x} cannot be decoded",
                    Location(label, line, column),
                    hint="save the file as UTF-8",
                )
            ]
        ) from None
    return parse_yaml(text, label)


def load_manifest(root: Path, max_bytes: int = MAX_FILE_BYTES) -> LoadedManifest:
    """Every YAML file under `root`, merged and validated. Raises ManifestUnreadable with every problem found."""
    root = Path(root)
    documents: list[Document] = []
    problems: list[Diagnostic] = []

    def read(path: Path) -> Document | list[Diagnostic]:
        try:
            return read_document(path, str(path), max_bytes)
        except ManifestUnreadable as exc:
            return exc.diagnostics

    # Two threads: the YAML parser releases the GIL, so large manifests read about a third faster.
    with gc_paused(), ThreadPoolExecutor(max_workers=2) as pool:
        for result in pool.map(read, manifest_files(root)):
            if isinstance(result, Document):
                documents.append(result)
            else:
                problems.extend(result)
    if problems:
        raise ManifestUnreadable(problems)
    return load(documents, default_taxonomy())
