"""The role matrix: every endpoint, called by each role's API key and by nobody, answers exactly as its scope says.

The table names each endpoint's scope by hand; a test checks that it covers every operation of the OpenAPI
document, so that a new endpoint cannot go without a row.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from privet.api.roles import ROLE_SCOPES, Role, Scope
from privet.fulfilment.executor import StepRecord, StepState
from tests.api.conftest import PASSWORD, ROLES, Api, make_workspace, serving

PUBLIC = "public"  # anyone, signed in or not
SIGNED_IN = "signed_in"  # any credentials
SESSION_ONLY = "session_only"  # a cookie session; API keys are refused
Call = tuple[str, dict[str, Any]]  # url, keyword arguments of the client call


@dataclass
class Env:
    api: Api
    tmp: Path

    @property
    def admin(self) -> dict[str, str]:
        return self.api.headers("admin")

    def request(self, kind: str = "access", jurisdiction: str = "us-va") -> str:
        body = {"kind": kind, "email": f"{uuid.uuid4().hex[:8]}@example.com", "jurisdiction": jurisdiction}
        answer = self.api.client.post("/api/v1/requests", json=body, headers=self.admin)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["request"]["request_id"])

    def post(self, path: str, body: dict[str, Any] | None = None) -> None:
        answer = self.api.client.post(path, json=body, headers=self.admin)
        assert answer.status_code < 300, answer.text

    def recorded(self, url: str) -> Call:
        """A call about a person with a recorded choice."""
        self.post("/api/v1/consent/events", CHOICE)
        return url, {"params": {"identifier": CHOICE["identifier"]}}

    def with_agent(self) -> str:
        body = {"kind": "access", "email": f"{uuid.uuid4().hex[:8]}@example.com", "jurisdiction": "us-ca",
                "agent": {"name": "Dee Agent", "evidence": "signed_letter", "document_ref": "letter.pdf"}}  # fmt: skip
        answer = self.api.client.post("/api/v1/requests", json=body, headers=self.admin)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["request"]["request_id"])

    def verifying(self) -> str:
        rid = self.request()
        self.post(f"/api/v1/requests/{rid}/verification/send")
        return rid

    def denied(self) -> str:
        rid = self.request()
        self.post(f"/api/v1/requests/{rid}/deny", {"reasons": ["no data"]})
        return rid

    def with_package(self) -> str:
        rid = self.request()
        path = self.tmp / f"{rid}.zip"
        data = io.BytesIO()
        with zipfile.ZipFile(data, "w") as archive:
            archive.writestr("data.json", "{}")
        path.write_bytes(data.getvalue())
        self.api.runtime.checkpoints.put(
            StepRecord(rid, "access", "*", StepState.DONE, 0, detail={"package": str(path)}), self.api.runtime.now()
        )
        return rid

    def public_token(self, closed: bool = False) -> str:
        body = {"kind": "access", "email": f"{uuid.uuid4().hex[:8]}@example.com", "jurisdiction": "us-va"}
        assert self.api.client.post("/api/v1/public/requests", json=body).status_code == 202
        token = self.api.emailed_token(body["email"])
        if closed:
            rid = self.api.client.get("/api/v1/public/requests/status", params={"token": token}).json()["reference"]
            self.post(f"/api/v1/requests/{rid}/deny", {"reasons": ["no data"]})
        return token

    def download_token(self) -> str:
        rid = self.with_package()
        links = self.api.client.post(f"/api/v1/requests/{rid}/links", headers=self.admin).json()
        return str(links["download_url"].split("token=")[1])

    def key_id(self) -> str:
        answer = self.api.client.post("/api/v1/staff/keys", json={"name": "spare", "role": "system"},
                                      headers=self.admin)  # fmt: skip
        return str(answer.json()["key"]["key_id"])


SMS: dict[str, object] = {"purpose": "marketing.communications.sms", "category": "user.contact.phone_number"}
CHOICE: dict[str, object] = {"key": "marketing_sms", "granted": True, "identifier": "user_id:matrix"}


def _rid(path: str, body: dict[str, Any] | None = None, prepare: str = "request") -> Callable[[Env], Call]:
    def make(env: Env) -> Call:
        rid = getattr(env, prepare)()
        return path.format(rid=rid), ({"json": body} if body is not None else {})

    return make


def _plain(url: str, **kwargs: Any) -> Callable[[Env], Call]:
    return lambda _env: (url, kwargs)


ENDPOINTS: dict[tuple[str, str], tuple[str | Scope, Callable[[Env], Call]]] = {
    ("GET", "/api/v1/ping"): (PUBLIC, _plain("/api/v1/ping")),
    ("GET", "/banner.js"): (PUBLIC, _plain("/banner.js")),
    ("GET", "/.well-known/gpc.json"): (PUBLIC, _plain("/.well-known/gpc.json")),
    ("GET", "/api/v1/consent/config"): (PUBLIC, _plain("/api/v1/consent/config", params={"site": "anker"})),
    ("POST", "/api/v1/consent/choices"): (PUBLIC, lambda _: ("/api/v1/consent/choices", {"json": {
        "browser_id": str(uuid.uuid4()), "choices": {"analytics_cookies": True}}})),
    ("GET", "/api/v1/documents/notice.html"): (PUBLIC, _plain("/api/v1/documents/notice.html")),
    ("GET", "/api/v1/documents/notice.md"): (PUBLIC, _plain("/api/v1/documents/notice.md")),
    ("GET", "/api/v1/documents/disclosures.html"): (PUBLIC, _plain("/api/v1/documents/disclosures.html")),
    ("GET", "/api/v1/documents/disclosures.md"): (PUBLIC, _plain("/api/v1/documents/disclosures.md")),
    ("GET", "/api/v1/documents/disclosures.json"): (PUBLIC, _plain("/api/v1/documents/disclosures.json")),
    ("POST", "/api/v1/public/requests"): (PUBLIC, lambda _: ("/api/v1/public/requests", {"json": {
        "kind": "deletion", "email": f"{uuid.uuid4().hex[:8]}@example.com", "jurisdiction": "eu"}})),
    ("GET", "/api/v1/public/requests/status"): (PUBLIC, lambda env: (
        "/api/v1/public/requests/status", {"params": {"token": env.public_token()}})),
    ("POST", "/api/v1/public/requests/code"): (PUBLIC, lambda env: (
        "/api/v1/public/requests/code", {"json": {"token": env.public_token(), "code": "000000"}})),
    ("POST", "/api/v1/public/requests/code/resend"): (PUBLIC, lambda env: (
        "/api/v1/public/requests/code/resend", {"json": {"token": env.public_token()}})),
    ("POST", "/api/v1/public/requests/appeal"): (PUBLIC, lambda env: (
        "/api/v1/public/requests/appeal", {"json": {"token": env.public_token(closed=True), "text": "why"}})),
    ("GET", "/api/v1/public/packages"): (PUBLIC, lambda env: (
        "/api/v1/public/packages", {"params": {"token": env.download_token()}})),
    ("POST", "/api/v1/session"): (PUBLIC, lambda env: ("/api/v1/session", {"json": {
        "email": env.api.user("analyst", f"{uuid.uuid4().hex[:8]}@staff.example"), "password": PASSWORD}})),
    ("GET", "/api/v1/session"): (SIGNED_IN, _plain("/api/v1/session")),
    ("DELETE", "/api/v1/session"): (SESSION_ONLY, _plain("/api/v1/session")),
    ("POST", "/api/v1/consent/events"): (Scope.CONSENT_WRITE, _plain("/api/v1/consent/events", json=CHOICE)),
    ("POST", "/api/v1/consent/events/batch"): (Scope.CONSENT_WRITE, _plain("/api/v1/consent/events/batch",
                                                                           json={"events": [CHOICE]})),
    ("GET", "/api/v1/consent/state"): (Scope.CONSENT_READ, lambda env: env.recorded("/api/v1/consent/state")),
    ("GET", "/api/v1/consent/history"): (Scope.CONSENT_READ, lambda env: env.recorded("/api/v1/consent/history")),
    ("POST", "/api/v1/consent/gpp"): (Scope.DECIDE, _plain("/api/v1/consent/gpp", json={"identifier": "user_id:x"})),
    ("POST", "/api/v1/decisions"): (Scope.DECIDE, _plain("/api/v1/decisions", json=SMS)),
    ("POST", "/api/v1/decisions/batch"): (Scope.DECIDE, _plain("/api/v1/decisions/batch", json={"items": [SMS]})),
    ("POST", "/api/v1/requests"): (Scope.REQUESTS_WRITE, lambda _: ("/api/v1/requests", {"json": {
        "kind": "access", "email": f"{uuid.uuid4().hex[:8]}@example.com", "jurisdiction": "eu"}})),
    ("GET", "/api/v1/requests"): (Scope.REQUESTS_READ, _plain("/api/v1/requests")),
    ("GET", "/api/v1/requests/{request_id}"): (Scope.REQUESTS_READ, _rid("/api/v1/requests/{rid}")),
    ("POST", "/api/v1/requests/{request_id}/verification/send"): (
        Scope.REQUESTS_WRITE, _rid("/api/v1/requests/{rid}/verification/send")),
    ("POST", "/api/v1/requests/{request_id}/verification/check"): (
        Scope.REQUESTS_WRITE, _rid("/api/v1/requests/{rid}/verification/check", {"code": "000000"}, "verifying")),
    ("POST", "/api/v1/requests/{request_id}/events"): (
        Scope.REQUESTS_WRITE, _rid("/api/v1/requests/{rid}/events", {"event": "verified", "method": "account"})),
    ("POST", "/api/v1/requests/{request_id}/extend"): (
        Scope.REQUESTS_WRITE, _rid("/api/v1/requests/{rid}/extend", {"reason": "complex"})),
    ("POST", "/api/v1/requests/{request_id}/deny"): (
        Scope.REQUESTS_WRITE, _rid("/api/v1/requests/{rid}/deny", {"reasons": ["no data"]})),
    ("POST", "/api/v1/requests/{request_id}/agent"): (
        Scope.REQUESTS_WRITE, _rid("/api/v1/requests/{rid}/agent", {"document": "signed_letter", "names_person": True,
                                   "names_agent": True, "states_authorisation": True, "signed": True}, "with_agent")),
    ("POST", "/api/v1/requests/{request_id}/appeal"): (
        Scope.REQUESTS_WRITE, _rid("/api/v1/requests/{rid}/appeal", {"text": "no"}, "denied")),
    ("GET", "/api/v1/requests/{request_id}/package"): (
        Scope.REQUESTS_READ, _rid("/api/v1/requests/{rid}/package", prepare="with_package")),
    ("POST", "/api/v1/requests/{request_id}/links"): (Scope.REQUESTS_READ, _rid("/api/v1/requests/{rid}/links")),
    ("GET", "/api/v1/outbox"): (Scope.REQUESTS_READ, _plain("/api/v1/outbox")),
    ("GET", "/api/v1/audit/verify"): (Scope.AUDIT_READ, _plain("/api/v1/audit/verify")),
    ("GET", "/api/v1/metrics"): (Scope.REPORTS_READ, _plain("/api/v1/metrics", params={"year": 2025})),
    ("GET", "/api/v1/documents/ropa.csv"): (Scope.REPORTS_READ, _plain("/api/v1/documents/ropa.csv")),
    ("GET", "/api/v1/documents/ropa.xlsx"): (Scope.REPORTS_READ, _plain("/api/v1/documents/ropa.xlsx")),
    ("GET", "/api/v1/documents/graph.svg"): (Scope.REPORTS_READ, _plain("/api/v1/documents/graph.svg")),
    ("GET", "/api/v1/staff/users"): (Scope.STAFF_ADMIN, _plain("/api/v1/staff/users")),
    ("GET", "/api/v1/staff/keys"): (Scope.STAFF_ADMIN, _plain("/api/v1/staff/keys")),
    ("POST", "/api/v1/staff/keys"): (Scope.STAFF_ADMIN, _plain("/api/v1/staff/keys", json={"name": "n", "role":
                                                                                          "analyst"})),
    ("DELETE", "/api/v1/staff/keys/{key_id}"): (Scope.STAFF_ADMIN, lambda env: (
        f"/api/v1/staff/keys/{env.key_id()}", {})),
}  # fmt: skip

CALLERS = ("nobody", *ROLES)


def expected(access: str | Scope, caller: str) -> str:
    if access == PUBLIC:
        return "2xx"
    if caller == "nobody":
        return "401"
    if access == SIGNED_IN:
        return "2xx"
    if access == SESSION_ONLY:
        return "403"  # these callers are API keys
    assert isinstance(access, Scope)
    return "2xx" if access in ROLE_SCOPES[Role(caller)] else "403"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("roles")
    with serving(make_workspace(root / "ws")) as api:
        yield Env(api, root)


def test_the_matrix_covers_every_operation_with_its_declared_scope(env: Env) -> None:
    schema = env.api.app.openapi()
    declared = {(method.upper(), path): op["x-privet-scope"] for path, item in schema["paths"].items()
                for method, op in item.items()}  # fmt: skip
    assert set(declared) == set(ENDPOINTS)
    for operation, (access, _) in ENDPOINTS.items():
        assert declared[operation] == (access if access != SESSION_ONLY else SIGNED_IN), operation


def test_each_role_has_the_scopes_it_should() -> None:
    assert ROLE_SCOPES[Role.SYSTEM] == {Scope.CONSENT_WRITE, Scope.DECIDE}
    assert ROLE_SCOPES[Role.ANALYST] == {Scope.DECIDE, Scope.REPORTS_READ}
    assert Scope.STAFF_ADMIN not in ROLE_SCOPES[Role.PRIVACY_OFFICER]
    assert ROLE_SCOPES[Role.ADMIN] == set(Scope)


@pytest.mark.parametrize("operation", list(ENDPOINTS), ids=lambda op: f"{op[0]} {op[1]}")
def test_role_matrix(env: Env, operation: tuple[str, str]) -> None:
    method, _ = operation
    access, make = ENDPOINTS[operation]
    got, want = {}, {}
    for caller in CALLERS:
        url, kwargs = make(env)
        env.api.client.cookies.clear()  # a sign-in earlier in the matrix must not make a caller of nobody
        headers = {} if caller == "nobody" else env.api.headers(caller)
        answer = env.api.client.request(method, url, headers=headers, **kwargs)
        got[caller] = "2xx" if 200 <= answer.status_code < 300 else str(answer.status_code)
        want[caller] = expected(access, caller)
        if got[caller] != want[caller]:
            got[caller] += f" ({answer.text[:200]})"
    assert got == want
