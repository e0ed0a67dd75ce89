"""The consent write's fast path: the API's busiest call, answered without FastAPI's routing and parameter handling.

A company's sites and apps record consent on every banner click and settings change, so `POST
/api/v1/consent/events` is the call privet serves most. FastAPI's routing, dependency solving and body handling
took most of the event loop's time for it: 0.18 ms of 0.29 ms per call, measured in process (0.11 ms with this
layer, against 0.10 ms for the trivial endpoint). This ASGI layer answers the common case directly: a system's API
key the server has seen lately, allowed to write consent, and a body that validates. It shares the route's own
code (`ChoiceIn`, `record_one`, the exception handlers' mapping), so the event recorded and the answer are the
same. Everything else goes on to the route unchanged: other paths, no key or a key not in the cache, a cookie
session (which needs the CSRF check), a body that does not validate (the route answers 422 with its problem
details). The security headers and the body limit wrap this layer like every other request.
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from privet.api import errors
from privet.api.auth import Principal, api_key_of, authenticator
from privet.api.roles import Scope as Permission
from privet.api.routes import consent

PATH = "/api/v1/consent/events"


class ConsentWriteFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        if _known_writer(request) is None:
            await self.app(scope, receive, send)
            return
        body = await request.body()
        try:
            item = consent.ChoiceIn.model_validate_json(body)
        except ValidationError:
            await self.app(scope, _replay(body, receive), send)  # the route refuses it, in its own words
            return
        try:
            response = await consent.record_one(item, request, request.headers.get("sec-gpc"))
        except Exception as exc:  # refused or failed: the answer the app's exception handlers give
            response = await errors.problem_for(request, exc)
        await response(scope, receive, send)


def _known_writer(request: Request) -> Principal | None:
    """The caller when it sends an API key already in the cache that may write consent; None otherwise (the route
    then authenticates it, loading the key or refusing it)."""
    token = api_key_of(request)
    if token is None:
        return None
    found = authenticator(request).cached_key(token)
    return found if isinstance(found, Principal) and found.may(Permission.CONSENT_WRITE) else None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive callable that hands the next layer the body already read, then the connection's own messages."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
