"""A local SparkSession sized for one small machine: no web UI, few shuffle partitions, quiet, nothing downloaded."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from pyspark.sql import SparkSession


class SparkUnavailable(RuntimeError):
    """Spark cannot start here; the message names what to install."""


# Every setting that matters for equal answers (UTC days, microsecond timestamps) and for a quiet small machine.
LOCAL_SETTINGS: Mapping[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.log.level": "ERROR",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.sources.partitionOverwriteMode": "static",
    # No spark.jars.packages: nothing is fetched from a repository at start-up.
}


def java_home() -> Path | None:
    """Where Java is: JAVA_HOME when it holds bin/java, else the java on PATH, else None."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return Path(home)
    found = shutil.which("java")
    return Path(found).resolve().parent.parent if found else None


def local_session(
    cores: int = 2,
    shuffle_partitions: int | None = None,
    driver_memory: str = "2g",
    app_name: str = "privet",
    extra: Mapping[str, str] | None = None,
) -> SparkSession:
    """A SparkSession in local mode on `cores` cores (an existing session is reused, as Spark does)."""
    if java_home() is None:
        raise SparkUnavailable(
            "Spark needs a Java runtime (17 or newer) and none was found: install one (for example the "
            "openjdk-17-jre-headless package) and put java on PATH or set JAVA_HOME"
        )
    if cores < 1:
        raise ValueError(f"cores must be at least 1, not {cores}")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # the driver never looks for a network it does not need
    builder = SparkSession.builder.master(f"local[{cores}]").appName(app_name)
    settings = {
        **LOCAL_SETTINGS,
        "spark.sql.shuffle.partitions": str(shuffle_partitions or 2 * cores),
        "spark.default.parallelism": str(2 * cores),
        "spark.driver.memory": driver_memory,
        **(extra or {}),
    }
    for name, value in settings.items():
        builder = builder.config(name, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start: Py4J raises plain exceptions with the Java output
        raise SparkUnavailable(f"Spark did not start ({type(exc).__name__}: {str(exc).strip()[:300]})") from exc
    session.sparkContext.setLogLevel("ERROR")
    return session
