"""The jobs on a real Spark standalone cluster (a master and two 1-core workers on loopback).

The batch pipeline, ALS training and the streaming job (``--available-now``) run as the
``socialpulse`` CLI commands against the cluster, configured only by ``SOCIALPULSE_SPARK_MASTER``
(plus the data folder and the small sizes both modes share). The batch job and ALS also run in
this process's ``local[2]`` session on the same input; every lake and database table must come
out identical. The stream, whose one micro-batch goes through the batch job's own
``process_posts``, must reproduce the local batch's post tables.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual
from sqlalchemy import create_engine

from socialpulse.cluster import ClusterConfig, LocalCluster, alive_workers, master_status
from socialpulse.config import Settings
from socialpulse.domain.columns import POSTS_DIR, Col
from socialpulse.generator import GeneratorConfig, generate
from socialpulse.processing.batch_job import run_batch
from socialpulse.processing.sentiment_step import BackendSpec
from socialpulse.recommend.als import AlsParams
from socialpulse.recommend.embedding import create_text_embedder
from socialpulse.recommend.hybrid import HybridPolicy
from socialpulse.recommend.job import run_train
from socialpulse.storage.factory import create_store
from socialpulse.storage.lake import LakePaths

pytestmark = pytest.mark.slow

# What both modes share; the cluster run gets these as SOCIALPULSE_* variables. A tiny ALS keeps
# the test lean on a 2-core CI machine.
SHARED_SETTINGS: dict[str, str] = {
    "spark_shuffle_partitions": "4",
    "als_rank": "6",
    "als_max_iter": "5",
    "recommend_top_k": "5",
    "sentiment_backend": "vader",
}
DB_TABLES: dict[str, list[str]] = {
    "posts": [],
    "quarantine": [],
    "hashtag_trends": [],
    "mention_trends": [],
    "user_profiles": [],
    "hashtag_windows": [],
    # generated_at is the wall-clock time of the run.
    "recommendations": [Col.GENERATED_AT],
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """Master + two workers (1 core, 1 GB each) for the module; stopped and checked after."""
    config = ClusterConfig(tmp_path_factory.mktemp("cluster"), workers=2, worker_cores=1)
    started = LocalCluster(config).start()
    pids = started.state.pids
    yield started
    started.stop()
    alive = [p for p in pids if Path(f"/proc/{p}").exists()]
    assert not alive, f"daemons still running after stop(): {alive}"


def test_cluster_registers_two_one_core_workers(cluster: LocalCluster) -> None:
    status = master_status(cluster.web_url)
    assert status["url"] == cluster.master_url
    assert alive_workers(status) == 2
    assert sorted(w["cores"] for w in status["workers"]) == [1, 1]
    assert all(w["host"] == "127.0.0.1" for w in status["workers"])


# The three commands in one driver process, as `socialpulse` runs them, so the test starts the
# driver JVM and the two executors once instead of three times (minutes on a busy 2-core box).
# `stream` comes last: it stops the Spark session when it ends.
DRIVER = """
import json, os, sys
import pandas as pd
from pyspark.sql import SparkSession
from socialpulse.cli import app

def where(batches):
    import socialpulse
    for _ in batches:
        yield pd.DataFrame({"file": [socialpulse.__file__]})

for data_dir, args in json.loads(sys.argv[1]):
    if args == ["probe"]:
        # Where the executors' Python workers import the project from.
        spark = SparkSession.getActiveSession()
        rows = spark.range(0, 4, 1, 4).mapInPandas(where, "file string").collect()
        print("EXECUTORS_IMPORT=" + json.dumps(sorted({r.file for r in rows})))
        continue
    os.environ["SOCIALPULSE_DATA_DIR"] = data_dir
    code = app(args, standalone_mode=False)
    if code:
        sys.exit(f"socialpulse {' '.join(args)} exited with {code}")
"""


def _run_cli_commands(runs: list[tuple[Path, list[str]]], env: dict[str, str]) -> list[str]:
    """Run the commands in one driver; return where executors imported socialpulse from."""
    plan = json.dumps([(str(d), args) for d, args in runs])
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, plan],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"cluster run failed:\n{done.stderr[-4000:]}"
    probe = [line for line in done.stdout.splitlines() if line.startswith("EXECUTORS_IMPORT=")]
    assert len(probe) == 1, done.stdout[-2000:]
    files: list[str] = json.loads(probe[0].split("=", 1)[1])
    return files


def _build_wheel(out: Path) -> Path:
    """The project's wheel as the importable .zip `make dist` writes beside it."""
    root = Path(__file__).resolve().parents[1]
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"),
            *("--no-build-isolation", "--wheel-dir", str(out), str(root)),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("socialpulse-*.whl")
    # As `make dist` does: PySpark imports only .zip/.egg files shipped as py-files.
    return Path(shutil.copyfile(wheel, wheel.with_suffix(".zip")))


