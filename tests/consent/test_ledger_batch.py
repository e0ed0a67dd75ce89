"""Recording many callers' choices in one append: each caller whole or not at all, people read and created together."""

from __future__ import annotations

import pytest

from privet.consent.events import LedgerError, Source
from privet.consent.identifiers import Identifier
from privet.consent.ledger import ChoiceInput, ChoiceSet, ConsentLedger, NotExact, Recorded
from privet.consent.memory import MemoryConsents, MemorySubjects
from privet.consent.ports import Subject
from privet.consent.state import fold
from tests.world import NOW, World, policy_manifest

ANN = Identifier.parse("email:ann@example.com")
BEN = Identifier.parse("email:ben@example.com")


def choice(key: str, granted: bool = True, **who: object) -> ChoiceInput:
    return ChoiceInput(key, granted, Source.API, **who)  # type: ignore[arg-type]


def one(*choices: ChoiceInput) -> ChoiceSet:
    return ChoiceSet(choices, NOW)


def recorded(outcome: Recorded | LedgerError) -> Recorded:
    assert isinstance(outcome, Recorded), outcome
    return outcome


def test_a_refused_set_fails_alone_and_records_nothing(world: World) -> None:
    outcomes = world.ledger.record_many([
        one(choice("app_analytics", identifier=ANN)),
        one(choice("app_analytics", identifier=BEN), choice("no_such_key", identifier=BEN)),
        one(choice("app_analytics", False, identifier=ANN)),
    ])  # fmt: skip
    assert isinstance(outcomes[1], LedgerError) and "no_such_key" in str(outcomes[1])
    first, last = recorded(outcomes[0]), recorded(outcomes[2])
    assert first.subject_id == last.subject_id and first.result.appended == last.result.appended == 1
    assert world.subjects.find(BEN) is None  # the refused set created nobody
    assert world.ledger.choices(first.subject_id).granted("app_analytics") is False


def test_new_people_of_a_batch_are_created_once(world: World) -> None:
    outcomes = [recorded(o) for o in world.ledger.record_many([
        one(choice("app_analytics", identifier=ANN, jurisdiction="eu")),
        one(choice("app_analytics", identifier=BEN)),
        one(choice("marketing_email", identifier=ANN)),
    ])]  # fmt: skip
    assert outcomes[0].subject_id == outcomes[2].subject_id != outcomes[1].subject_id
    ann = world.subjects.get(outcomes[0].subject_id)
    assert ann is not None and ann.jurisdiction == "eu" and world.subjects.identifiers(ann.subject_id) == [ANN]


def test_a_batch_gives_what_the_same_sets_recorded_one_by_one_give() -> None:
    """Merges inside a batch (a subject id with an identifier) are seen by the sets after them."""
    manifest = policy_manifest()
    ledgers = []
    for _ in range(2):
        subjects = MemorySubjects()
        subjects.create(Subject("known", NOW))
        ledgers.append((ConsentLedger(manifest, subjects, MemoryConsents(subjects)), subjects))
    sets = [
        one(choice("app_analytics", identifier=ANN, event_id="1")),
        one(choice("marketing_email", subject_id="known", identifier=ANN, event_id="2")),  # merges Ann into known
        one(choice("app_analytics", False, identifier=ANN, event_id="3")),
        one(choice("marketing_email", identifier=BEN, event_id="4")),
    ]
    (batch, batch_subjects), (single, single_subjects) = ledgers
    together = [recorded(o) for o in batch.record_many(sets)]
    alone = [single.record(s.choices, s.now) for s in sets]
    assert [r.subject_id for r in together][1:3] == ["known", "known"]
    new_ids = {alone[0].subject_id: together[0].subject_id, alone[3].subject_id: together[3].subject_id}
    rename = {**new_ids, "known": "known"}
    assert [rename[r.subject_id] for r in alone] == [r.subject_id for r in together]
    assert batch.choices("known").choices == single.choices("known").choices
    for subjects, first in ((batch_subjects, together[0]), (single_subjects, alone[0])):
        merged = subjects.get(first.subject_id)
        assert merged is not None and merged.subject_id == "known"  # Ann's new subject was merged into known
    facts = [
        [(r.event.event_id, r.event.key, r.event.granted) for r in ledger.history("known")]
        for ledger in (batch, single)
    ]
    assert facts[0] == facts[1] == [("1", "app_analytics", True), ("2", "marketing_email", True),
                                    ("3", "app_analytics", False)]  # fmt: skip


def test_the_projection_equals_replaying_the_ledger(world: World) -> None:
    sets = [one(choice("app_analytics", n % 3 == 0, identifier=Identifier.parse(f"user_id:u{n % 7}")))
            for n in range(40)]  # fmt: skip
    world.ledger.record_many(sets)
    consents = world.ledger.store
    assert isinstance(consents, MemoryConsents)
    replayed = fold(consents.scan(0, 1_000), world.subjects.merged_map())
    assert {(s, c.key, c.scope): c for s, c in consents.projection()} == replayed
    for n in range(7):
        owner = world.subjects.find(Identifier.parse(f"user_id:u{n}"))
        assert owner is not None
        latest = max(n2 for n2 in range(40) if n2 % 7 == n)
        assert world.ledger.choices(owner).granted("app_analytics") is (latest % 3 == 0)


def test_an_id_sent_again_makes_the_joint_answer_not_exact(world: World) -> None:
    again = one(choice("app_analytics", identifier=ANN, event_id="crm-1", at=NOW))
    world.ledger.record(again.choices, NOW)
    with pytest.raises(NotExact, match="1 of 2 events were recorded before"):
        world.ledger.record_many([again, one(choice("app_analytics", identifier=BEN))])


def test_an_unknown_subject_is_refused(world: World) -> None:
    [outcome] = world.ledger.record_many([one(choice("app_analytics", subject_id="nobody"))])
    assert isinstance(outcome, LedgerError) and "unknown subject 'nobody'" in str(outcome)


def test_each_set_s_new_event_ids_come_from_its_own_instant(world: World) -> None:
    import datetime as dt
    import uuid

    later = NOW + dt.timedelta(minutes=5)
    outcomes = world.ledger.record_many([
        one(choice("app_analytics", identifier=ANN)),
        ChoiceSet((choice("app_analytics", identifier=BEN),), later),
    ])  # fmt: skip
    first, second = (uuid.UUID(recorded(o).event_ids[0]) for o in outcomes)
    assert first.int >> 80 == int(NOW.timestamp() * 1000)  # UUIDv7: the first 48 bits are milliseconds
    assert second.int >> 80 == int(later.timestamp() * 1000)
