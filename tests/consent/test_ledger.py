"""Recording choices: checked against the manifest, tied to a person, appended whole or not at all."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from privet.consent.events import EventConflict, LedgerError, Source
from privet.consent.identifiers import Identifier, InvalidIdentifier
from privet.consent.ledger import ChoiceInput
from tests.world import NOW, World


def test_unknown_key_suggests_the_nearest(world: World) -> None:
    with pytest.raises(LedgerError, match="unknown consent key 'app_analytic'; did you mean app_analytics"):
        world.ledger.record([ChoiceInput("app_analytic", True, Source.API, subject_id=world.person())], NOW)


def test_a_bad_choice_records_nothing_of_the_batch(world: World) -> None:
    ann = world.person()
    good = ChoiceInput("app_analytics", True, Source.API, subject_id=ann)
    bad = ChoiceInput("ad_cookies", True, Source.API, subject_id=ann, scope="spring")
    with pytest.raises(LedgerError, match="not a marketing consent"):
        world.ledger.record([good, bad], NOW)
    assert world.ledger.history(ann) == []


@pytest.mark.parametrize(
    ("at", "message"),
    [(dt.datetime(2025, 6, 1), "must carry a timezone"), (NOW + dt.timedelta(hours=1), "in the future")],
)
def test_times_are_checked(world: World, at: dt.datetime, message: str) -> None:
    with pytest.raises(LedgerError, match=message):
        world.ledger.record([ChoiceInput("app_analytics", True, Source.API, subject_id=world.person(), at=at)], NOW)


def test_same_event_id_twice_is_one_event_and_a_conflict_is_refused(world: World) -> None:
    ann = world.person()
    choice = ChoiceInput("app_analytics", True, Source.API, subject_id=ann, event_id="e1", at=NOW)
    assert world.ledger.record([choice], NOW).result.appended == 1
    assert world.ledger.record([choice], NOW).result.duplicates == 1
    assert len(world.ledger.history(ann)) == 1
    with pytest.raises(EventConflict):
        world.ledger.record([ChoiceInput("app_analytics", False, Source.API, subject_id=ann, event_id="e1", at=NOW)], NOW)


def test_withdrawal_before_any_grant_is_recorded(world: World) -> None:
    ann = world.person()
    world.ledger.record([ChoiceInput("app_analytics", False, Source.API, subject_id=ann)], NOW)
    choice = world.ledger.choices(ann).choice("app_analytics")
    assert choice is not None and not choice.granted


def test_an_identifier_alone_creates_or_finds_the_person(world: World) -> None:
    email = Identifier.parse("email:Ann@Example.COM")
    first = world.ledger.record([ChoiceInput("app_analytics", True, Source.API, identifier=email)], NOW)
    again = world.ledger.record([ChoiceInput("app_analytics", False, Source.API,
                                             identifier=Identifier.parse("email:ann@example.com"))], NOW)  # fmt: skip
    assert first.subject_id == again.subject_id


@pytest.mark.parametrize("text", ["email:not-an-email", "phone:12", "fax:1", "nothing"])
def test_bad_identifiers(text: str) -> None:
    with pytest.raises(InvalidIdentifier):
        Identifier.parse(text)


def test_new_event_ids_are_uuid7_of_the_recording_instant_and_sort_in_recording_order(world: World) -> None:
    ann = world.person()
    ids = []
    for minute in range(3):
        now = NOW + dt.timedelta(minutes=minute, microseconds=minute * 1_001)
        done = world.ledger.record([ChoiceInput("app_analytics", minute % 2 == 0, Source.API, subject_id=ann)], now)
        parsed = uuid.UUID(done.event_ids[0])
        assert parsed.version == 7
        assert parsed.int >> 80 == int(now.timestamp() * 1000)  # the first 48 bits: milliseconds since 1970
        ids.append(done.event_ids[0])
    assert ids == sorted(ids) and len(set(ids)) == 3
