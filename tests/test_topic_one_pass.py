"""One encoder pass (issue 16): with embedding topics, ``process`` encodes each post once.

Real Spark, the real batch job and a real ``EmbeddingTopicModel`` (MLlib KMeans); the encoder
is ``tests/embedding_fixtures.CountingEmbedder``, a tiny backend that implements ``Embeds`` and
logs every text it encodes (from the Spark worker processes), so the test counts encodings.
The model's centroids live in the counting backend's 16-float space: had the topic step
encoded the posts itself (with the 384-float MiniLM encoder) the assignment would fail, so a
run that assigns topics read them from the sentiment pass.
"""

from __future__ import annotations

import logging
import subprocess
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pyspark import cloudpickle
from pyspark.ml.clustering import KMeans
from pyspark.ml.functions import array_to_vector
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from sqlalchemy import create_engine, inspect, select
from typer.testing import CliRunner

import tests.embedding_fixtures as fixtures
from socialpulse.cli import app
from socialpulse.config import Settings
from socialpulse.domain.columns import Col
from socialpulse.processing import batch_job, topic_step
from socialpulse.processing.sentiment_step import BackendSpec, add_sentiment
from socialpulse.processing.stream_job import PostsStream
from socialpulse.storage import tables as t
from socialpulse.storage.factory import create_store
from socialpulse.storage.lake import LakePaths
from socialpulse.topics.base import TOPIC_VECTOR
from socialpulse.topics.embedding import EmbeddingTopicModel
from tests.embedding_fixtures import CountingEmbedder, CountingSpec, clear, encoded
from tests.ingest_support import cli_env, socialpulse_cmd
from tests.test_stream_job import make_stream, post_line

pytestmark = pytest.mark.slow

# Spark's Python workers cannot import the tests package: ship the fixture module by value.
cloudpickle.register_pickle_by_value(fixtures)  # type: ignore[no-untyped-call]

TEXTS = {
    "1": "Lost my bag again, I hate this",
    "2": "My luggage bag is lost and gone",
    "3": "Another delay, terrible wait at the gate",
    "4": "Delay after delay, late again",
    "5": "The crew were lovely, love them",
    "6": "Crew and staff so kind",
    "7": "RT @u9: Lost my bag again, I hate this",  # a retweet: its clean text is post 1's
    "8": "Où est mon bagage perdu",  # French: no multilingual backend, marked unsupported
    "9": "meal was cold and the food bad",
}
LANG = {"8": "fr"}


def _fit_model(spark: SparkSession, tmp: Path) -> EmbeddingTopicModel:
    """An embedding topic model fitted (KMeans, cosine, k=3) on the counting backend's space."""
    texts = [v for k, v in TEXTS.items() if k not in ("7", "8")]
    vectors = CountingEmbedder(tmp).embed(texts)
    frame = spark.createDataFrame([(v.tolist(),) for v in vectors], "v array<float>")
    features = frame.select(array_to_vector(F.col("v")).alias("features"))
    clusters = KMeans(k=3, seed=7, distanceMeasure="cosine", featuresCol="features").fit(features)
    meta: dict[str, Any] = {
        "model": "embedding",
        "topics": 3,
        "clustering": "kmeans",
        "temperature": 0.05,
        "vector_version": CountingEmbedder.vector_version,
        "sizes": [1, 1, 1],
        "words": [[["bag", 1.0]], [["delay", 1.0]], [["crew", 1.0]]],
    }
    return EmbeddingTopicModel(clusters, meta)


def _landing(root: Path, ids: list[str], texts: dict[str, str]) -> Path:
    lines = [
        post_line(i, texts[i], f"2026-10-03T1{n}:00:00Z", f"u{n}", lang=LANG.get(i, "en"))
        for n, i in enumerate(ids)
    ]
    (root / "posts").mkdir(parents=True)
    (root / "posts" / "part-0.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def _stored_topics(url: str) -> dict[str, tuple[Any, Any, Any]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(t.posts.c.post_id, t.posts.c.topic_id, t.posts.c.topic_weight,
                       t.posts.c.topic_model_version)
            ).all()  # fmt: skip
            columns = {c["name"] for c in inspect(conn).get_columns("posts")}
    finally:
        engine.dispose()
    assert TOPIC_VECTOR not in columns
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def _two_pass(
    spark: SparkSession, model: EmbeddingTopicModel, tmp: Path, texts: dict[str, str]
) -> dict[str, tuple[Any, Any]]:
    """Today's path: the topic step encodes each post's text itself (same encoder)."""
    ids = sorted(texts)
    vectors = CountingEmbedder(tmp).embed([texts[i] for i in ids])
    posts = spark.createDataFrame(
        [(i, texts[i], v.tolist()) for i, v in zip(ids, vectors, strict=True)],
        f"{Col.POST_ID} string, {Col.TEXT} string, {TOPIC_VECTOR} array<float>",
    )
    rows = model.assign(posts).collect()
    return {r[Col.POST_ID]: (r[Col.TOPIC_ID], r[Col.TOPIC_WEIGHT]) for r in rows}


