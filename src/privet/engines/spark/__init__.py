"""The plans of privet's core carried out on Apache Spark: bulk enforcement, retention states, erasure.

The same plan objects drive the local engines (Arrow, NumPy, DuckDB) and these; Spark only executes them, as
DataFrame joins and column expressions, so the answers are the same and the work spreads over a cluster.
PySpark is an optional extra: importing this package without it raises an ImportError that names the fix.
"""

from __future__ import annotations

try:
    import pyspark  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a test that hides pyspark
    raise ImportError(
        "privet's Spark engine needs PySpark and a Java runtime (17 or newer): pip install 'privet[spark]' and "
        "put java on PATH or set JAVA_HOME"
    ) from exc

from privet.engines.spark.enforce import enforce, enforce_parquet, subject_profiles, summarise
from privet.engines.spark.erasure import ErasedCollection, SparkErasure, erase
from privet.engines.spark.frames import SparkPlanError
from privet.engines.spark.retention import evaluate, read_collection, states, sweep
from privet.engines.spark.session import SparkUnavailable, local_session

__all__ = [
    "ErasedCollection",
    "SparkErasure",
    "SparkPlanError",
    "SparkUnavailable",
    "enforce",
    "enforce_parquet",
    "erase",
    "evaluate",
    "local_session",
    "read_collection",
    "states",
    "subject_profiles",
    "summarise",
    "sweep",
]
