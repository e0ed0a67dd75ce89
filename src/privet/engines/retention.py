"""Retention evaluated in bulk: every record's state computed column by column with NumPy, never row by row.

The columns reproduce `privet.retention.evaluate` exactly (a property test holds them equal). Dates are days
since 1970. A rule's dates depend only on its start day and the limitation entry of the person's jurisdiction,
so each rule gets a lookup table per entry over the days the data span, built with calendar-month arithmetic
(the same day, or the month's last day); a record's due date is then one gather. Jurisdictions are matched once
per distinct value (the pure `limitation_for`); person holds are a semi-join (Arrow `is_in`), and so is the journal
of anonymised records (`retention.journal`): the keys privet anonymised, one Arrow array per collection, tested
against the key column once. Chunks of rows run on worker threads (NumPy releases the GIL). States, rules and
missing facts stay small integers until they are counted, in DuckDB, which also keeps the smallest keys of each
group as examples.

A collection that follows its parent (`privet.retention.follow`) is joined to the parent's computed states: each
reference's row among the parent's keys by one hash lookup (Arrow `index_in`), then a gather of the parent's
columns. A sweep (`run`) evaluates parents first, and counts a parent once its followers are judged (a due
record that a held follower record belongs to is held); the one-collection functions take the parent's states
as they are.

Planning counts; applying fetches the keys of due records (and of restricted ones the system has a flag for and
has not flagged), sorted, and turns them into the fulfilment executor's actions batch by batch.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from privet.fulfilment.erasure import ActionSet
from privet.fulfilment.ports import Connector, ConnectorError
from privet.manifest.period import Period
from privet.retention.evaluate import jurisdiction_of
from privet.retention.follow import ENDED, Followers
from privet.retention.plan import RetentionPlan, Scope, action_sets_for
from privet.retention.report import RetentionReport, ScopeResult, Tally, assembled, sorted_tallies, unevaluated
from privet.retention.rules import DATE_FACTS, EVENT_FACTS, CompiledRule, Fact, Missing, RetentionState

STATES = list(RetentionState)
MISSING = list(Missing)
S = {state: np.int8(STATES.index(state)) for state in RetentionState}
M = {missing: np.int8(MISSING.index(missing)) for missing in Missing}
NONE = np.int8(-1)
NO_JURISDICTION, NO_ENTRY = -2, -3  # entry codes; -1 is "no limitation period", 0.. the rule's entries
CHUNK = 1 << 20
ENTRIES = 1024  # limitation entries a rule may have, for packing a tally into one integer
LOOKUP_LIMIT = 1 << 21  # days a lookup table may span (5,700 years); wider data are shifted directly
EPOCH = dt.date(1970, 1, 1)


class RetentionEngineError(ValueError):
    """The facts cannot be read as mapped (a column missing or of the wrong kind); nothing was changed."""


def shift(days: np.ndarray, period: Period) -> np.ndarray:
    """Days since 1970 plus a calendar period: whole months (clamped to the month's end), then days."""
    out = days.astype(np.int64)
    months = period.years * 12 + period.months
    if months:
        day = out.astype("datetime64[D]")
        month = day.astype("datetime64[M]")
        into = day - month.astype("datetime64[D]")
        target = month + np.timedelta64(months, "M")
        last = (target + np.timedelta64(1, "M")).astype("datetime64[D]") - np.timedelta64(1, "D")
        out = np.minimum(target.astype("datetime64[D]") + into, last).astype(np.int64)
    return out + period.days if period.days else out


def _column(table: pa.Table, name: str) -> pa.Array:
    column = table.column(name)
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _days(array: pa.Array) -> tuple[tuple[np.ndarray, np.ndarray], tuple[int, int] | None]:
    """((days since 1970, valid), (first, last) day or None) of a date, instant or ISO-text column.

    Instants count on their UTC day."""
    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.cast(kind.value_type)
        kind = array.type
    if pa.types.is_timestamp(kind):
        array = array.cast(pa.timestamp(kind.unit)).cast(pa.date32())  # a zone is only a label: values are UTC
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        con = duckdb.connect()
        con.register("t", pa.table({"v": array}))
        array = _column(con.sql("SELECT TRY_CAST(TRY_CAST(v AS TIMESTAMP) AS DATE) AS v FROM t").to_arrow_table(), "v")
    elif pa.types.is_null(kind):
        array = pa.nulls(len(array), pa.date32())
    elif not pa.types.is_date(kind):
        raise RetentionEngineError(f"holds {kind}, not dates")
    days = array.cast(pa.date32()).cast(pa.int32())
    valid = np.asarray(days.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    first, last = pc.min_max(days).values()
    span = (first.as_py(), last.as_py()) if first.is_valid else None
    return (np.asarray(days.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int32), valid), span


def _flag(array: pa.Array) -> np.ndarray:
    kind = array.type
    if pa.types.is_boolean(kind):
        values = array.fill_null(False)
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        values = pc.not_equal(array, pa.scalar(0, kind)).fill_null(False)
    else:
        values = array.is_valid()
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=bool)


def _named(column: pa.Array, targets: list[str]) -> np.ndarray:
    """Rows whose value, written as text, is one of `targets`: a semi-join in the column's own type."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.cast(kind.value_type), kind.value_type
    if pa.types.is_integer(kind):  # the targets are cast, not the column: "42" finds 42, "042" finds nothing
        values = pa.array([int(t) for t in targets if t.lstrip("-").isdigit() and str(int(t)) == t], kind)
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        values = pa.array(targets, kind)
    else:
        column, values = column.cast(pa.string()), pa.array(targets, pa.string())
    found = pc.is_in(column, value_set=values).fill_null(False)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


@dataclass
class _Columns:
    """The table's facts as NumPy arrays, converted once and shared by every chunk."""

    n: int
    days: dict[Fact, tuple[np.ndarray, np.ndarray]]  # int32 day, valid
    bounds: dict[Fact, tuple[int, int] | None]  # first and last day present; None where the column is empty
    jurisdiction: np.ndarray | None  # index into `values`, len(values) where empty
    values: list[Any]  # the distinct jurisdictions
    held: np.ndarray
    flagged: np.ndarray
    journaled: np.ndarray  # bool: the journal names the record (privet anonymised it)


def journaled(keys: pa.Array, journal: pa.Array | None) -> np.ndarray:
    """Which records the journal names: one membership test over the key column. The journal keeps keys as text;
    it is cast to an integer key column's type (the column is not cast), other kinds compare as text."""
    if journal is None or not len(journal) or not len(keys):
        return np.zeros(len(keys), bool)
    kind = keys.type
    if pa.types.is_dictionary(kind):
        keys, kind = keys.cast(kind.value_type), kind.value_type
    journal = journal.cast(pa.string())
    values: pa.Array | None = None
    if pa.types.is_integer(kind):
        try:
            values = journal.cast(kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values = None  # not all integers: compare as text
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        values = journal.cast(kind)
    if values is None:
        keys, values = keys.cast(pa.string()), journal
    found = pc.is_in(keys, value_set=values).fill_null(False)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def _settled(state: np.ndarray, missing: np.ndarray, marked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`retention.journal.settled` by column: journaled records due to be anonymised or undecidable are anonymised,
    with no missing fact (an undecidable record is not dated: its entry is -9 already)."""
    turn = marked & ((state == S[RetentionState.DUE_ANONYMISE]) | (state == S[RetentionState.UNDECIDABLE]))
    if not turn.any():
        return state, missing
    return (np.where(turn, S[RetentionState.ANONYMISED], state).astype(np.int8),
            np.where(turn, NONE, missing).astype(np.int8))  # fmt: skip


def _columns(scope: Scope, table: pa.Table, journal: pa.Array | None = None) -> _Columns:
    absent = [c for c in scope.columns if c not in table.schema.names]
    if absent:
        raise RetentionEngineError(
            f"{scope.collection} has no column {', '.join(absent)}; fix the facts mapping or the dataset's key"
        )
    n = table.num_rows
    days, bounds = {}, {}
    for fact, name in scope.facts.items():
        if fact in DATE_FACTS:
            try:
                days[fact], bounds[fact] = _days(_column(table, name))
            except RetentionEngineError as exc:
                raise RetentionEngineError(f"{scope.collection}.{name} (the {fact.value} fact) {exc}") from None
    jurisdiction, values = None, []
    if Fact.JURISDICTION in scope.facts:
        column = _column(table, scope.facts[Fact.JURISDICTION])
        encoded = column if pa.types.is_dictionary(column.type) else column.dictionary_encode()
        values = encoded.dictionary.to_pylist()
        jurisdiction = np.asarray(encoded.indices.fill_null(len(values)).to_numpy(zero_copy_only=False))
    held = np.full(n, bool(scope.holds))
    if scope.person_holds and Fact.PERSON in scope.facts:
        held |= _named(_column(table, scope.facts[Fact.PERSON]), sorted(scope.person_holds))
    if Fact.LEGAL_CLAIM in scope.facts and any(r.claims_extend for r in scope.rules):
        held |= _flag(_column(table, scope.facts[Fact.LEGAL_CLAIM]))
    flag = scope.facts.get(Fact.RESTRICTED)
    flagged = _flag(_column(table, flag)) if flag is not None else np.ones(n, bool)
    marked = journaled(_column(table, scope.key_field), journal)
    return _Columns(n, days, bounds, jurisdiction, values, held, flagged, marked)


@dataclass
class _Rule:
    """One rule made columnar for one table: the triggers it finds, entries by jurisdiction, lookup tables."""

    rule: CompiledRule
    given: list[Fact]  # the rule's triggers the table maps
    entry_of: np.ndarray | None  # entry code per distinct jurisdiction (+ one for empty); None: `entry` for all
    entry: int = 0
    low: int = 0
    width: int = 0
    restrict_lut: np.ndarray | None = None  # start - low -> restrict-from day (None: no time after the trigger)
    delete_lut: np.ndarray | None = None  # flat (entry + 1) * width + start - low -> delete-on day

    def rows(self, cols: _Columns, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(in use, missing code, entry code, start day) of rows lo..hi."""
        n = hi - lo
        if not self.given:
            return (
                np.zeros(n, bool),
                np.full(n, M[Missing.TRIGGER], np.int8),
                np.zeros(n, np.int16),
                np.zeros(n, np.int32),
            )
        in_use = np.zeros(n, bool)
        start = cols.days[self.given[0]][0][lo:hi]
        for t in self.given[1:]:
            start = np.maximum(start, cols.days[t][0][lo:hi])
        for t in self.given:
            if t in EVENT_FACTS:
                in_use |= ~cols.days[t][1][lo:hi]
        if self.entry_of is None or cols.jurisdiction is None:
            entry = np.full(n, self.entry, np.int16)
        else:
            entry = self.entry_of[cols.jurisdiction[lo:hi]]
        gap = np.where(entry == NO_ENTRY, M[Missing.LIMITATION_PERIOD], NONE)
        gap = np.where(entry == NO_JURISDICTION, M[Missing.JURISDICTION], gap)
        for t in reversed([t for t in self.given if t not in EVENT_FACTS]):  # the first missing in order wins
            gap = np.where(cols.days[t][1][lo:hi], gap, M[Missing(t.value)])
        return in_use, gap.astype(np.int8), entry, start

    def dates(self, start: np.ndarray, entry: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(restrict-from, delete-on) days; meaningful where `ok` (elsewhere clipped into the tables)."""
        if not self.given:
            return start, start
        if self.delete_lut is None:  # the data span too many days for lookup tables
            return self._direct(start.astype(np.int64), entry, ok)
        offset = start - np.int32(self.low)
        delete_on = np.take(self.delete_lut, (entry.astype(np.int32) + 1) * np.int32(self.width) + offset, mode="clip")
        restrict = start if self.restrict_lut is None else np.take(self.restrict_lut, offset, mode="clip")
        return (restrict if self.rule.restrict else delete_on), delete_on

    def _direct(self, start: np.ndarray, entry: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        restrict = shift(start, self.rule.after)
        delete_on = np.zeros_like(restrict)
        for code, period in _entry_periods(self.rule):
            sel = ok & (entry == code)
            delete_on[sel] = shift(shift(restrict[sel], period), self.rule.grace)
        return (restrict if self.rule.restrict else delete_on), delete_on


def _entry_periods(rule: CompiledRule) -> list[tuple[int, Period]]:
    return [(-1, Period()), *((lim.index, lim.period) for lim in rule.limitations)]


def _rule(rule: CompiledRule, scope: Scope, cols: _Columns) -> _Rule:
    given = [t for t in rule.triggers if t in scope.facts]
    if not rule.needs_jurisdiction:
        default = rule.default
        compiled = _Rule(rule, given, None, default.index if default is not None else NO_ENTRY)
    elif cols.jurisdiction is None:
        compiled = _Rule(rule, given, None, NO_JURISDICTION)
    else:
        codes = []
        for value in cols.values:  # once per distinct value, with the pure lookup
            jurisdiction = jurisdiction_of(value)
            lim = rule.limitation_for(jurisdiction) if jurisdiction is not None else None
            codes.append(NO_JURISDICTION if jurisdiction is None else lim.index if lim is not None else NO_ENTRY)
        compiled = _Rule(rule, given, np.array([*codes, NO_JURISDICTION], np.int16))
    spans = [cols.bounds[t] for t in given]
    if not given or any(s is None for s in spans):
        return compiled  # some trigger is never set: no row of this table is dated by this rule
    low = min(s[0] for s in spans if s is not None)
    high = max(s[1] for s in spans if s is not None)
    periods = _entry_periods(rule)
    if (high - low + 1) * len(periods) < LOOKUP_LIMIT:
        span = np.arange(low, high + 1, dtype=np.int64)
        restrict = shift(span, rule.after)
        compiled.low, compiled.width = low, high - low + 1
        compiled.restrict_lut = restrict.astype(np.int32) if rule.after != Period() else None
        lut = np.concatenate([shift(shift(restrict, p), rule.grace) for _, p in periods])
        compiled.delete_lut = lut.astype(np.int32)
    return compiled


def _first(conditions: Sequence[np.ndarray]) -> np.ndarray:
    """The index of the first true condition per row (the last index where none is)."""
    out = np.full(len(conditions[0]), len(conditions) - 1, np.int8)
    for i in range(len(conditions) - 2, -1, -1):
        out = np.where(conditions[i], np.int8(i), out)
    return out


@dataclass
class _States:
    state: np.ndarray  # int8 state code
    decider: np.ndarray  # int8 rule index
    missing: np.ndarray  # int8 Missing code, -1 where none
    entry: np.ndarray  # int16 limitation entry of the decider, -9 where not dated
    delete_on: np.ndarray  # int32 day, valid where entry > -9
    open: np.ndarray  # bool: restricted and not flagged by the system

    @property
    def group(self) -> np.ndarray:
        """One int32 per row naming its tally: (state, decider, missing + 1, entry + 9)."""
        code = self.state.astype(np.int32) * np.int32(128) + self.decider
        code = code * np.int32(len(MISSING) + 1) + (self.missing + np.int32(1))
        out: np.ndarray = code * np.int32(ENTRIES) + (self.entry + np.int32(9))
        return out


def _chunk(scope: Scope, rules: list[_Rule], cols: _Columns, as_of: int, lo: int, hi: int) -> _States:
    n = hi - lo
    per_rule = [r.rows(cols, lo, hi) for r in rules]
    in_use = per_rule[0][0]
    gap = per_rule[-1][1]
    for u, _, _, _ in per_rule[1:]:
        in_use = in_use | u
    for _, g, _, _ in reversed(per_rule[:-1]):
        gap = np.where(g >= 0, g, gap)
    undecided = gap >= 0
    dated = ~(in_use | undecided)
    restricts, deletes = zip(*(r.dates(p[3], p[2], dated) for r, p in zip(rules, per_rule, strict=True)), strict=True)
    restrict_from, delete_on = restricts[0], deletes[0]
    for rf, do in zip(restricts[1:], deletes[1:], strict=True):
        restrict_from = np.maximum(restrict_from, rf)
        delete_on = np.maximum(delete_on, do)
    active = restrict_from > as_of
    due = delete_on <= as_of
    hold = cols.held[lo:hi]
    person = due & ~hold if scope.person_unknown else np.zeros(n, bool)
    # Each state overwrites the ones it takes precedence over.
    state = np.where(due, S[scope.due], S[RetentionState.RESTRICTED])
    state = np.where(due & hold, S[RetentionState.HELD], state)
    state = np.where(person, S[RetentionState.UNDECIDABLE], state)
    state = np.where(active | in_use, S[RetentionState.ACTIVE], state)
    state = np.where(undecided & ~in_use, S[RetentionState.UNDECIDABLE], state).astype(np.int8)
    if len(rules) == 1:
        decider = np.zeros(n, np.int8)
        entry = per_rule[0][2]
    else:
        decider = np.where(
            in_use,
            _first([p[0] for p in per_rule]),
            np.where(undecided, _first([p[1] >= 0 for p in per_rule]), _first([d == delete_on for d in deletes])),
        ).astype(np.int8)
        entry = per_rule[-1][2]
        for i in range(len(rules) - 2, -1, -1):
            entry = np.where(decider == i, per_rule[i][2], entry)
    person_gap = person & dated
    entry = np.where(dated & ~person_gap, entry, np.int16(-9)).astype(np.int16)
    missing = np.where(in_use, NONE, np.where(undecided, gap, np.where(person_gap, M[Missing.PERSON], NONE)))
    state, missing = _settled(state, missing.astype(np.int8), cols.journaled[lo:hi])
    open_ = (state == S[RetentionState.RESTRICTED]) & ~cols.flagged[lo:hi]
    return _States(state, decider, missing, entry, delete_on.astype(np.int32), open_)


@dataclass(frozen=True)
class Followed:
    """A parent's evaluated records, for the collections that follow it: its keys and their states."""

    keys: pa.Array
    states: _States


def _follow_chunk(scope: Scope, parent: Followed, codes: np.ndarray, at: np.ndarray, cols: _Columns, lo: int,
                  hi: int) -> _States:  # fmt: skip
    """Rows lo..hi of a follower: the parent row's state, decider, missing fact, entry and day (`at` is the
    parent row, -1 where the reference names none); due ones take the child's own final action or holds."""
    n = hi - lo
    found = at[lo:hi] >= 0
    ps = parent.states
    if ps.state.size == 0:  # no parent record at all: a gather has nothing to read
        found = np.zeros(n, bool)
        ps = _States(*(np.zeros(1, a.dtype) for a in (ps.state, ps.decider, ps.missing, ps.entry, ps.delete_on,
                                                          ps.open)))  # fmt: skip
    row = np.where(found, at[lo:hi], 0)
    state = np.where(found, ps.state[row], S[RetentionState.UNDECIDABLE])
    ended = np.isin(state, [S[st] for st in ENDED])  # due, or anonymised already: the child's own final action
    state = np.where(ended, np.where(cols.held[lo:hi], S[RetentionState.HELD], S[scope.due]), state).astype(np.int8)
    decider = np.where(found, codes[ps.decider[row]], np.int8(0)).astype(np.int8)
    missing = np.where(found, ps.missing[row], M[Missing.PARENT]).astype(np.int8)
    state, missing = _settled(state, missing, cols.journaled[lo:hi])
    entry = np.where(found, ps.entry[row], np.int16(-9)).astype(np.int16)
    delete_on = np.where(found, ps.delete_on[row], np.int32(0)).astype(np.int32)
    open_ = (state == S[RetentionState.RESTRICTED]) & ~cols.flagged[lo:hi]
    return _States(state, decider, missing, entry, delete_on, open_)


def _comparable(refs: pa.Array, keys: pa.Array) -> tuple[pa.Array, pa.Array]:
    """References and keys in one type: integers as 64-bit, an empty (null) column as the other's type, and any
    other two kinds that differ as text."""
    if pa.types.is_dictionary(refs.type):
        refs = refs.cast(refs.type.value_type)
    if pa.types.is_dictionary(keys.type):
        keys = keys.cast(keys.type.value_type)
    if refs.type == keys.type:
        return refs, keys
    if pa.types.is_null(refs.type) or pa.types.is_null(keys.type):
        kind = keys.type if pa.types.is_null(refs.type) else refs.type
        kind = pa.int64() if pa.types.is_null(kind) else kind
        return refs.cast(kind), keys.cast(kind)
    if pa.types.is_integer(refs.type) and pa.types.is_integer(keys.type):
        return refs.cast(pa.int64()), keys.cast(pa.int64())
    return refs.cast(pa.string()), keys.cast(pa.string())


def positions(refs: pa.Array, keys: pa.Array) -> np.ndarray:
    """Each reference's row among the parent's keys (the first where a key repeats), -1 where it is empty or
    names none: one hash lookup over the column."""
    refs, keys = _comparable(refs, keys)
    found = pc.index_in(refs, value_set=keys, skip_nulls=True)
    return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def compute(scope: Scope, table: pa.Table, as_of: dt.date, threads: int = 2, parent: Followed | None = None,
            journal: pa.Array | None = None) -> _States:  # fmt: skip
    """Every record's state, decider, missing fact, limitation entry and due day, as NumPy columns (`journal`: the
    keys, as text, of the records privet anonymised)."""
    return _joined(_parts(scope, table, as_of, threads, lambda s, _: s, parent, journal=journal))


def _joined(parts: Sequence[_States]) -> _States:
    return _States(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                     ("state", "decider", "missing", "entry", "delete_on", "open")))  # fmt: skip


T = TypeVar("T")


def _parts(scope: Scope, table: pa.Table, as_of: dt.date, threads: int, then: Callable[[_States, int], T],
           parent: Followed | None = None, at: np.ndarray | None = None,
           journal: pa.Array | None = None) -> list[T]:  # fmt: skip
    """`then` of each chunk's states and first row, chunks in order, computed on `threads` worker threads (`at`:
    a follower's `positions` in its parent, where the caller has them; `journal`: the anonymised records' keys)."""
    cols = _columns(scope, table, journal)
    bounds = [(lo, min(lo + CHUNK, cols.n)) for lo in range(0, cols.n, CHUNK)] or [(0, 0)]
    follows = scope.follows
    if follows is not None:
        if parent is None:
            raise ValueError(f"{scope.collection} follows {follows.parent}: pass the parent's states (Followed)")
        rows = positions(_column(table, follows.field), parent.keys) if at is None else at
        index = {r.key: i for i, r in enumerate(scope.deciders)}
        codes = np.array([index[r.key] for r in follows.rules] or [0], np.int8)
        up = parent

        def chunk(lo: int, hi: int) -> _States:
            return _follow_chunk(scope, up, codes, rows, cols, lo, hi)
    else:
        rules = [_rule(rule, scope, cols) for rule in scope.rules]
        day = (as_of - EPOCH).days

        def chunk(lo: int, hi: int) -> _States:
            return _chunk(scope, rules, cols, day, lo, hi)

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        return list(pool.map(lambda b: then(chunk(*b), b[0]), bounds))


def _dates(delete_on: np.ndarray, entry: np.ndarray) -> pa.Array:
    return pa.array(delete_on.astype(np.int32), pa.int32(), mask=entry == -9).cast(pa.date32())


def states(scope: Scope, table: pa.Table, as_of: dt.date, parent: Followed | None = None,
           journal: pa.Array | None = None) -> pa.Table:  # fmt: skip
    """Every record's state as a table (k, st, dec, miss, lim, delete_on), for tests and inspection."""
    s = compute(scope, table, as_of, parent=parent, journal=journal)
    return pa.table({
        "k": _column(table, scope.key_field),
        "st": s.state,
        "dec": s.decider,
        "miss": pa.array(s.missing, mask=s.missing < 0),
        "lim": pa.array(s.entry, mask=s.entry == -9),
        "delete_on": _dates(s.delete_on, s.entry),
    })  # fmt: skip


def evaluate_table(scope: Scope, table: pa.Table, as_of: dt.date, examples: int = 3, threads: int = 2,
                   parent: Followed | None = None, journal: pa.Array | None = None) -> ScopeResult:  # fmt: skip
    """Counts per state, deciding rule, missing fact and limitation entry, with the smallest keys as examples."""
    parts = _parts(scope, table, as_of, threads, lambda s, _: (s.group, s.open), parent, journal=journal)
    return _tally(scope, table, [g for g, _ in parts], [o for _, o in parts], examples)


def assess(scope: Scope, table: pa.Table, as_of: dt.date, examples: int = 3, threads: int = 2,
           parent: Followed | None = None, journal: pa.Array | None = None) -> tuple[ScopeResult, Due]:  # fmt: skip
    """What `evaluate_table` counts and what `due` picks, from one evaluation of the records (what an apply
    reports and what it then carries out)."""
    result, found, _ = _judge(scope, table, as_of, examples, threads, parent, pick=True, journal=journal)
    assert found is not None
    return result, found


def _judge(scope: Scope, table: pa.Table, as_of: dt.date, examples: int, threads: int, parent: Followed | None,
           at: np.ndarray | None = None, *, pick: bool,
           journal: pa.Array | None = None) -> tuple[ScopeResult, Due | None, np.ndarray]:  # fmt: skip
    """One evaluation of the records: the tallies, with `pick` what is due, and (given a follower's `at`) the
    parent rows its held records belong to."""

    def then(s: _States, lo: int) -> tuple[np.ndarray, np.ndarray, _Picked | None, np.ndarray]:
        held = _held_parents(s, at[lo : lo + len(s.state)]) if at is not None else np.zeros(0, np.int64)
        return s.group, s.open, _picked(s, lo) if pick else None, held

    parts = _parts(scope, table, as_of, threads, then, parent, at, journal)
    result = _tally(scope, table, [p[0] for p in parts], [p[1] for p in parts], examples)
    found = _due(scope, table, [p[2] for p in parts if p[2] is not None]) if pick else None
    return result, found, np.concatenate([p[3] for p in parts])


def _held_parents(s: _States, at: np.ndarray) -> np.ndarray:
    """The parent rows that held records (of a follower, `at` its parent rows) belong to."""
    rows: np.ndarray = at[(s.state == S[RetentionState.HELD]) & (at >= 0)]
    return rows


def _kept(s: _States, keep: np.ndarray) -> _States:
    """A parent's states once its followers are judged: due records a held follower record belongs to are held."""
    due = (s.state == S[RetentionState.DUE_DELETE]) | (s.state == S[RetentionState.DUE_ANONYMISE])
    state = np.where(keep & due, S[RetentionState.HELD], s.state).astype(np.int8)
    return _States(state, s.decider, s.missing, s.entry, s.delete_on, s.open)


def _tally(scope: Scope, table: pa.Table, groups: list[np.ndarray], opens: list[np.ndarray],
           examples: int) -> ScopeResult:  # fmt: skip
    width = len(MISSING) + 1
    con = duckdb.connect()
    con.register("g", pa.table({"k": _column(table, scope.key_field), "g": np.concatenate(groups),
                                "o": np.concatenate(opens)}))  # fmt: skip
    rows = con.sql(f"SELECT g, count(*), count_if(o), min(k, {examples}) FROM g GROUP BY g").fetchall()
    tallies, to_restrict = [], 0
    for code, count, open_, keys in rows:
        rest, entry = divmod(int(code), ENTRIES)
        rest, missing = divmod(rest, width)
        state, decider = divmod(rest, 128)
        tallies.append(Tally(STATES[state], scope.deciders[decider].key, count, tuple(keys),
                             MISSING[missing - 1] if missing else None, entry - 9 if entry != 0 else None))  # fmt: skip
        to_restrict += open_
    return ScopeResult(scope.collection, sorted_tallies(tallies), to_restrict)


@dataclass(frozen=True)
class Due:
    """The records a collection's actions are for, sorted by state, rule, limitation entry and key."""

    scope: Scope
    table: pa.Table  # k, st, dec, lim

    @property
    def count(self) -> int:
        return int(self.table.num_rows)

    def batches(self, size: int) -> Iterator[list[ActionSet]]:
        """Action sets for `size` records at a time, in order; each state, rule and limitation entry keeps its
        reason. Keys are NumPy arrays: no per-record Python object is made on the way to the connector."""
        st = self.table.column("st").to_numpy()
        dec = self.table.column("dec").to_numpy()
        lim = self.table.column("lim").to_numpy()
        changes = np.flatnonzero((st[1:] != st[:-1]) | (dec[1:] != dec[:-1]) | (lim[1:] != lim[:-1])) + 1
        keys = self.table.column("k")
        for lo in range(0, len(st), size):
            hi = min(lo + size, len(st))
            cuts = [lo, *changes[(changes > lo) & (changes < hi)].tolist(), hi]
            sets: list[ActionSet] = []
            for start, end in itertools.pairwise(cuts):
                state, rule = STATES[int(st[start])], self.scope.deciders[int(dec[start])].key
                part = keys.slice(start, end - start).to_numpy(zero_copy_only=False)
                sets += action_sets_for(self.scope, state, rule, int(lim[start]) if lim[start] != -9 else None, part)
            yield sets


def due(scope: Scope, table: pa.Table, as_of: dt.date, threads: int = 2, parent: Followed | None = None,
        journal: pa.Array | None = None) -> Due:  # fmt: skip
    """Due records, and restricted ones the system has a flag for and has not flagged yet (never one the journal
    says privet anonymised, unless it is due to be deleted now)."""
    return _due(scope, table, _parts(scope, table, as_of, threads, _picked, parent, journal=journal))


_Picked = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # rows, state, decider, limitation entry


def _picked(s: _States, lo: int) -> _Picked:
    wanted = (s.state == S[RetentionState.DUE_DELETE]) | (s.state == S[RetentionState.DUE_ANONYMISE]) | s.open
    rows = np.flatnonzero(wanted)
    return rows + lo, s.state[rows], s.decider[rows], s.entry[rows]


def _due(scope: Scope, table: pa.Table, parts: list[_Picked]) -> Due:
    rows, st, dec, lim = (np.concatenate([p[i] for p in parts]) for i in range(4))
    keys = _column(table, scope.key_field)
    picked = pa.table({"k": keys.take(pa.array(rows)), "st": st, "dec": dec, "lim": lim})
    return Due(scope, _sorted_due(picked, _ascending(keys)))


def _ascending(keys: pa.Array) -> bool:
    """Whether the keys are already in order (lakes and tables are often written in key order)."""
    if len(keys) < 2 or keys.null_count:
        return len(keys) < 2
    return bool(pc.all(pc.less_equal(keys.slice(0, len(keys) - 1), keys.slice(1))).as_py())


def _sorted_due(picked: pa.Table, ascending: bool = False) -> pa.Table:
    """By state, rule, limitation entry and key. When the keys are already ascending, a stable sort on the first
    three packed into 16 bits keeps them so (NumPy sorts 16-bit integers by radix, in linear time). Otherwise
    integer keys within 2**40 of each other sort as one 64-bit number (state, rule and entry take 17 bits above
    the key), several times faster than a sort on four columns."""
    keys = picked.column("k")
    st = picked.column("st").to_numpy().astype(np.int64)
    dec = picked.column("dec").to_numpy().astype(np.int64)
    lim = picked.column("lim").to_numpy().astype(np.int64) + 128
    if ascending and len(keys):
        rules, entries = int(dec.max()) + 1, int(lim.max()) + 1
        if (int(st.max()) + 1) * rules * entries <= 1 << 16:
            code = ((st * rules + dec) * entries + lim).astype(np.uint16)
            return picked.take(pa.array(np.argsort(code, kind="stable")))
    if pa.types.is_integer(keys.type) and keys.null_count == 0 and len(keys):
        k = keys.to_numpy().astype(np.int64)
        low = int(k.min())
        if int(k.max()) - low < 1 << 40:
            combined = (st << 55) | (dec << 48) | (lim << 40) | (k - low)
            return picked.take(pa.array(np.argsort(combined)))
    order = [("st", "ascending"), ("dec", "ascending"), ("lim", "ascending"), ("k", "ascending")]
    return picked.sort_by(order)


# -- reading the facts --------------------------------------------------------------------------------------------


def read_facts(connector: Connector, collection: str, columns: Sequence[str], batch: int = 100_000) -> pa.Table:
    """The columns of every row of a collection: SQL databases streamed in batches, lake files through DuckDB."""
    from privet.connectors.files import FilesConnector
    from privet.connectors.sql import SqlConnector
    from privet.fulfilment.executor import table_of

    table = table_of(collection)
    if isinstance(connector, SqlConnector):
        return _read_sql(connector, table, columns, batch)
    if isinstance(connector, FilesConnector):
        return _read_files(connector, table, columns)
    raise ConnectorError(
        f"{connector.name}: retention sweeps read whole collections, which only SQL and files connectors can; "
        "sweep this system with its own tools"
    )


def _read_sql(connector: Any, table: str, columns: Sequence[str], batch: int) -> pa.Table:
    import sqlalchemy as sa
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with connector.engine.connect() as conn:
            if not sa.inspect(conn).has_table(table, schema=connector.schema):
                raise ConnectorError(f"{connector.name}: there is no collection {table!r}")
            reflected = sa.Table(table, sa.MetaData(), schema=connector.schema, autoload_with=conn)
            absent = [c for c in columns if c not in reflected.columns]
            if absent:
                raise RetentionEngineError(f"{connector.name}.{table} has no column {', '.join(absent)}")
            # Values as the driver gives them: SQLite's dates stay ISO text, parsed in bulk by the engine.
            query = sa.select(*(sa.type_coerce(reflected.columns[c], sa.types.NullType()).label(c) for c in columns))
            parts = [
                pa.table({c: pa.array(v) for c, v in zip(columns, zip(*rows, strict=True), strict=True)})
                for rows in _row_batches(conn, query, batch)
            ]
    except SQLAlchemyError as exc:
        raise ConnectorError(f"{connector.name}: reading {table} failed: {type(exc).__name__}") from exc
    if not parts:
        return pa.table({c: pa.array([], pa.null()) for c in columns})
    return pa.concat_tables(parts, promote_options="permissive")


def _row_batches(conn: Any, query: Any, batch: int) -> Iterator[list[tuple[Any, ...]]]:
    """Plain tuples, `batch` at a time. SQLite's own cursor skips building a result row object per record (half
    the time of a sweep's read); other databases stream through SQLAlchemy's server-side cursors."""
    if conn.dialect.name == "sqlite":
        cursor = conn.connection.driver_connection.cursor()
        try:
            cursor.execute(str(query.compile(dialect=conn.dialect)))
            while rows := cursor.fetchmany(batch):
                yield rows
        finally:
            cursor.close()
        return
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
    for rows in result.partitions(batch):
        if rows:
            yield [tuple(r) for r in rows]


def _read_files(connector: Any, table: str, columns: Sequence[str]) -> pa.Table:
    files = connector._files(table)  # the connector's own file layout, so both agree on what a collection is
    if files is None:
        raise ConnectorError(f"{connector.name}: there is no collection {table!r}")
    reader = "read_parquet" if connector.format == "parquet" else "read_csv"
    con = duckdb.connect()
    wanted = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
    return con.sql(f"SELECT {wanted} FROM {reader}($files)", params={"files": [str(f) for f in files]}).to_arrow_table()


def sweep(plan: RetentionPlan, tables: Mapping[str, pa.Table], examples: int = 3,
          journal: Mapping[str, pa.Array] | None = None) -> RetentionReport:  # fmt: skip
    """The report of a plan over facts already read (collection -> table); absent collections are reported."""

    def read(scope: Scope) -> pa.Table:
        if scope.collection not in tables:
            raise ConnectorError("not read")
        return tables[scope.collection]

    return run(plan, read, examples=examples, journal=journal)[0]


@dataclass
class _Waiting:
    """A collection others follow, evaluated: its states serve them, and its tally waits for theirs."""

    scope: Scope
    table: pa.Table
    states: _States
    at: np.ndarray | None  # its own parent rows, where it follows one
    parent: Followed = field(init=False)
    keep: np.ndarray = field(init=False)  # rows that a held follower record belongs to

    def __post_init__(self) -> None:
        self.parent = Followed(_column(self.table, self.scope.key_field), self.states)
        self.keep = np.zeros(len(self.states.state), bool)


def run(plan: RetentionPlan, read: Callable[[Scope], pa.Table], *, examples: int = 3, pick: bool = False,
        threads: int = 2,
        journal: Mapping[str, pa.Array] | None = None) -> tuple[RetentionReport, dict[str, Due]]:  # fmt: skip
    """The report of a plan, and with `pick` what is due per collection, reading each collection once with `read`
    (a ConnectorError or RetentionEngineError it raises is that collection's error). `journal` holds the keys, as
    text, of the records privet anonymised, per collection (`retention.journal`).

    Parents are evaluated before the collections following them, which join their references to the parent's
    states. A parent's tally and picks wait until every follower is judged: a due record that a held follower
    record belongs to is held. Its table and states are dropped then."""
    order = plan.evaluation_order
    shown = {s.collection for s in plan.scopes}
    results: dict[str, ScopeResult] = {}
    dues: dict[str, Due] = {}
    marks = journal or {}

    def finish(scope: Scope, w: _Waiting, held: list[np.ndarray]) -> None:
        for rows in held:
            w.keep[rows] = True
        states = _kept(w.states, w.keep)
        results[scope.collection] = _tally(scope, w.table, [states.group], [states.open], examples)
        if pick and scope.collection in shown:
            dues[scope.collection] = _due(scope, w.table, [_picked(states, 0)])
        if scope.follows is not None:
            followers.release(scope.follows.parent, _held_parents(states, w.at) if w.at is not None else None)

    followers: Followers[_Waiting, np.ndarray] = Followers(order, finish)
    for scope in order:
        key, parent = scope.collection, scope.follows.parent if scope.follows is not None else None
        try:
            waiting = followers.waiting(parent) if parent is not None else None
            if parent is not None and waiting is None:
                raise RetentionEngineError(unevaluated(parent, results[parent].error if parent in results else None))
            table = read(scope)
            up = waiting.parent if waiting is not None else None
            at = positions(_column(table, scope.follows.field), up.keys) if scope.follows and up else None
            if followers.followed(key):  # its states now, its tally once its followers are judged
                states = _joined(_parts(scope, table, plan.as_of, threads, lambda s, _: s, up, at, marks.get(key)))
                followers.judged(scope, _Waiting(scope, table, states, at))
                continue
            results[key], found, held = _judge(scope, table, plan.as_of, examples, threads, up, at,
                                               pick=pick and key in shown, journal=marks.get(key))  # fmt: skip
        except (ConnectorError, RetentionEngineError) as exc:
            results[key], found, held = ScopeResult(key, error=str(exc)), None, None
        if found is not None:
            dues[key] = found
        if parent is not None:
            followers.release(parent, held)
    return assembled(plan, results), dues
