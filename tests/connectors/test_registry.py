"""Connectors are built from settings by kind; mistakes name the key, never the value."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import privet.connectors
from privet.connectors import (
    FilesConnector,
    HttpConnector,
    ManualConnector,
    SqlConnector,
    connector_for,
    kinds,
    register,
)
from privet.connectors.registry import FACTORIES
from privet.fulfilment.ports import Connector, ConnectorError
from tests.connectors.conftest import chain_text, http_spec


def test_the_package_exports_what_it_says() -> None:
    public = {n for n, v in vars(privet.connectors).items() if not n.startswith("_") and not isinstance(v, ModuleType)}
    assert sorted(privet.connectors.__all__) == sorted(public)


def test_built_in_kinds(tmp_path: Path) -> None:
    spec = tmp_path / "shop.yml"
    spec.write_text(http_spec("https://shop.example.test").model_dump_json())

    sql = connector_for("crm", {"kind": "sql", "url": f"sqlite:///{tmp_path / 'crm.db'}", "batch_size": 50})
    files = connector_for("lake", {"kind": "files", "root": str(tmp_path), "format": "csv"})
    http = connector_for("shop", {"kind": "http", "spec_file": str(spec), "secrets": {"api_token": "x"}})
    manual = connector_for("paper", {"kind": "manual", "owner": "records team"})

    assert isinstance(sql, SqlConnector) and sql.batch_size == 50 and sql.name == "crm"
    assert isinstance(files, FilesConnector) and files.format == "csv"
    assert isinstance(http, HttpConnector)
    assert isinstance(manual, ManualConnector) and manual.owner == "records team"
    assert kinds() == ["files", "http", "manual", "sql"]
    for connector in (sql, files, http, manual):
        connector.close()


def test_http_secrets_fall_back_on_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("api_token", "from-the-environment")
    spec = http_spec("https://shop.example.test").model_dump(mode="json")

    connector = connector_for("shop", {"kind": "http", "spec": spec})

    assert isinstance(connector, HttpConnector)


def test_wrong_settings_name_the_key_but_not_the_value() -> None:
    with pytest.raises(ConnectorError) as error:
        connector_for(
            "crm", {"kind": "sql", "url": "postgresql://u:hunter2@db/crm", "batch_size": 0, "pasword": "hunter2"}
        )

    message = str(error.value)
    assert message.startswith("crm: the sql connector settings are wrong: batch_size: Input should be greater than")
    assert "pasword: Extra inputs are not permitted" in message
    assert "hunter2" not in chain_text(error.value)


def test_an_unknown_kind_lists_the_known_ones() -> None:
    with pytest.raises(
        ConnectorError, match=r"^crm: set the connector kind to one of files, http, manual, sql \(it is 'oracle'\)$"
    ):
        connector_for("crm", {"kind": "oracle"})


def test_a_plugin_registers_a_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("privet.connectors.registry.FACTORIES", dict(FACTORIES))

    @register("paper")
    def paper(system: str, config: Mapping[str, Any]) -> Connector:
        return ManualConnector(system, owner=config["owner"])

    connector = connector_for("archive", {"kind": "paper", "owner": "records"})

    assert isinstance(connector, ManualConnector)
    with pytest.raises(ValueError, match="already registered"):
        register("paper")(paper)
