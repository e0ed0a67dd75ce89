"""Debian's Chromium driven by Playwright: never a browser that Playwright downloads.

Installed with `apt-get install chromium` and `pip install playwright`; `playwright install` is never run.
Without either, a local run skips the browser tests with the reason, and a CI run (CI=true) fails them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = os.environ.get("PRIVET_CHROMIUM", "/usr/bin/chromium")

# Playwright adds --headless and a fresh temporary --user-data-dir to every launch.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Only loopback traffic: every other host, IP literals included, fails to resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]


def unavailable(reason: str) -> NoReturn:
    """Skip locally; fail on CI, where a missing browser means the environment is broken."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true, so this fails instead of skipping)")
    pytest.skip(reason)


@contextmanager
def chromium() -> Iterator[Browser]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed: .venv/bin/pip install playwright")
    executable = shutil.which(CHROMIUM)
    if executable is None:
        unavailable(f"no Chromium at {CHROMIUM}: apt-get install -y chromium (or set PRIVET_CHROMIUM)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()