def _spec(settings: Settings, log_dir: Path) -> CountingSpec:
    base = BackendSpec.of("vader", settings)
    return CountingSpec(base.name, base.sentiment, base.cache_path, log_dir=log_dir)


def test_process_encodes_each_post_once_and_assigns_the_two_pass_topics(
    spark: SparkSession, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.storage.data_dir.mkdir(parents=True)
    url = settings.storage.resolved_database_url
    store = create_store(url)
    store.create_schema()
    lake = LakePaths(f"file://{tmp_path}/lake")
    logs = tmp_path / "encoded"
    logs.mkdir()
    spec = _spec(settings, logs)
    (tmp_path / "driver").mkdir()
    model = _fit_model(spark, tmp_path / "driver")
    monkeypatch.setattr(batch_job, "load_topic_model", lambda _spark, _dir, _spec=None: model)

    report = batch_job.run_batch(
        spark, str(_landing(tmp_path / "run1", sorted(TEXTS), TEXTS)), lake, store, spec
    )
    assert report.reconciles
    assert report.stored == len(TEXTS)

    # Each post encoded at most once, in the sentiment pass (French: embed only, its sentiment
    # is the unsupported-language placeholder); the topic step encoded nothing. Posts 1 and 7
    # share a clean text: one pass when they meet in one batch; in two batches the later one
    # is a cache hit and only embedded, or - two workers missing the cache at the same moment
    # (seen in CI) - each post gets its own one pass. Never more passes than posts.
    clean = {i: TEXTS[i].removeprefix("RT @u9: ") for i in TEXTS}
    counts = encoded(logs)
    per_text = Counter(text for (_method, text), n in counts.items() for _ in range(n))
    posts_per_text = Counter(clean.values())
    assert {m for m, _ in counts} <= {"predict_with_vectors", "embed"}
    for text, n in posts_per_text.items():
        assert 1 <= per_text[text] <= n, text
    for i in TEXTS:
        method = "embed" if i in LANG else "predict_with_vectors"
        if posts_per_text[clean[i]] == 1:
            assert counts[(method, clean[i])] == 1, i
        else:  # a shared text: labelled at least once, by the one-pass call
            assert counts[(method, clean[i])] >= 1, i

    # Topics equal today's two-pass result; the retweet's is that of the post it retweets.
    stored = _stored_topics(url)
    reference = _two_pass(spark, model, tmp_path / "driver", TEXTS)
    for i in TEXTS:
        expected = reference["1"] if i == "7" else reference[i]
        assert stored[i][:2] == pytest.approx(expected), i
        assert stored[i][2] == model.version
    assert len({stored[i][0] for i in TEXTS}) > 1  # not one topic for all: the check bites
    assert TOPIC_VECTOR not in spark.read.parquet(lake.posts).columns

    store.close()


def test_the_sentiment_step_vectors_are_the_backends_embed_of_the_clean_text(
    spark: SparkSession, settings: Settings, tmp_path: Path
) -> None:
    logs = tmp_path / "encoded"
    logs.mkdir()
    spec = _spec(settings, logs)
    posts = spark.createDataFrame(
        [(i, TEXTS[i], LANG.get(i, "en")) for i in sorted(TEXTS)],
        f"{Col.POST_ID} string, {Col.TEXT_CLEAN} string, {Col.LANG} string",
    ).coalesce(1)  # one batch, so each distinct text meets the encoder once
    version = CountingEmbedder.vector_version
    first = add_sentiment(posts, spec, batch_size=4, vector_version=version).collect()
    expected = CountingEmbedder(tmp_path).embed([r[Col.TEXT_CLEAN] for r in first])
    np.testing.assert_array_equal(
        np.array([r[TOPIC_VECTOR] for r in first], dtype=np.float32), expected
    )
    assert {r[Col.POST_ID]: r[Col.SENTIMENT_STATUS] for r in first}["8"] == "unsupported_language"
    texts = set(TEXTS.values())
    assert encoded(logs) == Counter(
        {("embed" if t == TEXTS["8"] else "predict_with_vectors", t): 1 for t in texts}
    )

    # Again: every label is a result-cache hit, which holds no vector, so each distinct text
    # is embedded (once) and nothing is labelled twice; labels and vectors are unchanged.
    clear(logs)
    again = add_sentiment(posts, spec, batch_size=4, vector_version=version).collect()
    assert encoded(logs) == Counter({("embed", t): 1 for t in texts})
    assert [r.asDict() for r in again] == [r.asDict() for r in first]


def test_a_backend_without_the_models_vectors_leaves_encoding_to_the_topic_step(
    spark: SparkSession, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "driver").mkdir()
    model = _fit_model(spark, tmp_path / "driver")
    vader = BackendSpec.of("vader", settings)
    with caplog.at_level(logging.WARNING, logger=topic_step.__name__):
        assert topic_step.vectors_for(model, vader) is None
        assert topic_step.vectors_for(model, vader) is None
    (message,) = [r.getMessage() for r in caplog.records]  # logged once, not per call
    assert "'vader' has no sentence vectors" in message
    spec = _spec(settings, tmp_path)
    assert topic_step.vectors_for(model, spec) == CountingEmbedder.vector_version
    assert topic_step.vectors_for(None, spec) is None
    # Without vectors asked for, the step adds no vector column.
    plain = add_sentiment(
        spark.createDataFrame([("1", "hi")], f"{Col.POST_ID} string, {Col.TEXT_CLEAN} string"),
        vader,
    )
    assert TOPIC_VECTOR not in plain.columns


def test_a_model_of_another_vector_space_is_refused_rather_than_fed_other_vectors(
    spark: SparkSession, tmp_path: Path
) -> None:
    # Without a vector column the topic step would encode the posts with the shipped encoder,
    # whose space (minilm-l6c-...) is not the one this model's centroids live in.
    model = _fit_model(spark, tmp_path)
    posts = spark.createDataFrame([("1", "lost bag")], f"{Col.POST_ID} string, {Col.TEXT} string")
    with pytest.raises(ValueError, match=r"count-vectors-v1.*minilm-l6c-.*topics train"):
        model.assign(posts)


def test_a_model_no_backend_can_feed_is_refused_before_a_job_or_stream_starts(
    spark: SparkSession, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A model fitted in another vector space (here the counting backend's) with a backend
    # that has no vectors (vader): the shipped encoder cannot feed it either. Refused when
    # loaded, with the fix in the message, instead of failing the first micro-batch of a
    # running stream.
    (tmp_path / "driver").mkdir()
    model_dir = tmp_path / "model"
    _fit_model(spark, tmp_path / "driver").save(str(model_dir))
    vader = BackendSpec.of("vader", settings)
    with pytest.raises(topic_step.TopicModelError, match=r"count-vectors-v1.*topics train"):
        topic_step.load_topic_model(spark, str(model_dir), vader)
    assert topic_step.load_topic_model(spark, str(model_dir)) is not None  # no spec: no check

    # The stream: refused by start(), before its query exists.
    plain, store = make_stream(spark, settings)
    stream = PostsStream(spark, replace(plain.config, topics_model_dir=str(model_dir)), store)
    with pytest.raises(topic_step.TopicModelError, match="refit it with"):
        stream.start()
    assert not spark.streams.active
    store.close()

    # The batch job through the CLI: a clear error, exit 2, nothing read.
    landing = _landing(tmp_path / "landing", ["1", "2"], TEXTS)
    data_dir = tmp_path / "cli-data"
    for name, value in {
        "DATA_DIR": str(data_dir),
        "TOPICS_MODEL_DIR": str(model_dir),
        "SENTIMENT_BACKEND": "vader",
    }.items():
        monkeypatch.setenv(f"SOCIALPULSE_{name}", value)
    result = CliRunner().invoke(app, ["process", "--input", str(landing)])
    assert result.exit_code == 2, result.output
    assert "error: topic model" in result.output
    assert "refit it with `socialpulse topics train`" in result.output
    assert _stored_topics(f"sqlite:///{data_dir / 'socialpulse.db'}") == {}
    assert not (data_dir / "lake" / "posts").exists()

    # The stream through the CLI, in a process of its own (its Runtime stops Spark): the same
    # error and exit code, and no query left running to wait on.
    stream_dir = tmp_path / "stream-data"
    done = subprocess.run(
        socialpulse_cmd("stream", "--landing", str(landing)),
        env=cli_env(stream_dir, topics_model_dir=str(model_dir), sentiment_backend="vader"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "refit it with `socialpulse topics train`" in done.stderr
    assert not (stream_dir / "lake" / "posts").exists()
