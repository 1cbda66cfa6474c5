"""Building the SparkSession from settings (called only by composition roots and tests)."""

from __future__ import annotations

import os
import sys
from urllib.parse import urlsplit

from pyspark.sql import SparkSession

from socialpulse.config import Settings
from socialpulse.jvm_archive import java_options

# C1 alone compiles far less than tiered C1 + C2, and its code runs slower once hot. A lone
# command of about a minute on 2 cores wins (bench_jvm_jit: `recommend fit-predict` 56.5 ->
# 46.4 s, `process` of 64k posts 76.0 -> 61.8 s), but sessions that run many jobs for minutes
# lose (the test suite went from 29 to 35 minutes with it), and so does one long job (`process`
# of 1M posts: 190.6 -> 217.8 s). So `auto`, the default, gives C1 alone only to a command that
# says its job is short (`process` of a small landing folder), and tiered compilation to the
# rest. C1's frames are larger, so ALS's deep task recursion overflowed the default 1 MB thread
# stack: the stack grows with it (address space, not memory, until used).
QUICK_JIT_OPTIONS = "-XX:TieredStopAtLevel=1 -Xss16m"


def jit_options(setting: str, short_job: bool = False) -> str:
    """The driver's JIT options for ``spark_driver_jit``; ``auto`` is ``quick`` for a short job."""
    quick = setting == "quick" or (setting == "auto" and short_job)
    return QUICK_JIT_OPTIONS if quick else ""


def build_spark(
    settings: Settings,
    app_name: str = "socialpulse",
    extra_java_options: str = "",
    short_job: bool = False,
) -> SparkSession:
    """Create (or reuse) the SparkSession described by ``settings``.

    Every timestamp is handled in UTC; Arrow is on because all Python work runs in pandas UDFs.
    The driver JVM maps the class archive of ``spark_class_archive`` when it exists
    (:mod:`socialpulse.jvm_archive`) and compiles as ``spark_driver_jit`` says (``short_job``:
    the session runs one job of about a minute); ``extra_java_options`` go to the driver JVM
    as well.
    """
    archive = java_options(settings.spark.class_archive)
    jit = jit_options(settings.spark.driver_jit, short_job)
    driver_java = " ".join(
        o for o in ("-Duser.timezone=UTC", archive, jit, extra_java_options) if o
    )
    # Executors must run the same interpreter as the driver, or the pandas/pyarrow they import
    # will not be the ones this project installed.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.appName(app_name)
        .master(settings.spark.master)
        .config("spark.driver.memory", settings.spark.driver_memory)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(settings.spark.shuffle_partitions))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config(
            "spark.sql.execution.arrow.maxRecordsPerBatch", str(settings.spark.arrow_batch_size)
        )
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        # Spark keeps 100 generated classes by default; a streaming micro-batch generates ~100
        # of its own, so every batch compiled nearly all of them again (Janino, ~0.1 s each:
        # bench_stream_floor counts 102 compilations per batch at 100 entries, 11 at 2000).
        .config("spark.sql.codegen.cache.maxEntries", "2000")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.extraJavaOptions", driver_java)
        .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
    )
    if settings.spark.master.startswith("local") or master_on_loopback(settings.spark.master):
        # Embedded mode, or a cluster on this machine (`socialpulse cluster up`), talks to itself
        # only: keep the driver on loopback instead of whatever interface the host name resolves
        # to, so executors reach it without any other network.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = builder.config("spark.driver.host", "127.0.0.1").config(
            "spark.driver.bindAddress", "127.0.0.1"
        )
    for key, value in cluster_conf(settings).items():
        builder = builder.config(key, value)
    py_files = [p.strip() for p in settings.spark.py_files.split(",") if p.strip()]
    for path in py_files:
        # PySpark puts only .zip/.egg/.jar on the executors' sys.path; a wheel would be shipped
        # and silently never imported.
        if not path.lower().endswith((".zip", ".egg", ".jar", ".py")):
            raise ValueError(
                f"spark_py_files: {path!r} is not a .zip/.egg/.py (ship a wheel as the .zip"
                " copy `make dist` writes beside it)"
            )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    # spark.submit.pyFiles only works through spark-submit (it also registers the files);
    # addPyFile ships them to executors from a plain Python driver too.
    for path in py_files:
        spark.sparkContext.addPyFile(path)
    return spark


_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def master_on_loopback(master: str) -> bool:
    """True for a standalone master URL on this machine (``spark://127.0.0.1:7077``)."""
    if not master.startswith("spark://"):
        return False
    # A standalone URL may list several masters (high availability): all must be local.
    hosts = [urlsplit(f"spark://{part}").hostname for part in master[8:].split(",")]
    return all(h in _LOOPBACK_HOSTS for h in hosts)


def cluster_conf(settings: Settings) -> dict[str, str]:
    """The Spark settings a scaled-out deployment sets; empty values leave Spark's defaults."""
    conf = {
        "spark.driver.host": settings.spark.driver_host,
        "spark.executor.memory": settings.spark.executor_memory,
        "spark.executor.cores": str(settings.spark.executor_cores or ""),
        "spark.cores.max": str(settings.spark.cores_max or ""),
        "spark.archives": settings.spark.archives,
        "spark.pyspark.python": settings.spark.executor_python,
    }
    return {k: v for k, v in conf.items() if v} | settings.spark.conf
