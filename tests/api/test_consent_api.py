"""Consent over HTTP: record, read back, history, batches, GPC, the banner's endpoints, GPP."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import uuid
from concurrent.futures import ThreadPoolExecutor

from privet.api.consent_writer import ConsentWriter, Job
from privet.consent.events import LedgerError, Source
from privet.consent.identifiers import Identifier
from privet.consent.ledger import ChoiceInput, ChoiceSet, Recorded
from tests.api.conftest import Api
from tests.web.fake_privet import config as banner_contract

EVENTS = "/api/v1/consent/events"
SIGNALS = {"opt_out.sale", "opt_out.sharing", "opt_out.targeted_advertising"}


def choices_of(api: Api, **who: str) -> dict[str, tuple[bool, str]]:
    answer = api.client.get("/api/v1/consent/state", params=who, headers=api.headers())
    assert answer.status_code == 200, answer.text
    return {c["key"]: (c["granted"], c["source"]) for c in answer.json()["choices"]}


def test_a_choice_is_recorded_read_back_and_kept_in_history(any_api: Api) -> None:
    api = any_api
    first = api.client.post(EVENTS, headers=api.headers("system"), json={
        "key": "marketing_email", "granted": True, "identifier": "email:Ann@Example.com", "source": "app_setting",
        "at": "2025-03-01T10:00:00+00:00"})  # fmt: skip
    assert first.status_code == 201, first.text
    subject = first.json()["subject_id"]
    later = api.client.post(EVENTS, headers=api.headers("system"),
                            json={"key": "marketing_email", "granted": False, "subject_id": subject})  # fmt: skip
    assert later.status_code == 201 and later.json()["subject_id"] == subject

    assert choices_of(api, identifier="email:ann@example.com") == {"marketing_email": (False, "api")}
    assert choices_of(api, subject_id=subject) == {"marketing_email": (False, "api")}
    history = api.client.get("/api/v1/consent/history", params={"subject_id": subject}, headers=api.headers())
    events = history.json()["events"]
    assert [(e["granted"], e["source"]) for e in events] == [(True, "app_setting"), (False, "api")]
    assert events[0]["at"].startswith("2025-03-01T10:00:00") and events[0]["notice_hash"] == api.runtime.notice_hash


def test_the_same_event_id_is_one_event_and_other_facts_under_it_conflict(any_api: Api) -> None:
    api = any_api
    event = {"key": "analytics_cookies", "granted": True, "identifier": "user_id:42", "event_id": "crm-1",
             "at": "2025-01-01T00:00:00Z"}  # fmt: skip
    assert api.client.post(EVENTS, json=event, headers=api.headers()).json()["appended"] == 1
    again = api.client.post(EVENTS, json=event, headers=api.headers()).json()
    assert (again["appended"], again["duplicates"]) == (0, 1)
    clash = api.client.post(EVENTS, json={**event, "granted": False}, headers=api.headers())
    assert clash.status_code == 409 and clash.json()["code"] == "event_conflict"


def test_a_batch_is_recorded_whole_or_not_at_all(api: Api) -> None:
    good = {"key": "marketing_sms", "granted": True, "identifier": "phone:+44 20 7946 0000"}
    bad = {"key": "marketing_smoke_signals", "granted": True, "identifier": "phone:+44 20 7946 0000"}
    refused = api.client.post(f"{EVENTS}/batch", json={"events": [good, bad]}, headers=api.headers())
    assert refused.status_code == 422 and refused.json()["code"] == "consent_invalid"
    assert "marketing_smoke_signals" in refused.json()["detail"]
    nobody = api.client.get("/api/v1/consent/state", params={"identifier": "phone:+442079460000"},
                            headers=api.headers())  # fmt: skip
    assert nobody.status_code == 404
    done = api.client.post(f"{EVENTS}/batch", json={"events": [good, {**good, "key": "marketing_email"}]},
                           headers=api.headers())  # fmt: skip
    assert done.status_code == 201 and done.json()["appended"] == 2


def test_sec_gpc_records_the_opt_outs_for_the_person(any_api: Api) -> None:
    api = any_api
    plain = {"key": "analytics_cookies", "granted": True, "identifier": "user_id:gpc-off"}
    answer = api.client.post(EVENTS, json=plain, headers={**api.headers("system"), "Sec-GPC": "0"})
    assert answer.json()["gpc_recorded"] is False
    assert set(choices_of(api, identifier="user_id:gpc-off")) == {"analytics_cookies"}

    signalled = {**plain, "identifier": "user_id:gpc-on"}
    answer = api.client.post(EVENTS, json=signalled, headers={**api.headers("system"), "Sec-GPC": "1"})
    assert answer.status_code == 201 and answer.json()["gpc_recorded"] is True
    state = choices_of(api, identifier="user_id:gpc-on")
    assert {k for k, (granted, source) in state.items() if granted and source == "gpc"} == SIGNALS
    assert state["analytics_cookies"] == (True, "api")


def test_the_banner_config_keeps_the_contract_of_the_script(api: Api) -> None:
    answer = api.client.get("/api/v1/consent/config", params={"site": "anker"})
    assert answer.status_code == 200
    got, contract = answer.json(), banner_contract("v", True)
    assert set(contract) <= set(got)
    for category in got["categories"]:
        assert set(contract["categories"][1]) <= set(category)
        assert category["required"] is (category["consent_key"] is None)
    by_key = {c["key"]: c for c in got["categories"]}
    assert by_key["advertising"]["sale_or_sharing"] is True and by_key["analytics"]["sale_or_sharing"] is False
    assert got["gpc_honoured"] is True and got["notice_url"].endswith("/api/v1/documents/notice.html")
    assert api.client.get("/api/v1/consent/config", params={"site": "anker"}).json()["version"] == got["version"]


def test_banner_choices_are_recorded_for_the_browser_with_gpc(any_api: Api) -> None:
    api = any_api
    browser = str(uuid.uuid4())
    body = {"site": "anker", "browser_id": browser, "choices": {"analytics_cookies": True,
            "targeted_advertising": False}, "gpc": False, "source": "cookie_banner"}  # fmt: skip
    answer = api.client.post("/api/v1/consent/choices", json=body, headers={"Sec-GPC": "1", "Origin": "https://shop"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"choices": body["choices"], "gpc": True}
    assert answer.headers["access-control-allow-origin"] == "*"
    state = choices_of(api, identifier=f"browser:{browser}")
    assert state["analytics_cookies"] == (True, "cookie_banner")
    assert state["targeted_advertising"] == (False, "cookie_banner")
    assert {k for k, (_, source) in state.items() if source == "gpc"} == SIGNALS


def test_the_banner_may_only_record_the_cookie_consents_it_asks_about(api: Api) -> None:
    body = {"browser_id": str(uuid.uuid4()), "choices": {"marketing_email": True}}
    answer = api.client.post("/api/v1/consent/choices", json=body)
    assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json"
    assert "analytics_cookies" in answer.json()["detail"]
    not_a_browser_id = api.client.post("/api/v1/consent/choices", json={**body, "browser_id": "ann@example.com"})
    assert not_a_browser_id.status_code == 422 and not_a_browser_id.json()["code"] == "invalid_input"


def test_gpp_string_of_a_person_and_of_someone_unknown(api: Api) -> None:
    api.client.post(EVENTS, json={"key": "opt_out.sale", "granted": True, "identifier": "user_id:7"},
                    headers=api.headers())  # fmt: skip
    known = api.client.post("/api/v1/consent/gpp", json={"identifier": "user_id:7"}, headers=api.headers("system"))
    unknown = api.client.post("/api/v1/consent/gpp", json={"identifier": "user_id:8"}, headers=api.headers("system"))
    assert known.status_code == unknown.status_code == 200
    assert known.json()["gpp"].startswith("DBABL~") and known.json()["gpp"] != unknown.json()["gpp"]


def test_concurrent_writes_are_committed_together(api: Api) -> None:
    writer = api.app.state.services.writer
    before = (writer.batches, writer.jobs)

    def one(n: int) -> int:
        body = {"key": "analytics_cookies", "granted": n % 2 == 0, "identifier": f"user_id:c{n}",
                "at": (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat()}  # fmt: skip
        return int(api.client.post(EVENTS, json=body, headers=api.headers("system")).status_code)

    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(one, range(160))) == {201}
    batches, jobs = writer.batches - before[0], writer.jobs - before[1]
    assert jobs == 160 and batches < jobs
    assert choices_of(api, identifier="user_id:c3") == {"analytics_cookies": (False, "api")}


def _job(key: str, who: str, event_id: str | None = None) -> tuple[ChoiceInput, ...]:
    at = dt.datetime(2025, 5, 1, tzinfo=dt.UTC)
    return (ChoiceInput(key, True, Source.API, identifier=Identifier.parse(who), at=at, event_id=event_id),)


def _jobs(writer: ConsentWriter, *sets: tuple[ChoiceInput, ...]) -> list[Recorded | BaseException]:
    now = dt.datetime.now(dt.UTC)
    return writer.write([Job(ChoiceSet(choices, now), concurrent.futures.Future()) for choices in sets])


def test_a_refused_request_in_a_batch_fails_alone(any_api: Api) -> None:
    writer = ConsentWriter(any_api.runtime)
    answers = _jobs(writer, _job("marketing_sms", "user_id:a"), _job("no_such_key", "user_id:b"),
                    _job("marketing_sms", "user_id:c"))  # fmt: skip
    assert isinstance(answers[0], Recorded) and answers[0].result.appended == 1
    assert isinstance(answers[2], Recorded) and answers[2].result.appended == 1
    assert isinstance(answers[1], LedgerError) and "no_such_key" in str(answers[1])
    assert writer.batches == 1 and writer.jobs == 3


def test_repeated_event_ids_in_one_batch_are_answered_exactly(any_api: Api) -> None:
    writer = ConsentWriter(any_api.runtime)
    same = _job("marketing_sms", "user_id:d", event_id="crm-77")
    answers = _jobs(writer, same, same, same)
    assert [(a.result.appended, a.result.duplicates) for a in answers if isinstance(a, Recorded)] == [
        (1, 0), (0, 1), (0, 1)]  # fmt: skip
    history = any_api.client.get("/api/v1/consent/history", params={"identifier": "user_id:d"},
                                 headers=any_api.headers()).json()  # fmt: skip
    assert [e["event_id"] for e in history["events"]] == ["crm-77"]
