"""Optional parts: the embedded default imports none of their packages, and a missing one is named with its extra."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from privet.connectors.sql import SqlConnector
from privet.extras import EXTRA_OF_MODULE, MissingExtra, require
from privet.fulfilment.ports import ConnectorError
from privet.workspace.runtime import init_workspace, open_runtime
from privet.workspace.settings import SettingsError
from tests.conftest import REPO

OPTIONAL = ("psycopg", "pymysql", "redis", "pyspark")


def test_the_optional_drivers_are_extras_not_dependencies() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"])
    extras = project["optional-dependencies"]
    for module, extra in EXTRA_OF_MODULE.items():
        assert module not in core
        assert extra in extras and extra in extras["all"][0]
    assert any(dep.startswith("psycopg") for dep in extras["postgres"])


def test_the_embedded_default_imports_no_optional_package() -> None:
    code = ("import sys, privet.cli, privet.api.app, privet.workspace.runtime, privet.engines.enforce; "
            f"print([m for m in {OPTIONAL!r} if m in sys.modules])")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"


def hide(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    """As if `module` were not installed: importing it fails the way a missing package does."""
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)  # type: ignore[arg-type]


def test_a_postgresql_store_without_its_driver_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    init_workspace(tmp_path / "ws", REPO / "examples" / "anker")
    hide(monkeypatch, "psycopg")
    monkeypatch.setenv("PRIVET_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    with pytest.raises(
        SettingsError,
        match=r"database_url: the database postgresql needs the psycopg package, which is not installed: pip install 'privet\[postgres\]'",
    ):
        open_runtime(tmp_path / "ws")


def test_a_mysql_system_without_its_driver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    hide(monkeypatch, "pymysql")
    with pytest.raises(
        ConnectorError,
        match=r"system shop needs the pymysql package, which is not installed: pip install 'privet\[mysql\]'",
    ):
        SqlConnector("shop", "mysql://root@127.0.0.1:3306/test")


def test_require_names_the_extra_of_a_package_not_installed() -> None:
    require("pymysql", "MySQL systems")  # installed here: nothing happens
    with pytest.raises(
        MissingExtra,
        match=r"the queue needs the psycopg2 package, which is not installed: pip install 'privet\[postgres\]'",
    ):
        require("psycopg2", "the queue")  # privet uses psycopg 3; psycopg2 is not installed
