"""Bulk enforcement: rows of people who may not be used are dropped, columns nulled, with counts per reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from privet.consent.events import Signal
from privet.engines.enforce import EnforceError, enforce_file, enforce_table
from privet.engines.subject_index import build_index
from privet.policy.bulk import UNKNOWN_SUBJECT, PlanError, plan_enforcement
from tests.world import NOW, World


def index_for(world: World, people: dict[int, str]) -> object:
    subjects = pa.table(
        {
            "key": pa.array(list(people), pa.int64()),
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
