"""The FastAPI application around a workspace runtime: REST API under /api/v1, the banner, and the web pages."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from privet.api import errors
from privet.api.auth import SECURITY_SCHEMES, Authenticator
from privet.api.consent_writer import ConsentWriter
from privet.api.deps import Services, get_runtime, get_services
from privet.api.fast_path import ConsentWriteFastPath
from privet.api.limits import Limiter, Limits
from privet.api.links import Links
from privet.api.models import Ping
from privet.api.people import People
from privet.api.routes import banner, consent, decisions, documents, operations, public, requests, staff
from privet.api.security import SecurityHeaders
from privet.api.writer_process import WriterProcess
from privet.store.staff import SqlStaff
from privet.workspace.runtime import Runtime

__all__ = ["create_app", "get_runtime", "get_services"]

DESCRIPTION = """privet's REST API. Authenticate with an API key (`Authorization: Bearer pvk_...`, made with
`privet keys create`) or a staff session (`POST /api/v1/session`; then send the CSRF token it returns in
`X-CSRF-Token` with every change). Errors are RFC 9457 problem details with a stable `code`."""


service = APIRouter(tags=["service"])


@service.get("/api/v1/ping", response_model=Ping)
async def ping() -> Ping:
    """Is the server up? (No database access.)"""
    return Ping()


# Requests are matched against the routes in this order, one by one: the busiest (consent, decisions) come first.
ROUTERS = (service, *(m.router for m in (consent, decisions, banner, requests, public, documents, operations, staff)))
EVERY_CREDENTIAL: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]


def scope_of(route: APIRoute) -> str:
    """The scope an endpoint declares through require(scope) (or signed_in); "public" when it declares none."""
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        scope = getattr(dependency.call, "scope", None)
        if scope is not None:
            return str(scope)
        pending.extend(dependency.dependencies)
    return "public"


def document_scopes(schema: dict[str, Any], routers: tuple[APIRouter, ...]) -> dict[str, Any]:
    """Each operation's scope (x-privet-scope) and the credentials that may carry it."""
    schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    for router in routers:
        for route in router.routes:
            if not isinstance(route, APIRoute) or route.path not in schema["paths"]:
                continue
            for method in route.methods or ():
                operation = schema["paths"][route.path].get(method.lower())
                if operation is None:
                    continue
                operation["x-privet-scope"] = scope = scope_of(route)
                if scope != "public":
                    operation["security"] = EVERY_CREDENTIAL
    return schema


def create_app(runtime: Runtime, *, web: bool = True, limits: Limits | None = None,
               clock: Callable[[], float] | None = None, close_runtime: bool = False,
               writer_process: bool = False) -> FastAPI:  # fmt: skip
    """The application for `runtime`. `limits` and `clock` (monotonic seconds) are for tests and busy sites;
    `close_runtime` closes the runtime when the server stops (for a runtime the application owns);
    `writer_process` records consent in a child process (api/writer_process.py), for a server process, whose
    runtime was opened from its folder and whose database another process can open (not an in-memory one)."""
    settings = runtime.settings
    https = settings.public_url.startswith("https://")
    staff_store = SqlStaff(runtime.db)
    auth = Authenticator(staff_store, settings.secret_key, https, runtime.now)
    limiter = Limiter(limits or Limits())
    if clock is not None:
        auth.clock = clock
        limiter = Limiter(limits or Limits(), clock)
    writer = ConsentWriter(runtime, process=WriterProcess(settings.root) if writer_process else None)
    services = Services(runtime, auth, limiter, Links(settings.secret_key), writer, People(runtime))
    # Built now rather than on the first request: the notice hash takes a moment, and threads must not race to it.
    _ = runtime.ledger, runtime.request_service

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await services.writer.start()
        yield
        services.writer.close()
        if close_runtime:
            runtime.close()

    app = FastAPI(title="privet", version="0.1.0", description=DESCRIPTION, docs_url=None, redoc_url=None,
                  lifespan=lifespan)  # fmt: skip
    app.state.runtime = runtime
    app.state.services = services
    app.state.auth = auth
    errors.install(app)
    app.add_middleware(ConsentWriteFastPath)  # inside the security headers (middleware added later wraps it)
    app.add_middleware(SecurityHeaders, https=https)

    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_scopes(errors.document_problems(generate()), ROUTERS)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    for router in ROUTERS:
        app.include_router(router)
    if web and importlib.util.find_spec("privet.web") is not None and importlib.util.find_spec("privet.web.routes"):
        app.include_router(importlib.import_module("privet.web.routes").router)
    return app
