"""The Spark engine carries out the same plans as the local engines and gets the same answers.

One local SparkSession serves the whole module (starting one takes seconds). Without PySpark or Java the tests
are skipped, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import os
import random
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from privet.connectors.files import FilesConnector
from privet.engines import retention as local_retention
from privet.engines.enforce import EnforceError, enforce_file, enforce_table
from privet.fulfilment.erasure import ActionKind, LegalHold
from privet.fulfilment.executor import MemoryCheckpoints, apply_actions, plan_actions
from privet.fulfilment.graph import build_graph
from privet.fulfilment.masking import MaskingError
from privet.fulfilment.plan import plan_erasure
from privet.manifest.model import Manifest
from privet.policy.bulk import plan_enforcement
from privet.retention import Fact, Follows, Hold, HoldScope, RetentionState
from privet.retention.plan import RetentionPlan, Scope
from privet.retention.rules import DATE_FACTS
from privet.workspace.manifest_files import load_manifest
from tests.conftest import REPO, edited_manifest
from tests.engines.test_enforce import index_for
from tests.retention.rules import rule, scope
from tests.world import World

IN_CI = os.environ.get("CI", "").lower() in {"true", "1", "yes"}
try:
    from privet.engines import spark as engine
except ImportError as exc:  # no PySpark: every test here skips, or fails in CI
    engine = None  # type: ignore[assignment]
    NO_PYSPARK = str(exc)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    reason = None
    if engine is None:
        reason = NO_PYSPARK
    else:
        try:
            # Tiny data: one shuffle partition, and no code generation (compiling costs more than it saves here).
            session = engine.local_session(cores=2, shuffle_partitions=1,
                                           extra={"spark.sql.codegen.wholeStage": "false"})  # fmt: skip
        except engine.SparkUnavailable as exc:
            reason = str(exc)
    if reason is not None:
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: Spark is required)")
        pytest.skip(reason)
    yield session
    session.stop()


def rows_of(table: pa.Table, key: str) -> list[dict[str, Any]]:
    return sorted(table.to_pylist(), key=lambda r: (r[key] is None, r[key]))


# -- bulk enforcement ------------------------------------------------------------------------------------------


def events() -> pa.Table:
    return pa.table({
        "user_id": pa.array([1, 2, 3, 1, 99, None, 2, 3, 4], pa.int64()),
        "ip": ["a", "b", "c", "d", "e", "f", None, "h", "i"],
        "health": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, None, 9.0],
        "page": ["p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"],
        "row": list(range(9)),
    })  # fmt: skip


def test_enforce_equals_the_local_engine(spark: Any, world: World, tmp_path: Path) -> None:
    from privet.consent.events import Signal

    people = {
        1: world.person("us-ca", None, ("ad_cookies", True)),
        2: world.person("us-ca", None, ("ad_cookies", True), (Signal.OPT_OUT_SALE.value, True)),
        3: world.person("eu", None, ("app_analytics", False)),
        4: world.person("eu", None, ("app_analytics", True)),
    }
    world.choose(people[1], "health_sync", True)
    index = index_for(world, people)
    for purpose, subject, mapped in (
        ("essential.service", "user.account", {"ip": "user.contact.email", "health": "user.health_and_medical"}),
        ("analytics.reporting", "user.device.device_id", {"ip": "user.device.ip_address", "health": "user.health_and_medical"}),
    ):  # fmt: skip
        plan = plan_enforcement(world.policy, purpose, None, "user_id", subject, mapped, ["page", "row"])
        local, summary = enforce_table(plan, index, events())  # type: ignore[arg-type]
        frame = spark.createDataFrame(events())
        got = engine.enforce(plan, index, frame).toArrow()
        assert got.column_names == local.column_names, purpose
        assert rows_of(got, "row") == rows_of(local, "row"), purpose
        assert engine.summarise(plan, index, frame).as_json() == summary.as_json(), purpose

    # From Parquet to Parquet, with the profiles given as a DataFrame: the same rows and the same summary.
    source = tmp_path / "events.parquet"
    pq.write_table(events(), source)
    local_summary = enforce_file(plan, index, source, tmp_path / "local.parquet")  # type: ignore[arg-type]
    profiles = engine.subject_profiles(spark, index)  # type: ignore[arg-type]
    got_summary = engine.enforce_parquet(spark, plan, profiles, source, tmp_path / "spark")
    assert got_summary.as_json() == local_summary.as_json()
    assert local_summary.rows_dropped and local_summary.columns_dropped  # the case exercises both
    assert rows_of(pq.read_table(tmp_path / "spark"), "row") == rows_of(
        pq.read_table(tmp_path / "local.parquet"), "row"
    )
    assert not list(tmp_path.glob(".spark*"))
    with pytest.raises(EnforceError, match="spark exists already"):
        engine.enforce_parquet(spark, plan, profiles, source, tmp_path / "spark")


def test_enforce_refuses_what_the_local_engine_refuses(spark: Any, world: World) -> None:
    index = index_for(world, {1: world.person()})
    plan = plan_enforcement(
        world.policy, "essential.service", None, "user_id", "user.unique_id", {"ip": "user.contact.email"}
    )
    frame = spark.createDataFrame(events())
    with pytest.raises(EnforceError, match="health, page, row have no data category"):
        engine.enforce(plan, index, frame)
    with pytest.raises(EnforceError, match="no column 'user_id' for the subject"):
        engine.enforce(plan, index, frame.drop("user_id"))
    twice = spark.createDataFrame(pa.table({"key": [1, 1], "profile": pa.array([0, 0], pa.int32())}))
    with pytest.raises(EnforceError, match="1 repeated or empty key"):
        engine.enforce(plan, twice, frame.select("user_id", "ip"))
    unknown = spark.createDataFrame(pa.table({"key": [1], "profile": pa.array([10_000], pa.int32())}))
    with pytest.raises(EnforceError, match="profiles the plan does not know"):
        engine.enforce(plan, unknown, frame.select("user_id", "ip"))


# -- retention -------------------------------------------------------------------------------------------------

MONTH_ENDS = [dt.date(y, m, 1) - dt.timedelta(days=1) for y in (2016, 2020, 2021) for m in range(1, 13)]
PLACES = [None, "", "eu", "DE", " gb", "uk\t", "us-tx", "US-CA", "ch", "jp", "\u00a0fr"]
TYPES = {"jurisdiction": pa.string(), "legal_claim": pa.bool_(), "person": pa.string(), "restricted": pa.bool_(),
         **{f.value: pa.date32() for f in DATE_FACTS}}  # fmt: skip


def records(n: int = 240, seed: int = 7) -> pa.Table:
    rng = random.Random(seed)

    def day() -> dt.date | None:
        pick = rng.random()
        if pick < 0.15:
            return None
        if pick < 0.3:
            return rng.choice(MONTH_ENDS)
        return dt.date(2015, 1, 1) + dt.timedelta(days=rng.randrange(4400))

    rows = [{"id": i, **{f.value: day() for f in DATE_FACTS}, "jurisdiction": rng.choice(PLACES),
             "legal_claim": rng.choice([None, True, False]), "person": rng.choice([None, "p1", "p2", "p3"]),
             "restricted": rng.choice([None, True, False])} for i in range(n)]  # fmt: skip
    return pa.table({"id": pa.array([r["id"] for r in rows], pa.int64()),
                     **{c: pa.array([r[c] for r in rows], t) for c, t in TYPES.items()}})  # fmt: skip


T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
SCOPES = {
    "every fact, one rule, a person hold": scope(person_holds={"p1": ("hold-p1",)}),
    "two rules, claims, anonymised, a system hold": scope(
        rule("a", triggers=["last_activity", "relationship_end"], after_trigger="P1M", restrict_during_limitation=True,
             legal_claims_extend=True),
        rule("b", triggers=["collected"], limitation_periods=[{"jurisdictions": ["uk"], "period": "P1Y"}], grace=None,
             final_action="anonymise"),
        due=RetentionState.DUE_ANONYMISE,
        holds=(Hold("hold-all", HoldScope.SYSTEM, "crm", "order", "legal", T0),),
    ),
    "unmapped trigger, no jurisdiction, a hold on unknown persons": scope(
        rule("c", triggers=["purpose_fulfilled", "last_activity"], limitation_periods=[{"period": "P1M15D"}]),
        rule("d", triggers=["consent_withdrawn"]),
        rule("e", triggers=["collected"], limitation_periods=[{"jurisdictions": ["eu"], "period": "P2M"}]),
        facts={Fact.LAST_ACTIVITY: "last_activity", Fact.CONSENT_WITHDRAWN: "consent_withdrawn",
               Fact.RESTRICTED: "restricted"},
        person_holds={"p2": ("hold-p2",)},
    ),
}  # fmt: skip


EARLY, LATE = dt.date(2021, 3, 31), dt.date(2026, 6, 30)  # many records in use / many due


@pytest.mark.parametrize(("name", "as_of"), [(name, LATE) for name in SCOPES] + [(list(SCOPES)[1], EARLY)])
def test_retention_states_and_tallies_equal_the_local_engine(spark: Any, name: str, as_of: dt.date) -> None:
    sc, table = SCOPES[name], records()
    frame = spark.createDataFrame(table)
    want = local_retention.states(sc, table, as_of).to_pylist()
    got = [r.asDict() for r in engine.states(sc, frame, as_of).orderBy("k").collect()]
    assert got == want
    assert engine.evaluate(sc, frame, as_of) == local_retention.evaluate_table(sc, table, as_of)


def test_instants_and_text_are_read_as_the_local_engine_reads_them(spark: Any) -> None:
    sc = scope(rule(triggers=["last_activity"], limitation_periods=[], grace="P1M"), facts={Fact.LAST_ACTIVITY: "at"})
    zone = dt.timezone(dt.timedelta(hours=-5))
    instants = pa.table({"id": [1, 2, 3], "at": pa.array(
        [dt.datetime(2020, 1, 31, 23, 30, tzinfo=zone), None, dt.datetime(2020, 1, 31, 1, 0, tzinfo=dt.UTC)],
        pa.timestamp("us", tz="America/New_York"))})  # fmt: skip
    text = pa.table({"id": [1, 2, 3, 4], "at": ["2020-01-31", "2020-01-31 10:00:00", "soon", None]})
    for table in (instants, text):
        as_of = dt.date(2020, 3, 1)
        want = local_retention.states(sc, table, as_of).to_pylist()
        assert [
            r.asDict() for r in engine.states(sc, spark.createDataFrame(table), as_of).orderBy("k").collect()
        ] == want
    assert want[0]["delete_on"] == dt.date(2020, 2, 29)


def test_retention_names_the_column_to_fix(spark: Any) -> None:
    sc = scope(facts={Fact.RELATIONSHIP_END: "closed_at"})
    with pytest.raises(local_retention.RetentionEngineError, match="no column closed_at"):
        engine.evaluate(sc, spark.createDataFrame(pa.table({"id": [1]})), dt.date(2024, 1, 1))
    with pytest.raises(
        local_retention.RetentionEngineError,
        match=r"db.records.closed_at \(the relationship_end fact\) holds double, not dates",
    ):
        engine.evaluate(sc, spark.createDataFrame(pa.table({"id": [1], "closed_at": [1.5]})), dt.date(2024, 1, 1))


def test_a_sweep_over_a_parquet_lake_equals_the_local_sweep(spark: Any, tmp_path: Path) -> None:
    folder = tmp_path / "records"
    folder.mkdir()
    table = records(60, seed=3)
    pq.write_table(table.slice(0, 25), folder / "part-0.parquet")
    pq.write_table(table.slice(25), folder / "part-1.parquet")
    sc: Scope = SCOPES["every fact, one rule, a person hold"]
    plan = RetentionPlan(dt.date(2025, 1, 1), (sc,), (), ())
    lake = FilesConnector("crm", tmp_path)
    try:
        frame = engine.read_collection(spark, lake, sc.collection)
        facts = local_retention.read_facts(lake, sc.collection, sc.columns)
        assert (
            engine.sweep(plan, {sc.collection: frame}).as_json()
            == local_retention.sweep(plan, {sc.collection: facts}).as_json()
        )
        assert engine.sweep(plan, {}).results[0].error == "not read"
        with pytest.raises(engine.SparkPlanError, match="reads Parquet, not csv"):
            engine.read_collection(spark, FilesConnector("crm", tmp_path, format="csv"), sc.collection)
    finally:
        lake.close()


def children_of(parents: pa.Table, n: int = 200, seed: int = 11) -> pa.Table:
    """Records naming a parent by parent_id: mostly one that exists, some none, some empty."""
    rng = random.Random(seed)
    count = parents.num_rows
    refs = [rng.choice([*range(count), count + 5, None]) for _ in range(n)]
    return pa.table({"id": pa.array(range(n), pa.int64()), "parent_id": pa.array(refs, pa.int64()),
                     "person": [rng.choice([None, "p1", "p2"]) for _ in range(n)],
                     "restricted": [rng.choice([None, True, False]) for _ in range(n)]})  # fmt: skip


def follower(name: str, up: Scope, **more: Any) -> Scope:
    return Scope(collection=name, system="crm", key_field="id", rules=(rule("own", final_action="anonymise"),),
                 activities=(), facts={Fact.PERSON: "person", Fact.RESTRICTED: "restricted"},
                 due=RetentionState.DUE_ANONYMISE, person_holds=up.person_holds,
                 follows=Follows(up.collection, "parent_id", up.deciders), **more)  # fmt: skip


@pytest.mark.parametrize("as_of", [EARLY, LATE])
def test_followers_equal_the_local_engine(spark: Any, as_of: dt.date) -> None:
    parent = SCOPES["two rules, claims, anonymised, a system hold"]
    parent = dataclasses.replace(parent, holds=(), person_holds={"p1": ("hold-p1",)})
    child = follower("db.children", parent, holds=(Hold("h-c", HoldScope.COLLECTION, "db.children", "o", "l", T0),))
    grandchild = follower("db.grandchildren", child)
    tables = {parent.collection: records(), child.collection: children_of(records())}
    tables[grandchild.collection] = children_of(tables[child.collection], 150, seed=5)
    frames = {k: spark.createDataFrame(t) for k, t in tables.items()}
    up = local_retention.Followed(tables[parent.collection].column("id").combine_chunks(),
                                  local_retention.compute(parent, tables[parent.collection], as_of))  # fmt: skip
    want = local_retention.states(child, tables[child.collection], as_of, parent=up).to_pylist()
    parent_states = engine.states(parent, frames[parent.collection], as_of)
    got = engine.states(child, frames[child.collection], as_of, parent=parent_states).orderBy("k").collect()
    assert [r.asDict() for r in got] == want
    assert {r["st"] for r in want} >= {int(local_retention.S[s]) for s in (RetentionState.UNDECIDABLE,
                                                                          RetentionState.ACTIVE)}  # fmt: skip
    plan = RetentionPlan(as_of, (grandchild, child, parent), (), ())
    local = local_retention.sweep(plan, tables)
    assert engine.sweep(plan, frames) == local
    assert engine.sweep(plan, {grandchild.collection: frames[grandchild.collection]}).results[0].error == (
        "it follows db.children, which could not be evaluated (it follows db.records, which could not be "
        "evaluated (not read))"
    )
    # References written as text naming the parent's integer keys: compared as text, as the local engine does.
    texts = tables[child.collection].set_column(1, "parent_id", tables[child.collection].column("parent_id").cast(
        pa.string()))  # fmt: skip
    mixed = {parent.collection: tables[parent.collection], child.collection: texts}
    two = RetentionPlan(as_of, (child, parent), (), ())
    local = local_retention.sweep(two, mixed)
    assert local.result(child.collection) == local_retention.sweep(two, tables).result(child.collection)
    assert engine.sweep(two, {k: spark.createDataFrame(t) for k, t in mixed.items()}) == local


@pytest.mark.parametrize("as_of", [EARLY, LATE])
def test_journaled_records_equal_the_local_engine(spark: Any, as_of: dt.date) -> None:
    """Records the journal of anonymised records names, in a parent and the collections following it: the same
    states and tallies on both engines (an entry may name a record that is gone)."""
    parent = dataclasses.replace(SCOPES["two rules, claims, anonymised, a system hold"], holds=())
    child = follower("db.children", parent)
    grandchild = follower("db.grandchildren", child)
    tables = {parent.collection: records(), child.collection: children_of(records())}
    tables[grandchild.collection] = children_of(tables[child.collection], 150, seed=5)
    frames = {k: spark.createDataFrame(t) for k, t in tables.items()}
    journal = {k: pa.array([str(i) for i in range(0, t.num_rows + 9, 3)]) for k, t in tables.items()}
    want = local_retention.states(parent, tables[parent.collection], as_of, journal=journal[parent.collection])
    got = engine.states(parent, frames[parent.collection], as_of, journal=journal[parent.collection])
    assert [r.asDict() for r in got.orderBy("k").collect()] == want.to_pylist()
    plan = RetentionPlan(as_of, (grandchild, child, parent), (), ())
    local = local_retention.sweep(plan, tables, journal=journal)
    assert engine.sweep(plan, frames, journal=journal) == local
    if as_of == LATE:
        assert local.totals()["anonymised"] > 0 and local != local_retention.sweep(plan, tables)


# -- erasure ---------------------------------------------------------------------------------------------------

ON = dt.date(2025, 6, 1)
NOW = dt.datetime(2025, 6, 2, tzinfo=dt.UTC)
KEY = b"k" * 70  # longer than a SHA-256 block, so HMAC hashes it first
ANN = "ann@example.test"


def pk(data_type: str = "integer", **more: Any) -> dict[str, Any]:
    return {"primary_key": True, "data_type": data_type, **more}


def ref(to: str, **more: Any) -> dict[str, Any]:
    return {"data_type": "integer", "references": [{"to": to, "direction": "from"}], **more}


def lake_datasets(data: dict[str, Any]) -> None:
    """customers <- orders <- order_items (deleted with their rows), customers <- invoices (kept by law)."""
    data["datasets"]["shop_db"]["collections"] = {
        "customers": {"fields": {
            "id": pk(),
            "email": {"data_type": "string", "identity": "email", "categories": ["user.contact.email"]},
            "phone": {"data_type": "string", "categories": ["user.contact.phone_number"]},
            "customer_no": {"data_type": "string", "categories": ["user.unique_id"]},
            "name": {"data_type": "string", "categories": ["user.name"], "masking": "fixed"},
            "privet_restricted": {"data_type": "boolean"},
        }},
        "orders": {"fields": {
            "id": pk(),
            "customer_id": ref("shop_db.customers.id"),
            "note": {"data_type": "string", "categories": ["user.content.review"]},
            "total": {"data_type": "float", "categories": ["user.commercial.order"]},
        }},
        "order_items": {"fields": {
            "id": pk(),
            "order_id": ref("shop_db.orders.id"),
            "product": {"data_type": "string", "categories": ["user.behavior.purchase_history"], "masking": "delete"},
        }},
        "invoices": {"fields": {
            "number": pk("string", categories=["user.payment.invoice"]),
            "customer_id": ref("shop_db.customers.id"),
            "billing_address": {"data_type": "string", "categories": ["user.contact.address.billing"]},
            "amount": {"data_type": "float", "categories": ["user.payment.record"]},
            "privet_restricted": {"data_type": "boolean"},
        }},
    }  # fmt: skip
    data["retention"]["statutory"] = {"name": "Statutory records", "triggers": ["purpose_fulfilled"],
                                      "limitation_periods": [{"period": "P10Y"}], "final_action": "delete"}  # fmt: skip
    data["activities"]["invoicing"] = {"name": "Invoicing", "purposes": ["essential.service"],
                                       "categories": ["user.payment.invoice", "user.contact.address.billing"],
                                       "subjects": ["customer"], "systems": ["shop"],
                                       "bases": [{"basis": "legal_obligation"}], "retention": "statutory"}  # fmt: skip


def write_lake(root: Path) -> None:
    customers = root / "customers"
    (customers / "country=IE").mkdir(parents=True)
    schema = pa.schema([("id", pa.int64()), ("email", pa.string()), ("phone", pa.string()), ("customer_no", pa.string()),
                        ("name", pa.string()), ("privet_restricted", pa.bool_())])  # fmt: skip
    people = [
        (1, ANN, "+353 1", "C-1", "Ann", False),
        (2, "bo@example.test", "+353 2", "C-2", "Bo", False),
        (3, None, None, "C-3", None, False),
        (5, ANN, "+353 5", None, None, None),  # a second account with the same address: found too
    ]
    as_rows = [dict(zip(schema.names, p, strict=True)) for p in people]
    pq.write_table(pa.Table.from_pylist(as_rows[:2], schema=schema), customers / "part-0.parquet")
    pq.write_table(pa.Table.from_pylist(as_rows[2:], schema=schema), customers / "country=IE" / "part-1.parquet")
    pq.write_table(pa.table({"id": pa.array([10, 11, 12, 13, 14], pa.int64()),
                             "customer_id": pa.array([1, 1, 2, None, 5], pa.int64()),
                             "note": ["gift", None, "fast", "x", "y"], "total": [9.5, 20.0, 5.25, None, 1.0]}),
                   root / "orders.parquet")  # fmt: skip
    (root / "order_items").mkdir()
    pq.write_table(pa.table({"id": pa.array([100, 101, 102, 103, 104], pa.int64()),
                             "order_id": pa.array([10, 10, 12, None, 14], pa.int64()),
                             "product": ["tea", "cup", "pot", "lid", "jar"]}), root / "order_items" / "a.parquet")  # fmt: skip
    pq.write_table(pa.table({"number": ["INV-1", "INV-2", "INV-3"], "customer_id": pa.array([1, 2, 5], pa.int64()),
                             "billing_address": ["1 Main St", "2 Side St", None], "amount": [10.0, 12.0, 3.0],
                             "privet_restricted": [False, False, False]}), root / "invoices.parquet")  # fmt: skip


def read_lake(root: Path, collection: str) -> pa.Table:
    lake = FilesConnector("shop", root)
    try:
        return local_retention.read_facts(lake, f"shop_db.{collection}", list(lake.describe(collection) or {}))
    finally:
        lake.close()


@pytest.fixture(scope="module")
def lake_manifest(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    return load_manifest(edited_manifest(tmp_path_factory.mktemp("m") / "manifest", lake_datasets)).manifest


def test_erasure_writes_what_the_files_connector_writes(spark: Any, lake_manifest: Manifest, tmp_path: Path) -> None:
    write_lake(tmp_path / "source")
    shutil.copytree(tmp_path / "source", tmp_path / "duck")
    ids = {"email": [ANN, "nobody@example.test"]}
    holds = [LegalHold("hold-1", "a pending dispute", categories=("user.contact.phone_number",))]
    graph = build_graph(lake_manifest.datasets)
    plan = plan_erasure(graph, ids)
    duck = {"shop": FilesConnector("shop", tmp_path / "duck")}
    actions = plan_actions(plan, graph, lake_manifest, duck, ids, holds, ON, ["eu"])
    outcome = apply_actions("r1", actions, plan.order, graph, duck, MemoryCheckpoints(), KEY, NOW)
    duck["shop"].close()
    assert not outcome.failed and not outcome.manual

    lake = {"shop": FilesConnector("shop", tmp_path / "source")}
    got = engine.erase(spark, plan, lake_manifest, lake, ids, tmp_path / "out", key=KEY, on=ON, holds=holds,
                       jurisdictions=["eu"])  # fmt: skip
    # Rows changed, each once (the executor counts a row once per change made to it).
    assert got.done == {"shop_db.order_items": 3, "shop_db.orders": 3, "shop_db.invoices": 2, "shop_db.customers": 2}
    assert set(outcome.done) == set(got.done)
    assert [c.collection for c in got.collections] == list(plan.order)  # children before parents
    for collection, key in (("customers", "id"), ("orders", "id"), ("order_items", "id"), ("invoices", "number")):
        written = pq.read_table(tmp_path / "out" / collection)
        assert rows_of(written, key) == rows_of(read_lake(tmp_path / "duck", collection), key), collection
    kinds = {(a.collection, a.kind) for a in got.kept}
    assert kinds == {("shop_db.invoices", ActionKind.RESTRICT), ("shop_db.customers", ActionKind.RESTRICT)}
    # The source lake is untouched; the customers' second file (a partition folder) is read too.
    assert rows_of(read_lake(tmp_path / "source", "customers"), "id")[0]["email"] == ANN

    nobody = engine.erase(spark, plan_erasure(graph, {"email": ["nobody@example.test"]}), lake_manifest, lake,
                          {"email": ["nobody@example.test"]}, tmp_path / "none", key=KEY, on=ON)  # fmt: skip
    assert nobody.collections == () and not (tmp_path / "none").exists()
    with pytest.raises(engine.SparkPlanError, match="out/invoices exists already"):
        engine.erase(spark, plan, lake_manifest, lake, ids, tmp_path / "out", key=KEY, on=ON, holds=holds)


def test_erasure_refuses_what_spark_cannot_do(spark: Any, tmp_path: Path) -> None:
    def random_names(data: dict[str, Any]) -> None:
        lake_datasets(data)
        data["datasets"]["shop_db"]["collections"]["customers"]["fields"]["name"]["masking"] = "random"

    def nested_identity(data: dict[str, Any]) -> None:
        lake_datasets(data)
        fields = data["datasets"]["shop_db"]["collections"]["customers"]["fields"]
        fields["login"] = {"data_type": "object", "categories": ["user.account"],
                           "fields": {"email": {"data_type": "string", "identity": "email"}}}  # fmt: skip

    write_lake(tmp_path / "lake")
    lake = {"shop": FilesConnector("shop", tmp_path / "lake")}
    ids = {"email": [ANN]}
    for edit, error, message in (
        (random_names, engine.SparkPlanError, r"shop_db.customers.name: the masking strategy 'random' cannot run on Spark"),
        (nested_identity, engine.SparkPlanError, r"shop_db.customers.login.email: the Spark engine reads and erases top-level"),
    ):  # fmt: skip
        manifest = load_manifest(edited_manifest(tmp_path / edit.__name__, edit)).manifest
        plan = plan_erasure(build_graph(manifest.datasets), ids)
        with pytest.raises(error, match=message):
            engine.erase(spark, plan, manifest, lake, ids, tmp_path / "out", key=KEY, on=ON)
    assert not (tmp_path / "out").exists()

    manifest = load_manifest(edited_manifest(tmp_path / "plain", lake_datasets)).manifest
    plan = plan_erasure(build_graph(manifest.datasets), ids)
    with pytest.raises(MaskingError, match="hmac needs a secret key"):
        engine.erase(spark, plan, manifest, lake, ids, tmp_path / "out", key=b"", on=ON)


# -- without PySpark or Java -----------------------------------------------------------------------------------


def test_without_pyspark_the_import_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "pyspark" or m.startswith(("pyspark.", "privet.engines.spark"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pyspark", None)  # type: ignore[arg-type]
    with pytest.raises(ImportError, match=r"PySpark and a Java runtime .*pip install 'privet\[spark\]'"):
        importlib.import_module("privet.engines.spark")


def test_without_java_the_session_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    if engine is None:
        pytest.skip(NO_PYSPARK)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "")
    with pytest.raises(engine.SparkUnavailable, match=r"needs a Java runtime .* JAVA_HOME"):
        engine.local_session()


def test_jurisdictions_are_stripped_of_what_python_strips() -> None:
    if engine is None:
        pytest.skip(NO_PYSPARK)
    from privet.engines.spark.retention import PY_WHITESPACE

    assert set(PY_WHITESPACE) == {chr(c) for c in range(0x110000) if chr(c).isspace()}


def test_the_package_exports_what_it_names() -> None:
    if engine is None:
        pytest.skip(NO_PYSPARK)
    assert engine.__all__ == sorted(engine.__all__)
    assert all(hasattr(engine, name) for name in engine.__all__)


def test_the_command_line_enforces_on_spark_as_it_does_locally(spark: Any, tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from privet.cli import app

    runner = CliRunner()
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws), "--manifest", str(REPO / "examples" / "anker")]).exit_code == 0
    for user, choice in (("1", "--grant"), ("2", "--withdraw")):
        result = runner.invoke(app, ["consent", "record", "--key", "share_app_analytics", choice, "-i", f"user_id:{user}",
                                     "--jurisdiction", "eu", "-w", str(ws)])  # fmt: skip
        assert result.exit_code == 0, result.output
    src = tmp_path / "events.parquet"
    pq.write_table(pa.table({"user_id": [1, 2, 3, 1], "page": ["a", "b", "c", "d"], "ip": ["x", "y", "z", "w"]}), src)
    args = ["enforce", str(src), "--purpose", "analytics.usage", "--subject-column", "user_id",
            "--map", "ip=user.behavior.usage", "--passthrough", "page", "--json", "-w", str(ws)]  # fmt: skip
    local = runner.invoke(app, [*args, "-o", str(tmp_path / "local.parquet")])
    on_spark = runner.invoke(app, [*args, "-o", str(tmp_path / "spark"), "--engine", "spark"])
    assert local.exit_code == 0 and on_spark.exit_code == 0, on_spark.output
    assert json.loads(on_spark.output) == json.loads(local.output)
    assert rows_of(pq.read_table(tmp_path / "spark"), "page") == rows_of(
        pq.read_table(tmp_path / "local.parquet"), "page"
    )
    wrong = runner.invoke(app, [*args, "-o", str(tmp_path / "x"), "--engine", "hadoop"])
    assert wrong.exit_code == 2 and "--engine 'hadoop': local or spark" in wrong.output
