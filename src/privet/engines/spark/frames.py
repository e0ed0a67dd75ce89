"""Small pieces shared by the Spark executors: the error for what Spark cannot do, and column references."""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F


class SparkPlanError(ValueError):
    """A step of a plan cannot be carried out on Spark; the message names the step and what to do instead."""


def col(name: str) -> Column:
    """A top-level column by its exact name (dots and odd characters are not read as nesting)."""
    return F.col("`" + name.replace("`", "``") + "`")
