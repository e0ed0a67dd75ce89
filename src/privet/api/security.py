"""Headers on every response: a strict Content-Security-Policy and friends, except for what other sites embed.

The banner script and the two consent endpoints it calls run on customers' pages, on other origins: they get CORS
(`Access-Control-Allow-Origin: *`, without credentials), answer preflights with 204, and carry no frame or CSP
restriction. A plain ASGI middleware, so that the trivial path stays cheap.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
       "base-uri 'none'; form-action 'self'; object-src 'none'")  # fmt: skip
PERMISSIONS = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
EMBEDDABLE = frozenset({"/banner.js", "/api/v1/consent/config", "/api/v1/consent/choices"})
PREFLIGHT_MAX_AGE = "600"
MAX_BODY = 16 * 1024 * 1024  # a batch of 10,000 decisions is about 1.5 MB


def _common(https: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
    ]
    if https:
        headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    return headers


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, https: bool = False, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body
        common = _common(https)
        self.strict = [
            *common,
            (b"content-security-policy", CSP.encode()),
            (b"permissions-policy", PERMISSIONS.encode()),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"cross-origin-resource-policy", b"same-origin"),
        ]
        self.embeddable = [
            *common,
            (b"access-control-allow-origin", b"*"),
            (b"cross-origin-resource-policy", b"cross-origin"),
            (b"vary", b"Origin"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        embeddable = path in EMBEDDABLE
        if embeddable and scope["method"] == "OPTIONS":
            await self._preflight(send)
            return
        length = _content_length(scope)
        if length is not None and length > self.max_body:
            await self._too_large(send, embeddable)
            return
        extra = self.embeddable if embeddable else self.strict

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers.extend(h for h in extra if h[0] not in present)
                if b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _preflight(self, send: Send) -> None:
        headers = [
            *self.embeddable,
            (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
            (b"access-control-allow-headers", b"Content-Type"),
            (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode()),
            (b"cache-control", b"no-store"),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    async def _too_large(self, send: Send, embeddable: bool) -> None:
        body = json.dumps({
            "type": "urn:privet:problem:too_large", "title": "Request too large", "status": 413,
            "detail": f"the body is larger than {self.max_body} bytes", "code": "too_large",
        }).encode()  # fmt: skip
        headers = [
            *(self.embeddable if embeddable else self.strict),
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
