"""The bulk engine agrees with the one-record evaluation on random rules, facts and tables."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privet.engines import retention as engine
from privet.fulfilment.erasure import ActionKind
from privet.fulfilment.ports import ConnectorError
from privet.manifest.period import Period
from privet.retention import (
    Fact,
    Follows,
    Hold,
    HoldScope,
    Missing,
    RetentionState,
    add_period,
    evaluate_plan,
    evaluate_rows,
)
from privet.retention.plan import RetentionPlan, Scope
from privet.retention.report import report_lines
from privet.retention.rules import DATE_FACTS, CompiledRule
from tests.retention.rules import rule, scope

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
MONTH_ENDS = [dt.date(y, m, 1) - dt.timedelta(days=1) for y in (2016, 2020, 2021) for m in range(1, 13)]
dates = st.one_of(st.none(), st.dates(dt.date(2015, 1, 1), dt.date(2026, 12, 31)), st.sampled_from(MONTH_ENDS))
periods = st.sampled_from(["P1Y", "P1M", "P10D", "P1M15D", "P3Y", "P2M", "P0D"])
triggers = st.lists(st.sampled_from(["relationship_end", "purpose_fulfilled", "last_activity", "consent_withdrawn",
                                     "collected"]), min_size=1, max_size=3, unique=True)  # fmt: skip
entries = st.lists(
    st.fixed_dictionaries({
        "jurisdictions": st.sampled_from([["eu"], ["uk"], ["us_states"], ["us-ca", "ch"], []]),
        "period": periods,
    }),
    max_size=4,
)  # fmt: skip


@st.composite
def rules(draw: st.DrawFn, key: str) -> CompiledRule:
    return rule(
        key,
        triggers=draw(triggers),
        after_trigger=draw(st.none() | periods),
        limitation_periods=draw(entries),
        grace=draw(st.none() | periods),
        restrict_during_limitation=draw(st.booleans()),
        legal_claims_extend=draw(st.booleans()),
        final_action=draw(st.sampled_from(["delete", "anonymise"])),
    )


@st.composite
def scopes(draw: st.DrawFn) -> Scope:
    compiled = tuple(draw(rules(f"r{i}")) for i in range(draw(st.integers(1, 3))))
    facts = {f: f.value for f in Fact if draw(st.booleans())}
    holds = (Hold("hold-all", HoldScope.SYSTEM, "crm", "order", "legal", T0),) if draw(st.integers(0, 5)) == 0 else ()
    people = draw(st.sets(st.sampled_from(["p1", "p2"])))
    return scope(*compiled, facts=facts, holds=holds, person_holds={p: (f"hold-{p}",) for p in people},
                 due=draw(st.sampled_from([RetentionState.DUE_DELETE, RetentionState.DUE_ANONYMISE])))  # fmt: skip


one_row = st.fixed_dictionaries({
    **{f.value: dates for f in DATE_FACTS},
    "jurisdiction": st.sampled_from([None, "", "eu", "DE", " gb", "uk", "us-tx", "US-CA", "ch", "jp"]),
    "legal_claim": st.sampled_from([None, True, False]),
    "person": st.sampled_from([None, "p1", "p2", "p3"]),
    "restricted": st.sampled_from([None, True, False]),
})  # fmt: skip
rows = st.lists(one_row, max_size=40)

TYPES = {"jurisdiction": pa.string(), "legal_claim": pa.bool_(), "person": pa.string(), "restricted": pa.bool_(),
         **{f.value: pa.date32() for f in DATE_FACTS}}  # fmt: skip


def table(data: list[dict[str, Any]]) -> pa.Table:
    keyed = [{"id": i, **row} for i, row in enumerate(data)]
    return pa.table({"id": pa.array([r["id"] for r in keyed], pa.int64()),
                     **{c: pa.array([r[c] for r in keyed], t) for c, t in TYPES.items()}})  # fmt: skip


def engine_row(key: Any, ev: Any, rule_keys: list[str]) -> dict[str, Any]:
    """What `engine.states` should hold for a record the pure evaluator judged `ev`."""
    dated = ev.missing is None and ev.delete_on is not None
    return {
        "k": key,
        "st": list(RetentionState).index(ev.state),
        "dec": rule_keys.index(ev.rule.key),
        "miss": None if ev.missing is None else list(Missing).index(ev.missing),
        "lim": ev.limitation.index if dated and ev.limitation is not None else None,
        "delete_on": ev.delete_on if dated else None,
    }


def check_agrees(sc: Scope, data: list[dict[str, Any]], as_of: dt.date, anonymised: set[int] | None = None) -> None:
    """The engine against the reference path; `anonymised`: the records the journal names."""
    keyed = [{"id": i, **row} for i, row in enumerate(data)]
    journaled = {str(k) for k in anonymised or ()}
    journal = pa.array(sorted(journaled), pa.string()) if anonymised is not None else None
    expected, evaluations = evaluate_rows(sc, as_of, keyed, journaled=journaled)
    got = engine.states(sc, table(data), as_of, journal=journal).to_pylist()
    keys = [r.key for r in sc.rules]
    for (key, ev), row in zip(evaluations, got, strict=True):
        assert row == engine_row(key, ev, keys), (keyed[key], ev)
    assert engine.evaluate_table(sc, table(data), as_of, journal=journal) == expected
    # One evaluation for the report and the picking; what is picked comes sorted by state, rule, entry and key,
    # whether the keys come in order (a linear sort) or not (the general one).
    order = [("st", "ascending"), ("dec", "ascending"), ("lim", "ascending"), ("k", "ascending")]
    result, found = engine.assess(sc, table(data), as_of, journal=journal)
    assert result == expected
    assert found.table.equals(found.table.sort_by(order))
    backwards = table(data).take(pa.array(range(len(data) - 1, -1, -1), pa.int64()))
    reversed_ = engine.due(sc, backwards, as_of, journal=journal)
    assert reversed_.table.equals(found.table)
    # A journaled record is never picked to be anonymised again, and is never undecidable.
    picked = dict(zip(found.table.column("k").to_pylist(), found.table.column("st").to_pylist(), strict=True))
    assert not any(picked.get(int(k)) == S_ANONYMISE for k in journaled)
    assert not any(ev.state in (RetentionState.UNDECIDABLE, RetentionState.DUE_ANONYMISE) for k, ev in evaluations
                   if str(k) in journaled)  # fmt: skip
    wanted = {RetentionState.DUE_DELETE, RetentionState.DUE_ANONYMISE}
    assert found.count == sum(ev.state in wanted or (ev.state is RetentionState.RESTRICTED and not row.get("restricted")
                                                    and Fact.RESTRICTED in sc.facts)
                              for (_, ev), row in zip(evaluations, keyed, strict=True))  # fmt: skip


S_ANONYMISE = list(RetentionState).index(RetentionState.DUE_ANONYMISE)
journals = st.none() | st.sets(st.integers(0, 45))  # keys past the rows: entries of records that are gone


@settings(max_examples=300, deadline=None)
@given(sc=scopes(), data=rows, as_of=st.dates(dt.date(2015, 1, 1), dt.date(2040, 12, 31)), anonymised=journals)
def test_engine_equals_the_pure_evaluation(sc: Scope, data: list[dict[str, Any]], as_of: dt.date,
                                           anonymised: set[int] | None) -> None:  # fmt: skip
    check_agrees(sc, data, as_of, anonymised)


@settings(max_examples=60, deadline=None)
@given(sc=scopes(), data=rows, as_of=st.dates(dt.date(2015, 1, 1), dt.date(2040, 12, 31)), anonymised=journals)
def test_small_chunks_and_no_lookup_tables_agree_too(sc: Scope, data: list[dict[str, Any]], as_of: dt.date,
                                                     anonymised: set[int] | None) -> None:  # fmt: skip
    with mock.patch.object(engine, "CHUNK", 7), mock.patch.object(engine, "LOOKUP_LIMIT", 0):
        check_agrees(sc, data, as_of, anonymised)


@settings(max_examples=200, deadline=None)
@given(start=st.dates(dt.date(1900, 1, 1), dt.date(2200, 12, 31)), period=st.sampled_from(
    ["P1M", "P1Y", "P13M5D", "P2W", "P6Y2M", "P0D", "P11M30D"]))  # fmt: skip
def test_shift_is_add_period(start: dt.date, period: str) -> None:
    days = np.array([(start - engine.EPOCH).days])
    assert engine.EPOCH + dt.timedelta(days=int(engine.shift(days, Period.parse(period))[0])) == add_period(
        start, Period.parse(period)
    )


def test_instants_and_text_are_read_as_days() -> None:
    sc = scope(rule(triggers=["last_activity"], limitation_periods=[], grace="P1M"), facts={Fact.LAST_ACTIVITY: "at"})
    zone = dt.timezone(dt.timedelta(hours=-5))
    instants = pa.table({"id": [1, 2], "at": pa.array([dt.datetime(2020, 1, 31, 23, 30, tzinfo=zone), None],
                                                      pa.timestamp("us", tz="America/New_York"))})  # fmt: skip
    got = engine.states(sc, instants, dt.date(2020, 2, 29)).to_pylist()
    assert got[0]["delete_on"] == dt.date(2020, 3, 1) and got[0]["st"] == 1  # on its UTC day, 1 February
    assert got[1]["st"] == list(RetentionState).index(RetentionState.UNDECIDABLE)
    text = pa.table({"id": [1, 2, 3], "at": ["2020-01-31", "2020-01-31 10:00:00", "soon"]})
    got = engine.states(sc, text, dt.date(2020, 3, 1)).to_pylist()
    assert [r["delete_on"] for r in got] == [dt.date(2020, 2, 29), dt.date(2020, 2, 29), None]
    dictionary = pa.table({"id": [1], "at": pa.array(["2020-01-31"]).dictionary_encode()})
    assert engine.states(sc, dictionary, dt.date(2020, 3, 1)).to_pylist()[0]["delete_on"] == dt.date(2020, 2, 29)


def test_a_missing_column_names_the_fix() -> None:
    sc = scope(facts={Fact.RELATIONSHIP_END: "closed_at"})
    with pytest.raises(engine.RetentionEngineError, match="no column closed_at"):
        engine.evaluate_table(sc, pa.table({"id": [1]}), dt.date(2024, 1, 1))
    with pytest.raises(engine.RetentionEngineError, match=r"closed_at .* not dates"):
        engine.evaluate_table(sc, pa.table({"id": [1], "closed_at": [1.5]}), dt.date(2024, 1, 1))


def test_due_records_become_executor_actions_in_sorted_batches() -> None:
    sc = scope(facts={Fact.RELATIONSHIP_END: "closed", Fact.JURISDICTION: "j", Fact.RESTRICTED: "flag"})
    data = pa.table({
        "id": [5, 3, 1, 2, 4, 6],
        "closed": [dt.date(2010, 1, 1), dt.date(2010, 1, 1), dt.date(2010, 1, 1), dt.date(2023, 1, 1),
                   dt.date(2023, 1, 1), None],
        "j": ["eu", "uk", "eu", "eu", "eu", "eu"],
        "flag": [False, False, False, False, True, False],
    })  # fmt: skip
    found = engine.due(sc, data, dt.date(2024, 1, 1))
    batches = list(found.batches(1))
    flat = [s for b in batches for s in b]
    assert [(s.kind, list(s.keys)) for s in flat] == [
        (ActionKind.RESTRICT, [2]),  # restricted and not flagged yet; 4 is flagged already
        (ActionKind.DELETE, [1]),  # eu, then uk: one set per limitation entry, keys sorted within
        (ActionKind.DELETE, [5]),
        (ActionKind.DELETE, [3]),
    ]
    assert flat[0].reason.source == "relationship"
    assert "6 years" in flat[3].reason.text and "BGB 195" in flat[1].reason.text
    assert all(len(b) == 1 for b in batches)
    # One set per reason: the batch of three holds the restriction and the eu deletions, then the uk one follows.
    assert [[(s.kind, list(s.keys)) for s in b] for b in found.batches(3)] == [
        [(ActionKind.RESTRICT, [2]), (ActionKind.DELETE, [1, 5])],
        [(ActionKind.DELETE, [3])],
    ]


def test_anonymising_masks_each_field_with_its_strategy() -> None:
    sc = scope(facts={Fact.RELATIONSHIP_END: "closed", Fact.JURISDICTION: "j"}, due=RetentionState.DUE_ANONYMISE,
               masks={"email": "null", "name": "fixed", "phone": "null"})  # fmt: skip
    data = pa.table({"id": ["a"], "closed": [dt.date(2000, 1, 1)], "j": ["eu"]})
    (actions,) = list(engine.due(sc, data, dt.date(2024, 1, 1)).batches(100))
    assert {(a.kind, a.strategy, a.fields, tuple(a.keys)) for a in actions} == {
        (ActionKind.MASK, "null", ("email", "phone"), ("a",)),
        (ActionKind.MASK, "fixed", ("name",), ("a",)),
    }
    assert "anonymised" in actions[0].reason.text


def test_a_person_hold_is_a_semi_join_on_the_person_column() -> None:
    sc = scope(facts={Fact.RELATIONSHIP_END: "closed", Fact.JURISDICTION: "j", Fact.PERSON: "user"},
               person_holds={"42": ("hold-1",)})  # fmt: skip
    data = pa.table({"id": [1, 2], "closed": [dt.date(2000, 1, 1)] * 2, "j": ["eu"] * 2, "user": [42, 43]})
    result = engine.evaluate_table(sc, data, dt.date(2024, 1, 1))
    assert {(t.state, t.examples) for t in result.tallies} == {
        (RetentionState.HELD, (1,)),
        (RetentionState.DUE_DELETE, (2,)),
    }


def test_facts_are_read_from_lake_files(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from privet.connectors.files import FilesConnector

    (tmp_path / "records").mkdir()
    pq.write_table(pa.table({"id": [1, 2], "closed": [dt.date(2000, 1, 1), None], "x": ["a", "b"]}),
                   tmp_path / "records" / "part-0.parquet")  # fmt: skip
    pq.write_table(
        pa.table({"id": [3], "closed": [dt.date(2024, 1, 1)], "x": ["c"]}), tmp_path / "records" / "part-1.parquet"
    )
    connector = FilesConnector("crm", tmp_path)
    try:
        facts = engine.read_facts(connector, "db.records", ["id", "closed"])
    finally:
        connector.close()
    assert facts.column_names == ["id", "closed"] and sorted(facts.column("id").to_pylist()) == [1, 2, 3]
    sc = scope(rule(limitation_periods=[{"period": "P1Y"}]), facts={Fact.RELATIONSHIP_END: "closed"})
    result = engine.evaluate_table(sc, facts, dt.date(2024, 6, 1))
    assert {(t.state, t.examples) for t in result.tallies} == {
        (RetentionState.DUE_DELETE, (1,)),
        (RetentionState.ACTIVE, (2,)),
        (RetentionState.RESTRICTED, (3,)),
    }
    lake = FilesConnector("crm", tmp_path)
    with pytest.raises(ConnectorError, match="no collection 'nope'"):
        engine.read_facts(lake, "db.nope", ["id"])
    lake.close()


# -- collections that follow a parent ----------------------------------------------------------------------------

CHILD_FACTS = {Fact.PERSON: "person", Fact.LEGAL_CLAIM: "legal_claim", Fact.RESTRICTED: "restricted"}


@st.composite
def families(draw: st.DrawFn) -> RetentionPlan:
    """A parent with facts, a child following it by parent_id, and a grandchild following the child: each with
    rules, a final action, holds and child facts of its own."""
    parent = draw(scopes())
    if draw(st.booleans()):  # every fact mapped: more parents decide, so more children inherit a date
        parent = dataclasses.replace(parent, facts={f: f.value for f in Fact})
    people = parent.person_holds
    chain: list[Scope] = [parent]
    for name in ("db.children", "db.grandchildren"):
        up = chain[-1]
        own = tuple(draw(rules(f"{name[3]}{i}")) for i in range(draw(st.integers(1, 2))))
        if draw(st.booleans()):  # a rule of its own with a parent's key: one rule, two collections
            own = (*own, up.rules[0])
        holds = (Hold("hold-c", HoldScope.COLLECTION, name, "order", "legal", T0),) if draw(st.booleans()) else ()
        chain.append(Scope(
            collection=name, system="crm", key_field="id", rules=own, activities=("accounts",),
            facts={f: c for f, c in CHILD_FACTS.items() if draw(st.booleans())},
            due=draw(st.sampled_from([RetentionState.DUE_DELETE, RetentionState.DUE_ANONYMISE])), holds=holds,
            person_holds=people, follows=Follows(up.collection, "parent_id", up.deciders),
        ))  # fmt: skip
    return RetentionPlan(dt.date(2000, 1, 1), tuple(reversed(chain)), (), ())


def children(n_parents: int) -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.lists(
        st.fixed_dictionaries({
            # Mostly a parent record; at times naming none (n_parents), or empty.
            "parent_id": st.integers(0, n_parents + 1).map(lambda i: None if i > n_parents else i),
            "legal_claim": st.sampled_from([None, True, False]),
            "person": st.sampled_from([None, "p1", "p2", "p3"]),
            "restricted": st.sampled_from([None, True, False]),
        }),
        min_size=2,
        max_size=30,
    )  # fmt: skip


def child_table(data: list[dict[str, Any]]) -> pa.Table:
    return pa.table({
        "id": pa.array(range(len(data)), pa.int64()),
        "parent_id": pa.array([r["parent_id"] for r in data], pa.int64()),
        **{c: pa.array([r[c] for r in data], TYPES[c]) for c in ("legal_claim", "person", "restricted")},
    })  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(plan=families(), data=st.data(), as_of=st.dates(dt.date(2015, 1, 1), dt.date(2040, 12, 31)))
def test_followers_in_the_engine_equal_the_pure_evaluation(plan: RetentionPlan, data: st.DataObject,
                                                           as_of: dt.date) -> None:  # fmt: skip
    plan = dataclasses.replace(plan, as_of=as_of)
    grand, child, parent = plan.scopes
    parents = data.draw(st.lists(one_row, min_size=4, max_size=30))
    kids = data.draw(children(len(parents)))
    grandkids = data.draw(children(max(1, len(kids))))
    tables = {parent.collection: table(parents), child.collection: child_table(kids),
              grand.collection: child_table(grandkids)}  # fmt: skip
    keyed = {k: [{"id": i, **r} for i, r in enumerate(t)] for k, t in
             ((parent.collection, parents), (child.collection, kids), (grand.collection, grandkids))}  # fmt: skip
    # Some records of each collection are journaled as anonymised (an entry may name a record that is gone).
    journaled = {k: {str(i) for i in data.draw(st.sets(st.integers(0, len(t) + 2)))} for k, t in keyed.items()}
    journal = {k: pa.array(sorted(keys), pa.string()) for k, keys in journaled.items()}
    expected, evaluations = evaluate_plan(plan, keyed, journal=journaled)
    assert engine.sweep(plan, tables, journal=journal) == expected
    report, dues = engine.run(plan, lambda s: tables[s.collection], pick=True, journal=journal)
    assert report == expected
    # Row by row, through the computed states of the parent and the child (the grandchild follows no one: its
    # evaluations are final as they are).
    up = engine.Followed(tables[parent.collection].column("id").combine_chunks(),
                         engine.compute(parent, tables[parent.collection], as_of,
                                        journal=journal[parent.collection]))  # fmt: skip
    up = engine.Followed(tables[child.collection].column("id").combine_chunks(),
                         engine.compute(child, tables[child.collection], as_of, parent=up,
                                        journal=journal[child.collection]))  # fmt: skip
    got = engine.states(grand, tables[grand.collection], as_of, parent=up,
                        journal=journal[grand.collection]).to_pylist()  # fmt: skip
    keys = [r.key for r in grand.deciders]
    for (key, ev), row in zip(evaluations[grand.collection], got, strict=True):
        assert row == engine_row(key, ev, keys), (keyed[grand.collection][key], ev)
    for sc in plan.scopes:  # what apply carries out: due records, and restricted ones not flagged yet
        wanted = {RetentionState.DUE_DELETE, RetentionState.DUE_ANONYMISE}
        assert dues[sc.collection].count == sum(
            ev.state in wanted or (ev.state is RetentionState.RESTRICTED and Fact.RESTRICTED in sc.facts
                                   and not row.get(sc.facts[Fact.RESTRICTED]))
            for (_, ev), row in zip(evaluations[sc.collection], keyed[sc.collection], strict=True)
        )  # fmt: skip
    with mock.patch.object(engine, "CHUNK", 4):
        assert engine.sweep(plan, tables, journal=journal) == expected


def test_a_follower_reads_parent_keys_of_another_kind_and_an_empty_parent() -> None:
    parent = scope(rule(limitation_periods=[{"period": "P1Y"}]), facts={Fact.RELATIONSHIP_END: "closed"})
    child = Scope(collection="db.children", system="crm", key_field="id", rules=parent.rules, activities=(),
                  facts={}, due=RetentionState.DUE_DELETE, follows=Follows(parent.collection, "ref", parent.deciders))  # fmt: skip
    plan = RetentionPlan(dt.date(2024, 1, 1), (child, parent), (), ())
    parents = pa.table({"id": pa.array(["1", "2"]), "closed": [dt.date(2000, 1, 1), None]})
    kids = pa.table({"id": [10, 11, 12, 13], "ref": pa.array([1, 2, 3, None], pa.int32())})
    report = engine.sweep(plan, {parent.collection: parents, child.collection: kids})
    result = report.result(child.collection)
    assert result is not None and {(t.state, t.missing, t.examples) for t in result.tallies} == {
        (RetentionState.DUE_DELETE, None, (10,)),
        (RetentionState.ACTIVE, None, (11,)),
        (RetentionState.UNDECIDABLE, Missing.PARENT, (12, 13)),
    }
    # The reference path compares them as text too.
    pure, _ = evaluate_plan(plan, {parent.collection: parents.to_pylist(), child.collection: kids.to_pylist()})
    assert pure.result(child.collection) == result
    empty = pa.table({"id": pa.array([], pa.null()), "closed": pa.array([], pa.null())})  # an empty SQL table
    report = engine.sweep(plan, {parent.collection: empty, child.collection: kids})
    result = report.result(child.collection)
    assert result is not None and [(t.state, t.missing, t.count) for t in result.tallies] == [
        (RetentionState.UNDECIDABLE, Missing.PARENT, 4)
    ]
    with pytest.raises(ValueError, match="pass the parent's states"):
        engine.states(child, kids, dt.date(2024, 1, 1))


def test_one_system_run_still_lets_a_held_follower_elsewhere_hold_its_parent() -> None:
    parent = dataclasses.replace(scope(rule(limitation_periods=[{"period": "P1Y"}]),
                                       facts={Fact.RELATIONSHIP_END: "closed"}), system="accounts")  # fmt: skip
    held = (Hold("hold-c", HoldScope.COLLECTION, "db.children", "dispute", "legal", T0),)
    child = Scope(collection="db.children", system="crm", key_field="id", rules=parent.rules, activities=(),
                  facts={}, due=RetentionState.DUE_DELETE, holds=held,
                  follows=Follows(parent.collection, "ref", parent.deciders))  # fmt: skip
    whole = RetentionPlan(dt.date(2024, 1, 1), (child, parent), (), ())
    accounts = whole.only("accounts")
    assert [s.collection for s in accounts.scopes] == [parent.collection]
    tables = {parent.collection: pa.table({"id": [1, 2], "closed": [dt.date(2000, 1, 1)] * 2}),
              child.collection: pa.table({"id": [10], "ref": [1]})}  # fmt: skip
    report = engine.sweep(accounts, tables)
    assert [r.collection for r in report.results] == [parent.collection]  # the child is context: not shown
    assert report.result(parent.collection) == engine.sweep(whole, tables).result(parent.collection)
    assert {(t.state, t.examples) for t in report.results[0].tallies} == {
        (RetentionState.HELD, (1,)),  # its held child keeps it
        (RetentionState.DUE_DELETE, (2,)),
    }
    _, dues = engine.run(accounts, lambda s: tables[s.collection], pick=True)
    assert list(dues) == [parent.collection] and dues[parent.collection].table.column("k").to_pylist() == [2]
    # A follower elsewhere that cannot be read is named in the report, since its held records hold nothing now.
    alone = engine.sweep(accounts, {parent.collection: tables[parent.collection]})
    assert [(r.collection, r.error) for r in alone.context] == [(child.collection, "not read")]
    assert alone.as_json()["context_errors"] == {child.collection: "not read"}
    assert any("db.children (another system): not read" in line for line in report_lines(alone, "plan"))
    pure, _ = evaluate_plan(accounts, {parent.collection: tables[parent.collection].to_pylist()})
    assert pure == alone
