"""Property: one batch or N random micro-batches of the same posts give identical aggregates.

Real Spark runs ``process_posts`` three ways: the batch job's path (every touched aggregate row
recomputed from the lake), the stream's (each micro-batch's increments merged into the
store by the SQL generated from the aggregate specs, and appended to the lake's aggregate
layer; alternately computed on the driver and in Spark), and the micro-batches as successive
batch jobs (each recomputing what it touched from the lake that the earlier ones filled,
alternately on the driver and in Spark). One micro-batch "crashes" after its
increments and is replayed, as Spark would after a kill. Every store (SQLite, PostgreSQL)
must end with the batch job's rows, and the lake's aggregate layer, merged by the specs'
rules, must equal the batch job's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pyspark.sql import DataFrame, SparkSession
from pyspark.testing import assertDataFrameEqual
from sqlalchemy import create_engine, select

from socialpulse.config import Settings
from socialpulse.domain.aggregates import AGGREGATES
from socialpulse.domain.columns import Col
from socialpulse.processing import aggregates as A
from socialpulse.processing.batch_job import BatchReport, process_posts
from socialpulse.processing.increments import StreamBatch
from socialpulse.processing.sentiment_step import BackendSpec
from socialpulse.storage import tables as t
from socialpulse.storage.factory import create_store
from socialpulse.storage.lake import LakePaths
from socialpulse.storage.lake_jobs import path_exists
from tests.postgres_server import PostgresServer
from tests.test_stream_job import post_line
from tests.topic_fixtures import KeywordTopics

pytestmark = pytest.mark.slow

WORDS = ["love this", "hate this", "see this"]  # positive, negative, neutral for vader
TAGS = ["ai", "ml", "go"]
HANDLES = ["acme", "bob"]
TOPICS = KeywordTopics(["love", "hate"])  # "see this" posts get no topic


class _Crash(RuntimeError):
    """Stands in for a kill -9 at a chosen point of a micro-batch."""


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """Posts (some redelivered, some in a language no model reads) and their micro-batches."""
    n = draw(st.integers(3, 14))
    posts = []
    for i in range(n):
        # The first post has a hashtag and a mention, so that every aggregate has rows.
        tags = draw(st.lists(st.sampled_from(TAGS), min_size=i == 0, max_size=2, unique=True))
        mentions = draw(st.lists(st.sampled_from(HANDLES), min_size=i == 0, max_size=1))
        text = " ".join(
            [f"I {draw(st.sampled_from(WORDS))}"]
            + [f"#{x}" for x in tags]
            + [f"@{x}" for x in mentions]
        )
        # Two days, and minutes that share windows: 12:00-13:59 on each.
        at = f"2026-10-0{draw(st.integers(3, 4))}T1{draw(st.integers(2, 3))}:" + (
            f"{draw(st.integers(0, 4)):02d}:{draw(st.integers(0, 59)):02d}Z"
        )
        author = draw(st.integers(0, 3))
        lang = draw(st.sampled_from([None, None, None, "ja"]))
        posts.append((str(i), text, at, f"u{author}", lang))
    redelivered = draw(st.lists(st.integers(0, n - 1), max_size=3))
    lines = [post_line(*p[:4], likes=0, lang=p[4]) for p in posts] + [
        post_line(*posts[i][:4], likes=k + 1, lang=posts[i][4]) for k, i in enumerate(redelivered)
    ]
    n_batches = draw(st.integers(2, 4))
    where = draw(st.lists(st.integers(0, n_batches - 1), min_size=len(lines), max_size=len(lines)))
    batches = [[ln for ln, b in zip(lines, where, strict=True) if b == k] for k in range(n_batches)]
    batches = [b for b in batches if b]
    crash_at = draw(st.integers(0, len(batches) - 1))
    # Before the increments, or after them and the lake's aggregate rows, before the posts.
    crash_stage = draw(st.sampled_from(["adding to trends and profiles", "writing the lake"]))
    return {"lines": lines, "batches": batches, "crash": (crash_at, crash_stage)}


def _frame(spark: SparkSession, lines: list[str], name: str) -> DataFrame:
    rows = [(ln, f"file:///landing/{name}.jsonl") for ln in lines]
    return spark.createDataFrame(rows, f"value string, {Col.SOURCE_FILE} string")


def _db_aggregates(url: str) -> dict[str, list[dict[str, Any]]]:
    engine = create_engine(url)
    out: dict[str, list[dict[str, Any]]] = {}
    try:
        with engine.connect() as conn:
            for agg in AGGREGATES:
                if agg.table is None:
                    continue
                tbl = t.metadata.tables[agg.table]
                q = select(tbl).order_by(*tbl.primary_key.columns)
                # Means may differ in the last bits with the order the sums were taken in.
                out[agg.table] = [
                    {k: round(v, 9) if isinstance(v, float) else v for k, v in m.items()}
                    for m in conn.execute(q).mappings()
                ]
    finally:
        engine.dispose()
    return out


def _run(
    spark: SparkSession,
    url: str,
    lake: LakePaths,
    backend: BackendSpec,
    batches: list[list[str]] | None,
    lines: list[str],
    crash: tuple[int, str],
    as_batch_jobs: bool = False,
) -> None:
    """The whole input as one batch (``batches`` None), or as the stream's micro-batches, or
    (``as_batch_jobs``) those micro-batches as successive batch jobs."""
    store = create_store(url)
    stream_id = uuid.uuid4().hex
    try:
        if batches is None:
            process_posts(
                spark, _frame(spark, lines, "all"), lake, store, backend, BatchReport(),
                topics=TOPICS,
            )  # fmt: skip
            return
        if as_batch_jobs:
            for b, batch in enumerate(batches):
                # Even runs recompute on the driver, odd ones in Spark (a limit of 0).
                process_posts(
                    spark, _frame(spark, batch, f"part-{b}"), lake, store, backend,
                    BatchReport(), topics=TOPICS,
                    aggregate_driver_rows=100_000 if b % 2 == 0 else 0,
                )  # fmt: skip
            return
        for b, batch in enumerate(batches):
            # Even batches compute their increments on the driver, odd ones in Spark: the two
            # paths must feed the same store and lake rows, alone or interleaved.
            micro = StreamBatch(
                stream_id,
                b,
                partial(store.add_increments, stream_id, b),
                driver_rows=100_000 if b % 2 == 0 else 0,
            )
            frame = _frame(spark, batch, f"part-{b}")
            if b == crash[0]:
                # A batch of known posts only reaches neither stage: it is then replayed whole.
                with suppress(_Crash):
                    process_posts(
                        spark, frame, lake, store, backend, BatchReport(),
                        on_stage=_crash_on(crash[1]), stream=micro, topics=TOPICS,
                    )  # fmt: skip
            process_posts(
                spark, frame, lake, store, backend, BatchReport(), stream=micro, topics=TOPICS
            )
    finally:
        store.close()


def _crash_on(stage: str) -> Callable[[str], None]:
    def on_stage(name: str) -> None:
        if name == stage:
            raise _Crash(stage)

    return on_stage


def _lake_merged(spark: SparkSession, lake: LakePaths) -> dict[str, DataFrame]:
    # The layer as a reader sees it: its rows merged by the specs' rules, one per key.
    out = {}
    for agg in AGGREGATES:
        # An aggregate of some posts only (topics) has no table until it has a row.
        if agg.lake is not None and path_exists(spark, lake.aggregate(agg.lake)):
            rows = spark.read.parquet(lake.aggregate(agg.lake))
            out[agg.name] = A.merge(agg, rows).localCheckpoint()
    return out


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_batch_and_random_micro_batches_give_identical_aggregates(
    spark: SparkSession, tmp_path: Path, postgres_server: PostgresServer, dialect: str
) -> None:
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)
    backend = BackendSpec.of("vader", settings)

    @hsettings(
        max_examples=2,  # each example is ~8 Spark jobs; the scenarios vary every dimension
        deadline=None,
        derandomize=True,  # seeded: the same scenarios every run
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        print_blob=True,
    )
    @given(scenarios())
    def check(case: dict[str, Any]) -> None:
        run = tmp_path / uuid.uuid4().hex[:8]
        results = {}
        for mode in ("batch", "stream", "batch-jobs"):
            if dialect == "sqlite":
                (run / mode).mkdir(parents=True)
                url = f"sqlite:///{run / mode / 'db.sqlite'}"
            else:
                url = postgres_server.create_database(f"p_{uuid.uuid4().hex[:12]}")
            store = create_store(url)
            store.create_schema()
            store.close()
            lake = LakePaths(f"file://{run / mode / 'lake'}")
            batches = None if mode == "batch" else case["batches"]
            _run(
                spark,
                url,
                lake,
                backend,
                batches,
                case["lines"],
                case["crash"],
                mode == "batch-jobs",
            )
            results[mode] = (_db_aggregates(url), _lake_merged(spark, lake))

        db_batch, lake_batch = results["batch"]
        assert db_batch["hashtag_trends"]
        assert db_batch["mention_trends"]
        if any("love" in ln or "hate" in ln for ln in case["lines"]):
            assert db_batch["topic_trends"]
        for other in ("stream", "batch-jobs"):
            db_other, lake_other = results[other]
            assert db_other == db_batch, other
            assert lake_other.keys() == lake_batch.keys(), other
            for name, want in lake_batch.items():
                assertDataFrameEqual(lake_other[name], want, checkRowOrder=False)

    check()
