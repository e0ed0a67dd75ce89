"""A small JSON service on 127.0.0.1 for the HTTP connector: records in memory, three kinds of pagination.

Routes: GET /<collection>?<field>=a,b (filtered, paginated by the collection's style), GET /<collection>/<id>,
PATCH /<collection>/<id>, DELETE /<collection>/<id>, DELETE /<collection>?id=1,2 and POST /<collection>/batch (a list
of objects holding `id`), GET /slow (sleeps). Every call needs the bearer token; each is recorded.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "t0ken-that-must-not-leak"
PAGING = {"page", "per_page", "cursor"}


class FakeService:
    def __init__(self, data: Mapping[str, list[dict[str, Any]]], styles: Mapping[str, str], page_size: int = 2):
        self.records = {name: {r["id"]: dict(r) for r in copy.deepcopy(rows)} for name, rows in data.items()}
        self.styles = dict(styles)  # collection -> "page" | "cursor" | "link"
        self.page_size = page_size
        self.calls: list[tuple[str, str]] = []  # (method, path with query)
        self.headers: list[dict[str, str]] = []
        self.delay = 0.0  # seconds each call takes
        self.in_flight = 0
        self.most_in_flight = 0
        self.fail_with: int | None = None  # answer every call with this status
        self.next_link_host: str | None = None  # send next links to another site
        self.lock = threading.Lock()
        self.url = ""

    def gets(self, collection: str) -> int:
        return sum(1 for m, p in self.calls if m == "GET" and p.split("?")[0] == f"/{collection}")

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        with self.lock:
            self.calls.append((method, target))
            self.headers.append(dict(headers))
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)
            if urlsplit(target).path == "/slow":
                time.sleep(1.0)
                return 200, [], {}
            if self.fail_with is not None:
                return self.fail_with, {"error": "failing on purpose"}, {}
            if headers.get("Authorization") != f"Bearer {TOKEN}":
                return 401, {"error": "unauthorised"}, {}
            with self.lock:
                return self._route(method, target, json.loads(body) if body else None)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _route(self, method: str, target: str, body: Any) -> tuple[int, Any, dict[str, str]]:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        segments = [s for s in parts.path.split("/") if s]
        if not segments or segments[0] not in self.records:
            return 404, {"error": "no such collection"}, {}
        rows = self.records[segments[0]]
        if len(segments) == 1 and method == "GET":
            return self._list(segments[0], query)
        if len(segments) == 1 and method == "DELETE":
            keys = [int(k) for k in query.get("id", "").split(",") if k]
            found = [k for k in keys if rows.pop(k, None) is not None]
            return 200, {"deleted": len(found)}, {}
        if segments[1:] == ["batch"] and method == "POST":
            changed = 0
            for change in body["rows"]:
                if change["id"] in rows:
                    rows[change["id"]].update(change)
                    changed += 1
            return 200, {"updated": changed}, {}
        key = int(segments[1])
        if key not in rows:
            return 404, {"error": "not found"}, {}
        if method == "GET":
            return 200, {"data": rows[key]}, {}
        if method in ("PATCH", "PUT"):
            rows[key].update(body)
            return 200, rows[key], {}
        if method == "DELETE":
            del rows[key]
            return 204, None, {}
        return 405, {"error": "method"}, {}

    def _list(self, collection: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        found = sorted(self.records[collection].values(), key=lambda r: r["id"])
        fields = {k for r in found for k in r}
        for name, wanted in query.items():
            if name not in PAGING and name in fields:  # like many services, ignore what it does not know
                allowed = set(wanted.split(","))
                found = [r for r in found if str(r.get(name)) in allowed]
        style = self.styles.get(collection, "page")
        if style == "page":
            size = int(query.get("per_page", self.page_size))
            page = int(query.get("page", 1))
            return 200, {"data": found[(page - 1) * size : page * size], "page": page}, {}
        start = int(query.get("cursor", 0))
        chunk = found[start : start + self.page_size]
        more = start + self.page_size < len(found)
        if style == "cursor":
            return 200, {"results": chunk, "next": str(start + self.page_size) if more else None}, {}
        links: dict[str, str] = {}
        if more:
            rest = {**query, "cursor": str(start + self.page_size)}
            host = self.next_link_host or self.url
            link = f"{host}/{collection}?" + "&".join(f"{k}={v}" for k, v in rest.items())
            links["Link"] = f'<{link}>; rel="next"'
        return 200, chunk, links


def _handler(service: FakeService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, payload, extra = service.handle(self.command, self.path, dict(self.headers.items()), body)
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            if payload is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PATCH = do_PUT = do_POST = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running(service: FakeService) -> Iterator[FakeService]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(service))
    server.daemon_threads = True
    service.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
