"""Shared test helpers: a copy of the minimal manifest that a test may edit."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from privet.manifest.model import Manifest
from tests.world import World

FIXTURES = Path(__file__).parent / "fixtures"
MINIMAL = FIXTURES / "minimal"
REPO = Path(__file__).parent.parent

Edit = Callable[[dict[str, Any]], None]


def edited_manifest(target: Path, edit: Edit | None = None) -> Path:
    """Copy the minimal manifest to `target`, apply `edit` to the merged data of processing.yml, return the folder."""
    shutil.copytree(MINIMAL, target)
    if edit is not None:
        path = target / "processing.yml"
        data = yaml.safe_load(path.read_text())
        edit(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    return target


@pytest.fixture
def make_manifest(tmp_path: Path) -> Callable[[Edit | None], Path]:
    counter = iter(range(1000))

    def make(edit: Edit | None = None) -> Path:
        return edited_manifest(tmp_path / f"m{next(counter)}", edit)

    return make


@pytest.fixture(scope="session")
def policy_manifest() -> Manifest:
    from tests.world import policy_manifest as load

    return load()


@pytest.fixture
def world(policy_manifest: Manifest) -> World:
    return World(policy_manifest)
