"""A stand-in for privet's consent endpoints and for a customer's site, each on its own loopback port.

The two ports are two origins, so the banner's requests are cross-origin exactly as in production (CORS
preflight included). The fake records what it receives and can delay the configuration.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

REPO = Path(__file__).resolve().parents[2]
BANNER = REPO / "src" / "privet" / "web" / "static" / "banner.js"
PAGE = Path(__file__).parent / "pages" / "banner_test.html"
SITE_KEY = "acme-outdoor"

LABELS = {
    "title": "Cookies on Acme Outdoor",
    "description": "We use cookies to run the shop and, if you agree, to measure visits and show you advertising.",
    "accept_all": "Accept all",
    "reject_all": "Reject all",
    "settings": "Settings",
    "save": "Save choices",
    "gpc_notice": "We received your Global Privacy Control signal: advertising that sells or shares your data stays off.",
}


def config(version: str, gpc_honoured: bool) -> dict[str, Any]:
    return {
        "version": version,
        "notice_url": "http://127.0.0.1/privacy",
        "gpc_honoured": gpc_honoured,
        "categories": [
            {
                "key": "strictly_necessary",
                "name": "Strictly necessary",
                "description": "Sign-in, basket and security. The site does not work without them.",
                "consent_key": None,
                "required": True,
            },
            {
                "key": "analytics",
                "name": "Analytics",
                "description": "Counting visits and pages, to improve the site.",
                "consent_key": "cookies_analytics",
                "required": False,
                "sale_or_sharing": False,
            },
            {
                "key": "advertising",
                "name": "Advertising",
                "description": "Advertising partners show you our products on other sites.",
                "consent_key": "cookies_advertising",
                "required": False,
                "sale_or_sharing": True,
            },
        ],
        "labels": LABELS,
    }


@dataclass
class Fake:
    version: str = "2024-05-01"
    gpc_honoured: bool = True
    config_delay: float = 0.0
    config_requests: list[dict[str, list[str]]] = field(default_factory=list)
    config_answered_at: list[float] = field(default_factory=list)
    preflights: list[dict[str, str]] = field(default_factory=list)
    choices: list[dict[str, Any]] = field(default_factory=list)
    choice_headers: list[dict[str, str]] = field(default_factory=list)
    privet: str = ""
    site: str = ""
    changed: threading.Condition = field(default_factory=threading.Condition)

    @property
    def page(self) -> str:
        return f"{self.site}/banner_test.html"

    def record(self, items: list[Any], item: Any) -> None:
        with self.changed:
            items.append(item)
            self.changed.notify_all()

    def wait_for(self, items: list[Any], count: int, timeout: float = 5.0) -> list[Any]:
        with self.changed:
            if not self.changed.wait_for(lambda: len(items) >= count, timeout):
                raise AssertionError(f"expected {count} requests, got {len(items)}: {items}")
            return list(items)


class Handler(BaseHTTPRequestHandler):
    server: FakeServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, data: Any) -> None:
        self.send(200, json.dumps(data).encode(), "application/json", {"Access-Control-Allow-Origin": "*"})

    def do_GET(self) -> None:
        fake = self.server.fake
        url = urlsplit(self.path)
        if url.path == "/banner.js":
            self.send(200, BANNER.read_bytes(), "text/javascript; charset=utf-8")
        elif url.path == "/api/v1/consent/config":
            fake.record(fake.config_requests, parse_qs(url.query))
            time.sleep(fake.config_delay)
            self.send_json(config(fake.version, fake.gpc_honoured))
            fake.record(fake.config_answered_at, time.monotonic())
        elif url.path == "/banner_test.html":
            page = PAGE.read_text().replace("{{PRIVET}}", fake.privet).replace("{{SITE}}", SITE_KEY)
            self.send(200, page.encode(), "text/html; charset=utf-8")
        elif url.path == "/analytics.js":
            self.send(200, b"window.analyticsLoaded = true;\n", "text/javascript")
        elif url.path == "/favicon.ico":
            self.send(204, b"", "image/x-icon")
        else:
            self.send(404, b"not found", "text/plain")

    def do_OPTIONS(self) -> None:
        fake = self.server.fake
        fake.record(fake.preflights, dict(self.headers))
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "POST")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.send_header("Access-Control-Max-Age", "600")
        self.end_headers()

    def do_POST(self) -> None:
        fake = self.server.fake
        if urlsplit(self.path).path != "/api/v1/consent/choices":
            self.send(404, b"not found", "text/plain")
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        fake.record(fake.choice_headers, dict(self.headers))
        fake.record(fake.choices, body)
        self.send_json({"choices": body["choices"]})


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: Fake) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.fake = fake

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def serving(fake: Fake) -> Iterator[Fake]:
    servers = [FakeServer(fake), FakeServer(fake)]
    threads = [threading.Thread(target=s.serve_forever, args=(0.05,), daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    fake.privet, fake.site = (s.origin for s in servers)
    try:
        yield fake
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
