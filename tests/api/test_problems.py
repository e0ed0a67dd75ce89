"""Every refusal is an RFC 9457 problem with a stable code; domain errors map to statuses in one place."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest

from privet.api.errors import PROBLEMS, mapped
from privet.api.writer_process import WriterUnavailable
from privet.consent.events import EventConflict
from privet.requests.ports import StaleRequest
from tests.api.conftest import Api

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

Call = Callable[[Api], Any]


def new_request(api: Api, **extra: object) -> str:
    body = {"kind": "access", "email": "kim@example.com", "jurisdiction": "eu", **extra}
    answer = api.client.post("/api/v1/requests", json=body, headers=api.headers())
    assert answer.status_code == 201, answer.text
    return str(answer.json()["request"]["request_id"])


def stale(api: Api) -> Any:
    rid = new_request(api)

    def raced(*_: object, **__: object) -> None:
        raise StaleRequest(f"request {rid} changed meanwhile; read it again and retry")

    setattr(api.runtime.request_service, "act", raced)  # noqa: B010 - replace the method on this one object
    return api.client.post(f"/api/v1/requests/{rid}/deny", json={"reasons": ["x"]}, headers=api.headers())


def corrupt(api: Api) -> Any:
    def unreadable(_: str) -> None:
        raise ValueError("Invalid isoformat string: '2025-13-45'")

    setattr(api.runtime.requests, "get", unreadable)  # noqa: B010
    return api.client.get("/api/v1/requests/abc", headers=api.headers())


CASES: dict[str, tuple[Call, int, str]] = {
    "LedgerError": (lambda api: api.client.post("/api/v1/consent/events", headers=api.headers(), json={
        "key": "carrier_pigeon", "granted": True, "identifier": "user_id:1"}), 422, "consent_invalid"),
    "EventConflict": (lambda api: [api.client.post("/api/v1/consent/events", headers=api.headers(), json={
        "key": "marketing_sms", "granted": g, "identifier": "user_id:1", "event_id": "e1",
        "at": "2025-01-01T00:00:00Z"}) for g in (True, False)][-1], 409, "event_conflict"),
    "InvalidIdentifier": (lambda api: api.client.post("/api/v1/consent/events", headers=api.headers(), json={
        "key": "marketing_sms", "granted": True, "identifier": "email:not-an-address"}), 422, "invalid_identifier"),
    "PolicyError": (lambda api: api.client.post("/api/v1/decisions", headers=api.headers(), json={
        "purpose": "mind_reading", "category": "user.name"}), 422, "policy_unknown_term"),
    "RequestError": (lambda api: api.client.post("/api/v1/requests", headers=api.headers(), json={
        "kind": "appeal", "email": "kim@example.com"}), 422, "request_invalid"),
    "IllegalTransition": (lambda api: api.client.post(f"/api/v1/requests/{new_request(api)}/events",
                                                      headers=api.headers(), json={"event": "fulfil"}),
                          409, "illegal_transition"),
    "no code sent": (lambda api: api.client.post(f"/api/v1/requests/{new_request(api)}/verification/check",
                                                 headers=api.headers(), json={"code": "123456"}),
                     422, "request_invalid"),
    "StaleRequest": (stale, 409, "stale_request"),
    "MessageError": (lambda api: api.client.post("/api/v1/requests", headers=api.headers(), json={
        "kind": "access", "phone": "+44 20 7946 0000", "jurisdiction": "eu"}), 422, "message_invalid"),
    "ValueError from a codec": (corrupt, 422, "invalid_value"),
    "AuditError": (lambda api: api.client.get("/api/v1/audit/verify", params={"anchor": "seq=1"},
                                              headers=api.headers()), 422, "audit_invalid"),
    "unknown request": (lambda api: api.client.get("/api/v1/requests/nope", headers=api.headers()),
                        404, "not_found"),
    "invalid input": (lambda api: api.client.post("/api/v1/decisions", headers=api.headers(), json={
        "purpose": "x"}), 422, "invalid_input"),
    "not JSON": (lambda api: api.client.post("/api/v1/decisions", headers={**api.headers(),
                 "Content-Type": "application/json"}, content=b"{not json"), 422, "invalid_input"),
    "unknown field": (lambda api: api.client.post("/api/v1/decisions", headers=api.headers(), json={
        "purpose": "x", "category": "y", "colour": "red"}), 422, "invalid_input"),
    "no route": (lambda api: api.client.get("/api/v1/nothing-here"), 404, "not_found"),
    "wrong method": (lambda api: api.client.delete("/api/v1/ping"), 405, "method_not_allowed"),
    "too large": (lambda api: api.client.post("/api/v1/decisions/batch", headers={**api.headers(),
                  "Content-Type": "application/json"}, content=b" " * (17 * 1024 * 1024)), 413, "too_large"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_problem_details(api: Api, case: str) -> None:
    call, status, code = CASES[case]
    answer = call(api)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == status and problem["code"] == code
    assert problem["type"] == f"urn:privet:problem:{code}" and problem["title"] and problem["detail"]
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_an_unexpected_error_is_a_500_that_tells_nothing(api: Api) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("secret database password in the message")

    setattr(api.runtime.requests, "all", broken)  # noqa: B010
    client = TestClient(api.app, raise_server_exceptions=False)
    answer = client.get("/api/v1/requests", headers=api.headers())
    assert answer.status_code == 500 and answer.json()["code"] == "internal_error"
    assert "secret" not in answer.text


def test_every_mapped_exception_has_its_status() -> None:
    assert mapped(EventConflict("x")) is PROBLEMS[EventConflict]
    assert mapped(StaleRequest("x")) is not None and mapped(StaleRequest("x")).status == 409  # type: ignore[union-attr]
    assert mapped(KeyError("x")) is None
    for cls, found in PROBLEMS.items():
        # The caller's mistakes are 4xx; the one server-side condition listed is a writer outage, which passes.
        assert 400 <= found.status < 500 or (cls is WriterUnavailable and found.status == 503), cls
