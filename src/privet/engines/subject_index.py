"""Every known subject's profile number, keyed by the identifier the data uses, built column-wise."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from privet.policy.compiled import CompiledPolicy


@dataclass(frozen=True)
class SubjectIndex:
    """Identifier value -> profile. Integer identifiers use a dense array; others a hash lookup."""

    keys: pa.Array  # identifier values, unique
    profiles: np.ndarray  # profile per key, same order
    unknown: int  # the profile of a subject not in the index
    # For non-negative integer keys: profile indexed by the key itself, plus one last slot for "unknown".
    dense: np.ndarray | None = None

    @classmethod
    def build(cls, keys: pa.Array, profiles: np.ndarray, unknown: int) -> SubjectIndex:
        dense = None
        profiles = profiles.astype(np.int32, copy=False)
        if pa.types.is_integer(keys.type) and len(keys):
            lo, hi = (v.as_py() for v in pc.min_max(keys).values())
            if lo >= 0 and hi < max(4 * len(keys), 1 << 20):
                # The smallest type that holds every profile: the lookup is bound by cache misses.
                width = np.uint8 if unknown < 255 and profiles.max(initial=0) < 255 else np.int32
                dense = np.full(hi + 2, unknown, dtype=width)
                dense[keys.to_numpy(zero_copy_only=False)] = profiles
        return cls(keys, profiles, unknown, dense)

    def lookup(self, column: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """The profile of each value; nulls and unknown values get the unknown subject's profile."""
        chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        if len(chunks) == 1:
            return self._lookup_chunk(chunks[0])
        return np.concatenate([self._lookup_chunk(c) for c in chunks]) if chunks else np.empty(0, np.int32)

    def slots(self, chunk: pa.Array) -> np.ndarray | None:
        """Positions in `dense` for an integer column (outsiders and nulls at the last slot), or None."""
        if self.dense is None or not pa.types.is_integer(chunk.type):
            return None
        if chunk.null_count:
            chunk = chunk.fill_null(-1)
        values = chunk.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        # Negative values (nulls) become huge as unsigned, so one minimum sends every outsider to the last slot.
        # Every slot then fits a signed index, which NumPy's gathers take without a conversion.
        slots: np.ndarray = np.minimum(values.view(np.uint64), np.uint64(len(self.dense) - 1)).view(np.int64)
        return slots

    def _lookup_chunk(self, chunk: pa.Array) -> np.ndarray:
        slots = self.slots(chunk)
        if slots is not None:
            assert self.dense is not None
            return np.take(self.dense, slots)
        if chunk.type != self.keys.type:
            chunk = chunk.cast(self.keys.type)
        positions = pc.index_in(chunk, value_set=self.keys)
        found = positions.is_valid().to_numpy(zero_copy_only=False)
        idx = positions.fill_null(0).to_numpy(zero_copy_only=False)
        return np.where(found, self.profiles[idx], self.unknown).astype(np.int32, copy=False)


def build_index(
    policy: CompiledPolicy, subjects: pa.Table, choices: pa.Table, today: dt.date, unknown: int
) -> SubjectIndex:
    """Profiles for every subject from two tables.

    subjects: key (the identifier value the data carries), subject (id), jurisdiction, birth_date, known_minor.
    choices: subject, consent_key, granted — the current-state projection, whole-key choices only.
    Grouping runs in DuckDB; only the distinct signatures (few) are interned in Python.
    """
    con = duckdb.connect()
    try:
        con.register("subjects", subjects)
        con.register("choices", choices)
        con.execute(
            """
            CREATE TEMP TABLE sig AS
            SELECT s.key, s.jurisdiction, s.birth_date, coalesce(s.known_minor, false) AS known_minor,
                   coalesce(string_agg(c.consent_key || '=' || CAST(c.granted AS INTEGER), ',' ORDER BY c.consent_key),
                            '') AS state
            FROM subjects s LEFT JOIN choices c ON c.subject = s.subject
            GROUP BY ALL
            """
        )
        distinct = con.execute("SELECT DISTINCT jurisdiction, birth_date, known_minor, state FROM sig").fetchall()
        rows = []
        for jurisdiction, birth, known_minor, state in distinct:
            pairs = tuple(
                (k, v == "1")
                for k, _, v in (part.rpartition("=") for part in state.split(",") if part)
                if policy.is_tracked(k)
            )
            minor = policy.minor_on(birth, bool(known_minor), today)
            rows.append((jurisdiction, birth, known_minor, state, policy.intern((jurisdiction, minor, pairs))))
        con.execute(
            "CREATE TEMP TABLE prof (jurisdiction VARCHAR, birth_date DATE, known_minor BOOLEAN, state VARCHAR, "
            "profile INTEGER)"
        )
        if rows:
            con.executemany("INSERT INTO prof VALUES (?, ?, ?, ?, ?)", rows)
        mapped = con.sql(
            """
            SELECT sig.key, prof.profile FROM sig JOIN prof
              ON sig.jurisdiction IS NOT DISTINCT FROM prof.jurisdiction
             AND sig.birth_date IS NOT DISTINCT FROM prof.birth_date
             AND sig.known_minor = prof.known_minor AND sig.state = prof.state
            """
        ).to_arrow_table()
    finally:
        con.close()
    assert mapped is not None
    return SubjectIndex.build(
        mapped.column("key").combine_chunks(), mapped.column("profile").to_numpy().astype(np.int32), unknown
    )
