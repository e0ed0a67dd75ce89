"""The consent banner in a real browser (Debian's Chromium), against a fake of privet's consent endpoints."""

from __future__ import annotations

import gzip
import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.web.browser import chromium
from tests.web.fake_privet import BANNER, REPO, SITE_KEY, Fake, serving

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture then skips, or fails on CI, saying what to install
    expect = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

ARTIFACTS = REPO / "test-artifacts"
GPC_ON = "Object.defineProperty(navigator, 'globalPrivacyControl', {get: () => true});"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ALL_FALSE = {"cookies_analytics": False, "cookies_advertising": False}
ALL_TRUE = {"cookies_analytics": True, "cookies_advertising": True}


def test_banner_is_small_and_self_contained() -> None:
    source = BANNER.read_text()
    assert len(gzip.compress(BANNER.read_bytes(), compresslevel=9)) < 10_000
    for forbidden in ("document.write", "XMLHttpRequest", "innerHTML", "eval(", "import(", "require("):
        assert forbidden not in source, forbidden


# ---- browser fixtures ----


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def fake() -> Iterator[Fake]:
    with serving(Fake()) as running:
        yield running


class Console:
    """Every console error and uncaught exception of a context's pages; a test ends with none."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Page) -> None:
        page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def context(browser: Browser, console: Console) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.on("page", console.watch)
    yield context
    context.close()
    assert console.errors == []


def open_page(context: BrowserContext, fake: Fake, gpc: bool = False) -> Page:
    page = context.new_page()
    if gpc:
        page.add_init_script(GPC_ON)
    page.goto(fake.page)
    return page


def banner(page: Page) -> Any:
    return page.get_by_role("dialog", name="Cookies on Acme Outdoor")


def settled(page: Page, fake: Fake, config_requests: int) -> None:
    """Wait until the banner has its configuration and has decided what to show."""
    fake.wait_for(fake.config_requests, config_requests)
    page.wait_for_function("window.consentEvents.length > 0 || !!document.querySelector('#privet-consent')")


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def cookie(context: BrowserContext, name: str) -> dict[str, Any]:
    found = [c for c in context.cookies() if c["name"] == name]
    assert found, f"no cookie {name}"
    return dict(found[0])


def focused_text(page: Page) -> str:
    return str(page.evaluate("document.querySelector('#privet-consent').shadowRoot.activeElement?.textContent ?? ''"))


# ---- the banner ----


def test_banner_appears_as_an_accessible_dialog_and_nothing_optional_runs(context: BrowserContext, fake: Fake) -> None:
    page = open_page(context, fake)
    dialog = banner(page)
    expect(dialog).to_be_visible()
    expect(dialog).to_have_accessible_description(re.compile("^We use cookies to run the shop"))
    for name in ("Accept all", "Reject all", "Settings"):
        expect(dialog.get_by_role("button", name=name)).to_be_visible()
    expect(dialog.get_by_role("link", name="Privacy notice")).to_have_attribute("href", "http://127.0.0.1/privacy")
    # The site's own `button { background: hotpink }` does not reach into the banner.
    colour = dialog.get_by_role("button", name="Accept all").evaluate("b => getComputedStyle(b).backgroundColor")
    assert colour == "rgb(29, 78, 216)"
    assert fake.config_requests[0] == {"site": [SITE_KEY]}
    assert page.evaluate("[window.analyticsLoaded, window.adsLoaded, privet.consent.all()]") == [None, None, {}]
    assert fake.choices == []
    assert "privet_bid" not in {c["name"] for c in context.cookies()}  # no identifier before a choice
    shot(page, "banner.png")


def test_reject_all_records_every_category_off_and_hides(context: BrowserContext, fake: Fake) -> None:
    page = open_page(context, fake)
    banner(page).get_by_role("button", name="Reject all").click()
    expect(banner(page)).to_be_hidden()
    [posted] = fake.wait_for(fake.choices, 1)
    assert posted == {
        "site": SITE_KEY,
        "browser_id": posted["browser_id"],
        "choices": ALL_FALSE,
        "gpc": False,
        "source": "cookie_banner",
    }
    assert fake.choice_headers[0]["Content-Type"] == "application/json"
    bid = cookie(context, "privet_bid")
    assert UUID.match(posted["browser_id"]) and bid["value"] == posted["browser_id"]
    assert bid["sameSite"] == "Lax" and 364 * 86400 < bid["expires"] - time.time() <= 365 * 86400
    assert page.evaluate("[window.analyticsLoaded, window.adsLoaded]") == [None, None]
    assert page.evaluate("privet.consent.all()") == ALL_FALSE
    assert page.evaluate("window.consentEvents") == [{"choices": ALL_FALSE, "gpc": False}]


def test_accept_all_records_every_category_on_and_runs_the_waiting_tags(context: BrowserContext, fake: Fake) -> None:
    page = open_page(context, fake)
    # A function evaluated is called, so wrap: onChange returns the unsubscribe function.
    page.evaluate("() => { window.changes = []; privet.consent.onChange((c) => window.changes.push(c)); }")
    banner(page).get_by_role("button", name="Accept all").click()
    expect(banner(page)).to_be_hidden()
    [posted] = fake.wait_for(fake.choices, 1)
    assert posted["choices"] == ALL_TRUE and posted["gpc"] is False
    page.wait_for_function("window.analyticsLoaded === true && window.adsLoaded === true")
    assert page.evaluate("[privet.consent.get('cookies_analytics'), privet.consent.get('unknown')]") == [True, False]
    assert page.evaluate("window.changes") == [{"choices": ALL_TRUE, "gpc": False}]
    assert page.locator('script[type="text/plain"]').count() == 0
    # A placeholder the page adds later (a single-page app, a tag manager) runs as soon as it appears.
    page.evaluate(
        """() => {
            const tag = Object.assign(document.createElement("script"), {type: "text/plain", text: "window.late = true"});
            tag.dataset.privetConsent = "cookies_analytics";
            document.body.append(tag);
        }"""
    )
    page.wait_for_function("window.late === true")


def test_a_choice_holds_on_the_next_page_until_the_configuration_version_changes(
    context: BrowserContext, fake: Fake
) -> None:
    page = open_page(context, fake)
    banner(page).get_by_role("button", name="Accept all").click()
    fake.wait_for(fake.choices, 1)

    page.reload()
    settled(page, fake, 2)
    page.wait_for_function("window.analyticsLoaded === true")  # the stored choice applies without asking
    expect(banner(page)).to_have_count(0)
    assert page.evaluate("window.consentEvents") == [{"choices": ALL_TRUE, "gpc": False}]

    fake.version = "2024-09-01"
    page.reload()
    expect(banner(page)).to_be_visible()
    # Until the visitor answers again, nothing optional runs; the settings offer the earlier answer.
    assert page.evaluate("[window.analyticsLoaded, privet.consent.all()]") == [None, {}]
    banner(page).get_by_role("button", name="Settings").click()
    expect(page.get_by_role("switch", name="Analytics")).to_be_checked()
    page.get_by_role("button", name="Save choices").click()
    assert fake.wait_for(fake.choices, 2)[1]["choices"] == ALL_TRUE
    assert len(fake.choices) == 2


def test_settings_dialog_by_keyboard(context: BrowserContext, fake: Fake) -> None:
    page = open_page(context, fake)
    expect(banner(page)).to_be_visible()
    # The banner comes first in the Tab order: its link, then Accept all, Reject all, Settings.
    order = []
    for _ in range(4):
        page.keyboard.press("Tab")
        order.append(focused_text(page))
    assert order == ["Privacy notice", "Accept all", "Reject all", "Settings"]
    outline = page.evaluate(
        "getComputedStyle(document.querySelector('#privet-consent').shadowRoot.activeElement).outlineStyle"
    )
    assert outline == "solid"  # focus is visible

    page.keyboard.press("Enter")
    settings = page.get_by_role("dialog", name="Privacy settings")
    expect(settings).to_be_visible()
    expect(settings.get_by_role("switch", name="Strictly necessary")).to_be_checked()
    expect(settings.get_by_role("switch", name="Strictly necessary")).to_be_disabled()
    expect(settings.get_by_text("Always on")).to_be_visible()
    analytics = settings.get_by_role("switch", name="Analytics")
    advertising = settings.get_by_role("switch", name="Advertising")
    expect(analytics).to_be_focused()
    page.keyboard.press("Space")
    expect(analytics).to_be_checked()

    page.keyboard.press("Escape")  # closes without saving, back to the Settings button
    expect(settings).to_be_hidden()
    assert focused_text(page) == "Settings"
    expect(banner(page)).to_be_visible()

    page.keyboard.press("Space")
    expect(settings).to_be_visible()
    expect(analytics).not_to_be_checked()  # the unsaved toggle was dropped
    page.keyboard.press("Enter")  # Enter toggles a switch as Space does
    expect(analytics).to_be_checked()
    page.keyboard.press("Tab")
    expect(advertising).to_be_focused()
    shot(page, "banner-settings.png")
    page.keyboard.press("Tab")
    expect(settings.get_by_role("button", name="Save choices")).to_be_focused()
    time.sleep(0.3)
    assert fake.choices == []
    page.keyboard.press("Enter")

    expect(settings).to_be_hidden()
    expect(banner(page)).to_be_hidden()
    [posted] = fake.wait_for(fake.choices, 1)
    assert posted["choices"] == {"cookies_analytics": True, "cookies_advertising": False}
    page.wait_for_function("window.analyticsLoaded === true")
    assert page.evaluate("window.adsLoaded") is None


def test_settings_can_be_reopened_by_the_page(context: BrowserContext, fake: Fake) -> None:
    page = open_page(context, fake)
    banner(page).get_by_role("button", name="Reject all").click()
    fake.wait_for(fake.choices, 1)
    page.get_by_role("link", name="Cookie settings").click()  # the page calls privet.openSettings()
    settings = page.get_by_role("dialog", name="Privacy settings")
    expect(settings).to_be_visible()
    expect(settings.get_by_role("switch", name="Analytics")).not_to_be_checked()
    settings.get_by_role("switch", name="Analytics").check()
    settings.get_by_role("button", name="Save choices").click()
    assert fake.wait_for(fake.choices, 2)[1]["choices"] == {"cookies_analytics": True, "cookies_advertising": False}
    page.wait_for_function("window.analyticsLoaded === true")
    assert page.evaluate("window.consentEvents.map(e => e.choices.cookies_analytics)") == [False, True]


def test_phone_width(context: BrowserContext, fake: Fake) -> None:
    page = open_page(context, fake)
    page.set_viewport_size({"width": 360, "height": 740})
    expect(banner(page)).to_be_visible()
    box = banner(page).bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
    for name in ("Accept all", "Reject all", "Settings"):
        button = banner(page).get_by_role("button", name=name).bounding_box()
        assert button is not None and button["height"] >= 44 and button["x"] + button["width"] <= 360
    shot(page, "banner-phone.png")
    banner(page).get_by_role("button", name="Settings").click()
    settings = page.get_by_role("dialog", name="Privacy settings").bounding_box()
    assert settings is not None and settings["x"] >= 0 and settings["x"] + settings["width"] <= 360
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


# ---- Global Privacy Control ----


def test_gpc_keeps_sale_and_sharing_off_after_accept_all(context: BrowserContext, fake: Fake) -> None:
    page = open_page(context, fake, gpc=True)
    expect(banner(page).get_by_text("We received your Global Privacy Control signal")).to_be_visible()
    shot(page, "banner-gpc.png")
    banner(page).get_by_role("button", name="Accept all").click()
    [posted] = fake.wait_for(fake.choices, 1)
    # GPC limits sale and sharing only: analytics (first-party use) stays the visitor's free choice.
    assert posted["choices"] == {"cookies_analytics": True, "cookies_advertising": False}
    assert posted["gpc"] is True
    page.wait_for_function("window.analyticsLoaded === true")
    assert page.evaluate("[window.adsLoaded, privet.consent.get('cookies_advertising')]") == [None, False]
    assert page.evaluate("window.consentEvents") == [
        {"choices": {"cookies_analytics": True, "cookies_advertising": False}, "gpc": True}
    ]


def test_gpc_allows_an_explicit_opt_in_in_the_settings(context: BrowserContext, fake: Fake) -> None:
    page = open_page(context, fake, gpc=True)
    banner(page).get_by_role("button", name="Settings").click()
    settings = page.get_by_role("dialog", name="Privacy settings")
    expect(settings.get_by_text("We received your Global Privacy Control signal")).to_be_visible()
    expect(settings.get_by_role("switch", name="Advertising")).not_to_be_checked()
    settings.get_by_role("switch", name="Advertising").check()
    settings.get_by_role("button", name="Save choices").click()
    [posted] = fake.wait_for(fake.choices, 1)
    assert posted["choices"] == {"cookies_analytics": False, "cookies_advertising": True} and posted["gpc"] is True


def test_gpc_arriving_after_an_earlier_opt_in_wins(context: BrowserContext, fake: Fake) -> None:
    page = open_page(context, fake)
    banner(page).get_by_role("button", name="Accept all").click()
    fake.wait_for(fake.choices, 1)
    page.close()

    page = open_page(context, fake, gpc=True)  # same visitor, now with GPC switched on
    [_, posted] = fake.wait_for(fake.choices, 2)
    assert posted["choices"] == {"cookies_analytics": True, "cookies_advertising": False} and posted["gpc"] is True
    assert posted["browser_id"] == fake.choices[0]["browser_id"]
    page.wait_for_function("window.analyticsLoaded === true")
    assert page.evaluate("[window.adsLoaded, document.querySelector('#privet-consent')]") == [None, None]


def test_gpc_is_reported_but_not_applied_where_the_site_does_not_honour_it(context: BrowserContext, fake: Fake) -> None:
    fake.gpc_honoured = False
    page = open_page(context, fake, gpc=True)
    expect(banner(page)).to_be_visible()
    expect(banner(page).get_by_text("Global Privacy Control")).to_have_count(0)
    banner(page).get_by_role("button", name="Accept all").click()
    [posted] = fake.wait_for(fake.choices, 1)
    assert posted["choices"] == ALL_TRUE and posted["gpc"] is True


# ---- performance ----


def test_first_paint_is_not_blocked_by_the_configuration(context: BrowserContext, fake: Fake) -> None:
    fake.config_delay = 3.0
    page = context.new_page()
    page.goto(fake.page, wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Acme Outdoor Gear")).to_be_visible()
    seen = time.monotonic()
    fake.wait_for(fake.config_requests, 1)
    assert fake.config_answered_at == []  # the page shows while privet still thinks

    expect(banner(page)).to_be_visible()
    assert fake.config_answered_at[0] > seen
    paint, config_end = page.evaluate(
        """() => [
            performance.getEntriesByName('first-contentful-paint')[0].startTime,
            performance.getEntriesByType('resource').find(e => e.name.includes('/consent/config')).responseEnd,
        ]"""
    )
    assert paint < config_end - 500, (paint, config_end)
