"""The optional parts of privet and the extra that installs each, so a missing one is named with its fix.

The embedded default (SQLite, DuckDB, one process) needs none of them. PostgreSQL as privet's store or as a
company system, MySQL or MariaDB systems, a Redis job queue and the Spark engine each take a driver that only
their users install: `pip install 'privet[postgres]'`, and so on, or `privet[all]`.
"""

from __future__ import annotations

import importlib.util

# The top-level module a part imports, and the extra that provides it.
EXTRA_OF_MODULE = {"psycopg": "postgres", "psycopg2": "postgres", "pymysql": "mysql", "redis": "redis",
                   "pyspark": "spark"}  # fmt: skip


class MissingExtra(ImportError):
    """An optional part is used without the package it needs; the message names the extra to install."""


def missing_extra(exc: ImportError, needed_by: str) -> MissingExtra | None:
    """The error to raise for `exc` when it is an optional part's missing package; None for any other import
    error (then the original is the better message)."""
    module = (exc.name or "").partition(".")[0]
    extra = EXTRA_OF_MODULE.get(module)
    if extra is None:
        return None
    return MissingExtra(f"{needed_by} needs the {module} package, which is not installed: "
                        f"pip install 'privet[{extra}]'")  # fmt: skip


def require(module: str, needed_by: str) -> None:
    """Raise MissingExtra, before anything starts, when the optional `module` is not installed."""
    if importlib.util.find_spec(module) is None:
        raise MissingExtra(f"{needed_by} needs the {module} package, which is not installed: "
                           f"pip install 'privet[{EXTRA_OF_MODULE[module]}]'")  # fmt: skip
