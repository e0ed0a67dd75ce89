"""De-identified copies of a workspace's collections or files, with the manifest's profiles (`privet deid`, the demo).

The pseudonymisation key comes from PRIVET_PSEUDONYM_KEY (hex) or is derived from the workspace's secret key;
never from the manifest.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

    from privet.deid.manifest_profiles import ResolvedProfile
    from privet.deid.profile import DeidReport
    from privet.deid.pseudonymise import Pseudonymiser
    from privet.workspace.runtime import Runtime

KEY_ENV = "PRIVET_PSEUDONYM_KEY"
KEY_ID_ENV = "PRIVET_PSEUDONYM_KEY_ID"
FILE_SUFFIXES = (".parquet", ".csv")
LONG_TEXT = 1000  # characters: a kept text column this long is free text, which may name people


class DeidError(Exception):
    """The export cannot be made as asked; the message names the place and the fix."""


def pseudonymiser(secret_key: bytes | None, env: Mapping[str, str] | None = None) -> Pseudonymiser:
    """The key ring from PRIVET_PSEUDONYM_KEY, else one derived from the workspace secret (never the manifest)."""
    from privet.deid.pseudonymise import KeyRing, PseudonymError, Pseudonymiser, PseudonymKey

    env = os.environ if env is None else env
    raw = env.get(KEY_ENV)
    try:
        if raw:
            try:
                secret = bytes.fromhex(raw)
            except ValueError:
                raise DeidError(
                    f"{KEY_ENV} must be hexadecimal (python -c 'import secrets; print(secrets.token_hex(32))')"
                ) from None
            return Pseudonymiser(KeyRing(PseudonymKey(env.get(KEY_ID_ENV, "k1"), secret)))
        if secret_key is None:
            raise DeidError(f"no pseudonymisation key: set {KEY_ENV} (64 hex digits) or run in a workspace (-w DIR)")
        derived = hmac.new(secret_key, b"privet.pseudonym.key.v1", hashlib.sha256).digest()
        return Pseudonymiser(KeyRing(PseudonymKey(env.get(KEY_ID_ENV, "ws1"), derived)))
    except PseudonymError as exc:
        raise DeidError(f"{KEY_ENV}: {exc}") from None


def read_table_file(path: Path) -> pa.Table:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if path.suffix.lower() not in FILE_SUFFIXES:
        raise DeidError(f"{path}: read Parquet (.parquet) or CSV (.csv) files")
    if not path.is_file():
        raise DeidError(f"{path}: no such file")
    try:
        return pq.read_table(path) if path.suffix.lower() == ".parquet" else pacsv.read_csv(path)
    except (pa.ArrowException, OSError) as exc:
        raise DeidError(f"{path}: cannot be read as {path.suffix[1:]}: {str(exc).splitlines()[0]}") from None


def write_table_file(table: pa.Table, path: Path) -> None:
    """Parquet or CSV by the suffix, whole or not at all."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from privet.workspace.files import write_atomic

    buffer = io.BytesIO()
    if path.suffix.lower() == ".parquet":
        pq.write_table(table, buffer)
    elif path.suffix.lower() == ".csv":
        while any(pa.types.is_struct(t) for t in table.schema.types):
            table = table.flatten()
        pacsv.write_csv(table, buffer)
    else:
        raise DeidError(f"-o {path}: write a .parquet or .csv file")
    write_atomic(path, buffer.getvalue())


_TEMPORAL = {"date": "date", "timestamp": "timestamp", "datetime": "timestamp"}


def typed(table: pa.Table, data_types: Mapping[str, str | None], where: str) -> pa.Table:
    """Dates and timestamps the source kept as text (SQLite does) become Arrow dates, as the manifest says."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for name, data_type in data_types.items():
        kind = _TEMPORAL.get((data_type or "").lower())
        if kind is None or name not in table.column_names:
            continue
        column = table.column(name)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
        target = pa.date32() if kind == "date" else pa.timestamp("us")
        try:
            converted = pc.cast(pc.utf8_slice_codeunits(column, 0, 10) if kind == "date" else column, target)
        except pa.ArrowInvalid as exc:
            raise DeidError(
                f"{where}.{name}: the manifest says {data_type}, but a value is not one ({exc});"
                " fix the data or the field's data_type"
            ) from None
        table = table.set_column(table.column_names.index(name), name, converted)
    return table


def read_collection(rt: Runtime, collection: str) -> pa.Table:
    """Every row of a manifest collection, through its system's connector."""
    from privet.connectors.registry import connector_for
    from privet.engines.retention import read_facts
    from privet.fulfilment.executor import table_of
    from privet.fulfilment.ports import ConnectorError

    dataset = rt.manifest.datasets[collection.split(".", 1)[0]]
    system = dataset.system
    if system is None:
        raise DeidError(f"dataset {dataset.key} names no system; set datasets.{dataset.key}.system, or pass a file")
    config = rt.settings.systems.get(system)
    if config is None:
        raise DeidError(f"no connection for system {system}: configure [systems.{system}] in privet.toml")
    try:
        connector = connector_for(system, config)
        try:
            live = connector.describe(table_of(collection))
            if live is None:
                raise DeidError(f"{system} has no collection {table_of(collection)!r}; check the dataset or system")
            table = read_facts(connector, collection, list(live))
        finally:
            connector.close()
    except ConnectorError as exc:
        raise DeidError(str(exc)) from None
    fields = dataset.collections[collection.split(".", 1)[1]].fields
    return typed(table, {n: f.data_type for n, f in fields.items()}, collection)


@dataclass
class Export:
    resolved: ResolvedProfile
    report: DeidReport
    table: pa.Table
    notes: list[str]


def deidentify(rt: Runtime, table: pa.Table, profile: str, collection: str | None) -> Export:
    """Resolve the profile for the table's columns and apply it; raises DeidRefused when k (or l) is not met."""
    import pyarrow as pa

    from privet.deid.manifest_profiles import resolve_profile
    from privet.deid.profile import Drop, Keep, Pseudonymise
    from privet.engines.deid import apply_profile

    resolved = resolve_profile(rt.manifest, profile, collection, table.column_names)
    notes = list(resolved.notes)
    for column, action in resolved.profile.columns.items():
        kind = table.schema.field(column).type
        if not isinstance(action, Drop) and (pa.types.is_binary(kind) or pa.types.is_large_binary(kind)):
            raise DeidError(
                f"{collection or 'the table'}.{column} is binary ({kind}); privet cannot tell what it"
                " reveals. Drop or suppress it in the profile"
            )
        if isinstance(action, Keep) and pa.types.is_string(kind) and len(table):
            longest = pa.compute.max(pa.compute.utf8_length(table.column(column))).as_py() or 0
            if longest > LONG_TEXT:
                notes.append(
                    f"{column} is kept and holds free text (up to {longest:,} characters), which may name"
                    " people: redact it first (privet redact) or drop it"
                )
    needs_key = any(isinstance(a, Pseudonymise) for a in resolved.profile.columns.values())
    keys = pseudonymiser(rt.settings.secret_key) if needs_key else None
    result, report = apply_profile(table, resolved.profile, keys)
    return Export(resolved, report, result, notes)
