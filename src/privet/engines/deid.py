"""De-identification over Arrow tables: pseudonymise and generalise columns, measure k-anonymity, apply a profile.

Everything here is columnar. The built-in generalisers have vectorised twins of their scalar `apply` (the tests
hold the two to agreement); a plug-in generaliser without one is applied once per distinct value. Pseudonyms are
an HMAC per distinct value, never per row. Equivalence classes are found by dictionary-encoding each
quasi-identifier and combining the codes into one integer per row, which also gives every row its class: that is
what lets the rows of too-small classes be dropped without a join (a join would not match NULL keys).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from privet.deid.generalise import (
    AgeBand,
    AgeBandConfig,
    BirthYear,
    GeneraliseError,
    Generaliser,
    GridCell,
    GridConfig,
    NoConfig,
    PostcodeConfig,
    PostcodePrefix,
    Suppress,
    TimestampConfig,
    TimestampTruncate,
    postcode_pattern,
)
from privet.deid.kanon import RISK_LIST_LIMIT, KAnonymityError, KAnonymityReport, RiskyClass, check_targets
from privet.deid.profile import (
    DeidProfile,
    DeidRefused,
    DeidReport,
    Drop,
    Generalise,
    Keep,
    ProfileError,
    Pseudonymise,
    describe_action,
    may_suppress,
)
from privet.deid.pseudonymise import Pseudonymiser

Values: TypeAlias = pa.Array | pa.ChunkedArray
LATITUDE_FIELDS = ("lat", "latitude")
LONGITUDE_FIELDS = ("lon", "lng", "long", "longitude")


def _array(values: Values) -> pa.Array:
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    return array.dictionary_decode() if pa.types.is_dictionary(array.type) else array


def pseudonymise_array(values: Values, pseudonymiser: Pseudonymiser, domain: str) -> pa.Array:
    """Tokens for a text (or integer id) column; NULL stays NULL. One HMAC per distinct value."""
    array = _array(values)
    if pa.types.is_integer(array.type):
        array = pc.cast(array, pa.string())
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        raise GeneraliseError(f"pseudonymise works on text or integer ids, not {array.type}")
    encoded = pc.dictionary_encode(array)
    tokens = pa.array(pseudonymiser.tokens(domain, encoded.dictionary.to_pylist()), pa.string())
    return tokens.take(encoded.indices)


def _numbers(array: pa.Array, what: str) -> np.ndarray:
    if not (pa.types.is_integer(array.type) or pa.types.is_floating(array.type) or pa.types.is_null(array.type)):
        raise GeneraliseError(f"{what} generalises numbers, not {array.type}")
    return np.asarray(pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def _age_band(array: pa.Array, config: AgeBandConfig) -> pa.Array:
    ages = _numbers(array, AgeBand.name)
    with np.errstate(invalid="ignore"):
        invalid = np.isnan(ages) | (ages < 0)
    band = np.searchsorted(np.asarray(config.edges, dtype=np.float64), ages, side="right").astype(np.int32)
    indices = pa.array(band, mask=invalid)
    return pa.DictionaryArray.from_arrays(indices, pa.array(config.labels)).dictionary_decode()


def _temporal(array: pa.Array, what: str) -> None:
    if not (pa.types.is_date(array.type) or pa.types.is_timestamp(array.type)):
        raise GeneraliseError(f"{what} generalises dates or timestamps, not {array.type}")


def _birth_year(array: pa.Array, config: NoConfig) -> pa.Array:
    _temporal(array, BirthYear.name)
    return pc.year(array)


def _timestamp(array: pa.Array, config: TimestampConfig) -> pa.Array:
    _temporal(array, TimestampTruncate.name)
    return pc.floor_temporal(array, unit=config.unit, week_starts_monday=True)


def _postcode(array: pa.Array, config: PostcodeConfig) -> pa.Array:
    rule = config.rule
    if pa.types.is_integer(array.type) and rule.pad_digits is not None:
        array = pc.utf8_lpad(pc.cast(array, pa.string()), width=rule.pad_digits, padding="0")
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        raise GeneraliseError(f"{PostcodePrefix.name} generalises postcodes (text), not {array.type}")
    found = pc.extract_regex(array, f"^{postcode_pattern(rule)}$")
    kept = pc.ascii_upper(pc.struct_field(found, [0]))
    if config.zeroed:
        zeroed = pc.is_in(kept, value_set=pa.array(sorted(config.zeroed), kept.type))
        kept = pc.if_else(zeroed, pc.replace_substring_regex(kept, "[0-9A-Z]", "0"), kept)
    return pc.cast(kept, pa.string())


def grid_arrays(latitude: Values, longitude: Values, config: GridConfig) -> tuple[pa.Array, pa.Array]:
    """Cell centres for (latitude, longitude) columns; a pair out of range, or with a NULL, becomes NULL."""
    lat = _numbers(_array(latitude), GridCell.name)
    lon = _numbers(_array(longitude), GridCell.name)
    with np.errstate(invalid="ignore"):
        invalid = ~((lat >= -90) & (lat <= 90) & (lon >= -180) & (lon <= 180))
        bands = config.lat_bands
        lat_step = 180 / bands
        lat_index = np.minimum(np.floor((lat + 90) / lat_step), bands - 1)
        lat_centre = -90 + (lat_index + 0.5) * lat_step
        cells = np.maximum(1, np.floor(360 * np.cos(np.radians(lat_centre)) / lat_step))
        lon_step = 360 / cells
        lon_index = np.mod(np.floor((lon + 180) / lon_step), cells)
        lon_centre = -180 + (lon_index + 0.5) * lon_step
    return pa.array(lat_centre, mask=invalid), pa.array(lon_centre, mask=invalid)


def _field(array: pa.StructArray, names: tuple[str, ...]) -> int:
    for i in range(array.type.num_fields):
        if array.type.field(i).name.lower() in names:
            return i
    raise GeneraliseError(f"{GridCell.name} needs a struct with a field named one of {', '.join(names)}")


def _grid(array: pa.Array, config: GridConfig) -> pa.Array:
    if not pa.types.is_struct(array.type):
        raise GeneraliseError(
            f"{GridCell.name} generalises a struct of latitude and longitude, not {array.type}; for two columns give"
            " the longitude column"
        )
    i, j = _field(array, LATITUDE_FIELDS), _field(array, LONGITUDE_FIELDS)
    children = array.flatten()
    lat, lon = grid_arrays(children[i], children[j], config)
    names = [array.type.field(i).name, array.type.field(j).name]
    return pa.StructArray.from_arrays([lat, lon], names=names, mask=pc.or_(pc.is_null(lat), pc.is_null(array)))


def _suppress(array: pa.Array, config: NoConfig) -> pa.Array:
    return pa.nulls(len(array), array.type)


_VECTORISED: dict[type[Generaliser[Any]], Callable[[pa.Array, Any], pa.Array]] = {
    AgeBand: _age_band,
    BirthYear: _birth_year,
    PostcodePrefix: _postcode,
    TimestampTruncate: _timestamp,
    GridCell: _grid,
    Suppress: _suppress,
}


def generalise_array(values: Values, generaliser: Generaliser[Any]) -> pa.Array:
    array = _array(values)
    if pa.types.is_null(array.type):  # a column with no values at all
        return array
    vectorised = _VECTORISED.get(type(generaliser))
    if vectorised is not None:
        return vectorised(array, generaliser.config)
    encoded = pc.dictionary_encode(array)  # a plug-in: once per distinct value
    return pa.array([generaliser.apply(v) for v in encoded.dictionary.to_pylist()]).take(encoded.indices)


@dataclass(frozen=True)
class _Partition:
    row_class: np.ndarray  # class number of each row
    first_row: np.ndarray  # first row of each class
    sizes: np.ndarray
    distinct: np.ndarray | None  # distinct non-null sensitive values per class


def _codes(values: pa.Array) -> tuple[np.ndarray, int]:
    encoded = pc.dictionary_encode(values, null_encoding="encode")
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), max(len(encoded.dictionary), 1)


def _key_columns(table: pa.Table, quasi_identifiers: tuple[str, ...]) -> list[pa.Array]:
    keys = table.select(list(quasi_identifiers))
    while any(pa.types.is_struct(t) for t in keys.schema.types):
        keys = keys.flatten()
    return [_array(c) for c in keys.columns]


def _partition(table: pa.Table, quasi_identifiers: tuple[str, ...], sensitive: str | None) -> _Partition:
    combined = np.zeros(table.num_rows, dtype=np.int64)
    span = 1
    for column in _key_columns(table, quasi_identifiers):
        codes, cardinality = _codes(column)
        if span * cardinality >= 2**62:  # renumber densely before the combined code could overflow
            combined = np.unique(combined, return_inverse=True)[1].astype(np.int64)
            span = int(combined.max()) + 1
        combined = combined * cardinality + codes
        span *= cardinality
    _, first_row, row_class = np.unique(combined, return_index=True, return_inverse=True)
    row_class = row_class.reshape(-1).astype(np.int64)
    sizes = np.bincount(row_class, minlength=len(first_row))
    distinct = None
    if sensitive is not None:
        encoded = pc.dictionary_encode(_array(table.column(sensitive)))
        valid = np.asarray(pc.is_valid(encoded.indices).to_numpy(zero_copy_only=False), dtype=bool)
        values = encoded.indices.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        cardinality = max(len(encoded.dictionary), 1)
        pairs = np.unique(row_class[valid] * cardinality + values[valid])
        distinct = np.bincount(pairs // cardinality, minlength=len(first_row))
    return _Partition(row_class, first_row, sizes, distinct)


def _at_risk(partition: _Partition, k: int, l: int | None) -> np.ndarray:  # noqa: E741
    risky = partition.sizes < k
    if l is not None and partition.distinct is not None:
        risky = risky | (partition.distinct < l)
    return np.asarray(risky, dtype=bool)


def _report(
    table: pa.Table,
    partition: _Partition,
    quasi_identifiers: tuple[str, ...],
    k: int,
    l: int | None,  # noqa: E741
    sensitive: str | None,
    limit: int,
) -> KAnonymityReport:
    sizes, distinct = partition.sizes, partition.distinct
    below_k = sizes < k
    below_l = distinct < l if (l is not None and distinct is not None) else np.zeros(len(sizes), dtype=bool)
    risky = _at_risk(partition, k, l)
    risky_classes = np.flatnonzero(risky)
    order = np.lexsort((partition.first_row[risky_classes], sizes[risky_classes]))[:limit]
    listed = risky_classes[order]
    rows = table.select(list(quasi_identifiers)).take(pa.array(partition.first_row[listed])).to_pylist()
    at_risk = tuple(
        RiskyClass(row, int(sizes[c]), int(distinct[c]) if distinct is not None else None)
        for row, c in zip(rows, listed, strict=True)
    )
    return KAnonymityReport(
        quasi_identifiers=quasi_identifiers,
        k=k,
        rows=table.num_rows,
        classes=len(sizes),
        smallest_class=int(sizes.min()) if len(sizes) else None,
        classes_below_k=int(below_k.sum()),
        rows_below_k=int(sizes[below_k].sum()),
        classes_at_risk=len(risky_classes),
        rows_at_risk=int(sizes[risky].sum()),
        at_risk=at_risk,
        l=l,
        sensitive=sensitive,
        least_diverse=int(distinct.min()) if distinct is not None and len(distinct) else None,
        classes_below_l=int(below_l.sum()),
        rows_below_l=int(sizes[below_l].sum()),
    )


def _check_columns(table: pa.Table, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise KAnonymityError(f"the table has no column {', '.join(map(repr, missing))}; it has {table.column_names}")


def k_anonymity(
    table: pa.Table,
    quasi_identifiers: tuple[str, ...] | list[str],
    k: int,
    *,
    l: int | None = None,  # noqa: E741
    sensitive: str | None = None,
    limit: int = RISK_LIST_LIMIT,
) -> KAnonymityReport:
    quasi_identifiers = tuple(quasi_identifiers)
    check_targets(quasi_identifiers, k, l, sensitive)
    _check_columns(table, (*quasi_identifiers, *([sensitive] if sensitive else [])))
    return _report(table, _partition(table, quasi_identifiers, sensitive), quasi_identifiers, k, l, sensitive, limit)


def _transform(
    table: pa.Table, profile: DeidProfile, pseudonymiser: Pseudonymiser | None
) -> tuple[dict[str, pa.Array | pa.ChunkedArray], dict[str, int]]:
    out: dict[str, pa.Array | pa.ChunkedArray] = {}
    suppressed: dict[str, int] = {}
    for column, action in profile.columns.items():
        values = table.column(column)
        try:
            if isinstance(action, Keep):
                out[column] = values
            elif isinstance(action, Pseudonymise):
                if pseudonymiser is None:
                    raise ProfileError(f"profile {profile.name!r} pseudonymises {column!r}: pass a Pseudonymiser")
                out[column] = pseudonymise_array(values, pseudonymiser, action.domain)
            elif isinstance(action, Generalise) and action.longitude_column is not None:
                partner = action.longitude_column
                config = action.build().config
                out[column], out[partner] = grid_arrays(values, table.column(partner), config)
                suppressed[partner] = out[partner].null_count - table.column(partner).null_count
            elif isinstance(action, Generalise):
                out[column] = generalise_array(values, action.build())
            elif not isinstance(action, Drop):  # suppress
                out[column] = pa.nulls(len(values), values.type)
        except GeneraliseError as exc:
            raise ProfileError(f"profile {profile.name!r}, column {column!r}: {exc}") from None
        if column in out and not isinstance(action, Keep | Pseudonymise):
            suppressed[column] = out[column].null_count - values.null_count
    return out, suppressed


def apply_profile(
    table: pa.Table, profile: DeidProfile, pseudonymiser: Pseudonymiser | None = None
) -> tuple[pa.Table, DeidReport]:
    """The de-identified table and what was done; raises DeidRefused when the profile's k (and l) is not reached."""
    partners = profile.partner_columns()
    named = [*profile.columns, *partners.values()]
    missing = [c for c in named if c not in table.column_names]
    if missing:
        raise ProfileError(
            f"profile {profile.name!r} names column(s) the table lacks: {', '.join(missing)}; the table has"
            f" {', '.join(table.column_names)}"
        )
    unlisted = tuple(c for c in table.column_names if c not in named)
    if unlisted and profile.unlisted == "refuse":
        raise ProfileError(
            f"profile {profile.name!r} does not say what to do with column(s) {', '.join(unlisted)}; give each an"
            " action (keep, drop, pseudonymise, generalise, suppress), or set unlisted: drop"
        )
    out, suppressed = _transform(table, profile, pseudonymiser)
    result = pa.table({c: out[c] for c in table.column_names if c in out})
    qis, k, l, sensitive = profile.quasi_identifiers, profile.k, profile.l, profile.sensitive  # noqa: E741
    partition = _partition(result, qis, sensitive)
    before = _report(result, partition, qis, k, l, sensitive, RISK_LIST_LIMIT)
    after, rows_suppressed = before, 0
    if not before.ok:
        if not may_suppress(profile, before):
            raise DeidRefused(profile, before)
        keep = ~_at_risk(partition, k, l)[partition.row_class]
        result = result.filter(pa.array(keep))
        rows_suppressed = table.num_rows - result.num_rows
        after = k_anonymity(result, qis, k, l=l, sensitive=sensitive)
    actions = {c: describe_action(a) for c, a in profile.columns.items()}
    actions.update({p: f"generalise:grid (with {c})" for c, p in partners.items()})
    actions.update(dict.fromkeys(unlisted, "drop (unlisted)"))
    report = DeidReport(
        profile=profile.name,
        rows_in=table.num_rows,
        rows_out=result.num_rows,
        actions=actions,
        cells_suppressed=suppressed,
        before=before,
        after=after,
        rows_suppressed=rows_suppressed,
        unlisted_dropped=unlisted,
    )
    return result, report
