"""The core does no I/O: domain packages import no I/O library, open no file and read no clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parent.parent / "src" / "privet"
CORE = ["audit", "crypto", "manifest", "taxonomy", "law", "policy", "consent", "requests", "fulfilment", "retention", "deid", "reports"]
ADAPTERS = {"workspace", "store", "connectors", "engines", "jobs", "api", "web", "cli", "commands"}
IO_LIBRARIES = {
    "alembic", "click", "duckdb", "fastapi", "http", "httpx", "huey", "os", "pathlib", "psycopg", "pyarrow",
    "pymysql", "redis", "requests", "shutil", "socket", "sqlalchemy", "starlette", "subprocess", "tempfile",
    "typer", "urllib", "uvicorn", "smtplib", "aiosmtpd",
}  # fmt: skip
CLOCK_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("date", "today"), ("time", "time")}


def core_modules() -> list[Path]:
    return sorted(p for pkg in CORE if (SRC / pkg).is_dir() for p in (SRC / pkg).rglob("*.py"))


def violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            if top in IO_LIBRARIES:
                found.append(f"{path.name}:{node.lineno} imports {name}")
            parts = name.split(".")
            if top == "privet" and len(parts) > 1 and parts[1] in ADAPTERS:
                found.append(f"{path.name}:{node.lineno} imports the adapter {name}")
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "open":
                found.append(f"{path.name}:{node.lineno} calls open()")
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name | ast.Attribute):
                owner = func.value.id if isinstance(func.value, ast.Name) else func.value.attr
                if (owner, func.attr) in CLOCK_CALLS:
                    found.append(f"{path.name}:{node.lineno} reads the clock ({owner}.{func.attr})")
    return found


def test_core_packages_exist() -> None:
    assert len(core_modules()) > 10


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_core_module_does_no_io(path: Path) -> None:
    assert violations(path) == []


def test_the_checker_catches_violations(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import sqlalchemy\nfrom pathlib import Path\nimport datetime\nfrom privet.store import x\n"
        "open('f')\ndatetime.datetime.now()\n"
    )
    assert len(violations(bad)) == 5
