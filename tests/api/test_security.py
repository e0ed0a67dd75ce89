"""Sessions and CSRF, API keys kept hashed, rate limits and lockout, no enumeration, headers, CORS."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from privet.api.credentials import token_digest
from privet.api.limits import Limits, Rate
from privet.store.staff_tables import staff_api_keys, staff_users
from tests.api.conftest import PASSWORD, Api, make_workspace, serving

STRICT_CSP = "default-src 'self'; script-src 'self'"


@pytest.fixture
def clock() -> list[float]:
    return [1_000.0]


@pytest.fixture
def limited(tmp_path: Path, clock: list[float]) -> Iterator[Api]:
    """The API with small limits and a clock the test moves."""
    limits = Limits(submit=Rate(3, 1 / 60), code=Rate(100, 1.0), login=Rate(5, 1 / 60), banner=Rate(2, 1.0),
                    lockout_failures=4, lockout_window_s=600, lockout_s=900)  # fmt: skip
    with serving(make_workspace(tmp_path / "ws"), limits, clock=lambda: clock[0]) as found:
        yield found


def test_session_cookie_is_httponly_samesite_lax_and_signed(api: Api) -> None:
    email = api.user("privacy_officer")
    answer = api.client.post("/api/v1/session", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200
    cookies = answer.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("privet_session="))
    assert "HttpOnly" in session and "SameSite=lax" in session and "Secure" not in session
    csrf_cookie = next(c for c in cookies if c.startswith("privet_csrf="))
    assert "HttpOnly" not in csrf_cookie
    assert answer.json()["role"] == "privacy_officer" and answer.json()["csrf_token"]
    api.client.cookies.set("privet_session", session.split(";")[0].split("=", 1)[1][:-3] + "abc")
    assert api.client.get("/api/v1/session").status_code == 401


def test_cookies_are_secure_when_the_public_url_is_https(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVET_PUBLIC_URL", "https://privacy.example.com")
    with serving(make_workspace(tmp_path / "ws")) as api:
        email = api.user("admin")
        answer = api.client.post("/api/v1/session", json={"email": email, "password": PASSWORD})
        assert all("Secure" in c for c in answer.headers.get_list("set-cookie"))
        assert answer.headers["strict-transport-security"].startswith("max-age=")


def test_csrf_is_required_for_changes_made_with_a_session(any_api: Api) -> None:
    api = any_api
    browser, csrf = api.sign_in("privacy_officer")
    body = {"kind": "access", "email": "csrf@example.com", "jurisdiction": "eu"}
    refused = browser.post("/api/v1/requests", json=body)
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_refused"
    wrong = browser.post("/api/v1/requests", json=body, headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    assert browser.get("/api/v1/requests").status_code == 200  # reading needs no token
    accepted = browser.post("/api/v1/requests", json=body, headers={"X-CSRF-Token": csrf})
    assert accepted.status_code == 201
    # An API key carries no ambient credential: no token needed.
    assert api.client.post("/api/v1/requests", json=body, headers=api.headers("privacy_officer")).status_code == 201
    signed_out = browser.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})
    assert signed_out.status_code == 204
    assert browser.get("/api/v1/requests").status_code == 401


def test_a_form_field_carries_the_csrf_token_too(api: Api) -> None:
    browser, csrf = api.sign_in("admin")
    assert browser.delete("/api/v1/session").status_code == 403
    done = browser.request("DELETE", "/api/v1/session", data={"csrf_token": csrf},
                           headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert done.status_code == 204


def test_login_does_not_tell_unknown_users_from_wrong_passwords(api: Api) -> None:
    email = api.user("analyst")
    wrong = api.client.post("/api/v1/session", json={"email": email, "password": "not the password"})
    unknown = api.client.post("/api/v1/session", json={"email": "ghost@staff.example", "password": "whatever"})
    invalid = api.client.post("/api/v1/session", json={"email": "not an email", "password": "whatever"})
    assert wrong.status_code == unknown.status_code == invalid.status_code == 401
    assert wrong.json() == unknown.json() == invalid.json()


def test_public_answers_do_not_depend_on_who_is_known(api: Api) -> None:
    api.client.post("/api/v1/consent/events", json={"key": "marketing_email", "granted": True,
                    "identifier": "email:known@example.com"}, headers=api.headers())  # fmt: skip
    replies: list[tuple[object, ...]] = []
    for email in ("known@example.com", "stranger@example.com"):
        answer = api.client.post("/api/v1/public/requests", json={"kind": "deletion", "email": email,
                                                                  "jurisdiction": "eu"})  # fmt: skip
        assert answer.status_code == 202
        body = answer.json()
        replies.append((body["message"], sorted(body)))
        status = api.client.get("/api/v1/public/requests/status", params={"token": api.emailed_token(email)}).json()
        replies.append((status["state"], status["awaiting_code"], sorted(status)))
    assert replies[0] == replies[2] and replies[1] == replies[3]
    browsers = [str(uuid.uuid4()), str(uuid.uuid4())]
    api.client.post("/api/v1/consent/choices", json={"browser_id": browsers[0], "choices": {}})
    seen = [api.client.post("/api/v1/consent/choices", json={"browser_id": b, "choices": {"analytics_cookies": True}})
            for b in browsers]  # fmt: skip
    assert seen[0].status_code == seen[1].status_code == 200 and seen[0].json() == seen[1].json()
    forged = api.client.get("/api/v1/public/requests/status", params={"token": "r123.abcdef.ghijkl"})
    assert forged.status_code == 404


def test_a_repeated_submission_gets_the_same_reply_and_its_link_goes_only_to_the_mailbox(api: Api) -> None:
    body = {"kind": "deletion", "email": "rae@example.com", "jurisdiction": "eu"}
    first = api.client.post("/api/v1/public/requests", json=body)
    again = api.client.post("/api/v1/public/requests", json=body)
    assert (first.status_code, first.json()) == (again.status_code, again.json()) == (202, {"message": first.json()["message"]})
    [reminder] = [m for m in api.runtime.outbox.all() if m.kind == "already_open"]
    assert reminder.to == "rae@example.com" and api.emailed_token("rae@example.com") in reminder.body


def test_public_submissions_are_rate_limited_per_address(limited: Api, clock: list[float]) -> None:
    body = {"kind": "access", "email": "rate@example.com", "jurisdiction": "eu"}
    assert [limited.client.post("/api/v1/public/requests", json=body).status_code for _ in range(3)] == [202] * 3
    refused = limited.client.post("/api/v1/public/requests", json=body)
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) == 60
    clock[0] += 61
    assert limited.client.post("/api/v1/public/requests", json=body).status_code == 202


def test_the_banner_and_login_are_rate_limited(limited: Api) -> None:
    body = {"browser_id": str(uuid.uuid4()), "choices": {"analytics_cookies": False}}
    codes = [limited.client.post("/api/v1/consent/choices", json=body).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    logins = [limited.client.post("/api/v1/session", json={"email": "x@y.z", "password": "p"}).status_code
              for _ in range(6)]  # fmt: skip
    assert logins == [401] * 5 + [429]


def test_repeated_wrong_codes_lock_the_address_out(limited: Api, clock: list[float]) -> None:
    tokens = []
    for n in range(2):
        receipt = limited.client.post("/api/v1/public/requests", json={"kind": "access", "email": f"l{n}@example.com",
                                                                       "jurisdiction": "eu"})  # fmt: skip
        assert receipt.status_code == 202
        tokens.append(limited.emailed_token(f"l{n}@example.com"))
    statuses = [limited.client.post("/api/v1/public/requests/code", json={"token": tokens[n % 2], "code": "000000"})
                .json()["status"] for n in range(4)]  # fmt: skip
    assert statuses == ["wrong"] * 4
    locked = limited.client.post("/api/v1/public/requests/code", json={"token": tokens[0], "code": "000000"})
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) == 900
    clock[0] += 901
    assert limited.client.post("/api/v1/public/requests/code", json={"token": tokens[0], "code": "000000"}
                               ).json()["status"] == "wrong"  # fmt: skip


def test_api_keys_are_stored_hashed_scoped_and_revocable(api: Api) -> None:
    created = api.client.post("/api/v1/staff/keys", json={"name": "crm", "role": "system", "scopes": ["decide"]},
                              headers=api.headers("admin"))  # fmt: skip
    assert created.status_code == 201
    token, key_id = created.json()["token"], created.json()["key"]["key_id"]
    with api.runtime.db.engine.connect() as conn:
        stored = conn.execute(sa.select(staff_api_keys).where(staff_api_keys.c.key_id == key_id)).one()
    assert token not in str(tuple(stored)) and stored.token_sha256 == token_digest(token)
    mine = {"Authorization": f"Bearer {token}"}
    decide = {"purpose": "marketing.communications.sms", "category": "user.contact.phone_number"}
    assert api.client.post("/api/v1/decisions", json=decide, headers=mine).status_code == 200
    narrowed = api.client.post("/api/v1/consent/events", headers=mine, json={
        "key": "marketing_sms", "granted": True, "identifier": "user_id:1"})  # fmt: skip
    assert narrowed.status_code == 403  # the system role may, but this key is limited to decide
    listed = {k["key_id"]: k for k in api.client.get("/api/v1/staff/keys", headers=api.headers()).json()}
    assert listed[key_id]["last_used_at"] is not None and "token" not in listed[key_id]
    assert api.client.delete(f"/api/v1/staff/keys/{key_id}", headers=api.headers()).json()["revoked_at"]
    gone = api.client.post("/api/v1/decisions", json=decide, headers=mine)
    assert gone.status_code == 401 and gone.headers["www-authenticate"] == "Bearer"
    assert api.client.get("/api/v1/session", headers={"X-API-Key": api.headers()["Authorization"][7:]}).json()[
        "role"] == "admin"


def test_disabling_a_user_ends_their_session(api: Api) -> None:
    browser, _ = api.sign_in("analyst")
    assert browser.get("/api/v1/metrics", params={"year": 2025}).status_code == 200
    with api.runtime.db.engine.begin() as conn:
        conn.execute(sa.update(staff_users).where(staff_users.c.role == "analyst").values(
            disabled=True, session_epoch=staff_users.c.session_epoch + 1))  # fmt: skip
    for user in api.app.state.auth.staff.users():  # the cache would forget within seconds; the test cannot wait
        api.app.state.auth.forget_user(user.user_id)
    assert browser.get("/api/v1/metrics", params={"year": 2025}).status_code == 401


@pytest.mark.parametrize("path", ["/api/v1/ping", "/api/v1/documents/notice.html", "/api/v1/nothing", "/openapi.json",
                                  "/api/v1/requests"])  # fmt: skip
def test_strict_security_headers_on_every_response(api: Api, path: str) -> None:
    answer = api.client.get(path)
    assert answer.headers["content-security-policy"].startswith(STRICT_CSP)
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert "camera=()" in answer.headers["permissions-policy"]
    assert answer.headers["x-frame-options"] == "DENY"
    assert "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize("path", ["/banner.js", "/api/v1/consent/config?site=anker"])
def test_what_other_sites_embed_is_cross_origin(api: Api, path: str) -> None:
    answer = api.client.get(path, headers={"Origin": "https://shop.example"})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "content-security-policy" not in answer.headers and "x-frame-options" not in answer.headers
    assert answer.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "max-age" in answer.headers["cache-control"]


def test_the_banner_script_is_served_with_caching(api: Api) -> None:
    answer = api.client.get("/banner.js")
    assert answer.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "globalPrivacyControl" in answer.text
    again = api.client.get("/banner.js", headers={"If-None-Match": answer.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("path", ["/api/v1/consent/choices", "/api/v1/consent/config"])
def test_cors_preflight_on_the_banner_endpoints(api: Api, path: str) -> None:
    answer = api.client.options(path, headers={"Origin": "https://shop.example", "Access-Control-Request-Method":
                                               "POST", "Access-Control-Request-Headers": "content-type"})  # fmt: skip
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert answer.headers["access-control-allow-headers"].lower() == "content-type"
    assert answer.headers["access-control-max-age"] == "600"
