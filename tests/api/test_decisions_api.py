"""Decisions over HTTP: one at a time, and batches of up to 10,000 in one call."""

from __future__ import annotations

from tests.api.conftest import Api

SMS_MARKETING = {"purpose": "marketing.communications.sms", "category": "user.contact.phone_number"}


def test_a_decision_follows_the_ledger_and_names_its_evidence(any_api: Api) -> None:
    api = any_api

    def decide(role: str = "system") -> dict[str, object]:
        answer = api.client.post("/api/v1/decisions", json={**SMS_MARKETING, "identifier": "user_id:ann"},
                                 headers=api.headers(role))  # fmt: skip
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def record(granted: bool, event_id: str) -> None:
        body = {"key": "marketing_sms", "granted": granted, "identifier": "user_id:ann", "event_id": event_id}
        assert api.client.post("/api/v1/consent/events", json=body, headers=api.headers("system")).status_code == 201

    before = decide()
    assert (before["outcome"], before["rule"], before["evidence_event"]) == ("deny", "consent_missing", None)
    record(True, "signup-1")
    after = decide("analyst")
    assert (after["outcome"], after["basis"], after["consent_key"], after["evidence_event"]) == (
        "allow", "consent", "marketing_sms", "signup-1")
    assert after["reasons"] and after["activity"] and after["cites"]
    record(False, "stop-1")
    withdrawn = decide()
    assert (withdrawn["outcome"], withdrawn["rule"], withdrawn["evidence_event"]) == (
        "deny", "consent_withdrawn", "stop-1")


def test_someone_unknown_is_decided_as_a_newcomer_without_saying_so(api: Api) -> None:
    unknown = api.client.post("/api/v1/decisions", json={**SMS_MARKETING, "identifier": "email:nobody@example.com"},
                              headers=api.headers("system"))  # fmt: skip
    anonymous = api.client.post("/api/v1/decisions", json=SMS_MARKETING, headers=api.headers("system"))
    assert unknown.status_code == anonymous.status_code == 200
    assert unknown.json() == anonymous.json()


def test_ten_thousand_decisions_in_one_call(any_api: Api) -> None:
    api = any_api
    for n in range(5):
        api.client.post("/api/v1/consent/events", headers=api.headers(), json={
            "key": "marketing_sms", "granted": n % 2 == 0, "identifier": f"user_id:{n}"})  # fmt: skip
    items = [{**SMS_MARKETING, "identifier": f"user_id:{n % 7}"} for n in range(10_000)]
    answer = api.client.post("/api/v1/decisions/batch", json={"items": items}, headers=api.headers("system"))
    assert answer.status_code == 200, answer.text[:500]
    decisions = answer.json()["decisions"]
    assert len(decisions) == 10_000
    assert [d["outcome"] for d in decisions[:7]] == ["allow", "deny", "allow", "deny", "allow", "deny", "deny"]


def test_ten_thousand_and_one_decisions_are_refused_as_a_problem(api: Api) -> None:
    items = [SMS_MARKETING] * 10_001
    answer = api.client.post("/api/v1/decisions/batch", json={"items": items}, headers=api.headers("system"))
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["code"] == "invalid_input" and problem["status"] == 422
    assert problem["detail"].startswith("body.items:") and "10000" in problem["detail"]
    empty = api.client.post("/api/v1/decisions/batch", json={"items": []}, headers=api.headers("system"))
    assert empty.status_code == 422


def test_a_batch_with_an_unknown_purpose_names_it(api: Api) -> None:
    items = [SMS_MARKETING, {**SMS_MARKETING, "purpose": "marketing.comunications.sms"}]
    answer = api.client.post("/api/v1/decisions/batch", json={"items": items}, headers=api.headers())
    assert answer.status_code == 422 and answer.json()["code"] == "policy_unknown_term"
    assert "marketing.comunications.sms" in answer.json()["detail"]
