"""The consent write's fast path answers exactly as the route, and leaves every other case to the route."""

from __future__ import annotations

from typing import Any

import pytest

from privet.api import auth
from tests.api.conftest import Api

EVENTS = "/api/v1/consent/events"
CHOICE = {"key": "marketing_sms", "granted": True, "identifier": "user_id:fast-1"}


@pytest.fixture
def routed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the route's authentication ran for: a request the fast path answered is not among them."""
    seen: list[str] = []
    original = auth.caller

    async def counting(request: Any) -> Any:
        seen.append(request.url.path)
        return await original(request)

    monkeypatch.setattr(auth, "caller", counting)
    return seen


def test_a_known_system_key_is_answered_by_the_fast_path_like_the_route(api: Api, routed: list[str]) -> None:
    system = api.headers("system")
    by_route = api.client.post(EVENTS, json=CHOICE, headers=system)  # the key is not cached yet: the route reads it
    assert routed == [EVENTS]
    by_fast_path = api.client.post(EVENTS, json={**CHOICE, "granted": False}, headers=system)
    assert routed == [EVENTS]  # answered without the route
    for answer in (by_route, by_fast_path):
        assert answer.status_code == 201 and answer.headers["content-type"] == "application/json"
        assert answer.headers["x-content-type-options"] == "nosniff" and answer.headers["cache-control"] == "no-store"
        assert set(answer.json()) == {"subject_id", "appended", "duplicates", "event_ids", "gpc_recorded"}
    assert by_route.json()["subject_id"] == by_fast_path.json()["subject_id"]
    state = api.client.get("/api/v1/consent/state", params={"identifier": CHOICE["identifier"]}, headers=api.headers())
    assert [(c["key"], c["granted"]) for c in state.json()["choices"]] == [("marketing_sms", False)]

    gpc = api.client.post(EVENTS, json={**CHOICE, "identifier": "user_id:fast-gpc"}, headers={**system, "Sec-GPC": "1"})
    assert gpc.status_code == 201 and gpc.json()["gpc_recorded"] is True and gpc.json()["appended"] == 4
    assert routed.count(EVENTS) == 1


def test_what_the_fast_path_cannot_answer_goes_to_the_route(api: Api, routed: list[str]) -> None:
    system = api.headers("system")
    api.client.post(EVENTS, json=CHOICE, headers=system)  # caches the key
    routed.clear()

    invalid = api.client.post(EVENTS, json={"key": "marketing_sms", "identifier": "user_id:x"}, headers=system)
    assert invalid.status_code == 422 and invalid.json()["code"] == "invalid_input"
    assert invalid.json()["errors"][0]["loc"] == ["body", "granted"]  # the route's own words, from the same body
    assert routed == [EVENTS]

    refused = api.client.post(EVENTS, json={**CHOICE, "key": "no_such_key"}, headers=system)
    assert refused.status_code == 422 and refused.json()["code"] == "consent_invalid"  # refused on the fast path
    assert refused.headers["content-type"] == "application/problem+json" and routed == [EVENTS]

    analyst = api.headers("analyst")
    assert api.client.get("/api/v1/consent/state", params={"identifier": "user_id:x"}, headers=analyst).status_code
    forbidden = api.client.post(EVENTS, json=CHOICE, headers=analyst)  # a cached key without the scope
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "forbidden"
    nobody = api.client.post(EVENTS, json=CHOICE)
    assert nobody.status_code == 401 and nobody.headers["www-authenticate"] == "Bearer"
    wrong = api.client.post(EVENTS, json=CHOICE, headers={"Authorization": "Bearer pvk_nothing"})
    assert wrong.status_code == 401

    browser, csrf = api.sign_in("admin")  # a session cookie needs the CSRF check: the route's
    assert browser.post(EVENTS, json=CHOICE).status_code == 403
    assert browser.post(EVENTS, json=CHOICE, headers={"X-CSRF-Token": csrf}).status_code == 201
    assert routed.count(EVENTS) == 6
