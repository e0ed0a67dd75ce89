"""The default taxonomy shipped in privet's package data."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml

from privet.taxonomy.model import Taxonomy


@cache
def default_taxonomy() -> Taxonomy:
    # Package data shipped with privet, not the user's files: see docs/architecture.md.
    text = resources.files("privet.taxonomy").joinpath("data/default.yml").read_text("utf-8")
    return Taxonomy.from_data(yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
