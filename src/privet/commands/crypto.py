"""privet crypto: field values under a person's data key, shredding that key, and rotating the KEKs that wrap keys.

Values are sealed for one field ("dataset.collection.field", which the manifest marks `encrypted: true`) and one
privet subject id: the same pair decrypts them. Shredding is irreversible and asks for --yes.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from privet.commands.common import EXIT_FINDINGS, JsonOption, WorkspaceOption, fail, out, print_json, workspace

if TYPE_CHECKING:
    from privet.crypto import KekRing
    from privet.workspace.runtime import Runtime

crypto_app = typer.Typer(
    help="Per-person data keys: seal and open field values, shred a person's key, rotate KEKs.", no_args_is_help=True
)

SubjectOption = Annotated[str, typer.Option("--subject", help="The person's privet subject id, whose key it is.")]
FieldOption = Annotated[
    str, typer.Option("--field", help="dataset.collection.field, marked encrypted: true in the manifest.")
]
Actor = Annotated[str, typer.Option(help="Who does this, for the audit log (e.g. staff:ida).")]

NO_CRYPTO = (
    "privet.toml has no [crypto] KEKs; add active_kek and [crypto.keks] (privet init writes the commented"
    " example), with each KEK's 64 hex digits in an environment variable or a file"
)


def _ring(rt: Runtime) -> KekRing:
    if rt.keks is None:
        fail(NO_CRYPTO)
    return rt.keks


def _marked(rt: Runtime, field: str) -> tuple[str, str]:
    """(collection, path) of a field the manifest marks encrypted."""
    from privet.crypto import encrypted_fields

    marked = encrypted_fields(rt.manifest.datasets)
    for collection, paths in marked.items():
        if field.startswith(collection + ".") and field.removeprefix(collection + ".") in paths:
            return collection, field.removeprefix(collection + ".")
    known = ", ".join(f"{c}.{p}" for c, paths in sorted(marked.items()) for p in paths) or "none"
    fail(f"--field {field!r} is not a field the manifest marks encrypted (marked: {known}); write"
         " dataset.collection.field and mark it encrypted: true in its dataset")  # fmt: skip


@crypto_app.command("encrypt")
def encrypt(
    value: Annotated[str, typer.Argument(help="The value (text; with --json-value, JSON).")],
    subject: SubjectOption,
    field: FieldOption,
    json_value: Annotated[bool, typer.Option("--json-value", help="Read VALUE as JSON (numbers, objects).")] = False,
    ws: WorkspaceOption = Path(),
) -> None:
    """Seal a value under the person's data key (made on first use) and print it, ready to store in the field."""
    from privet.crypto import CryptoError, field_aad, open_subject, seal

    plain: Any = value
    if json_value:
        try:
            plain = json.loads(value)
        except json.JSONDecodeError as exc:
            fail(f"--json-value: VALUE is not JSON ({exc}); quote text, or leave --json-value out")
    with workspace(ws) as rt:
        collection, path = _marked(rt, field)
        try:
            key = open_subject(rt.data_keys, _ring(rt), subject, create=True)
            out.print(seal(key, plain, field_aad(collection, path)), markup=False)
        except (CryptoError, ValueError) as exc:
            fail(str(exc))


@crypto_app.command("decrypt")
def decrypt(
    value: Annotated[str, typer.Argument(help="The sealed value, as stored (privet:enc:...).")],
    subject: SubjectOption,
    field: FieldOption,
    ws: WorkspaceOption = Path(),
) -> None:
    """Open a sealed value. A shredded person's value fails with the time of the shred (exit 1)."""
    from privet.crypto import CryptoError, KeyShredded, field_aad, open_subject, sealed_blob, unseal

    with workspace(ws) as rt:
        collection, path = _marked(rt, field)
        try:
            sealed_blob(value)  # a malformed value is reported as such before any key is looked up
            plain = unseal(open_subject(rt.data_keys, _ring(rt), subject), value, field_aad(collection, path))
        except KeyShredded as exc:
            fail(str(exc), EXIT_FINDINGS)
        except CryptoError as exc:
            fail(str(exc))
    out.print(plain if isinstance(plain, str) else json.dumps(plain, ensure_ascii=False), markup=False)


