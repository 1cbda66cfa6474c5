"""The driver's JIT setting: which options each choice gives, and that they reach the JVM."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from socialpulse.cli import main
from socialpulse.config import Settings
from socialpulse.spark import QUICK_JIT_OPTIONS, jit_options


def test_setting_picks_the_compiler() -> None:
    assert jit_options("quick") == QUICK_JIT_OPTIONS
    assert jit_options("full") == ""
    assert Settings().spark.driver_jit == "auto"  # the default: see spark.py for why
    # auto: C1 alone only where the command says its job is short; a setting always wins.
    assert jit_options("auto") == ""
    assert jit_options("auto", short_job=True) == QUICK_JIT_OPTIONS
    assert jit_options("full", short_job=True) == ""
    assert jit_options("quick", short_job=False) == QUICK_JIT_OPTIONS


def test_process_calls_a_small_landing_folder_a_short_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "part-0.jsonl").write_bytes(b"x" * 600)
    (tmp_path / "interactions").mkdir()
    (tmp_path / "interactions" / "part-0.jsonl").write_bytes(b"y" * 500)
    assert main.is_short_batch(tmp_path)
    # Every file under the folder counts, posts and interactions alike.
    monkeypatch.setattr(main, "SHORT_BATCH_BYTES", 1_000)
    assert not main.is_short_batch(tmp_path)
    monkeypatch.setattr(main, "SHORT_BATCH_BYTES", 1_100)
    assert main.is_short_batch(tmp_path)


def test_an_unknown_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="driver_jit"):
        Settings(spark_driver_jit="fast")


def _vm_options(spark: SparkSession) -> dict[str, str]:
    jvm: Any = spark.sparkContext._jvm
    mx = jvm.java.lang.management.ManagementFactory.getPlatformMXBean(
        jvm.java.lang.Class.forName("com.sun.management.HotSpotDiagnosticMXBean")
    )
    return {n: str(mx.getVMOption(n).getValue()) for n in ("TieredStopAtLevel", "ThreadStackSize")}


def test_the_suite_driver_runs_the_configured_compiler(spark: SparkSession) -> None:
    # The options must reach the running JVM, not only the configuration. The suite's session
    # is no short job: under ``auto`` it compiles with C1 + C2.
    quick = Settings().spark.driver_jit == "quick"
    options = _vm_options(spark)
    assert options["TieredStopAtLevel"] == ("1" if quick else "4")


_CHILD = textwrap.dedent(
    """
    import json
    from socialpulse.config import Settings
    from socialpulse.spark import build_spark
    from tests.test_spark_jit import _vm_options
    spark = build_spark(Settings(spark_master="local[1]"), "jit-check")
    print(json.dumps(_vm_options(spark)))
    spark.stop()
    """
)


@pytest.mark.slow
def test_quick_gives_a_driver_with_c1_alone_and_a_larger_stack() -> None:
    env = {**os.environ, "SOCIALPULSE_SPARK_DRIVER_JIT": "quick"}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, check=True
    )
    options = json.loads(done.stdout.strip().splitlines()[-1])
    assert options == {"TieredStopAtLevel": "1", "ThreadStackSize": str(16 * 1024)}  # KiB
