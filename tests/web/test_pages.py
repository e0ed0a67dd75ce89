"""The privacy center and the staff console through the application, on a workspace of the reference manifest."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from privet.api.links import preference_token, status_token, unsubscribe_token
from privet.consent.events import Source
from privet.consent.identifiers import Identifier
from privet.consent.ledger import ChoiceInput
from privet.fulfilment.executor import StepRecord, StepState
from privet.requests.model import State
from privet.workspace.runtime import Runtime, init_workspace, open_runtime

try:
    from fastapi.testclient import TestClient

    from privet.api import create_app
except ImportError as exc:  # the API helper's application is not there yet
    pytest.skip(f"privet.api.create_app is not importable yet ({exc}); the page tests need it",
                allow_module_level=True)  # fmt: skip

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
HOSTILE = '<script>alert("x")</script>'


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    init_workspace(tmp_path / "ws", REPO / "examples" / "anker")
    runtime = open_runtime(tmp_path / "ws")
    yield runtime
    runtime.close()


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(rt)) as c:
        yield c


def token_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def form_token(client: TestClient, url: str = "/privacy/preferences") -> str:
    return token_of(client.get(url).text)


def staff_login(client: TestClient, rt: Runtime, role: str = "privacy_officer") -> str:
    from privet.api.credentials import create_user
    from privet.store.staff import SqlStaff

    email = f"{role}@example.com"
    create_user(SqlStaff(rt.db), email, PASSWORD, role, rt.now())
    login = client.get("/console/login")
    r = client.post("/console/login", data={"csrf_token": token_of(login.text), "email": email, "password": PASSWORD,
                                            "next": "/console"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    token = client.cookies.get("privet_csrf")
    assert token
    return token


def submit(client: TestClient, **fields: str) -> Any:
    data = {"jurisdiction": "us-ca", "right": "access", "email": "ann@example.com", "name": "Ann Example",
            "phone": "+1 415 555 0100", "declaration": "yes", "acting": "self"} | fields  # fmt: skip
    url = f"/privacy/request?jurisdiction={data['jurisdiction']}&right={data['right']}"
    return client.post("/privacy/request", data={"csrf_token": form_token(client, url), **data},
                       follow_redirects=False)  # fmt: skip


def emailed_link(rt: Runtime, request_id: str, kind: str = "verification_code") -> str:
    """The path of the private status link in the newest `kind` email of the request."""
    [message] = [m for m in rt.outbox.for_request(request_id) if m.kind == kind][-1:]
    found = re.search(r"https?://[^/\s]+(/privacy/status/[A-Za-z0-9_.-]+)", message.body)
    assert found, message.body
    return found.group(1)


def emailed_code(rt: Runtime, request_id: str) -> str:
    [message] = [m for m in rt.outbox.for_request(request_id) if m.kind == "verification_code"][-1:]
    found = re.search(r"^\s+(\d{6})\s*$", message.body, re.M)
    assert found
    return found.group(1)


# ---- the privacy center ----


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/privacy", "Your privacy with Anker"),
        ("/privacy/notice", "Privacy Notice"),
        ("/privacy/request", "Where do you live?"),
        ("/privacy/request?jurisdiction=us-ca", "Opt out of sale"),
        ("/privacy/request?jurisdiction=us-ca&right=access", "I declare under penalty of perjury"),
        ("/privacy/preferences", "Email me a link"),
        ("/console/login", "Sign in to the privacy console"),
    ],
)
def test_public_pages_render(client: TestClient, url: str, expected: str) -> None:
    r = client.get(url)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert expected in r.text
    assert '<html lang="en">' in r.text and '<main id="main"' in r.text


def test_notice_is_embedded_in_the_page(client: TestClient) -> None:
    html = client.get("/privacy/notice").text
    assert html.count("<html") == 1 and "<style>" not in html
    assert 'class="notice"' in html and "Anker Innovations Technology" in html


def test_rights_shown_are_the_ones_the_notice_offers_there(client: TestClient) -> None:
    california = client.get("/privacy/request?jurisdiction=us-ca").text
    europe = client.get("/privacy/request?jurisdiction=eu").text
    assert "right=opt_out_sale" in california and "right=objection" not in california
    assert "right=objection" in europe and "right=opt_out_sale" not in europe
    assert "right=appeal" not in california and "right=complain" not in europe  # not made as new requests
    unknown = client.get("/privacy/request?jurisdiction=mars")
    assert "Choose where you live from the list." in unknown.text


def test_fields_follow_the_verification_standard(client: TestClient) -> None:
    access = client.get("/privacy/request?jurisdiction=us-ca&right=access").text
    assert (
        "at least <strong>3</strong>" in access and 'name="declaration"' in access and 'name="device_serial"' in access
    )
    deletion = client.get("/privacy/request?jurisdiction=us-ca&right=deletion").text
    assert "at least <strong>2</strong>" in deletion and 'name="declaration"' not in deletion
    opt_out = client.get("/privacy/request?jurisdiction=us-ca&right=opt_out_sale").text
    assert "We do not ask you to prove who you are" in opt_out and 'name="phone"' not in opt_out
    for form in (access, deletion, opt_out):  # the authorised-agent path is always there
        assert all(f'name="{n}"' in form for n in ("agent_name", "agent_evidence", "agent_document"))


def test_submit_then_verify_with_the_emailed_code(client: TestClient, rt: Runtime) -> None:
    r = submit(client)
    assert r.status_code == 303 and r.headers["location"] == "/privacy/request/sent"
    assert "Check your email" in client.get(r.headers["location"]).text
    [stored] = rt.requests.all()
    assert stored.state is State.VERIFYING and stored.requester.email == "ann@example.com"
    status_url = emailed_link(rt, stored.request_id)  # the private link reaches only the mailbox, with the code
    assert status_url == f"/privacy/status/{status_token(rt.settings.secret_key, stored.request_id)}"
    page = client.get(status_url).text
    assert "We emailed a 6-digit code" in page
    code = emailed_code(rt, stored.request_id)
    assert code not in page  # the code proves control of the mailbox: it is never shown on a page
    evidence = rt.requests.get_secret(stored.request_id, "data_points")
    assert evidence == {"points": {"email": "ann@example.com", "name": "Ann Example", "phone": "+14155550100"},
                        "declaration": True}  # fmt: skip
    wrong = client.post(f"{status_url}/code", data={"csrf_token": token_of(page), "code": "000000"})
    assert "That code is not right" in wrong.text or code == "000000"
    done = client.post(f"{status_url}/code", data={"csrf_token": token_of(page), "code": code})
    assert "Identity confirmed" in done.text
    assert rt.requests.get(stored.request_id).state is State.VERIFIED  # type: ignore[union-attr]


def test_form_errors_say_what_to_fix_and_store_nothing(client: TestClient, rt: Runtime) -> None:
    r = submit(client, email="not an address", name="", phone="", declaration="")
    assert r.status_code == 422
    assert "Enter the email address we can reach the person at" in r.text
    assert "Tick the declaration" in r.text and 'aria-invalid="true"' in r.text
    few = submit(client, name="", phone="")
    assert few.status_code == 422 and "Give at least 3 pieces of information" in few.text
    assert rt.requests.all() == []


def test_a_form_without_its_csrf_token_is_refused(client: TestClient, rt: Runtime) -> None:
    r = client.post("/privacy/request", data={"jurisdiction": "us-ca", "right": "access", "email": "a@example.com"})
    assert r.status_code == 403 and "This form has expired" in r.text
    assert rt.requests.all() == []


def test_a_repeated_request_looks_like_a_new_one_and_only_the_mailbox_learns_more(client: TestClient,
                                                                                   rt: Runtime) -> None:  # fmt: skip
    first = submit(client)
    again = submit(client)
    [stored] = rt.requests.all()  # recognised, not doubled
    # Whoever typed the address sees exactly what a first request shows: nothing tells that one is open.
    assert (again.status_code, again.headers["location"]) == (first.status_code, first.headers["location"])
    assert client.get(again.headers["location"]).text == client.get(first.headers["location"]).text
    [reminder] = [m for m in rt.outbox.for_request(stored.request_id) if m.kind == "already_open"]
    assert reminder.to == "ann@example.com" and "already open" in reminder.body
    assert emailed_link(rt, stored.request_id, "already_open") == emailed_link(rt, stored.request_id)


def test_an_opt_out_needs_no_verification_and_is_recorded_at_once(client: TestClient, rt: Runtime) -> None:
    r = submit(client, right="opt_out_sale", name="", phone="", declaration="")
    assert r.status_code == 303
    [stored] = rt.requests.all()
    assert stored.state is State.FULFILLED
    subject = rt.subjects.find(Identifier.parse("email:ann@example.com"))
    assert subject is not None
    keys = {(e.event.key, e.event.source) for e in rt.ledger.history(subject)}
    assert ("opt_out.sale", Source.REQUEST) in keys
    assert "Done" in client.get(f"/privacy/status/{status_token(rt.settings.secret_key, stored.request_id)}").text


def test_an_authorised_agent_submits_with_evidence(client: TestClient, rt: Runtime) -> None:
    r = submit(client, right="opt_out_sale", name="", phone="", declaration="", acting="agent",
               agent_name="Dee Agent", agent_email="dee@agency.example", agent_evidence="signed_letter",
               agent_document="letter-2025-001.pdf")  # fmt: skip
    assert r.status_code == 303
    [stored] = rt.requests.all()
    assert stored.agent is not None and stored.agent.name == "Dee Agent"
    assert (stored.agent.evidence, stored.agent.document_ref) == ("signed_letter", "letter-2025-001.pdf")
    assert stored.state is State.RECEIPT_CONFIRMED  # work waits for staff to review the agent's authority
    missing = submit(client, acting="agent", agent_name="", agent_evidence="", agent_document="")
    assert missing.status_code == 422 and "Choose the document that shows you may act" in missing.text


def test_altered_status_links_find_nothing(client: TestClient, rt: Runtime) -> None:
    submit(client)
    [stored] = rt.requests.all()
    good = status_token(rt.settings.secret_key, stored.request_id)
    for bad in (stored.request_id, good[:-1] + ("A" if good[-1] != "A" else "B"), "x.y"):
        r = client.get(f"/privacy/status/{bad}")
        assert r.status_code == 404 and "This link does not work" in r.text


def test_the_access_package_downloads_through_a_signed_link(client: TestClient, rt: Runtime,
                                                                  tmp_path: Path) -> None:  # fmt: skip
    submit(client)
    [stored] = rt.requests.all()
    rt.request_service.check_code(stored.request_id, rt.settings.secret_key, emailed_code(rt, stored.request_id),
                                  rt.now())  # fmt: skip
    from privet.requests.lifecycle import Event, EventKind

    rt.request_service.act(stored.request_id, Event(EventKind.START), rt.now())
    rt.fulfilment_queue.clear()
    package = tmp_path / "package.zip"
    with zipfile.ZipFile(package, "w") as z:
        z.writestr("README.txt", "your data")
    rt.checkpoints.put(StepRecord(stored.request_id, "access", "*", StepState.DONE, 1, detail={"package": str(package)}),
                       rt.now())  # fmt: skip
    rt.request_service.act(stored.request_id, Event(EventKind.FULFIL), rt.now())
    page = client.get(f"/privacy/status/{status_token(rt.settings.secret_key, stored.request_id)}").text
    link = re.search(r'href="(/api/v1/public/packages\?token=[^"]+)"', page)
    assert link, "the status page offers no download"
    r = client.get(link.group(1).replace("&amp;", "&"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip" and r.content.startswith(b"PK")
    forged = link.group(1)[:-2] + ("AA" if not link.group(1).endswith("AA") else "BB")
    assert client.get(forged).status_code == 404


def test_hostile_input_is_escaped_everywhere(client: TestClient, rt: Runtime) -> None:
    submit(client, name=HOSTILE, details=HOSTILE, right="correction", declaration="")
    [stored] = rt.requests.all()
    assert stored.details == HOSTILE
    token = staff_login(client, rt)
    assert token
    page = client.get(f"/console/requests/{stored.request_id}").text
    assert HOSTILE not in page and "&lt;script&gt;alert(" in page
    reflected = client.get("/privacy/request", params={"jurisdiction": HOSTILE}).text
    assert HOSTILE not in reflected
    lookup = client.get("/console/consent", params={"identifier": HOSTILE}).text
    assert HOSTILE not in lookup


# ---- choices, unsubscribe, GPC ----


def known_person(rt: Runtime) -> str:
    ident = Identifier.parse("email:bob@example.com")
    done = rt.ledger.record([ChoiceInput("marketing_email", True, Source.API, identifier=ident),
                             ChoiceInput("marketing_email", True, Source.API, identifier=ident, scope="spring-sale")],
                            rt.now())  # fmt: skip
    return done.subject_id


def test_asking_for_a_link_never_tells_who_is_known(client: TestClient, rt: Runtime) -> None:
    known_person(rt)
    token = form_token(client)
    unknown = client.post("/privacy/preferences", data={"csrf_token": token, "email": "nobody@example.com"})
    known = client.post("/privacy/preferences", data={"csrf_token": token, "email": "Bob@Example.com"})
    assert unknown.status_code == known.status_code == 200
    assert unknown.text == known.text and "Check your email" in known.text
    [sent] = [m for m in rt.outbox.all() if m.kind == "preferences_link"]
    assert sent.to == "bob@example.com" and "/privacy/preferences/" in sent.body


def test_a_preference_change_is_recorded_in_the_ledger(client: TestClient, rt: Runtime) -> None:
    subject = known_person(rt)
    url = f"/privacy/preferences/{preference_token(rt.settings.secret_key, subject, rt.now())}"
    page = client.get(url).text
    for words in ("Share App Analytics", "Newsletter and promotional email", "spring-sale", "Advertising / targeting"):
        assert words in page
    assert 'name="consent:marketing_email" value="on" checked' in page
    form = {"csrf_token": token_of(page), "consent:marketing_email": "on", "consent:share_app_analytics": "on"}
    r = client.post(url, data=form, follow_redirects=True)
    assert "Your choices are saved." in r.text
    choices = rt.ledger.choices(subject)
    assert choices.granted("share_app_analytics")
    assert not choices.granted("marketing_email", "spring-sale")  # unticked campaign: withdrawn
    assert choices.choice("share_app_analytics").source is Source.PRIVACY_CENTER  # type: ignore[union-attr]
    before = len(rt.ledger.history(subject))
    client.post(url, data=form)
    assert len(rt.ledger.history(subject)) == before  # nothing changed, nothing recorded
    assert client.get("/privacy/preferences/u1.bad.token.here").status_code == 404


def test_one_click_unsubscribe_records_source_one_click(client: TestClient, rt: Runtime) -> None:
    subject = known_person(rt)
    token = unsubscribe_token(rt.settings.secret_key, subject, "email", "spring-sale", rt.now())
    landing = client.get(f"/u/{token}")
    assert landing.status_code == 200 and "spring-sale" in landing.text and ">Unsubscribe</button>" in landing.text
    assert rt.ledger.choices(subject).granted("marketing_email", "spring-sale")  # GET changes nothing
    r = client.post(f"/u/{token}", content=b"List-Unsubscribe=One-Click",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert r.status_code == 200
    held = rt.ledger.choices(subject).choice("marketing_email", "spring-sale")
    assert held is not None and not held.granted and held.source is Source.ONE_CLICK
    assert rt.ledger.choices(subject).granted("marketing_email")  # other campaigns stay
    count = len(rt.ledger.history(subject))
    client.post(f"/u/{token}", files={"List-Unsubscribe": (None, "One-Click")})  # multipart, as RFC 8058 prefers
    assert len(rt.ledger.history(subject)) == count


def test_the_confirm_button_records_an_email_link_unsubscribe(client: TestClient, rt: Runtime) -> None:
    subject = known_person(rt)
    token = unsubscribe_token(rt.settings.secret_key, subject, "email", None, rt.now())
    landing = client.get(f"/u/{token}").text
    assert client.post(f"/u/{token}", data={}).status_code == 403  # a plain post without the form's token
    r = client.post(f"/u/{token}", data={"csrf_token": token_of(landing)})
    assert "You are unsubscribed" in r.text
    held = rt.ledger.choices(subject).choice("marketing_email")
    assert held is not None and not held.granted and held.source is Source.EMAIL_LINK
    magic = preference_token(rt.settings.secret_key, subject, rt.now())
    assert client.get(f"/u/{magic}").status_code == 404  # a preference link unsubscribes from nothing
    assert client.post(f"/u/{token[:-3]}xyz", content=b"List-Unsubscribe=One-Click").status_code == 404


def test_gpc_header_is_honoured_and_the_page_says_so(client: TestClient, rt: Runtime) -> None:
    r = client.get("/privacy", headers={"Sec-GPC": "1"})
    assert "Global Privacy Control honoured" in r.text
    browser = r.cookies.get("privet_bid") or client.cookies.get("privet_bid")
    assert browser
    subject = rt.subjects.find(Identifier.parse(f"browser:{browser}"))
    assert subject is not None
    signals = rt.ledger.choices(subject)
    for key in ("opt_out.sale", "opt_out.sharing", "opt_out.targeted_advertising"):
        held = signals.choice(key)
        assert held is not None and held.granted and held.source is Source.GPC
    client.get("/privacy/notice", headers={"Sec-GPC": "1"})
    assert len(rt.ledger.history(subject)) == 3  # once is enough
    assert "Global Privacy Control honoured" not in client.get("/privacy").text
    assert "Global Privacy Control honoured" not in client.get("/privacy", headers={"Sec-GPC": "0"}).text


def test_gpc_on_the_preferences_page_reaches_the_person(client: TestClient, rt: Runtime) -> None:
    subject = known_person(rt)
    url = f"/privacy/preferences/{preference_token(rt.settings.secret_key, subject, rt.now())}"
    page = client.get(url, headers={"Sec-GPC": "1"}).text
    assert "for this browser and for you" in page
    held = rt.ledger.choices(subject).choice("opt_out.sale")
    assert held is not None and held.granted and held.source is Source.GPC
    browser = rt.subjects.find(Identifier.parse(f"browser:{client.cookies.get('privet_bid')}"))
    assert browser is not None and browser != subject  # a shared computer never merges two people
    client.get(url, headers={"Sec-GPC": "1"})
    assert len([e for e in rt.ledger.history(subject) if e.event.source is Source.GPC]) == 3


# ---- the console ----


def test_the_console_needs_a_sign_in(client: TestClient) -> None:
    for url in ("/console", "/console/requests", "/console/data-map", "/console/consent", "/console/reports"):
        r = client.get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/console/login?next={url}"
    login = client.get("/console/login")
    bad = client.post("/console/login", data={"csrf_token": token_of(login.text), "email": "x@example.com",
                                              "password": "nope"})  # fmt: skip
    assert bad.status_code == 401 and "is not right" in bad.text


def test_roles_limit_the_console(client: TestClient, rt: Runtime) -> None:
    staff_login(client, rt, "analyst")
    assert client.get("/console").status_code == 200
    assert client.get("/console/data-map").status_code == 200
    assert client.get("/console/requests").status_code == 403


def test_a_privacy_officer_works_a_request_to_fulfilled(client: TestClient, rt: Runtime) -> None:
    submit(client, right="deletion", declaration="")
    [stored] = rt.requests.all()
    token = staff_login(client, rt)
    queue = client.get("/console/requests").text
    assert stored.request_id[:8] in queue and "Deletion" in queue and "days left" in queue.lower()
    page = client.get(f"/console/requests/{stored.request_id}").text
    for words in ("Verification", "Data points given", "Fulfilment", "Messages", "Timeline", "Email a verification"):
        assert words in page
    assert emailed_code(rt, stored.request_id) not in page
    refused = client.post(f"/console/requests/{stored.request_id}/act", data={"event": "verified"})
    assert refused.status_code == 403  # no CSRF token
    for event in ("verified", "start"):
        r = client.post(f"/console/requests/{stored.request_id}/act",
                        data={"csrf_token": token, "event": event, "method": "matching"})  # fmt: skip
        assert r.status_code == 200, r.text
    assert "still in progress" in r.text  # the example's systems are not connected: fulfilment says why
    r = client.post(f"/console/requests/{stored.request_id}/act", data={"csrf_token": token, "event": "fulfil"})
    assert r.status_code == 200
    after = rt.requests.get(stored.request_id)
    assert after is not None and after.state is State.FULFILLED
    timeline = client.get(f"/console/requests/{stored.request_id}").text
    assert "staff:privacy_officer@example.com" in timeline and "fulfil" in timeline
    illegal = client.post(f"/console/requests/{stored.request_id}/act", data={"csrf_token": token, "event": "start"})
    assert illegal.status_code == 409 and "cannot start" in illegal.text


def test_denial_needs_reasons(client: TestClient, rt: Runtime) -> None:
    submit(client, right="deletion", declaration="")
    [stored] = rt.requests.all()
    token = staff_login(client, rt)
    r = client.post(f"/console/requests/{stored.request_id}/act", data={"csrf_token": token, "event": "deny"})
    assert r.status_code == 409 and "needs reasons" in r.text
    r = client.post(f"/console/requests/{stored.request_id}/act",
                    data={"csrf_token": token, "event": "deny", "reasons": "We hold no data about you."})  # fmt: skip
    assert rt.requests.get(stored.request_id).state is State.DENIED  # type: ignore[union-attr]


def test_an_agents_authority_is_reviewed_in_the_console(client: TestClient, rt: Runtime) -> None:
    submit(client, right="opt_out_sale", name="", phone="", declaration="", acting="agent", agent_name="Dee",
           agent_evidence="power_of_attorney", agent_document="poa-7")  # fmt: skip
    [stored] = rt.requests.all()
    token = staff_login(client, rt)
    checks = dict.fromkeys(("names_person", "names_agent", "states_authorisation", "signed"), "yes")
    r = client.post(f"/console/requests/{stored.request_id}/agent",
                    data={"csrf_token": token, "document": "power_of_attorney", **checks})  # fmt: skip
    assert r.status_code == 200
    reviewed = rt.requests.get(stored.request_id)
    assert reviewed is not None and reviewed.agent is not None and reviewed.agent.approved
    assert reviewed.state is State.FULFILLED  # an approved agent's opt-out starts at once: nobody has to press start
    assert [e.action for e in rt.audit.entries(f"request:{stored.request_id}")][-3:] == ["agent_reviewed", "start",
                                                                                         "fulfil"]  # fmt: skip
    again = client.post(f"/console/requests/{stored.request_id}/agent",
                        data={"csrf_token": token, "document": "power_of_attorney", **checks})  # fmt: skip
    assert again.status_code == 409 and "can no longer be reviewed" in again.text


def test_consent_lookup_shows_choices_and_history(client: TestClient, rt: Runtime) -> None:
    known_person(rt)
    staff_login(client, rt)
    page = client.get("/console/consent", params={"identifier": "bob@example.com"}).text
    assert "Newsletter and promotional email" in page and "spring-sale" in page and "email:bob@example.com" in page
    assert "No consent record for" in client.get("/console/consent", params={"identifier": "zed@example.com"}).text
    bad = client.get("/console/consent", params={"identifier": "email:not-an-address"})
    assert bad.status_code == 422


def test_data_map_dashboard_and_reports(client: TestClient, rt: Runtime) -> None:
    submit(client)
    staff_login(client, rt)
    data_map = client.get("/console/data-map").text
    assert "<svg" in data_map and "Data flows" in data_map and "<style>" not in data_map
    for heading in ("Processing activities", "Data categories", "Systems", "Recipients", "Transfers"):
        assert heading in data_map
    dashboard = client.get("/console").text
    assert dashboard.count('role="img"') == 4 and "Requests by type" in dashboard and "Time to close" in dashboard
    reports = client.get("/console/reports").text
    links = re.findall(r'<a href="(/api/v1/[^"]+)"', reports)
    assert "/api/v1/documents/ropa.xlsx" in links and len(links) >= 8
    for href in links:  # every report downloads with the staff member's session
        assert client.get(href.replace("&amp;", "&")).status_code == 200, href


def test_static_files(client: TestClient) -> None:
    assert client.get("/static/site.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/../routes.py").status_code == 404
    assert client.get("/static/nothing.css").status_code == 404
