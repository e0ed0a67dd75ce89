"""Manual systems: every call becomes a task for a person, and nothing is reported as done."""

from __future__ import annotations

from privet.connectors import ManualAction, ManualConnector, ManualTask
from privet.fulfilment.ports import Update


def test_calls_become_tasks_and_report_nothing_done() -> None:
    connector = ManualConnector("paper-archive", owner="records@example.test")

    assert connector.select("warranty_cards", "email", ["ada@example.test", "ada@example.test"], ["name"]) == []
    assert connector.update("warranty_cards", "card_no", [Update("W-1", {"name": None, "phone": None})]) == 0
    assert connector.delete("warranty_cards", "card_no", ["W-1", "W-2"]) == 0
    assert connector.count("warranty_cards", "email", ["ada@example.test"]) == 0

    find, change, delete = connector.take_tasks()
    assert find == ManualTask(
        system="paper-archive",
        owner="records@example.test",
        collection="warranty_cards",
        action=ManualAction.FIND,
        field="email",
        keys=("ada@example.test",),
        fields=("name",),
        instructions="In paper-archive, find the warranty_cards records whose email is one of the keys below and send"
        " back name of each (or say that there are none).",
    )
    assert (change.action, change.keys, change.fields) == (ManualAction.UPDATE, ("W-1",), ("name", "phone"))
    assert change.updates == (Update("W-1", {"name": None, "phone": None}),)
    assert (delete.action, delete.keys, delete.fields) == (ManualAction.DELETE, ("W-1", "W-2"), ())
    assert connector.take_tasks() == []


def test_nothing_asked_makes_no_task_and_the_schema_is_unknown() -> None:
    connector = ManualConnector("paper-archive", owner="records@example.test")

    connector.select("cards", "email", [])
    connector.update("cards", "id", [Update(1, {})])
    connector.delete("cards", "id", [])
    with connector.transaction():
        pass

    assert connector.tasks == ()
    assert connector.describe("cards") is None
