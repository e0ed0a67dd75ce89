"""Errors as RFC 9457 problem details, and the one place where domain exceptions become HTTP statuses.

The domain raises its own exceptions (no HTTP in the core); `PROBLEMS` maps each to a status and a stable `code`
that clients may branch on. Whatever is not listed and reaches here is a bug: a 500 that says nothing inside.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from privet.api.writer_process import WriterUnavailable
from privet.audit import AuditError
from privet.consent.events import EventConflict, LedgerError
from privet.consent.gpp import GppError
from privet.consent.identifiers import InvalidIdentifier
from privet.fulfilment.executor import FulfilmentError
from privet.law.tables import LawError
from privet.policy.compiled import PolicyError
from privet.reports.metrics import MetricsError
from privet.requests.lifecycle import IllegalTransition, RequestError
from privet.requests.messages import MessageError
from privet.requests.ports import StaleRequest
from privet.requests.verification import VerificationError
from privet.store.staff import StaffError

log = logging.getLogger("privet.api")

PROBLEM_JSON = "application/problem+json"


def problem_type(code: str) -> str:
    return f"urn:privet:problem:{code}"


class Problem(BaseModel):
    """RFC 9457 problem details, with privet's stable `code`."""

    model_config = ConfigDict(frozen=True, extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, Any]] | None = None  # for invalid input: each problem with its location


class ApiError(Exception):
    """An HTTP-level refusal raised by the API layer itself (not the domain)."""

    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = dict(headers or {})


class NotFound(ApiError):
    status, code, title = 404, "not_found", "Not found"


class Unauthenticated(ApiError):
    status, code, title = 401, "unauthenticated", "Authentication required"


class Forbidden(ApiError):
    status, code, title = 403, "forbidden", "Not allowed"


class CsrfRefused(ApiError):
    status, code, title = 403, "csrf_refused", "Missing or wrong CSRF token"


class RateLimited(ApiError):
    status, code, title = 429, "rate_limited", "Too many requests"


class TooLarge(ApiError):
    status, code, title = 413, "too_large", "Request too large"


class Unavailable(ApiError):
    status, code, title = 503, "unavailable", "Temporarily unavailable"


@dataclass(frozen=True)
class Mapped:
    status: int
    code: str
    title: str


# Most specific first is not needed: lookup walks each exception's MRO and takes the nearest listed class.
PROBLEMS: dict[type[BaseException], Mapped] = {
    EventConflict: Mapped(409, "event_conflict", "Event id reused with other facts"),
    WriterUnavailable: Mapped(503, "consent_writer_unavailable", "Consent writer unavailable; send again"),
    LedgerError: Mapped(422, "consent_invalid", "Consent choice not accepted"),
    InvalidIdentifier: Mapped(422, "invalid_identifier", "Invalid identifier"),
    GppError: Mapped(422, "gpp_invalid", "Invalid GPP string"),
    PolicyError: Mapped(422, "policy_unknown_term", "Unknown purpose, category or recipient"),
    IllegalTransition: Mapped(409, "illegal_transition", "Step not allowed from the request's state"),
    VerificationError: Mapped(422, "verification_invalid", "Verification not possible as asked"),
    RequestError: Mapped(422, "request_invalid", "Request not accepted"),
    StaleRequest: Mapped(409, "stale_request", "The request changed meanwhile; read it again and retry"),
    MessageError: Mapped(422, "message_invalid", "A message to the person could not be written"),
    FulfilmentError: Mapped(409, "fulfilment_incomplete", "Fulfilment cannot proceed yet"),
    LawError: Mapped(422, "law_unknown", "No law applies as asked"),
    MetricsError: Mapped(422, "metrics_invalid", "Metrics not available as asked"),
    AuditError: Mapped(422, "audit_invalid", "Audit check not possible as asked"),
    StaffError: Mapped(422, "staff_invalid", "Staff change not accepted"),
    ValueError: Mapped(422, "invalid_value", "Invalid value"),
}


def mapped(exc: BaseException) -> Mapped | None:
    for cls in type(exc).__mro__:
        found = PROBLEMS.get(cls)
        if found is not None:
            return found
    return None


def problem_response(status: int, code: str, title: str, detail: str, headers: Mapping[str, str] | None = None,
                     errors: list[dict[str, Any]] | None = None) -> JSONResponse:  # fmt: skip
    body: dict[str, Any] = {"type": problem_type(code), "title": title, "status": status, "detail": detail,
                            "code": code}  # fmt: skip
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_JSON)


def _http_code(status: int) -> tuple[str, str]:
    return {
        400: ("bad_request", "Bad request"),
        401: ("unauthenticated", "Authentication required"),
        403: ("forbidden", "Not allowed"),
        404: ("not_found", "Not found"),
        405: ("method_not_allowed", "Method not allowed"),
        406: ("not_acceptable", "Not acceptable"),
        413: ("too_large", "Request too large"),
        415: ("unsupported_media_type", "Unsupported media type"),
    }.get(status, ("http_error", "HTTP error"))


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return problem_response(exc.status, exc.code, exc.title, exc.detail, exc.headers)


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": [str(part) for part in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid input"}
    where = ".".join(first["loc"])
    detail = f"{where}: {first['msg']}" if where else str(first["msg"])
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    return problem_response(422, "invalid_input", "Invalid input", detail, errors=jsonable_encoder(errors))


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:  # FastAPI's "error parsing the body": invalid input, like any other
        return problem_response(422, "invalid_input", "Invalid input", f"body: {exc.detail}")
    code, title = _http_code(exc.status_code)
    return problem_response(exc.status_code, code, title, str(exc.detail), exc.headers)


async def _domain(_: Request, exc: Exception) -> JSONResponse:
    found = mapped(exc)
    if found is None:  # pragma: no cover - only listed classes are registered
        return await _unexpected(_, exc)
    return problem_response(found.status, found.code, found.title, str(exc) or found.title)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(500, "internal_error", "Internal error",
                            "privet failed to answer; the error was logged for the operator")  # fmt: skip


async def problem_for(request: Request, exc: Exception) -> JSONResponse:
    """The answer the app's exception handlers give `exc`, for a layer in front of them (api/fast_path.py)."""
    if isinstance(exc, ApiError):
        return await _api_error(request, exc)
    if mapped(exc) is not None:
        return await _domain(request, exc)
    return await _unexpected(request, exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    for cls in PROBLEMS:
        if issubclass(cls, Exception):
            app.add_exception_handler(cls, _domain)
    app.add_exception_handler(Exception, _unexpected)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problems an endpoint can answer with (their content is set by
    `document_problems`)."""
    described = {
        401: "Not authenticated", 403: "Not allowed (scope, or CSRF token)", 404: "Not found",
        409: "Conflicts with the current state", 413: "Request too large", 422: "Invalid input",
        429: "Rate limited", 503: "Temporarily unavailable",
    }  # fmt: skip
    return {status: {"description": described.get(status, "Problem")} for status in statuses}


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with every 4xx/5xx answer described as it is sent: a problem+json Problem, and with
    422 listed wherever there is input to refuse."""
    found = schema.setdefault("components", {}).setdefault("schemas", {})
    found["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            if operation.get("parameters") or operation.get("requestBody"):
                responses.setdefault("422", {"description": "Invalid input"})
            for status, response in responses.items():
                if status[0] in "45":
                    response["content"] = problem
    for unused in ("HTTPValidationError", "ValidationError"):
        found.pop(unused, None)
    return schema
