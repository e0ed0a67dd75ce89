"""What routes are given: the runtime, the services the API builds around it, the client's address, rate limits."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from privet.api.auth import Authenticator
from privet.api.consent_writer import ConsentWriter
from privet.api.errors import RateLimited
from privet.api.limits import Limiter
from privet.api.links import Links
from privet.api.people import People
from privet.workspace.runtime import Runtime


@dataclass
class Services:
    runtime: Runtime
    auth: Authenticator
    limiter: Limiter
    links: Links
    writer: ConsentWriter
    people: People
    # Request workflow steps and the fulfilment they start run one at a time (the runtime's queue is a plain list).
    workflow: threading.Lock = field(default_factory=threading.Lock)
    documents: dict[str, Any] = field(default_factory=dict)  # rendered once: the manifest does not change
    documents_lock: threading.Lock = field(default_factory=threading.Lock)

    def document(self, name: str, render: Callable[[], Any]) -> Any:
        found = self.documents.get(name)
        if found is None:
            with self.documents_lock:
                found = self.documents.get(name)
                if found is None:
                    found = self.documents[name] = render()
        return found

    def dispatch(self) -> list[str]:
        """Start the fulfilment that the last steps queued (inline, or handed to the job queue)."""
        with self.workflow:
            return self.runtime.dispatch()


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def current_services(request: Request) -> Services:
    """`get_services` as a dependency: async, so that FastAPI does not send it to the thread pool."""
    return get_services(request)


ServicesDep = Annotated[Services, Depends(current_services)]


def client_ip(request: Request) -> str:
    """The caller's address (behind a proxy, run uvicorn with --proxy-headers so this is the real client)."""
    return request.client.host if request.client else "unknown"


def rate_limit(bucket: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency taking one token from `bucket` for the client's address; 429 with Retry-After when empty."""

    async def dependency(request: Request) -> None:
        services = get_services(request)
        wait = services.limiter.take(bucket, client_ip(request))
        if wait > 0:
            seconds = max(1, int(wait + 0.999))
            raise RateLimited(f"too many requests from this address; try again in {seconds} s",
                              {"Retry-After": str(seconds)})  # fmt: skip

    return dependency
