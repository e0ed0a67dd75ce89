"""The privacy center and the console in a real browser (Debian's Chromium), against privet served by uvicorn.

A person makes a request and confirms it with the emailed code, a person changes a choice, and a privacy
officer signs in and works a request to fulfilled. Each main page is saved to test-artifacts/ as a screenshot.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from privet.api.links import preference_token
from privet.consent.events import Source
from privet.consent.identifiers import Identifier
from privet.consent.ledger import ChoiceInput
from privet.requests.model import State
from privet.workspace.runtime import Runtime, init_workspace, open_runtime
from tests.web.browser import chromium, unavailable

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture then skips, or fails on CI, saying what to install
    expect = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
PASSWORD = "correct horse battery staple"
PHONE_WIDTH = 360


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    init_workspace(tmp_path / "ws", REPO / "examples" / "anker")
    runtime = open_runtime(tmp_path / "ws")
    yield runtime
    runtime.close()


@pytest.fixture
def server(rt: Runtime) -> Iterator[str]:
    try:
        import uvicorn

        from privet.api import create_app
    except ImportError as exc:
        unavailable(f"uvicorn or privet.api.create_app is missing ({exc})")
    port = free_port()
    # As privet serve runs it: consent is written by the server's child process.
    app = create_app(rt, writer_process=True)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(10)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    context.on("page", lambda p: p.on("pageerror", lambda e: errors.append(str(e))))
    # Pages answered 4xx on purpose (a form with errors) log "Failed to load resource"; everything else counts.
    context.on(
        "page",
        lambda p: p.on(
            "console",
            lambda m: (
                errors.append(m.text)
                if m.type == "error" and not m.text.startswith("Failed to load resource")
                else None
            ),
        ),
    )
    context.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.request.resource_type in ("stylesheet", "script", "image", "font")
            else None
        ),
    )
    yield context
    context.close()
    assert errors == []  # a CSP violation, a missing file or a script error shows up here


def shot(page: Page, name: str, full: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=full)


def fits(page: Page, width: int) -> None:
    """Nothing sticks out sideways: the page reads without scrolling left and right."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def emailed_code(rt: Runtime) -> str:
    [message] = [m for m in rt.outbox.all() if m.kind == "verification_code"][-1:]
    found = re.search(r"^\s+(\d{6})\s*$", message.body, re.M)
    assert found
    return found.group(1)


def open_emailed_link(page: Page, server: str, rt: Runtime) -> None:
    """Follow the private status link of the newest code email: the only place a new request's link goes."""
    [message] = [m for m in rt.outbox.all() if m.kind == "verification_code"][-1:]
    link = re.search(r"https?://\S+?(/privacy/status/\S+)", message.body)
    assert link, message.body
    page.goto(server + link.group(1))


def test_a_person_makes_a_request_and_confirms_it_with_the_emailed_code(context: BrowserContext, server: str,
                                                                        rt: Runtime) -> None:  # fmt: skip
    page = context.new_page()
    page.goto(f"{server}/privacy")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your privacy with Anker")
    shot(page, "center-home.png")
    page.get_by_role("link", name="Make a privacy request").click()
    page.get_by_label("Where do you live?").select_option("us-ca")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("link", name="Access", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Access request")
    page.get_by_role("button", name="Send request").click()  # nothing filled in: the page says what to fix
    expect(page.get_by_role("alert")).to_contain_text("Enter the email address")
    page.get_by_label("Email address of the person").fill("ann@example.com")
    page.get_by_label("Full name").fill("Ann Example")
    page.get_by_label("Phone number").fill("+1 415 555 0100")
    page.get_by_label("I declare under penalty of perjury").check()
    shot(page, "center-request-form.png")
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    shot(page, "center-request-sent.png")
    [stored] = rt.requests.all()
    assert stored.state is State.VERIFYING
    open_emailed_link(page, server, rt)
    expect(page.get_by_role("status").first).to_contain_text("We emailed a 6-digit code")
    shot(page, "center-status.png")
    page.get_by_label("6-digit code from our email").fill(emailed_code(rt))
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#request-state")).to_have_text("Identity confirmed: we are working on it")
    assert rt.requests.get(stored.request_id).state is State.VERIFIED  # type: ignore[union-attr]


def test_the_request_form_works_on_a_phone(context: BrowserContext, server: str) -> None:
    page = context.new_page()
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 740})
    page.goto(f"{server}/privacy/request?jurisdiction=eu&right=deletion")
    expect(page.get_by_role("button", name="Send request")).to_be_visible()
    fits(page, PHONE_WIDTH)
    shot(page, "center-request-form-phone.png")
    page.keyboard.press("Tab")  # the first stop is the skip link, and it shows itself
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()


