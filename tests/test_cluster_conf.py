"""Settings → Spark configuration for scaled-out runs, and the cluster CLI's error paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from socialpulse.cli.main import app
from socialpulse.cluster import STATE_FILE, ClusterState, free_port
from socialpulse.config import Settings
from socialpulse.spark import build_spark, cluster_conf, master_on_loopback


@pytest.mark.parametrize(
    ("master", "loopback"),
    [
        ("spark://127.0.0.1:7077", True),
        ("spark://localhost:7077", True),
        ("spark://127.0.0.1:7077,localhost:7078", True),
        ("spark://master-host:7077", False),
        ("spark://127.0.0.1:7077,master-host:7078", False),
        ("yarn", False),
        ("k8s://https://127.0.0.1:6443", False),
        ("local[*]", False),
    ],
)
def test_master_on_loopback(master: str, loopback: bool) -> None:
    assert master_on_loopback(master) is loopback


def test_cluster_conf_sets_only_what_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    assert cluster_conf(Settings(_env_file=None)) == {}
    monkeypatch.setenv("SOCIALPULSE_SPARK_EXECUTOR_MEMORY", "4g")
    monkeypatch.setenv("SOCIALPULSE_SPARK_CORES_MAX", "16")
    monkeypatch.setenv("SOCIALPULSE_SPARK_ARCHIVES", "env.tar.gz#environment")
    monkeypatch.setenv("SOCIALPULSE_SPARK_EXECUTOR_PYTHON", "./environment/bin/python")
    # Free-form settings win over the named ones: they are the escape hatch.
    monkeypatch.setenv(
        "SOCIALPULSE_SPARK_CONF",
        '{"spark.executor.memory": "6g", "spark.hadoop.fs.s3a.endpoint": "http://s3:9000"}',
    )
    assert cluster_conf(Settings(_env_file=None)) == {
        "spark.executor.memory": "6g",
        "spark.cores.max": "16",
        "spark.archives": "env.tar.gz#environment",
        "spark.pyspark.python": "./environment/bin/python",
        "spark.hadoop.fs.s3a.endpoint": "http://s3:9000",
    }


def test_cluster_down_and_status_without_a_cluster_fail_clearly(tmp_path: Path) -> None:
    runner = CliRunner()
    for command in ("down", "status"):
        result = runner.invoke(app, ["cluster", command, "--root", str(tmp_path)])
        assert result.exit_code == 1
        assert "no cluster recorded" in result.output


def test_status_and_down_read_the_recorded_state(tmp_path: Path) -> None:
    # A recorded cluster whose master is gone (nothing listens on its port, no daemons left).
    port = free_port()
    state = ClusterState(f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{port}", str(tmp_path))
    state.save(tmp_path / STATE_FILE)
    runner = CliRunner()
    status = runner.invoke(app, ["cluster", "status", "--root", str(tmp_path)])
    assert status.exit_code == 1
    assert f"master at http://127.0.0.1:{port} does not answer" in status.output
    down = runner.invoke(app, ["cluster", "down", "--root", str(tmp_path)])
    assert down.exit_code == 0, down.output
    assert f"stopped spark://127.0.0.1:{port}" in down.output
    assert not (tmp_path / STATE_FILE).exists()


def test_a_wheel_as_py_file_is_refused_before_spark_starts() -> None:
    settings = Settings(spark_py_files="dist/socialpulse-0.1.0-py3-none-any.whl", _env_file=None)
    with pytest.raises(ValueError, match=r"\.zip copy"):
        build_spark(settings)
