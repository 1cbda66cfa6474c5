"""Building the SparkSession from settings (called only by composition roots and tests)."""

from __future__ import annotations

import os
import sys

from pyspark.sql import SparkSession

from socialpulse.config import Settings


def build_spark(settings: Settings, app_name: str = "socialpulse") -> SparkSession:
    """Create (or reuse) the SparkSession described by ``settings``.

    Every timestamp is handled in UTC; Arrow is on because all Python work runs in pandas UDFs.
    """
    # Executors must run the same interpreter as the driver, or the pandas/pyarrow they import
    # will not be the ones this project installed.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.appName(app_name)
        .master(settings.spark_master)
        .config("spark.driver.memory", settings.spark_driver_memory)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config(
            "spark.sql.execution.arrow.maxRecordsPerBatch", str(settings.spark_arrow_batch_size)
        )
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
    )
    if settings.spark_master.startswith("local"):
        # Embedded mode talks to itself only: keep the driver on loopback instead of whatever
        # interface the host name resolves to.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = builder.config("spark.driver.host", "127.0.0.1").config(
            "spark.driver.bindAddress", "127.0.0.1"
        )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