def test_a_person_changes_a_choice_and_the_ledger_has_it(context: BrowserContext, server: str, rt: Runtime) -> None:
    ident = Identifier.parse("email:bob@example.com")
    done = rt.ledger.record([ChoiceInput("marketing_email", True, Source.API, identifier=ident, scope="spring-sale")],
                            rt.now())  # fmt: skip
    page = context.new_page()
    page.goto(f"{server}/privacy/preferences/{preference_token(rt.settings.secret_key, done.subject_id, rt.now())}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your choices")
    page.get_by_label("Share App Analytics").check()
    page.get_by_role("checkbox", name="spring-sale").uncheck()
    shot(page, "center-preferences.png")
    page.get_by_role("button", name="Save my choices").click()
    expect(page.locator("#saved")).to_have_text("Your choices are saved.")
    choices = rt.ledger.choices(done.subject_id)
    assert choices.granted("share_app_analytics")
    assert not choices.granted("marketing_email", "spring-sale")
    expect(page.get_by_label("Share App Analytics")).to_be_checked()


def test_a_privacy_officer_works_a_request_to_fulfilled(context: BrowserContext, server: str, rt: Runtime) -> None:
    from privet.api.credentials import create_user
    from privet.store.staff import SqlStaff

    create_user(SqlStaff(rt.db), "ida@example.com", PASSWORD, "privacy_officer", rt.now())
    person = context.new_page()
    person.goto(f"{server}/privacy/request?jurisdiction=uk&right=deletion")
    person.get_by_label("Email address of the person").fill("carl@example.com")
    person.get_by_label("Full name").fill("Carl Example")
    person.get_by_role("button", name="Send request").click()
    expect(person.get_by_role("heading", level=1)).to_have_text("Check your email")
    open_emailed_link(person, server, rt)
    person.get_by_label("6-digit code from our email").fill(emailed_code(rt))
    person.get_by_role("button", name="Confirm").click()
    expect(person.locator("#request-state")).to_have_text("Identity confirmed: we are working on it")
    [stored] = rt.requests.all()

    page = context.new_page()
    page.goto(f"{server}/console")
    expect(page).to_have_url(re.compile(r"/console/login"))
    page.get_by_label("Email address").fill("ida@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    shot(page, "console-login.png")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    page.get_by_role("link", name="Requests", exact=True).click()
    expect(page.locator("#queue")).to_contain_text("Deletion")
    shot(page, "console-queue.png")
    page.get_by_role("link", name=re.compile(stored.request_id[:8])).click()
    page.get_by_role("button", name="Start fulfilment").click()
    expect(page.locator("#notes")).to_contain_text("still in progress")  # the example's systems are not connected
    page.get_by_role("button", name="Mark fulfilled").click()
    expect(page.locator("#state")).to_have_text("fulfilled")
    expect(page.locator("#timeline")).to_contain_text("staff:ida@example.com")
    shot(page, "console-request.png")
    assert rt.requests.get(stored.request_id).state is State.FULFILLED  # type: ignore[union-attr]
    person.reload()
    expect(person.locator("#request-state")).to_have_text("Done")

    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("svg[role=img]")).to_have_count(4)
    shot(page, "console-dashboard.png")
    page.get_by_role("link", name="Data map").click()
    expect(page.locator(".dataflow svg")).to_be_visible()
    shot(page, "console-data-map.png", full=False)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/console/login"))
