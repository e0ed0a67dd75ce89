"""Messages to the person: every kind in English and German, the facts each must state, and safe rendering."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jinja2 import UndefinedError

from privet.law.vocabulary import Right
from privet.manifest.entities import Authority, Contact, DisputeResolver
from privet.manifest.model import Manifest
from privet.manifest.notice import RightsOffer
from privet.manifest.period import Period
from privet.requests.lifecycle import MessageKind
from privet.requests.messages import (
    CODE_REMOVED,
    MessageError,
    OutboxMessage,
    OutboxStatus,
    choose_language,
    environment,
    render_message,
    without_code,
)
from privet.requests.model import Agent, Dates, Request, Requester, State
from privet.workspace.manifest_files import load_manifest

MINIMAL = Path(__file__).parent.parent / "fixtures" / "minimal"
RECEIVED = dt.datetime(2025, 3, 3, 9, 15, tzinfo=dt.UTC)
EU_DATES = Dates(due=dt.date(2025, 4, 3), extended_due=dt.date(2025, 6, 3), extension_notice_by=dt.date(2025, 4, 3),
                 rule="1 month after receipt", cites=("GDPR Art. 12(3)", "counting: Regulation 1182/71"))  # fmt: skip
VA_DATES = Dates(due=dt.date(2025, 4, 17), extended_due=dt.date(2025, 6, 2), rule="45 days after receipt",
                 cites=("Va. Code 59.1-577(B)(1)",))  # fmt: skip
APPEAL_DATES = Dates(due=dt.date(2025, 6, 30), rule="60 days", cites=("Va. Code 59.1-577(C)",))
APPEAL_TEXT = "Reply to our decision email with the word APPEAL in the subject line"
EXTRA = {"code": "482913", "expires": "2025-03-03T09:45:00+00:00"}
NEEDED: dict[MessageKind, dict[str, Any]] = {
    MessageKind.EXTENSION: {"extended": True, "extension_reason": "your data is spread over eleven systems"},
    MessageKind.RESULT: {"state": State.FULFILLED},
    MessageKind.DENIAL: {"state": State.DENIED, "outcome_reasons": ("we could not find an account for you",)},
    MessageKind.VERIFICATION_FAILED: {"state": State.VERIFICATION_FAILED,
                                      "outcome_reasons": ("the code was not entered within its validity",)},
    MessageKind.APPEAL_RECEIVED: {"state": State.APPEALED, "appeal_dates": APPEAL_DATES},
    MessageKind.APPEAL_DECISION: {"state": State.APPEAL_DECIDED, "appeal_dates": APPEAL_DATES,
                                  "appeal_outcome": "upheld", "outcome_reasons": ("the law requires us to keep it",)},
    MessageKind.AGENT_CONFIRMATION: {"agent": Agent("Dee Agent", "dee@agency.example", "signed_letter")},
}  # fmt: skip


@cache
def manifest() -> Manifest:
    """The minimal manifest, offered in English and German, with complaint routes and a US offer with an appeal."""
    m = load_manifest(MINIMAL).manifest
    org = m.organisation.model_copy(update={
        "authorities": {"dpc": Authority(key="dpc", name="Data Protection Commission", jurisdictions=("eu",),
                                         contact=Contact(url="https://www.dataprotection.ie"))},
        "dispute_resolution": {"bbb": DisputeResolver(key="bbb", name="BBB National Programs", jurisdictions=("us_states",),
                                                      contact=Contact(url="https://bbbprograms.org"))},
    })  # fmt: skip
    us = RightsOffer(key="us", jurisdictions=("us_states",), rights=(Right.ACCESS, Right.DELETION, Right.APPEAL),
                     channels=("privacy_email",), appeal=APPEAL_TEXT, appeal_window=Period(days=45))  # fmt: skip
    notice = m.notice.model_copy(update={"languages": ("en", "de")})
    return m.model_copy(update={"organisation": org, "notice": notice, "rights": {**m.rights, "us": us}})


def request(jurisdiction: str = "eu", language: str = "en", **changes: Any) -> Request:
    dates = EU_DATES if jurisdiction == "eu" else VA_DATES
    base = Request("DSR-2025-000123", Right.ACCESS, jurisdiction, RECEIVED, State.RECEIPT_CONFIRMED,
                   Requester(email="ann@example.test", name="Ann Example", language=language), dates)  # fmt: skip
    return dataclasses.replace(base, **changes)


def render(kind: MessageKind, req: Request, **kw: Any) -> Any:
    return render_message(kind, req, manifest(), extra=kw.pop("extra", EXTRA), **kw)


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("kind", list(MessageKind))
def test_every_kind_renders_in_english_and_german(kind: MessageKind, language: str) -> None:
    msg = render(kind, request(language=language, **NEEDED.get(kind, {})))
    assert (msg.kind, msg.language, msg.request_id, msg.to) == (kind, language, "DSR-2025-000123", "ann@example.test")
    assert "DSR-2025-000123" in msg.subject and "DSR-2025-000123" in msg.text
    assert "Ann Example" in msg.text and "Example Devices" in msg.text
    assert msg.html is not None and f'<html lang="{language}">' in msg.html
    for body in (msg.text, msg.html):
        assert "{{" not in body and "{%" not in body and "None" not in body and "\n\n\n" not in body
    assert all(len(line) <= 76 for line in msg.text.splitlines() if " " in line.strip())
    assert ("Reply-To", "privacy@example.test") in msg.headers
    assert ("Content-Language", language) in msg.headers


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("right", list(Right))
def test_every_right_has_words_in_every_language(right: Right, language: str) -> None:
    msg = render(MessageKind.RECEIPT, request(language=language, kind=right))
    assert msg.language == language


@pytest.mark.parametrize(
    ("wanted", "offered", "expected"),
    [("de", ("en", "de"), "de"), ("de-AT", ("en", "de"), "de"), ("DE_de", ("en", "de-DE"), "de"),
     ("fr", ("en", "de", "fr"), "en"),  # offered by the notice, but no French templates
     ("de", ("en",), "en"),  # templates exist, but the notice is not offered in German
     ("", ("en", "de"), "en")],
)  # fmt: skip
def test_language_falls_back_to_english(wanted: str, offered: tuple[str, ...], expected: str) -> None:
    m = manifest().model_copy(update={"notice": manifest().notice.model_copy(update={"languages": offered})})
    assert choose_language(wanted, MessageKind.DENIAL, m) == expected
    msg = render_message(MessageKind.RECEIPT, request(language=wanted), m)
    assert msg.language == expected


def test_receipt_says_what_when_by_when_and_how() -> None:
    text = render(MessageKind.RECEIPT, request()).text
    flat = " ".join(text.split())
    assert "We received your request for access to your personal data on 3 March 2025 at 09:15 UTC." in flat
    assert "We will reply by 3 April 2025 at the latest." in flat
    assert "until 3 June 2025 at most; we would tell you by 3 April 2025 and explain why" in flat
    assert "First we will confirm that the request comes from you" in flat
    assert "send you a copy of the data we hold about you" in flat
    assert "This deadline is set by GDPR Art. 12(3) (1 month after receipt)." in flat
    assert "counting:" not in flat
    de = " ".join(render(MessageKind.RECEIPT, request(language="de")).text.split())
    assert "wir haben am 3. März 2025 um 09:15 UTC Ihren Antrag auf Auskunft" in de
    assert "Wir antworten Ihnen spätestens bis zum 3. April 2025." in de


def test_receipt_of_an_opt_out_promises_no_identity_check_and_names_the_agent() -> None:
    agent = Agent(name="Privacy Helpers LLC", email="agent@example.test", approved=True)
    flat = " ".join(render(MessageKind.RECEIPT, request("us-va", kind=Right.OPT_OUT_SALE, agent=agent)).text.split())
    assert "confirm that the request comes from you" not in flat
    assert "made for you by Privacy Helpers LLC" in flat
    assert "We will stop selling your personal data" in flat


def test_the_verification_code_message_holds_the_code_and_its_expiry() -> None:
    flat = " ".join(render(MessageKind.VERIFICATION_CODE, request()).text.split())
    assert "482913" in flat and "The code is valid until 3 March 2025 at 09:45 UTC." in flat
    minutes = render(MessageKind.VERIFICATION_CODE, request(language="de"), extra={"code": "1", "valid_minutes": "30"})
    assert "Der Code ist 30 Minuten lang gültig." in " ".join(minutes.text.split())
    with pytest.raises(MessageError, match="needs extra\\['code'\\]"):
        render(MessageKind.VERIFICATION_CODE, request(), extra={"expires": EXTRA["expires"]})
    with pytest.raises(MessageError, match="needs its expiry"):
        render(MessageKind.VERIFICATION_CODE, request(), extra={"code": "1"})
    with pytest.raises(MessageError, match="not an ISO 8601"):
        render(MessageKind.VERIFICATION_CODE, request(), extra={"code": "1", "expires": "tomorrow"})


@pytest.mark.parametrize("kind", [k for k in MessageKind if k is not MessageKind.VERIFICATION_CODE])
def test_no_other_message_carries_the_code(kind: MessageKind) -> None:
    msg = render(kind, request(**NEEDED.get(kind, {})), extra={**EXTRA, "code": "918273"})
    assert "918273" not in msg.text and msg.html is not None and "918273" not in msg.html


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_sent_code_is_blanked_and_nothing_else(language: str) -> None:
    msg = render(MessageKind.VERIFICATION_CODE, request(language=language))
    text, html = without_code(MessageKind.VERIFICATION_CODE.value, msg.text, msg.html)
    assert "482913" not in text and html is not None and "482913" not in html
    assert text == msg.text.replace("482913", CODE_REMOVED) and html == msg.html.replace("482913", CODE_REMOVED)  # type: ignore[union-attr]
    receipt = render(MessageKind.RECEIPT, request(language=language))
    assert without_code(MessageKind.RECEIPT.value, receipt.text, receipt.html) == (receipt.text, receipt.html)


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_person_is_asked_to_confirm_an_agent_directly(language: str) -> None:
    agent = Agent("Dee Agent", "dee@agency.example", "signed_letter")
    msg = render(MessageKind.AGENT_CONFIRMATION, request(language=language, agent=agent))
    flat = " ".join(msg.text.split())
    assert msg.to == "ann@example.test" and "dee@agency.example" not in msg.text  # the person, never the agent
    assert "Dee Agent" in msg.subject and flat.count("Dee Agent") >= 3
    assert ("tell us that you gave Dee Agent permission" if language == "en" else "Dee Agent erlaubt haben") in flat
    no_address = request(agent=agent, requester=Requester(phone="+1 555 0100", language=language))
    with pytest.raises(MessageError, match="no email address"):
        render(MessageKind.AGENT_CONFIRMATION, no_address)
    with pytest.raises(MessageError, match="no authorised agent"):
        render(MessageKind.AGENT_CONFIRMATION, request())


def test_the_extension_states_its_reasons_and_the_new_date() -> None:
    msg = render(MessageKind.EXTENSION, request(), reasons=["we hold your data in eleven systems"])
    flat = " ".join(msg.text.split())
    assert "We will reply by 3 June 2025 at the latest, instead of 3 April 2025" in flat
    assert "- we hold your data in eleven systems." in flat
    assert "(GDPR Art. 12(3))" in flat
    from_request = render(MessageKind.EXTENSION, request(**NEEDED[MessageKind.EXTENSION]))
    assert "eleven systems" in from_request.text
    with pytest.raises(MessageError, match="needs reasons"):
        render(MessageKind.EXTENSION, request())
    no_extension = dataclasses.replace(EU_DATES, extended_due=None)
    with pytest.raises(MessageError, match="no extended deadline"):
        render(MessageKind.EXTENSION, request(dates=no_extension), reasons=["busy"])


def test_an_eu_denial_names_the_supervisory_authority_and_the_court_but_no_appeal() -> None:
    msg = render(MessageKind.DENIAL, request(**NEEDED[MessageKind.DENIAL]))
    flat = " ".join(msg.text.split())
    assert "- we could not find an account for you." in flat
    assert "lodge a complaint with a data protection supervisory authority" in flat and "remedy in court" in flat
    assert "- Data Protection Commission: https://www.dataprotection.ie" in flat
    assert "appeal" not in flat.lower() and "Attorney General" not in flat and "BBB" not in flat
    assert '<a href="https://www.dataprotection.ie">' in (msg.html or "")


def test_a_us_denial_names_the_attorney_general_and_how_to_appeal() -> None:
    flat = " ".join(render(MessageKind.DENIAL, request("us-va", **NEEDED[MessageKind.DENIAL])).text.split())
    assert "you can appeal it within 45 days of receiving this message. " + APPEAL_TEXT + "." in flat
    assert "within 60 days." in flat  # the time the Virginia law gives us to decide the appeal
    assert "- Virginia Attorney General: https://www.oag.state.va.us" in flat
    assert "- BBB National Programs: https://bbbprograms.org (independent dispute resolution, free of charge)" in flat
    assert "Data Protection Commission" not in flat and "supervisory authority" not in flat
    ca = " ".join(render(MessageKind.DENIAL, request("us-ca", **NEEDED[MessageKind.DENIAL])).text.split())
    assert "California Attorney General" in ca and "California Privacy Protection Agency" in ca
    de = " ".join(render(MessageKind.DENIAL, request("us-va", "de", **NEEDED[MessageKind.DENIAL])).text.split())
    assert "innerhalb von 45 Tagen nach Erhalt dieser Nachricht Einspruch einlegen" in de
    assert "Virginia Attorney General" in de


def test_an_authority_the_manifest_names_for_a_state_replaces_the_built_in_one() -> None:
    m = manifest()
    ag = Authority(key="ca_ag", name="Office of the Attorney General of California", jurisdictions=("us-ca",),
                   contact=Contact(email="privacy@doj.example.test"))  # fmt: skip
    org = m.organisation.model_copy(update={"authorities": {**m.organisation.authorities, "ca_ag": ag}})
    msg = render_message(MessageKind.DENIAL, request("us-ca", **NEEDED[MessageKind.DENIAL]),
                         m.model_copy(update={"organisation": org}))  # fmt: skip
    assert "Office of the Attorney General of California: email privacy@doj.example.test" in " ".join(msg.text.split())
    assert "California Privacy Protection Agency" not in msg.text


def test_a_partial_result_gives_reasons_appeal_and_complaint_routes() -> None:
    req = request("us-va", kind=Right.DELETION, state=State.PARTIALLY_FULFILLED,
                  outcome_reasons=("tax law requires us to keep invoices for six years",))  # fmt: skip
    flat = " ".join(render(MessageKind.RESULT, req).text.split())
    assert "in part. We could not do everything you asked" in flat and "six years" in flat
    assert APPEAL_TEXT in flat and "Virginia Attorney General" in flat
    with pytest.raises(MessageError, match="needs reasons"):
        render(MessageKind.RESULT, dataclasses.replace(req, outcome_reasons=()))


def test_a_full_result_gives_the_download_link_and_no_appeal() -> None:
    extra = {"link": "https://privacy.example.test/download/abc", "link_expires": "2025-03-20T12:00:00+01:00",
             "summary": "Your data from the web shop and the app is in the attached package"}  # fmt: skip
    msg = render(MessageKind.RESULT, request("us-va", state=State.FULFILLED), extra=extra)
    flat = " ".join(msg.text.split())
    assert msg.subject == "Your privacy request DSR-2025-000123 is complete"
    assert "https://privacy.example.test/download/abc (the link works until 20 March 2025 at 11:00 UTC)" in flat
    assert "Please keep the file safe" in flat and "attached package." in flat
    assert "appeal" not in flat.lower()
    assert '<a href="https://privacy.example.test/download/abc">' in (msg.html or "")
    with pytest.raises(MessageError, match="https://"):
        render(MessageKind.RESULT, request(state=State.FULFILLED), extra={"link": "javascript:alert(1)"})


def test_appeal_received_and_decided() -> None:
    received = render(MessageKind.APPEAL_RECEIVED, request("us-va", **NEEDED[MessageKind.APPEAL_RECEIVED]))
    flat = " ".join(received.text.split())
    assert "by 30 June 2025 at the latest. This deadline is set by Va. Code 59.1-577(C)." in flat
    upheld = render(MessageKind.APPEAL_DECISION, request("us-va", **NEEDED[MessageKind.APPEAL_DECISION]))
    flat = " ".join(upheld.text.split())
    assert "We have decided to keep our decision" in flat and "the law requires us to keep it." in flat
    assert "you can complain to: - Virginia Attorney General: https://www.oag.state.va.us" in flat
    reversed_ = dataclasses.replace(request("us-co", **NEEDED[MessageKind.APPEAL_DECISION]), appeal_outcome="reversed")
    flat = " ".join(render(MessageKind.APPEAL_DECISION, reversed_).text.split())
    assert "We have changed our decision" in flat and "Colorado Attorney General" in flat
    german = dataclasses.replace(reversed_, requester=Requester(email="ann@example.test", language="de"))
    flat = " ".join(render(MessageKind.APPEAL_DECISION, german).text.split())
    assert "Guten Tag, wie mit Ihrem Einspruch verlangt" in flat and "Wir haben unsere Entscheidung geändert" in flat
    with pytest.raises(MessageError, match="appeal deadline"):
        render(MessageKind.APPEAL_RECEIVED, request("us-va", state=State.APPEALED))
    with pytest.raises(MessageError, match="upheld or reversed"):
        render(MessageKind.APPEAL_DECISION, request("us-va", outcome_reasons=("x",)))


def test_html_escapes_what_people_write_and_links_only_our_addresses() -> None:
    hostile = "<script>alert(1)</script> https://evil.example.test"
    req = request(requester=Requester(email="ann@example.test", name=hostile),
                  outcome_reasons=('<img src=x onerror="steal()"> see evil@evil.example.test',))  # fmt: skip
    msg = render(MessageKind.DENIAL, req)
    html = msg.html or ""
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html and "&lt;img src=x onerror=&#34;steal()&#34;&gt;" in html
    assert 'evil.example.test"' not in html and 'href="https://evil' not in html and "mailto:evil" not in html
    assert "Dear <script>alert(1)</script> https://evil.example.test," in msg.text  # plain text stays as written


def test_what_people_write_cannot_forge_paragraphs_bullets_or_subjects() -> None:
    req = request(requester=Requester(email="ann@example.test", name="Ann\n\n- We have deleted everything\r\nBcc: x"),
                  request_id="R-1\nBcc: victim@example.test")  # fmt: skip
    msg = render(MessageKind.RECEIPT, req)
    assert not any(line.startswith("- We have deleted") for line in msg.text.splitlines())
    assert "\n" not in msg.subject and "\r" not in msg.subject
    with pytest.raises(MessageError, match="no email address"):
        render(MessageKind.RECEIPT, request(requester=Requester(phone="+49 30 1234567")))


def test_the_request_id_is_shown_exactly_as_given() -> None:
    msg = render(MessageKind.RECEIPT, request(request_id="req_01HZX3-ÄÖ"))
    assert msg.request_id == "req_01HZX3-ÄÖ"
    assert "req_01HZX3-ÄÖ" in msg.subject and re.search(r"Your reference is req_01HZX3-ÄÖ;", msg.text)


def test_strict_undefined_catches_a_missing_variable() -> None:
    env = environment()
    with pytest.raises(UndefinedError, match="'missing' is undefined"):
        env.from_string("Dear {{ missing }},").render(person="Ann")
    with pytest.raises(UndefinedError):
        env.from_string('{% import "_common.en.txt.j2" as c %}{{ c.requested["no_such_right"] }}').render()
    assert env.from_string("{{ name }}").render(name="<b>") == "&lt;b&gt;"  # strings autoescape, as HTML does


def test_the_outbox_retries_then_gives_up() -> None:
    msg = render(MessageKind.RECEIPT, request())
    queued = OutboxMessage(msg)
    assert (queued.status, queued.attempts, queued.last_error) == (OutboxStatus.QUEUED, 0, None)
    once = queued.failed("timed out", max_attempts=2)
    assert (once.status, once.attempts, once.last_error) == (OutboxStatus.QUEUED, 1, "timed out")
    assert once.sent() == OutboxMessage(msg, OutboxStatus.SENT, 2, None)
    assert once.failed("timed out again", max_attempts=2).status is OutboxStatus.FAILED
    assert queued.failed("550 no such user", permanent=True).status is OutboxStatus.FAILED
    with pytest.raises(MessageError, match="only a queued one"):
        once.sent().sent()
    with pytest.raises(dataclasses.FrozenInstanceError):
        queued.status = OutboxStatus.SENT  # type: ignore[misc]
