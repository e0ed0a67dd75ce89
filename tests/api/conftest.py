"""An API over a fresh workspace of the reference manifest, on SQLite or on PostgreSQL (a schema per test).

PostgreSQL is found as in tests/store: PRIVET_TEST_POSTGRES_URL, skipped when absent except in CI (CI=true).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from privet.api import create_app
from privet.api.credentials import create_key, create_user
from privet.api.limits import Limits, Rate
from privet.workspace.runtime import Runtime, init_workspace, open_runtime
from tests.store.conftest import POSTGRES_URL, Postgres, postgres  # noqa: F401 (the shared server fixture)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2; httpx is what the project has
    from fastapi.testclient import TestClient

REPO = Path(__file__).resolve().parents[2]
ANKER = REPO / "examples" / "anker"
ROLES = ("admin", "privacy_officer", "analyst", "system")
# Generous limits, so that only the tests about limits meet them.
OPEN_LIMITS = Limits(submit=Rate(10_000, 100.0), code=Rate(10_000, 100.0), login=Rate(10_000, 100.0),
                     banner=Rate(10_000, 100.0), lockout_failures=10_000)  # fmt: skip
PASSWORD = "correct horse battery staple"


@dataclass
class Api:
    """A test client of an app over its own workspace, with helpers to make staff and keys."""

    client: TestClient
    app: FastAPI
    runtime: Runtime
    keys: dict[str, dict[str, str]] = field(default_factory=dict)

    def headers(self, role: str = "admin") -> dict[str, str]:
        """Authorization headers of an API key with `role` (one key per role, made on first use)."""
        if role not in self.keys:
            _, token = create_key(self.app.state.auth.staff, f"{role}-key", role, self.runtime.now())
            self.keys[role] = {"Authorization": f"Bearer {token}"}
        return self.keys[role]

    def user(self, role: str, email: str | None = None) -> str:
        address = email or f"{role}@staff.example"
        create_user(self.app.state.auth.staff, address, PASSWORD, role, self.runtime.now())
        return address

    def sign_in(self, role: str) -> tuple[TestClient, str]:
        """A second client with a staff session of `role`, and the session's CSRF token."""
        email = self.user(role, f"{role}-{len(self.keys)}-{id(self)}@staff.example")
        browser = TestClient(self.app, base_url="http://testserver")
        answer = browser.post("/api/v1/session", json={"email": email, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return browser, answer.json()["csrf_token"]

    def emailed_token(self, email: str) -> str:
        """The private status token in the newest email to `email` (the only place a submission's link goes)."""
        mails = [m for m in self.runtime.outbox.all() if m.to == email]
        assert mails, f"no email to {email}"
        found = re.search(r"/privacy/status/([A-Za-z0-9_.-]+)", mails[-1].body)
        assert found is not None, mails[-1].body
        return found.group(1)

    def code_of(self, request_id: str) -> str:
        """The verification code from the last code email of the request (read from the outbox)."""
        items = self.client.get("/api/v1/outbox", params={"request_id": request_id}, headers=self.headers()).json()
        bodies = [m["body"] for m in items["items"] if m["kind"] == "verification_code"]
        found = re.search(r"^\s+(\d{6})\s*$", bodies[-1], re.MULTILINE)
        assert found is not None, bodies[-1]
        return found.group(1)


def make_workspace(root: Path) -> Runtime:
    init_workspace(root, ANKER)
    return open_runtime(root)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fuzz: schemathesis over the OpenAPI document (bounded; runs in CI)")


@contextmanager
def serving(runtime: Runtime, limits: Limits = OPEN_LIMITS, **options: Any) -> Iterator[Api]:
    app = create_app(runtime, limits=limits, **options)
    try:
        with TestClient(app) as client:
            yield Api(client, app, runtime)
    finally:
        runtime.close()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    """The API on SQLite."""
    with serving(make_workspace(tmp_path / "ws")) as found:
        yield found


@pytest.fixture(params=["sqlite", "postgresql"])
def any_api(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The API on SQLite, then on PostgreSQL in a schema of its own."""
    schema = None
    if request.param == "postgresql":
        server: Postgres = request.getfixturevalue("postgres")
        schema, url = server.new_schema()
        monkeypatch.setenv("PRIVET_DATABASE_URL", url)
    try:
        with serving(make_workspace(tmp_path / "ws")) as found:
            yield found
    finally:
        if schema is not None:
            server.drop(schema)

