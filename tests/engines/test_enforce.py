"""Bulk enforcement: rows of people who may not be used are dropped, columns nulled, with counts per reason."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from privet.consent.events import Signal
from privet.engines.enforce import EnforceError, enforce_file, enforce_parquet, enforce_table
from privet.engines.subject_index import SubjectIndex, build_index
from privet.policy.bulk import UNKNOWN_SUBJECT, PlanError, plan_enforcement
from tests.world import NOW, World


def index_for(world: World, people: dict[int, str], key_type: pa.DataType = pa.int64()) -> object:
    subjects = pa.table(
        {
            "key": pa.array(list(people), pa.int64()).cast(key_type),
            "subject": list(people.values()),
            "jurisdiction": [world.subjects.get(s).jurisdiction for s in people.values()],  # type: ignore[union-attr]
            "birth_date": pa.array([world.subjects.get(s).birth_date for s in people.values()], pa.date32()),  # type: ignore[union-attr]
            "known_minor": [False] * len(people),
        }
    )
    rows = [(s, c.key, c.granted) for s in people.values() for c in world.ledger.choices(s).choices.values()]
    choices = pa.table(
        {"subject": [r[0] for r in rows], "consent_key": [r[1] for r in rows], "granted": [r[2] for r in rows]},
        schema=pa.schema([("subject", pa.string()), ("consent_key", pa.string()), ("granted", pa.bool_())]),
    )
    unknown = world.policy.intern(UNKNOWN_SUBJECT)
    return build_index(world.policy, subjects, choices, NOW.date(), unknown)


def events() -> pa.Table:
    return pa.table(
        {
            "user_id": pa.array([1, 2, 3, 1, 99, None], pa.int64()),
            "ip": ["a", "b", "c", "d", "e", "f"],
            "health": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "page": ["p1", "p2", "p3", "p4", "p5", "p6"],
        }
    )


def test_analytics_keeps_only_consenting_people(world: World) -> None:
    people = {
        1: world.person("eu", None, ("app_analytics", True)),
        2: world.person("eu", None, ("app_analytics", False)),
        3: world.person("us-ca"),
    }
    index = index_for(world, people)
    plan = plan_enforcement(world.policy, "analytics.reporting", None, "user_id", "user.device.device_id",
                            {"ip": "user.device.ip_address", "health": "user.health_and_medical"}, ["page"])  # fmt: skip
    out, summary = enforce_table(plan, index, events())  # type: ignore[arg-type]
    # Person 1 consented; person 3 is in California, where analytics on a consent basis needs no GDPR basis.
    assert out.column("user_id").to_pylist() == [1, 3, 1]
    assert "health" not in out.column_names  # no activity uses health data for analytics: dropped for everyone
    assert summary.columns_dropped == {"health": "no_activity"}
    assert summary.rows_dropped == {"consent_withdrawn": 1, "consent_missing": 2}  # person 2; unknown 99 and null
    assert (summary.rows_in, summary.rows_out) == (6, 3)


def test_columns_are_nulled_per_subject(world: World) -> None:
    people = {
        1: world.person("us-ca", None, ("ad_cookies", True)),
        2: world.person("us-ca", None, ("ad_cookies", True), (Signal.OPT_OUT_SALE.value, True)),
    }
    world.choose(people[1], "health_sync", True)
    index = index_for(world, people)
    table = events().slice(0, 2)
    plan = plan_enforcement(world.policy, "essential.service", None, "user_id", "user.account",
                            {"ip": "user.contact.email", "health": "user.health_and_medical"}, ["page"])  # fmt: skip
    out, summary = enforce_table(plan, index, table)  # type: ignore[arg-type]
    assert out.column("health").to_pylist() == [1.0, None]
    assert summary.cells_nulled == {"health": {"consent_missing": 1}}


def test_files_stream_and_errors_write_nothing(world: World, tmp_path: Path) -> None:
    people = {i: world.person("eu", None, ("app_analytics", bool(i % 2))) for i in range(1, 5)}
    index = index_for(world, people)
    plan = plan_enforcement(world.policy, "analytics.reporting", None, "user_id", "user.device.device_id",
                            {"ip": "user.device.ip_address"}, ["page", "health"])  # fmt: skip
    src = tmp_path / "in.parquet"
    ids = np.arange(1, 5).repeat(250)
    pq.write_table(pa.table({"user_id": ids, "ip": ["x"] * 1000, "health": [0.0] * 1000, "page": ["p"] * 1000}), src)
    summary = enforce_file(plan, index, src, tmp_path / "out.parquet", batch_rows=64)  # type: ignore[arg-type]
    assert summary.rows_out == 500
    assert set(pq.read_table(tmp_path / "out.parquet").column("user_id").to_pylist()) == {1, 3}

    csv_out = tmp_path / "out.csv"
    enforce_file(plan, index, src, csv_out)  # type: ignore[arg-type]
    assert csv_out.read_text().count("\n") == 501

    bad = tmp_path / "no_subject.parquet"
    pq.write_table(pa.table({"id": [1], "ip": ["x"]}), bad)
    with pytest.raises(EnforceError, match="no column 'user_id' for the subject"):
        enforce_file(plan, index, bad, tmp_path / "never.parquet")  # type: ignore[arg-type]
    assert not (tmp_path / "never.parquet").exists()
    assert not list(tmp_path.glob(".never*"))


def test_unmapped_columns_are_refused(world: World) -> None:
    index = index_for(world, {1: world.person()})
    plan = plan_enforcement(
        world.policy, "essential.service", None, "user_id", "user.unique_id", {"ip": "user.contact.email"}
    )
    with pytest.raises(EnforceError, match="health, page have no data category"):
        enforce_table(plan, index, events())  # type: ignore[arg-type]


def test_unknown_category_in_the_mapping(world: World) -> None:
    with pytest.raises(PlanError, match=r"column ip: unknown data category 'user\.ip'"):
        plan_enforcement(world.policy, "essential.service", None, "user_id", "user.unique_id", {"ip": "user.ip"})


# Row groups of four: one of denied subjects only, one of allowed only, one mixed with a null, a short last one.
GROUPED_IDS = [2, 2, 99, None, 1, 3, 1, 3, 1, 2, None, 3, 99, 1]


def grouped_events(path: Path, key_type: pa.DataType = pa.int64()) -> pa.Table:
    n = len(GROUPED_IDS)
    health = pa.field("health", pa.float64(), nullable=False)
    table = pa.table(
        {
            "user_id": pa.array(GROUPED_IDS, pa.int64()).cast(key_type),
            "ip": [f"ip{i}" for i in range(n)],
            "health": [float(i) for i in range(n)],
            "page": [f"p{i}" for i in range(n)],
        },
        schema=pa.schema([("user_id", key_type), ("ip", pa.string()), health, ("page", pa.string())]),
    )
    pq.write_table(table, path, row_group_size=4)
    assert pq.ParquetFile(path).num_row_groups == 4
    return table


@pytest.mark.parametrize("key_type", [pa.int64(), pa.int32(), pa.string()], ids=["int64", "int32", "string"])
def test_parquet_row_groups_match_the_in_memory_result(world: World, tmp_path: Path, key_type: pa.DataType) -> None:
    people = {
        1: world.person("eu", None, ("app_analytics", True)),
        2: world.person("eu", None, ("app_analytics", False)),
        3: world.person("us-ca"),
    }
    index = index_for(world, people, key_type)
    plan = plan_enforcement(world.policy, "analytics.reporting", None, "user_id", "user.device.device_id",
                            {"ip": "user.device.ip_address", "health": "user.health_and_medical"}, ["page"])  # fmt: skip
    table = grouped_events(tmp_path / "events.parquet", key_type)
    for threads in (1, 3):
        out, summary = enforce_parquet(plan, index, tmp_path / "events.parquet", threads=threads)  # type: ignore[arg-type]
        # The denied-only group yields nothing, the allowed-only group comes whole, order is kept.
        assert out.column("user_id").to_pylist() == pa.array([1, 3, 1, 3, 1, 3, 1]).cast(key_type).to_pylist()
        assert out.column("page").to_pylist() == ["p4", "p5", "p6", "p7", "p8", "p11", "p13"]
        assert out.column_names == ["user_id", "ip", "page"]
        assert summary.rows_dropped == {"consent_withdrawn": 3, "consent_missing": 4}  # 2 three times; 99, null twice
        assert (summary.rows_in, summary.rows_out) == (14, 7)
        in_memory, in_memory_summary = enforce_table(plan, index, table)  # type: ignore[arg-type]
        assert out.equals(in_memory)
        assert summary.as_json() == in_memory_summary.as_json()


def test_parquet_cells_are_nulled_per_row_group(world: World, tmp_path: Path) -> None:
    people = {
        1: world.person("us-ca", None, ("ad_cookies", True)),
        2: world.person("us-ca", None, ("ad_cookies", True), (Signal.OPT_OUT_SALE.value, True)),
        3: world.person("us-ca", None, ("ad_cookies", True)),
    }
    world.choose(people[1], "health_sync", True)
    world.choose(people[3], "health_sync", True)
    index = index_for(world, people)
    plan = plan_enforcement(world.policy, "essential.service", None, "user_id", "user.account",
                            {"ip": "user.contact.email", "health": "user.health_and_medical"}, ["page"])  # fmt: skip
    table = grouped_events(tmp_path / "events.parquet")
    out, summary = enforce_parquet(plan, index, tmp_path / "events.parquet")  # type: ignore[arg-type]
    in_memory, in_memory_summary = enforce_table(plan, index, table)  # type: ignore[arg-type]
    assert out.equals(in_memory)
    assert summary.as_json() == in_memory_summary.as_json()
    shown = dict(zip(out.column("page").to_pylist(), out.column("health").to_pylist(), strict=True))
    assert shown["p4"] == 4.0 and shown["p0"] is None  # person 1 consented to health_sync, person 2 did not
    assert summary.cells_nulled["health"]["consent_missing"] == sum(1 for v in shown.values() if v is None)
    assert out.schema.field("health").nullable  # declared without nulls in the input, it has some now
    enforce_file(plan, index, tmp_path / "events.parquet", tmp_path / "out.parquet", batch_rows=4)  # type: ignore[arg-type]
    assert pq.read_table(tmp_path / "out.parquet").equals(out)


def test_many_profiles_and_sparse_identifiers(world: World, tmp_path: Path) -> None:
    """More profiles than one byte numbers, identifiers too far apart for the dense table: the hash lookup."""
    base = plan_enforcement(world.policy, "analytics.reporting", None, "user_id", "user.device.device_id", {},
                            ["page"])  # fmt: skip
    count = 300
    plan = dataclasses.replace(base, rows=tuple(p % 3 == 0 for p in range(count)),
                               row_decisions=(base.row_decisions[0],) * count)  # fmt: skip
    for spacing in (1, 10**12):
        keys = np.arange(count, dtype=np.int64) * spacing
        index = SubjectIndex.build(pa.array(keys), np.arange(count), plan.unknown_profile)
        assert (index.dense is not None) == (spacing == 1)
        src = tmp_path / f"spacing{spacing}.parquet"
        pq.write_table(pa.table({"user_id": np.tile(keys, 2), "page": ["p"] * (2 * count)}), src, row_group_size=128)
        out, summary = enforce_parquet(plan, index, src)
        assert out.column("user_id").to_pylist() == [int(k) for k in np.tile(keys, 2) if (k // spacing) % 3 == 0]
        assert summary.rows_out == 200


def test_parquet_without_the_subject_column_is_refused(world: World, tmp_path: Path) -> None:
    index = index_for(world, {1: world.person()})
    plan = plan_enforcement(world.policy, "essential.service", None, "user_id", "user.unique_id", {}, ["ip"])
    pq.write_table(pa.table({"id": [1], "ip": ["x"]}), tmp_path / "no_subject.parquet")
    with pytest.raises(EnforceError, match="no column 'user_id' for the subject; columns: id, ip"):
        enforce_parquet(plan, index, tmp_path / "no_subject.parquet")  # type: ignore[arg-type]
