"""Retention states on Spark: every record's state, deciding rule, missing fact, limitation entry and due day.

The same `Scope` as the local engine (`privet.engines.retention`), evaluated as column expressions: calendar
periods with `add_months` (the same day, or the month's last day) then `date_add`; a jurisdiction's limitation
entry by a CASE over the lower-cased, stripped value (the rules' `matches`, as `limitation_for` reads them);
person holds as a membership test; tallies as one aggregation with the smallest keys of each group. States,
rules and missing facts use the local engine's codes, so the two agree row by row and tally by tally. A collection
that follows its parent is a left join of its references to the parent's states, which a sweep persists while
the collections following it are judged. The journal of anonymised records (`retention.journal`) is a left join of
the keys, as text, to the keys privet anonymised (broadcast: the journal of one collection is a list of keys).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from privet.engines.retention import MISSING, NO_ENTRY, NO_JURISDICTION, STATES, M, RetentionEngineError, S
from privet.engines.spark.frames import SparkPlanError, col
from privet.fulfilment.ports import ConnectorError
from privet.manifest.period import Period
from privet.retention.follow import ENDED, Followers
from privet.retention.plan import RetentionPlan, Scope
from privet.retention.report import RetentionReport, ScopeResult, Tally, assembled, sorted_tallies, unevaluated
from privet.retention.rules import DATE_FACTS, EVENT_FACTS, CompiledRule, Fact, Missing, RetentionState

# The characters Python's str.strip() removes (str.isspace), trimmed by btrim as a set: no regular expression per row.
PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)
DAY_MICROS = 86_400_000_000


def read_collection(spark: SparkSession, connector: object, collection: str) -> DataFrame:
    """A lake collection's Parquet files as one DataFrame, found by the files connector's own layout."""
    from privet.connectors.files import FilesConnector
    from privet.fulfilment.executor import table_of

    if not isinstance(connector, FilesConnector):
        raise SparkPlanError(f"{getattr(connector, 'name', connector)}: the Spark engine reads Parquet lakes (files "
                             "connectors); sweep other systems with the local engine")  # fmt: skip
    if connector.format != "parquet":
        raise SparkPlanError(f"{connector.name}: the Spark engine reads Parquet, not {connector.format}; convert the "
                             "lake to Parquet or use the local engine")  # fmt: skip
    files = connector._files(table_of(collection))  # the connector's layout, so both engines see the same rows
    if files is None:
        raise ConnectorError(f"{connector.name}: there is no collection {table_of(collection)!r}")
    if not files:
        raise ConnectorError(f"{connector.name}: collection {table_of(collection)!r} has no Parquet files")
    # Files written at different times may differ in columns: merge their schemas then (by name, as DuckDB's
    # union_by_name does), and spare the job that merging costs when they agree.
    differ = len({pq.read_schema(f).remove_metadata() for f in files}) > 1
    return spark.read.option("mergeSchema", str(differ).lower()).parquet(*(str(f) for f in files))


def add_period(day: Column, period: Period) -> Column:
    """`day` plus a calendar period: whole months (clamped to the month's end), then days."""
    months = period.years * 12 + period.months
    out = F.add_months(day, months) if months else day
    return F.date_add(out, period.days) if period.days else out


def _day(frame: DataFrame, name: str, fact: Fact, scope: Scope) -> Column:
    """A date fact as a date: instants on their UTC day, text parsed as DuckDB's cast would, else an error."""
    kind = frame.schema[name].dataType
    value = col(name)
    if isinstance(kind, T.DateType):
        return value
    if isinstance(kind, T.TimestampType):  # an instant: its UTC day whatever the session's time zone
        return F.date_from_unix_date(F.floor(F.unix_micros(value) / DAY_MICROS).cast("int"))
    if isinstance(kind, T.TimestampNTZType):
        return F.to_date(value)
    if isinstance(kind, T.StringType):
        return F.to_date(value.try_cast("timestamp"))
    if isinstance(kind, T.NullType):
        return F.lit(None).cast("date")
    where = f"{scope.collection}.{name} (the {fact.value} fact)"
    raise RetentionEngineError(f"{where} holds {kind.simpleString()}, not dates")


def _flag(frame: DataFrame, name: str) -> Column:
    kind = frame.schema[name].dataType
    if isinstance(kind, T.BooleanType):
        return F.coalesce(col(name), F.lit(False))
    if isinstance(kind, T.NumericType):
        return F.coalesce(col(name) != 0, F.lit(False))
    return col(name).isNotNull()


def _named(frame: DataFrame, name: str, targets: list[str]) -> Column:
    """Rows whose value, written as text, is one of `targets` (integers match only their canonical text)."""
    kind = frame.schema[name].dataType
    if isinstance(kind, T.IntegralType):
        return F.coalesce(col(name).isin([int(t) for t in targets if t.lstrip("-").isdigit() and str(int(t)) == t]),
                          F.lit(False))  # fmt: skip
    if isinstance(kind, T.StringType):
        return F.coalesce(col(name).isin(targets), F.lit(False))
    return F.coalesce(col(name).cast("string").isin(targets), F.lit(False))


def jurisdiction(value: Column) -> Column:
    """The value as `jurisdiction_of` reads it: text, stripped as Python strips, lower-cased; empty is NULL."""
    text = F.lower(F.btrim(value.cast("string"), F.lit(PY_WHITESPACE)))
    return F.when(text != "", text)


def _entry(rule: CompiledRule, place: Column | None) -> Column:
    default = rule.default
    otherwise = default.index if default is not None else NO_ENTRY
    if not rule.needs_jurisdiction:
        return F.lit(otherwise)
    if place is None:
        return F.lit(NO_JURISDICTION)
    entry = F.when(place.isNull(), F.lit(NO_JURISDICTION))
    for lim in rule.limitations:
        if lim.matches:
            entry = entry.when(place.isin(sorted(lim.matches)), F.lit(lim.index))
    return entry.otherwise(F.lit(otherwise))


def _rule(i: int, rule: CompiledRule, scope: Scope) -> dict[str, Column]:
    """Rule i's columns: in use (u), missing code (g, NULL where none), restrict-from (rf) and delete-on (do),
    from its entry (e) and start (s) computed one stage before."""
    given = [t for t in rule.triggers if t in scope.facts]
    if not given:
        none = F.lit(None).cast("date")
        return {f"u{i}": F.lit(False), f"g{i}": F.lit(int(M[Missing.TRIGGER])), f"rf{i}": none, f"do{i}": none}
    entry, start = F.col(f"e{i}"), F.col(f"s{i}")
    in_use = F.lit(False)
    for t in given:
        if t in EVENT_FACTS:
            in_use = in_use | F.col(f"day_{t.value}").isNull()
    gap = F.when(entry == NO_JURISDICTION, F.lit(int(M[Missing.JURISDICTION])))
    gap = gap.when(entry == NO_ENTRY, F.lit(int(M[Missing.LIMITATION_PERIOD])))
    for t in reversed([t for t in given if t not in EVENT_FACTS]):  # the first missing in order wins
        gap = F.when(F.col(f"day_{t.value}").isNull(), F.lit(int(M[Missing(t.value)]))).otherwise(gap)
    restrict = add_period(start, rule.after)
    delete = F.when(entry == -1, add_period(restrict, rule.grace))
    for lim in rule.limitations:
        delete = delete.when(entry == lim.index, add_period(add_period(restrict, lim.period), rule.grace))
    return {f"u{i}": in_use, f"g{i}": gap, f"rf{i}": restrict if rule.restrict else delete, f"do{i}": delete}


def _first(conditions: list[Column]) -> Column:
    """The index of the first true condition (the last index where none is)."""
    out = F.when(conditions[0], F.lit(0))
    for i, condition in enumerate(conditions[1:-1], start=1):
        out = out.when(condition, F.lit(i))
    return out.otherwise(F.lit(len(conditions) - 1))


def _greatest(columns: list[Column]) -> Column:
    return columns[0] if len(columns) == 1 else F.greatest(*columns)


def _checked(scope: Scope, frame: DataFrame) -> None:
    absent = [c for c in scope.columns if c not in frame.columns]
    if absent:
        raise RetentionEngineError(
            f"{scope.collection} has no column {', '.join(absent)}; fix the facts mapping or the dataset's key"
        )


def _held_and_flagged(scope: Scope, frame: DataFrame) -> tuple[Column, Column]:
    """Whether a due record is held (holds on the collection, person holds, open claims), and whether the system
    has flagged it restricted (true where it has no flag column)."""
    held = F.lit(bool(scope.holds))
    if scope.person_holds and Fact.PERSON in scope.facts:
        held = held | _named(frame, scope.facts[Fact.PERSON], sorted(scope.person_holds))
    if Fact.LEGAL_CLAIM in scope.facts and any(r.claims_extend for r in scope.rules):
        held = held | _flag(frame, scope.facts[Fact.LEGAL_CLAIM])
    flag = scope.facts.get(Fact.RESTRICTED)
    return held, (_flag(frame, flag) if flag is not None else F.lit(True))


def _follow_states(scope: Scope, frame: DataFrame, parent: DataFrame | None) -> DataFrame:
    """A follower's states: each reference joined to the parent's states (k, st, dec, miss, lim, delete_on); due
    records take the child's own final action, or its holds."""
    follows = scope.follows
    assert follows is not None
    if parent is None:
        raise ValueError(f"{scope.collection} follows {follows.parent}: pass the parent's states")
    _checked(scope, frame)
    held, flagged = _held_and_flagged(scope, frame)
    facts = frame.select(col(scope.key_field).alias("k"), col(follows.field).alias("ref"), held.alias("held"),
                         flagged.alias("flagged"))  # fmt: skip
    names = {"k": "pk", "st": "pst", "dec": "pdec", "miss": "pmiss", "lim": "plim", "delete_on": "pdo"}
    up = parent.select(*(F.col(a).alias(b) for a, b in names.items()))
    # Keys of another type than the references (text naming integers) are compared as text, as the local engine
    # and the reference path compare them.
    kinds = (facts.schema["ref"].dataType, up.schema["pk"].dataType)
    same = kinds[0] == kinds[1] or all(isinstance(k, T.IntegralType) for k in kinds)
    on = facts["ref"] == up["pk"] if same else facts["ref"].cast("string") == up["pk"].cast("string")
    joined = facts.join(up, on, "left")
    index = {r.key: i for i, r in enumerate(scope.deciders)}
    codes = F.array(*(F.lit(index[r.key]) for r in follows.rules))
    found = F.col("pk").isNotNull()
    due = F.col("pst").isin(*(int(S[st]) for st in ENDED))  # due, or anonymised already: the child's final action
    state = (
        F.when(~found, F.lit(int(S[RetentionState.UNDECIDABLE])))
        .when(due & F.col("held"), F.lit(int(S[RetentionState.HELD])))
        .when(due, F.lit(int(S[scope.due])))
        .otherwise(F.col("pst"))
    )
    judged = joined.withColumn("st", state.cast("int"))
    return judged.select(
        "k",
        "st",
        F.when(found, F.element_at(codes, F.col("pdec") + 1)).otherwise(F.lit(0)).cast("int").alias("dec"),
        F.when(found, F.col("pmiss")).otherwise(F.lit(int(M[Missing.PARENT]))).cast("int").alias("miss"),
        F.when(found, F.col("plim")).cast("int").alias("lim"),
        F.when(found, F.col("pdo")).alias("delete_on"),
        ((F.col("st") == int(S[RetentionState.RESTRICTED])) & ~F.col("flagged")).alias("o"),
        F.when(found, F.col("ref")).alias("ref"),  # the parent record it belongs to, for holds that keep it
    )


def _anonymised(judged: DataFrame, journal: DataFrame | None) -> DataFrame:
    """`retention.journal.settled` as columns: journaled records due to be anonymised or undecidable are anonymised,
    without a missing fact (an undecidable record has no entry or day already)."""
    if journal is None:
        return judged
    marks = F.broadcast(journal.select(F.col("jk")).distinct().withColumn("jr", F.lit(True)))
    joined = judged.join(marks, judged["k"].cast("string") == marks["jk"], "left")
    turn = F.coalesce(F.col("jr"), F.lit(False)) & F.col("st").isin(
        int(S[RetentionState.DUE_ANONYMISE]), int(S[RetentionState.UNDECIDABLE])
    )
    settled = {"st": F.when(turn, F.lit(int(S[RetentionState.ANONYMISED]))).otherwise(F.col("st")).cast("int"),
               "miss": F.when(turn, F.lit(None)).otherwise(F.col("miss")).cast("int")}  # fmt: skip
    return joined.withColumns(settled).drop("jk", "jr")


def journal_frame(spark: SparkSession, keys: pa.Array) -> DataFrame:
    """The keys (as text) of a collection's records that privet anonymised, as a one-column DataFrame (jk)."""
    return spark.createDataFrame(pa.table({"jk": keys.cast(pa.string())}))


def _states(scope: Scope, frame: DataFrame, as_of: dt.date, parent: DataFrame | None = None,
            journal: DataFrame | None = None) -> DataFrame:  # fmt: skip
    """k, st, dec, miss, lim, delete_on and o (restricted and not flagged by the system), with the journal's
    anonymised records settled (`journal`: their keys, as `journal_frame` makes them).

    Built in stages, each naming its columns, so that no expression is copied into every later one that reads
    it (a jurisdiction's CASE over hundreds of country codes would otherwise be repeated dozens of times)."""
    return _anonymised(_judged(scope, frame, as_of, parent), journal)


def _judged(scope: Scope, frame: DataFrame, as_of: dt.date, parent: DataFrame | None) -> DataFrame:
    if scope.follows is not None:
        return _follow_states(scope, frame, parent)
    _checked(scope, frame)
    held, flagged = _held_and_flagged(scope, frame)
    facts = frame.select(
        col(scope.key_field).alias("k"),
        *(_day(frame, name, f, scope).alias(f"day_{f.value}") for f, name in scope.facts.items() if f in DATE_FACTS),
        (jurisdiction(col(scope.facts[Fact.JURISDICTION])) if Fact.JURISDICTION in scope.facts else F.lit(None))
        .cast("string").alias("place"),
        held.alias("held"),
        flagged.alias("flagged"),
    )  # fmt: skip
    place = F.col("place") if Fact.JURISDICTION in scope.facts else None
    n = len(scope.rules)
    starts: dict[str, Column] = {}
    for i, rule in enumerate(scope.rules):
        given = [F.col(f"day_{t.value}") for t in rule.triggers if t in scope.facts]
        starts[f"e{i}"] = _entry(rule, place)
        starts[f"s{i}"] = _greatest(given) if given else F.lit(None).cast("date")
    per_rule = facts.withColumns(starts)
    per_rule = per_rule.withColumns({k: v for i, r in enumerate(scope.rules) for k, v in _rule(i, r, scope).items()})

    in_use = F.col("u0")
    for i in range(1, n):
        in_use = in_use | F.col(f"u{i}")
    combined = per_rule.withColumns({
        "u": in_use,
        "g": F.col("g0") if n == 1 else F.coalesce(*(F.col(f"g{i}") for i in range(n))),
        "rf": _greatest([F.col(f"rf{i}") for i in range(n)]),
        "do": _greatest([F.col(f"do{i}") for i in range(n)]),
    })  # fmt: skip
    u, g, undecided = F.col("u"), F.col("g"), F.col("g").isNotNull()
    day = F.lit(as_of)
    due = F.col("do") <= day
    held = F.col("held")
    person = (due & ~held) if scope.person_unknown else F.lit(False)
    state = (
        F.when(undecided & ~u, F.lit(int(S[RetentionState.UNDECIDABLE])))
        .when(u | (F.col("rf") > day), F.lit(int(S[RetentionState.ACTIVE])))
        .when(person, F.lit(int(S[RetentionState.UNDECIDABLE])))
        .when(due & held, F.lit(int(S[RetentionState.HELD])))
        .when(due, F.lit(int(S[scope.due])))
        .otherwise(F.lit(int(S[RetentionState.RESTRICTED])))
    )
    decider = F.lit(0)
    if n > 1:
        decider = (
            F.when(u, _first([F.col(f"u{i}") for i in range(n)]))
            .when(undecided, _first([F.col(f"g{i}").isNotNull() for i in range(n)]))
            .otherwise(_first([F.col(f"do{i}") == F.col("do") for i in range(n)]))
        )
    dated = ~u & ~undecided
    judged = combined.withColumns({"st": state, "dec": decider, "d": dated, "pg": person & dated})
    entry = F.col("e0")
    if n > 1:
        entry = F.when(F.col("dec") == 0, F.col("e0"))
        for i in range(1, n):
            entry = entry.when(F.col("dec") == i, F.col(f"e{i}"))
    lim = F.when(F.col("d") & ~F.col("pg"), entry)
    person_code = F.lit(int(M[Missing.PERSON]))
    missing = F.when(u, F.lit(None)).when(undecided, g).when(F.col("pg"), person_code)
    return judged.select(
        "k",
        "st",
        "dec",
        missing.cast("int").alias("miss"),
        lim.cast("int").alias("lim"),
        F.when(lim.isNotNull(), F.col("do")).alias("delete_on"),
        ((F.col("st") == int(S[RetentionState.RESTRICTED])) & ~F.col("flagged")).alias("o"),
    )


def states(scope: Scope, frame: DataFrame, as_of: dt.date, parent: DataFrame | None = None,
           journal: pa.Array | None = None) -> DataFrame:  # fmt: skip
    """Every record's state (k, st, dec, miss, lim, delete_on) with the local engine's codes, lazily. A scope that
    follows a parent needs the parent's `states`; `journal` holds the keys, as text, of the records privet
    anonymised."""
    marks = journal_frame(frame.sparkSession, journal) if journal is not None else None
    return _states(scope, frame, as_of, parent, marks).drop("o", "ref")


def evaluate(scope: Scope, frame: DataFrame, as_of: dt.date, examples: int = 3, parent: DataFrame | None = None,
             journal: pa.Array | None = None) -> ScopeResult:  # fmt: skip
    """Counts per state, deciding rule, missing fact and limitation entry, with the smallest keys as examples."""
    marks = journal_frame(frame.sparkSession, journal) if journal is not None else None
    return _tally(scope, _states(scope, frame, as_of, parent, marks), examples)


def _tally(scope: Scope, judged: DataFrame, examples: int) -> ScopeResult:
    if examples < 1:
        raise ValueError(f"examples must be at least 1, not {examples}")
    grouped = judged.groupBy("st", "dec", "miss", "lim")
    rows = grouped.agg(F.count(F.lit(1)).alias("n"), F.count_if("o").alias("open"),
                       F.min_by("k", "k", examples).alias("keys")).collect()  # fmt: skip
    tallies, to_restrict = [], 0
    for row in rows:
        missing = MISSING[row["miss"]] if row["miss"] is not None else None
        keys = tuple(sorted(row["keys"]))
        tallies.append(Tally(STATES[row["st"]], scope.deciders[row["dec"]].key, row["n"], keys, missing, row["lim"]))
        to_restrict += row["open"]
    return ScopeResult(scope.collection, sorted_tallies(tallies), to_restrict)


def _kept(judged: DataFrame, held: list[DataFrame]) -> DataFrame:
    """A parent's states once its followers are judged: due records a held follower record belongs to are held."""
    refs = held[0]
    for more in held[1:]:
        refs = refs.union(more)
    guard = refs.distinct().withColumnRenamed("ref", "guard")
    due = F.col("st").isin(int(S[RetentionState.DUE_DELETE]), int(S[RetentionState.DUE_ANONYMISE]))
    state = F.when(F.col("guard").isNotNull() & due, F.lit(int(S[RetentionState.HELD]))).otherwise(F.col("st"))
    joined = judged.join(guard, judged["k"] == guard["guard"], "left")
    return joined.withColumn("st", state.cast("int")).drop("guard")


def sweep(plan: RetentionPlan, tables: Mapping[str, DataFrame], examples: int = 3,
          journal: Mapping[str, pa.Array] | None = None) -> RetentionReport:  # fmt: skip
    """The report of a plan over collections already opened as DataFrames; absent collections are reported.
    `journal` holds the keys, as text, of the records privet anonymised, per collection (`retention.journal`).

    Parents come before the collections following them, and their states are persisted (computed once). A
    parent's tally waits until every follower is judged: a due record that a held follower record belongs to is
    held."""
    order = plan.evaluation_order
    persisted: list[DataFrame] = []
    results: dict[str, ScopeResult] = {}

    def finish(scope: Scope, judged: DataFrame, guards: list[DataFrame]) -> None:
        judged = _kept(judged, guards) if guards else judged
        results[scope.collection] = _tally(scope, judged, examples)
        if scope.follows is not None:
            refs = judged.filter((F.col("st") == int(S[RetentionState.HELD])) & F.col("ref").isNotNull())
            followers.release(scope.follows.parent, refs.select("ref"))

    # A followed collection's states wait, persisted, with the references of its followers' held records.
    followers: Followers[DataFrame, DataFrame] = Followers(order, finish)
    try:
        for scope in order:
            key, parent = scope.collection, scope.follows.parent if scope.follows is not None else None
            try:
                up = followers.waiting(parent) if parent is not None else None
                if parent is not None and up is None:
                    why = results[parent].error if parent in results else None
                    raise RetentionEngineError(unevaluated(parent, why))
                if key not in tables:
                    raise ConnectorError("not read")
                keys = (journal or {}).get(key)
                marks = journal_frame(tables[key].sparkSession, keys) if keys is not None else None
                judged = _states(scope, tables[key], plan.as_of, up, marks)
            except (ConnectorError, RetentionEngineError) as exc:
                results[key] = ScopeResult(key, error=str(exc))
                if parent is not None:
                    followers.release(parent, None)
                continue
            if followers.followed(key):  # its tally once its followers are judged
                judged = judged.persist()
                persisted.append(judged)
            followers.judged(scope, judged)
    finally:
        for frame in persisted:
            frame.unpersist()
    return assembled(plan, results)
