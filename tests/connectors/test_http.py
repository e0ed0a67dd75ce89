"""What only the HTTP connector promises: the YAML spec, auth, pagination, bounded concurrency, careful errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from privet.connectors import HttpConnector, HttpSpec
from privet.fulfilment.ports import Column, ColumnType, ConnectorError, Update
from tests.connectors.conftest import ORDERS, USERS, chain_text, http_spec
from tests.connectors.fake_service import TOKEN, FakeService, running

SPEC_YAML = """
base_url: {url}
auth: {{type: bearer, token: helpdesk_token}}
timeout: 0.5
concurrency: 2
collections:
  tickets:
    fields: {{id: integer, user_id: integer, subject: text}}
    read:
      user_id:
        path: /tickets
        param: user_id
        batch: 10
        pagination: {{type: link}}
    delete: {{method: DELETE, path: "/tickets/{{key}}"}}
"""

TICKETS = [{"id": i, "user_id": 1 + i % 2, "subject": f"help {i}"} for i in range(1, 8)]


@pytest.fixture
def helpdesk() -> Iterator[FakeService]:
    with running(FakeService({"tickets": TICKETS, "users": USERS}, {"tickets": "link"}, page_size=2)) as fake:
        yield fake


def from_yaml(tmp_path: Path, url: str) -> HttpSpec:
    path = tmp_path / "helpdesk.yml"
    path.write_text(SPEC_YAML.format(url=url))
    return HttpSpec.from_yaml(path)


def test_a_spec_read_from_yaml_follows_link_pages(tmp_path: Path, helpdesk: FakeService) -> None:
    connector = HttpConnector("helpdesk", from_yaml(tmp_path, helpdesk.url), {"helpdesk_token": TOKEN})

    rows = connector.select("tickets", "user_id", [2], columns=["id", "subject"])

    assert rows == [{"id": t["id"], "subject": t["subject"]} for t in TICKETS if t["user_id"] == 2]
    assert helpdesk.gets("tickets") == 2  # 4 tickets, 2 a page
    assert connector.describe("tickets") == {
        "id": Column("id", ColumnType.INTEGER),
        "user_id": Column("user_id", ColumnType.INTEGER),
        "subject": Column("subject", ColumnType.TEXT),
    }
    assert connector.describe("users") is None
    connector.close()


def test_a_next_link_to_another_site_is_refused(tmp_path: Path, helpdesk: FakeService) -> None:
    helpdesk.next_link_host = "http://collector.example.test"
    connector = HttpConnector("helpdesk", from_yaml(tmp_path, helpdesk.url), {"helpdesk_token": TOKEN})

    with pytest.raises(ConnectorError, match="links its next page to another site"):
        connector.select("tickets", "user_id", [1])


def test_calls_per_key_run_with_bounded_concurrency(tmp_path: Path, helpdesk: FakeService) -> None:
    helpdesk.delay = 0.05
    connector = HttpConnector("helpdesk", from_yaml(tmp_path, helpdesk.url), {"helpdesk_token": TOKEN})

    assert connector.delete("tickets", "id", [1, 2, 3, 4, 5, 6, 99]) == 6

    assert helpdesk.most_in_flight == 2
    assert sorted(helpdesk.records["tickets"]) == [7]


def test_batched_updates_and_deletes(service: FakeService) -> None:
    connector = HttpConnector("shop", http_spec(service.url), {"api_token": TOKEN})

    changed = connector.update(
        "orders", "id", [Update(k, {"total": 0.0}) for k in (10, 11, 12)] + [Update(99, {"total": 1.0})]
    )

    assert changed == 3
    assert [m for m, p in service.calls] == ["POST", "POST"]
    assert [service.records["orders"][k]["total"] for k in (10, 11, 12, 13)] == [0.0, 0.0, 0.0, 7.0]


def test_a_service_ignoring_the_parameter_does_not_leak_other_people(service: FakeService) -> None:
    spec = http_spec(service.url)
    users = spec.collections["users"]
    sloppy = users.read["email"].model_copy(update={"param": "q"})  # the service does not know `q`
    spec = spec.model_copy(update={"collections": {"users": users.model_copy(update={"read": {"email": sloppy}})}})
    connector = HttpConnector("shop", spec, {"api_token": TOKEN})

    assert connector.select("users", "email", ["cy@example.test"]) == [USERS[2]]


def test_a_path_value_cannot_change_the_path() -> None:
    paths: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode())
        return httpx.Response(404)

    spec = http_spec("https://shop.example.test/api")
    connector = HttpConnector("shop", spec, {"api_token": "t"}, transport=httpx.MockTransport(answer))

    assert connector.select("users", "id", ["1/../../admin?x=1"]) == []
    assert paths == ["/api/users/1%2F..%2F..%2Fadmin%3Fx%3D1"]


@pytest.mark.parametrize(
    ("auth", "secrets", "header", "value"),
    [
        ({"type": "bearer", "token": "t"}, {"t": "abc"}, "authorization", "Bearer abc"),
        ({"type": "header", "header": "X-Api-Key", "value": "k"}, {"k": "abc"}, "x-api-key", "abc"),
        (
            {"type": "basic", "username": "privet", "password": "p"},
            {"p": "abc"},
            "authorization",
            "Basic cHJpdmV0OmFiYw==",
        ),
    ],
)
def test_each_kind_of_auth(auth: dict[str, Any], secrets: dict[str, str], header: str, value: str) -> None:
    seen: list[httpx.Headers] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(200, json={"data": USERS[0]})

    spec = HttpSpec.model_validate({**http_spec("https://shop.example.test").model_dump(mode="json"), "auth": auth})
    connector = HttpConnector("shop", spec, secrets, transport=httpx.MockTransport(answer))

    assert connector.select("users", "id", [1]) == [USERS[0]]
    assert seen[0][header] == value


def test_a_missing_secret_is_named_not_guessed() -> None:
    with pytest.raises(ConnectorError, match=r"^shop: the secret 'api_token' is not set$"):
        HttpConnector("shop", http_spec("https://shop.example.test"), {})


def test_errors_give_status_and_system_but_no_secret_nor_identity(service: FakeService) -> None:
    service.fail_with = 500
    connector = HttpConnector("shop", http_spec(service.url), {"api_token": TOKEN})

    with pytest.raises(ConnectorError) as error:
        connector.select("users", "email", ["ada@example.test"])

    assert str(error.value) == "shop: GET /users answered HTTP 500 Internal Server Error"
    everything = chain_text(error.value)
    assert TOKEN not in everything
    assert "ada@example.test" not in everything


def test_a_wrong_token_is_reported_without_it(service: FakeService) -> None:
    connector = HttpConnector("shop", http_spec(service.url), {"api_token": "wrong-token-value"})

    with pytest.raises(ConnectorError, match="HTTP 401") as error:
        connector.delete("orders", "id", [10])
    assert "wrong-token-value" not in str(error.value)
    assert len(service.records["orders"]) == len(ORDERS)


def test_a_slow_service_times_out(service: FakeService) -> None:
    spec = HttpSpec.model_validate(
        {
            "base_url": service.url,
            "timeout": 0.2,
            "collections": {"slow": {"read": {"id": {"path": "/slow", "param": "id"}}}},
        }
    )
    connector = HttpConnector("shop", spec, {})

    with pytest.raises(ConnectorError, match=r"^shop: GET /slow timed out after 0.2 s$"):
        connector.select("slow", "id", [1])


def test_an_unreachable_service() -> None:
    with running(FakeService({}, {})) as gone:
        url = gone.url
    connector = HttpConnector("shop", http_spec(url), {"api_token": TOKEN})

    with pytest.raises(ConnectorError, match=r"^shop: GET /users failed: ConnectError$"):
        connector.select("users", "email", ["ada@example.test"])


def test_changes_must_use_the_declared_key_and_a_declared_endpoint(service: FakeService) -> None:
    spec = http_spec(service.url)
    users = spec.collections["users"].model_copy(update={"delete": None})
    spec = spec.model_copy(update={"collections": {**spec.collections, "users": users}})
    connector = HttpConnector("shop", spec, {"api_token": TOKEN})

    with pytest.raises(ConnectorError, match="addressed by 'id', not 'email'"):
        connector.update("users", "email", [Update("ada@example.test", {"name": "x"})])
    with pytest.raises(ConnectorError, match="no way to delete 'users'"):
        connector.delete("users", "id", [1])
    with pytest.raises(ConnectorError, match="cannot be searched by 'name'"):
        connector.select("users", "name", ["Ada"])


def test_a_bad_spec_names_the_place_and_hides_the_values(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(
        "base_url: https://x.test\n"
        "headers: sk_live_do_not_show\n"
        "collections:\n"
        "  users:\n"
        "    read: {email: {path: '/users/{value}', param: email}}\n"
    )

    with pytest.raises(ConnectorError, match=r"collections\.users\.read\.email: Value error, put the value") as error:
        HttpSpec.from_yaml(path)
    assert "sk_live_do_not_show" not in chain_text(error.value)
