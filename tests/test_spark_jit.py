"""The driver's JIT setting: which options each choice gives, that they reach the JVM, and that
the long-running commands ask for the full compiler."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession
from typer.testing import CliRunner

from socialpulse import spark as spark_module
from socialpulse.cli import app
from socialpulse.cli.runtime import Runtime
from socialpulse.config import Settings
from socialpulse.spark import QUICK_JIT_OPTIONS, jit_options


@pytest.mark.parametrize(
    ("setting", "long_running", "quick"),
    [
        ("auto", False, True),
        ("auto", True, False),
        ("quick", True, True),
        ("quick", False, True),
        ("full", False, False),
        ("full", True, False),
    ],
)
def test_setting_picks_the_compiler(setting: str, long_running: bool, quick: bool) -> None:
    assert jit_options(setting, long_running) == (QUICK_JIT_OPTIONS if quick else "")


def test_an_unknown_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="driver_jit"):
        Settings(spark_driver_jit="fast")


def test_the_driver_of_a_command_that_finishes_compiles_with_c1_only(spark: SparkSession) -> None:
    # The suite's session is built like a command's (auto, not long-running): the options must
    # reach the running JVM, not only the configuration.
    jvm: Any = spark.sparkContext._jvm
    mx = jvm.java.lang.management.ManagementFactory.getPlatformMXBean(
        jvm.java.lang.Class.forName("com.sun.management.HotSpotDiagnosticMXBean")
    )
    quick = jit_options(Settings().spark.driver_jit, long_running=False) == QUICK_JIT_OPTIONS
    # HotSpot's default is 4 (C2); a suite run with SOCIALPULSE_SPARK_DRIVER_JIT=full gets it.
    assert mx.getVMOption("TieredStopAtLevel").getValue() == ("1" if quick else "4")
    if quick:
        assert mx.getVMOption("ThreadStackSize").getValue() == str(16 * 1024)  # KiB


def test_runtime_passes_long_running_to_the_session(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[tuple[str, bool]] = []

    def fake_build(settings: Settings, app_name: str, long_running: bool = False) -> object:
        seen.append((app_name, long_running))
        return object()

    monkeypatch.setattr(spark_module, "build_spark", fake_build)
    with Runtime(Settings(data_dir=tmp_path)) as rt:
        rt.spark("a-stream", long_running=True)
    with Runtime(Settings(data_dir=tmp_path)) as rt:
        rt.spark("a-command")
    assert seen == [("a-stream", True), ("a-command", False)]


class _Stop(Exception):
    pass


@pytest.mark.parametrize(("command", "long_running"), [("stream", True), ("process", False)])
def test_the_stream_asks_for_the_full_compiler_a_batch_job_does_not(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: str, long_running: bool
) -> None:
    seen: list[bool] = []

    def fake_build(settings: Settings, app_name: str, long_running: bool = False) -> object:
        seen.append(long_running)
        raise _Stop  # the command's choice is all this test needs

    monkeypatch.setattr(spark_module, "build_spark", fake_build)
    monkeypatch.setenv("SOCIALPULSE_DATA_DIR", str(tmp_path / "data"))
    landing = tmp_path / "landing"
    (landing / "posts").mkdir(parents=True)
    (landing / "posts" / "part-0.jsonl").write_text("{}\n")
    args = [command, "--landing" if command == "stream" else "--input", str(landing)]
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, _Stop)
    assert seen == [long_running]
