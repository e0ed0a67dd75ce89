"""Data-subject requests over HTTP: staff and public flows, verification by emailed code, steps, appeals, packages."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

from privet.api.links import LinkPurpose, Links
from privet.fulfilment.executor import StepRecord, StepState
from tests.api.conftest import Api

REQUESTS = "/api/v1/requests"


def submit(api: Api, kind: str = "access", jurisdiction: str | None = "us-va", email: str = "bob@example.com",
           role: str = "privacy_officer") -> dict[str, object]:  # fmt: skip
    answer = api.client.post(REQUESTS, json={"kind": kind, "email": email, "jurisdiction": jurisdiction,
                                             "name": "Bob"}, headers=api.headers(role))  # fmt: skip
    assert answer.status_code == 201, answer.text
    return dict(answer.json()["request"])


def step(api: Api, request_id: str, path: str, body: dict[str, object] | None = None,
         status: int = 200) -> dict[str, Any]:  # fmt: skip
    answer = api.client.post(f"{REQUESTS}/{request_id}/{path}", json=body, headers=api.headers("privacy_officer"))
    assert answer.status_code == status, answer.text
    return dict(answer.json())


def test_submit_verify_by_code_advance_fulfil_and_appeal(any_api: Api) -> None:
    api = any_api
    request = submit(api)
    rid = str(request["request_id"])
    assert request["state"] == "receipt_confirmed" and request["jurisdiction"] == "us-va"

    assert step(api, rid, "verification/send")["state"] == "verifying"
    wrong = step(api, rid, "verification/check", {"code": "000000"})
    assert (wrong["status"], wrong["attempts_left"], wrong["state"]) == ("wrong", 4, "verifying")
    right = step(api, rid, "verification/check", {"code": api.code_of(rid)})
    assert (right["status"], right["state"]) == ("ok", "verified")

    assert step(api, rid, "events", {"event": "start"})["state"] == "in_progress"
    detail = api.client.get(f"{REQUESTS}/{rid}", headers=api.headers("privacy_officer")).json()
    assert "fulfil" in detail["allowed_events"] and detail["package_available"] is False
    assert [m["kind"] for m in detail["messages"]] == ["receipt", "verification_code"]
    assert {"received", "code_checked", "verified", "start"} <= {e["action"] for e in detail["timeline"]}

    done = step(api, rid, "events", {"event": "fulfil", "text": "copy sent by post"})
    assert done["state"] == "fulfilled" and done["responded_at"]
    appealed = step(api, rid, "appeal", {"text": "The copy misses my orders."})
    assert appealed["state"] == "appealed" and appealed["appeal_text"] == "The copy misses my orders."
    decided = step(api, rid, "events", {"event": "decide_appeal", "outcome": "reversed", "reasons": ["orders added"]})
    assert (decided["state"], decided["appeal_outcome"]) == ("in_progress", "reversed")  # acted on, not closed
    assert decided["due"] == decided["appeal_dates"]["due"]
    redone = step(api, rid, "events", {"event": "fulfil", "text": "a new copy with the orders"})
    assert (redone["state"], redone["response_state"]) == ("fulfilled", "fulfilled")

    audit = api.client.get("/api/v1/audit/verify", headers=api.headers()).json()
    assert audit["ok"] and audit["entries_checked"] >= 8


def test_deny_and_extend_need_reasons_and_follow_the_law(any_api: Api) -> None:
    api = any_api
    rid = str(submit(api, jurisdiction="eu", email="eve@example.com")["request_id"])
    extended = step(api, rid, "extend", {"reason": "many requests this month"})
    assert extended["state"] == "extended" and extended["due"] == extended["dates"]["extended_due"]
    again = step(api, rid, "extend", {"reason": "still busy"}, status=409)
    assert again["code"] == "illegal_transition" and "cannot extend" in again["detail"]
    no_reason = step(api, rid, "deny", {"reasons": []}, status=422)
    assert no_reason["code"] == "invalid_input"
    denied = step(api, rid, "deny", {"reasons": ["we hold no data about you"]})
    assert denied["state"] == "denied" and denied["outcome_reasons"] == ["we hold no data about you"]


def test_requests_are_listed_by_urgency_with_filters(api: Api) -> None:
    slow = submit(api, jurisdiction="us-ca", email="a@example.com")  # 45 days
    fast = submit(api, jurisdiction="eu", email="b@example.com")  # one month
    closed = submit(api, jurisdiction="eu", email="c@example.com")
    step(api, str(closed["request_id"]), "deny", {"reasons": ["duplicate of another request"]})
    listed = api.client.get(REQUESTS, headers=api.headers("privacy_officer")).json()
    assert [i["request_id"] for i in listed["items"]] == [fast["request_id"], slow["request_id"]]
    everything = api.client.get(REQUESTS, params={"open": "false"}, headers=api.headers("privacy_officer")).json()
    assert everything["total"] == 3 and everything["items"][-1]["state"] == "denied"
    only_ca = api.client.get(REQUESTS, params={"jurisdiction": "us-ca", "state": ["receipt_confirmed"]},
                             headers=api.headers("privacy_officer")).json()  # fmt: skip
    assert [i["request_id"] for i in only_ca["items"]] == [slow["request_id"]]


def test_a_duplicate_submission_is_recognised_not_doubled(api: Api) -> None:
    first = api.client.post(REQUESTS, json={"kind": "deletion", "email": "dan@example.com", "jurisdiction": "eu"},
                            headers=api.headers()).json()  # fmt: skip
    second = api.client.post(REQUESTS, json={"kind": "deletion", "email": "DAN@example.com", "jurisdiction": "eu"},
                             headers=api.headers()).json()  # fmt: skip
    assert second["duplicate"] is True and second["request"]["request_id"] == first["request"]["request_id"]


def test_the_public_flow_submit_status_code_and_appeal(any_api: Api) -> None:
    api = any_api
    receipt = api.client.post("/api/v1/public/requests", json={"kind": "access", "email": "pia@example.com",
                                                              "jurisdiction": "us-co"})  # fmt: skip
    assert receipt.status_code == 202, receipt.text
    assert sorted(receipt.json()) == ["message"]  # the private link goes to the mailbox, never in the reply
    token = api.emailed_token("pia@example.com")
    status = api.client.get("/api/v1/public/requests/status", params={"token": token}).json()
    assert (status["state"], status["awaiting_code"]) == ("verifying", True)
    rid = status["reference"]
    assert api.client.get(f"{REQUESTS}/{rid}", headers=api.headers()).json()["request"]["channel"] == "web"

    checked = api.client.post("/api/v1/public/requests/code", json={"token": token, "code": api.code_of(rid)})
    assert checked.json() == {"status": "ok", "attempts_left": 5, "state": "verified"}
    again = api.client.post("/api/v1/public/requests/code", json={"token": token, "code": "123456"}).json()
    assert again["status"] == "used"

    too_early = api.client.post("/api/v1/public/requests/appeal", json={"token": token, "text": "why?"})
    assert too_early.status_code == 409 and too_early.json()["code"] == "illegal_transition"
    step(api, rid, "deny", {"reasons": ["the account was closed in 2019"]})
    appealed = api.client.post("/api/v1/public/requests/appeal", json={"token": token, "text": "It was not."})
    assert appealed.status_code == 200 and appealed.json()["state"] == "appealed"


def test_a_new_code_can_be_asked_for_and_replaces_the_old(api: Api) -> None:
    api.client.post("/api/v1/public/requests", json={"kind": "deletion", "email": "rex@example.com",
                                                     "jurisdiction": "eu"})  # fmt: skip
    token = api.emailed_token("rex@example.com")
    rid = api.client.get("/api/v1/public/requests/status", params={"token": token}).json()["reference"]
    old = api.code_of(rid)
    assert api.client.post("/api/v1/public/requests/code/resend", json={"token": token}).status_code == 200
    new = api.code_of(rid)
    if old != new:
        stale = api.client.post("/api/v1/public/requests/code", json={"token": token, "code": old}).json()
        assert stale["status"] == "wrong"
    assert api.client.post("/api/v1/public/requests/code", json={"token": token, "code": new}).json()["state"] == \
        "verified"


def _package(api: Api, request_id: str, tmp_path: Path) -> bytes:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("data.json", "{}")
    path = tmp_path / f"{request_id}.zip"
    path.write_bytes(data.getvalue())
    api.runtime.checkpoints.put(StepRecord(request_id, "access", "*", StepState.DONE, 0, detail={"package": str(path)}),
                                api.runtime.now())  # fmt: skip
    return data.getvalue()


def test_access_package_for_staff_and_by_signed_link(api: Api, tmp_path: Path) -> None:
    rid = str(submit(api)["request_id"])
    missing = api.client.get(f"{REQUESTS}/{rid}/package", headers=api.headers("privacy_officer"))
    assert missing.status_code == 404
    content = _package(api, rid, tmp_path)
    staff = api.client.get(f"{REQUESTS}/{rid}/package", headers=api.headers("privacy_officer"))
    assert staff.status_code == 200 and staff.content == content
    assert staff.headers["content-type"] == "application/zip"

    links = api.client.post(f"{REQUESTS}/{rid}/links", headers=api.headers("privacy_officer")).json()
    url = links["download_url"].removeprefix(api.runtime.settings.public_url.rstrip("/"))
    assert api.client.get(url).content == content
    token = url.split("token=")[1]
    assert api.client.get("/api/v1/public/packages", params={"token": token[:-2] + "xx"}).status_code == 404
    status_token = links["status_url"].split("token=")[1]  # a status link is not a download link
    assert api.client.get("/api/v1/public/packages", params={"token": status_token}).status_code == 404


def test_links_expire(api: Api) -> None:
    made_at = dt.datetime(2025, 1, 1, tzinfo=dt.UTC).timestamp()
    clock = [made_at]
    links = Links(api.runtime.settings.secret_key, lambda: clock[0])
    link = links.make(LinkPurpose.STATUS, "r1")
    assert links.read(LinkPurpose.STATUS, link.token) == "r1"
    assert link.expires_at == dt.datetime(2025, 1, 2, tzinfo=dt.UTC)
    clock[0] += 25 * 3600
    api.app.state.services.links = links
    answer = api.client.get("/api/v1/public/requests/status", params={"token": link.token})
    assert answer.status_code == 404 and "expired" in answer.json()["detail"]


def test_an_agents_authority_is_reviewed_over_the_api(any_api: Api) -> None:
    api = any_api
    body = {"kind": "access", "email": "una@example.com", "jurisdiction": "us-ca",
            "agent": {"name": "Dee Agent", "email": "dee@agency.example", "evidence": "signed_letter",
                      "document_ref": "letter-1.pdf", "scope": ["access"]}}  # fmt: skip
    answer = api.client.post(REQUESTS, json=body, headers=api.headers("privacy_officer"))
    assert answer.status_code == 201, answer.text
    rid = str(answer.json()["request"]["request_id"])
    checks: dict[str, object] = {"document": "signed_letter", "names_person": True, "names_agent": True,
                                 "states_authorisation": True, "signed": True}  # fmt: skip
    asked = step(api, rid, "agent", checks)
    assert (asked["outcome"], asked["person_asked"], asked["cites"]) == ("needs_person_confirmation", True,
                                                                         ["11 CCR 7063(a)"])  # fmt: skip
    assert asked["request"]["agent"]["reviewed"] and not asked["request"]["agent"]["approved"]
    assert [m.to for m in api.runtime.outbox.for_request(rid) if m.kind == "agent_confirmation"] == ["una@example.com"]
    rejected = step(api, rid, "agent", {**checks, "signed": False})
    assert rejected["outcome"] == "rejected" and "not signed by the person" in rejected["reasons"][0]
    approved = step(api, rid, "agent", {**checks, "person_confirmed": True})
    assert approved["outcome"] == "approved" and approved["request"]["agent"]["confirmed_by_person"]
    assert approved["request"]["state"] == "receipt_confirmed"  # the person must still be verified for access
    detail = api.client.get(f"{REQUESTS}/{rid}", headers=api.headers("privacy_officer")).json()
    assert [e["action"] for e in detail["timeline"]].count("agent_reviewed") == 3

    assert step(api, rid, "agent", {**checks, "document": "fax"}, status=422)["code"] == "invalid_input"
    plain = str(submit(api, email="val@example.com")["request_id"])
    refused = step(api, plain, "agent", checks, status=422)
    assert refused["code"] == "request_invalid" and "has no authorised agent" in refused["detail"]
    assert step(api, "rnosuchrequest", "agent", checks, status=404)["code"] == "not_found"


def test_a_residence_is_understood_or_refused_never_denied(api: Api) -> None:
    assert submit(api, jurisdiction="de", email="wim@example.com")["jurisdiction"] == "eu"
    answer = api.client.post(REQUESTS, json={"kind": "access", "email": "xo@example.com", "jurisdiction": "us-fl"},
                             headers=api.headers("privacy_officer"))  # fmt: skip
    assert answer.status_code == 422 and answer.json()["code"] == "request_invalid"
    assert "unknown residence 'us-fl'" in answer.json()["detail"] and "us-ca" in answer.json()["detail"]
    assert not [r for r in api.runtime.requests.all() if r.requester.email == "xo@example.com"]
