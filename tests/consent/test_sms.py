"""Inbound SMS keywords: a table of messages and what each asks for."""

from __future__ import annotations

import pytest

from privet.consent.sms import DEFAULT_TEMPLATES, KEYWORDS, SmsAction, SmsKind, SmsScope, SmsTemplates, interpret_sms

OUT, IN, HELP, NONE = SmsKind.OPT_OUT, SmsKind.OPT_IN, SmsKind.HELP, SmsKind.NONE
CAMPAIGN, ALL = SmsScope.CAMPAIGN, SmsScope.ALL


def read(text: str, templates: SmsTemplates = DEFAULT_TEMPLATES) -> SmsAction:
    return interpret_sms(text, programme="Acme Alerts", help_contact="help@acme.example", templates=templates)


@pytest.mark.parametrize(
    ("text", "kind", "scope", "keyword"),
    [
        ("STOP", OUT, CAMPAIGN, "STOP"),
        ("stop", OUT, CAMPAIGN, "STOP"),
        ("  Stop ", OUT, CAMPAIGN, "STOP"),
        ("STOP.", OUT, CAMPAIGN, "STOP"),
        ("Stop!\n", OUT, CAMPAIGN, "STOP"),
        ("ＳＴＯＰ", OUT, CAMPAIGN, "STOP"),  # full-width letters from some keyboards
        ("STOPALL", OUT, ALL, "STOPALL"),
        ("stopall", OUT, ALL, "STOPALL"),
        ("END", OUT, CAMPAIGN, "END"),
        ("cancel", OUT, CAMPAIGN, "CANCEL"),
        ("Unsubscribe", OUT, CAMPAIGN, "UNSUBSCRIBE"),
        ("quit", OUT, CAMPAIGN, "QUIT"),
        ("revoke", OUT, CAMPAIGN, "REVOKE"),
        ("OPTOUT", OUT, CAMPAIGN, "OPTOUT"),
        ("opt out", OUT, CAMPAIGN, "OPTOUT"),
        ("Opt   Out", OUT, CAMPAIGN, "OPTOUT"),
        ("opt-out", OUT, CAMPAIGN, "OPTOUT"),
        ("START", IN, CAMPAIGN, "START"),
        ("unstop", IN, CAMPAIGN, "UNSTOP"),
        ("Yes", IN, CAMPAIGN, "YES"),
        ("HELP", HELP, CAMPAIGN, "HELP"),
        ("info", HELP, CAMPAIGN, "INFO"),
    ],
)
def test_keywords(text: str, kind: SmsKind, scope: SmsScope, keyword: str) -> None:
    action = read(text)
    assert (action.kind, action.scope, action.keyword, action.unrecognised) == (kind, scope, keyword, False)
    assert action.reply is not None and action.reply.startswith("Acme Alerts: ")


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("please stop texting", "STOP"),
        ("STOP STOP", "STOP"),
        ("I want to opt out now", "OPTOUT"),
        ("stop it.", "STOP"),
        ("S T O P", None),
        ("stopp", None),
        ("who is this?", None),
        ("yes I'll be there", "YES"),
    ],
)
def test_anything_else_goes_to_a_person(text: str, hint: str | None) -> None:
    assert read(text) == SmsAction(NONE, CAMPAIGN, None, None, unrecognised=True, possible_keyword=hint)


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_a_blank_message_asks_for_nothing(text: str) -> None:
    assert read(text) == SmsAction(NONE, CAMPAIGN, None, None, unrecognised=False)


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("STOP", "Acme Alerts: you are unsubscribed and will get no more messages. Reply START to rejoin."),
        (
            "STOPALL",
            "Acme Alerts: you are unsubscribed from all our text messages and will get no more. Reply START to rejoin.",
        ),
        (
            "START",
            "Acme Alerts: you are subscribed again. Msg & data rates may apply. Reply HELP for help, STOP to end.",
        ),
        ("HELP", "Acme Alerts: for help contact help@acme.example. Msg & data rates may apply. Reply STOP to end."),
    ],
)
def test_one_confirmation_from_the_default_templates(text: str, reply: str) -> None:
    assert read(text).reply == reply


def test_custom_templates() -> None:
    templates = SmsTemplates(opt_out="{programme} stopped. Questions: {help_contact}")
    assert read("end", templates).reply == "Acme Alerts stopped. Questions: help@acme.example"
    assert read("stopall", templates).reply == DEFAULT_TEMPLATES.opt_out_all.format(programme="Acme Alerts")


@pytest.mark.parametrize("template", ["{name} stopped", "{programme!r} stopped", "{programme:>9}", "{programme"])
def test_templates_accept_only_the_two_placeholders(template: str) -> None:
    with pytest.raises(ValueError, match="SMS template 'help'"):
        SmsTemplates(help=template)


def test_a_programme_needs_a_name_and_a_help_contact() -> None:
    with pytest.raises(ValueError, match="needs a name and a help contact"):
        interpret_sms("STOP", programme=" ", help_contact="help@acme.example")


def test_every_keyword_in_the_table_is_recognised() -> None:
    for spelling, (keyword, kind, scope) in KEYWORDS.items():
        assert read(spelling.lower()) == read(spelling)
        assert (read(spelling).keyword, read(spelling).kind, read(spelling).scope) == (keyword, kind, scope)
