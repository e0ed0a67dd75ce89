"""Marketing: per-campaign and global unsubscribe, one-click, SMS keywords, objection, tracking, GPC."""

from __future__ import annotations

import datetime as dt

import pytest

from privet.consent.events import LedgerError, Signal, Source
from privet.consent.identifiers import Identifier, IdentifierKind
from privet.consent.marketing import gpc_json, is_gpc, may_send, may_track, sms_choice, unsubscribe_choice
from privet.consent.sms import interpret_sms
from privet.consent.unsubscribe import make_token, read_token
from tests.world import NOW, World

KEY = b"k" * 32


def test_subscribe_then_unsubscribe_one_campaign_then_all(world: World) -> None:
    ann = world.person("eu", None, ("marketing_email", True))
    assert may_send(world.policy.manifest, world.ledger.choices(ann), "email", "spring").allowed
    token = read_token(KEY, make_token(KEY, ann, "email", "spring", NOW, dt.timedelta(days=30)), NOW)
    world.ledger.record([unsubscribe_choice(world.policy.manifest, token, True, NOW)], NOW)
    choices = world.ledger.choices(ann)
    assert not may_send(world.policy.manifest, choices, "email", "spring").allowed
    assert may_send(world.policy.manifest, choices, "email", "summer").allowed
    assert world.ledger.history(ann)[-1].event.source is Source.ONE_CLICK
    everything = read_token(KEY, make_token(KEY, ann, "email", None, NOW, dt.timedelta(days=30)), NOW)
    world.ledger.record([unsubscribe_choice(world.policy.manifest, everything, False, NOW)], NOW)
    decision = may_send(world.policy.manifest, world.ledger.choices(ann), "email", "summer")
    assert not decision.allowed and "every campaign" in decision.reason


def test_never_subscribed_and_objection(world: World) -> None:
    bob = world.person("eu")
    assert "has not subscribed" in may_send(world.policy.manifest, world.ledger.choices(bob), "email").reason
    carl = world.person("eu", None, ("marketing_email", True), (Signal.OBJECTION_DIRECT_MARKETING.value, True))
    assert not may_send(world.policy.manifest, world.ledger.choices(carl), "email").allowed


def test_sms_stop_and_start_reach_the_person(world: World) -> None:
    phone = Identifier.parse("phone:+44 20 7946 0000")
    dana = world.person("uk", None, ("marketing_email", True))
    world.subjects.link(dana, phone, NOW)
    stop = interpret_sms(" stop ", programme="Deals", help_contact="help@example.test")
    choice = sms_choice(world.policy.manifest, stop, phone, "email", "deals", NOW)
    assert choice is not None and choice.scope == "deals" and not choice.granted
    world.ledger.record([choice], NOW)
    assert not may_send(world.policy.manifest, world.ledger.choices(dana), "email", "deals").allowed
    start = interpret_sms("START", programme="Deals", help_contact="help@example.test")
    world.ledger.record([sms_choice(world.policy.manifest, start, phone, "email", "deals", NOW + dt.timedelta(minutes=1))], NOW + dt.timedelta(minutes=1))  # type: ignore[list-item]
    assert may_send(world.policy.manifest, world.ledger.choices(dana), "email", "deals").allowed
    help_ = interpret_sms("help", programme="Deals", help_contact="help@example.test")
    assert sms_choice(world.policy.manifest, help_, phone, "email", "deals", NOW) is None


def test_tracking_needs_its_own_declaration(world: World) -> None:
    erin = world.person("eu", None, ("marketing_email", True))
    assert not may_track(world.policy.manifest, world.ledger.choices(erin), "email").allowed


def test_unknown_channel(world: World) -> None:
    with pytest.raises(LedgerError, match="unknown marketing channel 'emial'; did you mean email"):
        may_send(world.policy.manifest, world.ledger.choices(world.person()), "emial")


def test_gpc_signal_and_wellknown() -> None:
    assert is_gpc("1") and not is_gpc("0") and not is_gpc(None) and not is_gpc("true")
    assert gpc_json(dt.date(2025, 1, 31)) == {"gpc": True, "lastUpdate": "2025-01-31"}


def test_gpc_request_opts_the_browser_and_the_linked_person_out(world: World) -> None:
    from privet.consent.ledger import gpc_choices

    browser = Identifier(IdentifierKind.BROWSER, "b-123")
    world.ledger.record(gpc_choices(browser, NOW), NOW)
    person = world.person("us-ca", None, ("ad_cookies", True))
    world.subjects.link(person, browser, NOW)  # the browser signs in: its subject merges into the person
    choices = world.ledger.choices(person)
    assert choices.signal(Signal.OPT_OUT_SALE) and choices.signal(Signal.OPT_OUT_TARGETED_ADVERTISING)
    d = world.policy.decide(world.view(person), "user.device.ip_address", "third_party_sharing.sale", "adnet")
    assert not d.allowed and d.rule.value == "opted_out"