@crypto_app.command("shred")
def shred(
    subject: Annotated[str, typer.Argument(help="The person's privet subject id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: the key cannot be brought back.")] = False,
    actor: Actor = "system",
    ws: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Destroy the person's data key: their encrypted fields become unreadable everywhere, backups included."""
    from privet.workspace.erasure import shred_subject

    if not yes:
        fail(f"shredding destroys {subject!r}'s data key for good, and with it every copy of their encrypted"
             " fields; run again with --yes to do it")  # fmt: skip
    with workspace(ws) as rt:
        outcome = shred_subject(rt, subject, rt.now(), actor, f"subject:{subject}", {"by": "privet crypto shred"})
    r = outcome.receipt
    if as_json:
        print_json({**r.as_json(), "receipt_sha256": r.digest, "already": outcome.already})
        return
    what = f"data key {r.key_id}" if r.key_id else "no data key existed; the subject id is closed to new keys"
    when = "was shredded earlier, at" if outcome.already else "shredded at"
    out.print(f"{subject}: {what} {when} {r.shredded_at.isoformat()} (receipt sha256 {r.digest})", markup=False)


@crypto_app.command("rewrap")
def rewrap(
    batch: Annotated[int, typer.Option(min=1, help="Data keys rewrapped per transaction.")] = 500,
    ws: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Rewrap every data key held under an older configured KEK with the active one (ciphertexts stay)."""
    from privet.crypto import CryptoError
    from privet.crypto import rewrap as rewrap_keys

    reports = []
    with workspace(ws) as rt:
        ring = _ring(rt)
        for old in ring.previous:
            done = 0

            def progress(n: int, kek: str = old.kek_id) -> None:
                nonlocal done
                done += n
                if not as_json:
                    out.print(f"{kek}: {done} keys rewrapped so far", markup=False)

            try:
                reports.append(rewrap_keys(rt.data_keys, old, ring.active, batch, progress))
            except CryptoError as exc:
                fail(f"rewrapping from {old.kek_id} stopped: {exc}; what is rewrapped stays rewrapped")
        left = {k: n for k, n in rt.data_keys.census().live.items() if k != ring.active.kek_id}
    if as_json:
        print_json({"reports": [dataclasses.asdict(r) for r in reports], "left": left})
        return
    for r in reports:
        out.print(f"{r.old_kek_id} -> {r.new_kek_id}: {r.rewrapped} rewrapped, {r.skipped} changed meanwhile",
                  markup=False)  # fmt: skip
    if not ring.previous:
        out.print(f"no older KEK is configured; every new key is wrapped by {ring.active.kek_id}", markup=False)
    if left:
        unloaded = ", ".join(f"{k}: {n}" for k, n in sorted(left.items()))
        out.print(f"keys still under other KEKs ({unloaded}): run again, or configure those KEKs", markup=False)
    elif ring.previous:
        out.print(f"every live key is under {ring.active.kek_id}; the older KEKs can be removed from privet.toml",
                  markup=False)  # fmt: skip


@crypto_app.command("status")
def status(ws: WorkspaceOption = Path(), as_json: JsonOption = False) -> None:
    """The configured KEKs, live data keys per KEK, shredded subjects, and the fields the manifest marks encrypted."""
    from privet.crypto import encrypted_fields

    with workspace(ws) as rt:
        census = rt.data_keys.census()
        ring = rt.keks
        marked = encrypted_fields(rt.manifest.datasets)
    loaded = [] if ring is None else [ring.active.kek_id, *(k.kek_id for k in ring.previous)]
    missing = sorted(k for k in census.live if k not in loaded)
    fields = [f"{c}.{p}" for c, paths in sorted(marked.items()) for p in paths]
    report = {
        "active_kek": ring.active.kek_id if ring else None,
        "keks": loaded,
        "live_keys": census.live,
        "shredded": census.shredded,
        "encrypted_fields": fields,
        "keys_under_unloaded_keks": {k: census.live[k] for k in missing},
    }
    if as_json:
        print_json(report)
        return
    out.print(f"active KEK: {report['active_kek'] or 'none ([crypto] is not configured)'}", markup=False)
    for kek in loaded:
        out.print(f"  {kek}: {census.live.get(kek, 0)} live data keys", markup=False)
    for kek in missing:
        out.print(f"  {kek}: {census.live[kek]} live data keys, but this KEK is not configured: they cannot be"
                  " read; add it to [crypto.keks]", markup=False)  # fmt: skip
    out.print(f"shredded subjects: {census.shredded}", markup=False)
    out.print(f"fields marked encrypted: {', '.join(fields) or 'none'}", markup=False)
