"""Schemathesis against /openapi.json: generated valid and invalid calls to every operation never get a 5xx, and
every answer (status, content type, body) is one the document describes.

Bounded to stay fast in CI: a few examples per operation (PRIVET_FUZZ_EXAMPLES raises it), derandomised, and a
time budget after which the remaining operations get one example each.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable

from tests.api.conftest import Api, make_workspace, serving

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

EXAMPLES = int(os.environ.get("PRIVET_FUZZ_EXAMPLES", "5"))
BUDGET_S = 60.0
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with serving(make_workspace(tmp_path_factory.mktemp("fuzz") / "ws")) as api:
        yield api


def _run(operation: Any, mode: GenerationMode, examples: int, headers: dict[str, str], failures: list[str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def run(case: Any) -> None:
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=CHECKS)
        except BaseException as exc:  # schemathesis raises a group of failures; keep going, report them all
            failures.append(f"{operation.label} [{mode.value}] {response.status_code}: {str(exc)[:600]}")

    with contextlib.suppress(Unsatisfiable):  # nothing to make invalid (no parameters, no body)
        run()


@pytest.mark.fuzz
def test_the_api_keeps_its_openapi_promises(fuzzed: Api) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed.app)
    headers = fuzzed.headers("admin")
    failures: list[str] = []
    started = time.monotonic()
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) > 40
    for operation in operations:
        late = time.monotonic() - started > BUDGET_S
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run(operation, mode, 1 if late else EXAMPLES, headers, failures)
    assert failures == []


def test_the_document_describes_problems_and_security(fuzzed: Api) -> None:
    document = fuzzed.client.get("/openapi.json").json()
    assert set(document["components"]["securitySchemes"]) == {"bearer", "apiKey", "session"}
    decisions = document["paths"]["/api/v1/decisions/batch"]["post"]
    assert decisions["x-privet-scope"] == "decide" and {"bearer": []} in decisions["security"]
    assert document["paths"]["/api/v1/ping"]["get"]["x-privet-scope"] == "public"
    assert decisions["responses"]["422"]["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
    assert set(document["components"]["schemas"]["Problem"]["required"]) == {"type", "title", "status", "detail",
                                                                              "code"}  # fmt: skip

