"""Legal holds on SQLite and PostgreSQL: added, listed as of a time, released once, never deleted."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from privet.retention.rules import HoldScope
from privet.store.database import VERSION_TABLE
from privet.store.hold_tables import legal_holds
from privet.store.holds import HoldError, SqlHolds
from privet.store.tables import metadata
from tests.store.conftest import SqlStores

T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def test_holds_are_active_from_added_until_released(sql: SqlStores) -> None:
    holds = SqlHolds(sql.db)
    ann = holds.add(HoldScope.PERSON, " u-ann ", "warranty dispute", "legal:ida", T0)
    orders = holds.add(HoldScope.SYSTEM, "order_management", "tax audit 2024", "finance", T0 + DAY, hold_id="hold-tax")
    assert ann.hold_id.startswith("hold-") and ann.target == "u-ann"
    assert holds.active(T0 - DAY) == []
    assert holds.active(T0) == [ann]
    assert holds.active(T0 + DAY) == [ann, orders]
    released = holds.release(ann.hold_id, T0 + 2 * DAY)
    assert released.released_at == T0 + 2 * DAY
    assert not released.active(T0 + 2 * DAY) and released.active(T0 + DAY)
    assert holds.active(T0 + 3 * DAY) == [orders]
    assert holds.active(T0 + DAY) == [released, orders]  # as it stood then
    assert holds.all() == [released, orders]
    assert holds.get("hold-tax") == orders and holds.get("hold-none") is None


def test_release_and_add_refuse_what_makes_no_sense(sql: SqlStores) -> None:
    holds = SqlHolds(sql.db)
    h = holds.add(HoldScope.CATEGORY, "user.payment", "audit", "finance", T0, hold_id="hold-1")
    with pytest.raises(HoldError, match="exists already"):
        holds.add(HoldScope.CATEGORY, "user.payment", "audit", "finance", T0, hold_id="hold-1")
    with pytest.raises(HoldError, match="needs a reason"):
        holds.add(HoldScope.PERSON, "u1", "  ", "legal", T0)
    with pytest.raises(HoldError, match="no legal hold hold-2"):
        holds.release("hold-2", T0)
    with pytest.raises(HoldError, match="before it was added"):
        holds.release(h.hold_id, T0 - DAY)
    holds.release(h.hold_id, T0 + DAY)
    with pytest.raises(HoldError, match=r"released on .* already"):
        holds.release(h.hold_id, T0 + 2 * DAY)


def test_the_migration_builds_the_holds_table_as_declared(sql: SqlStores) -> None:
    with sql.db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": lambda name, *_: name != VERSION_TABLE})
        diff = [d for d in compare_metadata(context, metadata) if legal_holds.name in repr(d)]
    assert diff == []