def _run_local(spark: SparkSession, settings: Settings, data: Path) -> None:
    """The batch job and ALS in this process's ``local[2]`` session, as the CLI runs them
    (same policy and text embedder as ``recommend train``)."""
    settings.storage.data_dir.mkdir(parents=True)
    store = create_store(settings.storage.resolved_database_url)
    store.create_schema()
    lake = LakePaths(settings.storage.resolved_lake_uri)
    spec = BackendSpec.of(settings.sentiment.backend, settings)
    report = run_batch(spark, str(data), lake, store, spec)
    assert report.reconciles
    run_train(
        spark,
        lake,
        store,
        AlsParams.from_settings(settings.recommend),
        settings.recommend.top_k,
        policy=HybridPolicy.from_settings(settings.recommend),
        embedder=create_text_embedder(settings.recommend),
    )
    store.close()


def _table(spark: SparkSession, url: str, name: str, drop: list[str]) -> DataFrame:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            frame = pd.read_sql_table(name, conn).drop(columns=drop)
    finally:
        engine.dispose()
    assert len(frame) > 0, f"{name} is empty: nothing to compare"
    return spark.createDataFrame(frame.astype(object).where(frame.notna(), None))


def _posts_only(df: DataFrame) -> DataFrame:
    # The stream reads posts only; the batch job also quarantines bad interaction lines.
    return df.filter(F.col(Col.SOURCE_FILE).contains(f"/{POSTS_DIR}/"))


def _assert_same_outputs(
    spark: SparkSession,
    local: Settings,
    remote: Settings,
    tables: dict[str, list[str]],
    posts_only: bool = False,
) -> None:
    local_lake, remote_lake = (LakePaths(s.storage.resolved_lake_uri) for s in (local, remote))
    keep = _posts_only if posts_only else (lambda df: df)
    assertDataFrameEqual(
        spark.read.parquet(remote_lake.posts), spark.read.parquet(local_lake.posts)
    )
    assertDataFrameEqual(
        spark.read.parquet(remote_lake.quarantine),
        keep(spark.read.parquet(local_lake.quarantine)),
    )
    for name, drop in tables.items():
        expected = _table(spark, local.storage.resolved_database_url, name, drop)
        assertDataFrameEqual(
            _table(spark, remote.storage.resolved_database_url, name, drop),
            keep(expected) if name == "quarantine" else expected,
        )


# Two Spark applications' worth of work: about 3 minutes on a quiet 2-core machine, but several
# times that while other jobs share it, beyond the suite's default 900 s per test.
@pytest.mark.timeout(1800)
def test_batch_stream_and_als_on_the_cluster_match_local_mode(
    spark: SparkSession, cluster: LocalCluster, tmp_path: Path
) -> None:
    data = tmp_path / "in"
    generate(GeneratorConfig(posts=300, users=40, seed=11, days=3.0), data)

    def settings(name: str, master: str) -> Settings:
        return Settings(
            data_dir=tmp_path / name,
            spark_master=master,
            **SHARED_SETTINGS,
            _env_file=None,
        )

    local = settings("local", "local[2]")
    _run_local(spark, local, data)

    remote, remote_stream = (settings(n, cluster.master_url) for n in ("remote", "stream"))
    env = {f"SOCIALPULSE_{k.upper()}": v for k, v in SHARED_SETTINGS.items()}
    env |= {
        "SOCIALPULSE_SPARK_MASTER": cluster.master_url,
        "SOCIALPULSE_SPARK_EXECUTOR_MEMORY": "512m",
    }
    # The executors import the project from the shipped wheel (`make dist`), not from this
    # checkout: what a cluster whose nodes lack it would do.
    wheel = _build_wheel(tmp_path / "dist")
    env["SOCIALPULSE_SPARK_PY_FILES"] = str(wheel)
    executor_imports = _run_cli_commands(
        [
            (remote.storage.data_dir, ["process", "--input", str(data)]),
            (remote.storage.data_dir, ["recommend", "train"]),
            (remote.storage.data_dir, ["probe"]),
            (remote_stream.storage.data_dir, ["stream", "--landing", str(data), "--available-now"]),
        ],
        env,
    )
    assert executor_imports
    assert all(wheel.name in f for f in executor_imports), executor_imports

    _assert_same_outputs(spark, local, remote, DB_TABLES)
    stream_tables = {k: v for k, v in DB_TABLES.items() if k != "recommendations"}
    _assert_same_outputs(spark, local, remote_stream, stream_tables, posts_only=True)
