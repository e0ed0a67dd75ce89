"""Requests from an imported email or form export: what is taken from each, and what is refused and why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from privet.law.vocabulary import Right
from privet.requests.imports import ImportRefused, from_email, from_form, kind_from_words
from privet.requests.model import Channel

FILES = Path(__file__).parent.parent / "fixtures" / "imports"


def test_an_email_gives_the_sender_the_right_and_the_words() -> None:
    s = from_email((FILES / "deletion.eml").read_bytes())
    assert (s.kind, s.channel, s.jurisdiction) == (Right.DELETION, Channel.EMAIL, None)  # residence is never guessed
    assert (s.requester.email, s.requester.name, s.requester.language) == ("jana.novak@example.org", "Jana Novak", "de")
    assert s.details.startswith("Please delete my data\n\nHello,") and "order history" in s.details


def test_an_email_naming_two_rights_or_none_is_refused_unless_the_kind_is_given() -> None:
    raw = (FILES / "ambiguous.eml").read_bytes()
    with pytest.raises(ImportRefused, match=r"several rights \(deletion, access\); say which with --kind"):
        from_email(raw)
    s = from_email(raw, Right.ACCESS, "uk")
    assert (s.kind, s.jurisdiction, s.requester.email, s.requester.name) == (
        Right.ACCESS,
        "uk",
        "sam@example.org",
        None,
    )
    assert "<p>" not in s.details
    with pytest.raises(ImportRefused, match="does not say which right"):
        from_email(b"From: a@example.org\nSubject: hello\n\nHow are you?\n")


def test_an_email_without_a_sender_or_not_an_email_is_refused() -> None:
    with pytest.raises(ImportRefused, match=r"no sender address \(From:\)"):
        from_email((FILES / "no_sender.eml").read_bytes())
    with pytest.raises(ImportRefused, match="not an email"):
        from_email(b"just some words\n")


@pytest.mark.parametrize(
    ("subject", "body", "kind"),
    [("Do not sell my personal information", "", Right.OPT_OUT_SALE),
     ("Löschung meiner Daten", "", Right.DELETION),
     ("Auskunft nach Art. 15 DSGVO", "", Right.ACCESS),
     ("Request", "Please correct my address: it is 5 Elm St.", Right.CORRECTION),
     ("Subject access request", "Also, do not delete anything yet.", Right.ACCESS)],  # the subject decides first
)  # fmt: skip
def test_words_that_name_a_right(subject: str, body: str, kind: Right) -> None:
    assert kind_from_words(subject, body) is kind


def test_a_form_export_with_an_agent() -> None:
    s = from_form(json.loads((FILES / "form.json").read_text()))
    assert (s.kind, s.channel, s.jurisdiction, s.requester.email) == (Right.OPT_OUT_SALE, Channel.FORM, "US-CA",
                                                                      "lee@example.org")  # fmt: skip
    assert s.agent is not None and (s.agent.name, s.agent.evidence, s.agent.document_ref) == (
        "Privacy Helpers LLC",
        "power_of_attorney",
        "scan-0042.pdf",
    )


@pytest.mark.parametrize(
    ("data", "says"),
    [({"email": "a@example.org"}, 'no "kind"'), ({"kind": "access"}, 'neither "email" nor "phone"'),
     ({"kind": "appeal", "email": "a@example.org"}, "not a request of its own"),
     ({"kind": "access", "email": "a@example.org", "colour": "red"}, "colour: Extra inputs are not permitted"),
     ({"kind": "teleport", "email": "a@example.org"}, "the form export's kind"), ([1, 2], "one JSON object")],
)  # fmt: skip
def test_a_form_export_missing_what_is_needed_is_refused(data: object, says: str) -> None:
    with pytest.raises(ImportRefused, match=says):
        from_form(data)
