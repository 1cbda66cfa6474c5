"""The persistent result cache and its hook in the Spark sentiment step."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from pyspark.sql import SparkSession
from pyspark.testing import assertDataFrameEqual

from socialpulse.config import Settings
from socialpulse.domain.records import SentimentResult
from socialpulse.processing.sentiment_step import BackendSpec, add_sentiment, classify_frame
from socialpulse.sentiment.cache import (
    CachedBackend,
    SentimentCache,
    default_cache_path,
    text_key,
    with_cache,
)
from socialpulse.sentiment.preprocess import normalize_tweet
from socialpulse.sentiment.vader import VaderBackend


class CountingVader(VaderBackend):
    """The real VADER backend, counting the texts it is asked to classify."""

    def __init__(self, version: str = VaderBackend.version) -> None:
        super().__init__()
        self.version = version
        self.seen: list[str] = []

    def predict(self, texts: Sequence[str]) -> list[SentimentResult]:
        self.seen.extend(texts)
        return super().predict(texts)


def test_each_text_is_classified_once_across_batches_and_processes(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    inner = CountingVader()
    cached = CachedBackend(inner, SentimentCache(path))
    texts = ["great flight", "lost my bag", "great flight", ""]
    first = cached.predict(texts)
    assert inner.seen == ["great flight", "lost my bag", ""]
    assert first == VaderBackend().predict(texts)
    assert cached.predict(["lost my bag", "new text"]) == VaderBackend().predict(
        ["lost my bag", "new text"]
    )
    assert inner.seen[-1:] == ["new text"]
    # A fresh process opening the same file finds everything.
    again = CountingVader()
    assert CachedBackend(again, SentimentCache(path)).predict(texts) == first
    assert again.seen == []
    assert cached.hits == 2
    assert cached.misses == 4


_FRESH_FILES = 100
# Each worker waits for the go file, then opens and fills the same fresh cache files as the
# others. Plain subprocesses rather than multiprocessing: spawn re-runs the parent's __main__,
# which other tests (Streamlit's AppTest) point at scripts of their own.
_WORKER = """
import sys, time
from pathlib import Path
from socialpulse.sentiment.cache import SentimentCache, text_key
from socialpulse.sentiment.vader import VaderBackend

folder, worker = Path(sys.argv[1]), sys.argv[2]
text = f"text {worker}"
result = VaderBackend().predict([text])[0]
while not (folder / "go").exists():
    time.sleep(0.001)
for n in range(int(sys.argv[3])):
    cache = SentimentCache(folder / f"fresh-{n}.sqlite")
    cache.put_many([(text_key(text), result)])
    cache.close()
"""


def test_many_processes_can_open_a_fresh_cache_at_once(tmp_path: Path) -> None:
    # Spark starts one Python worker per core and each opens the cache on its first batch:
    # a fresh file must survive all of them switching it to WAL together.
    workers = 8
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(tmp_path), str(i), str(_FRESH_FILES)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(workers)
    ]
    time.sleep(1.0)  # let every worker import and reach the wait
    (tmp_path / "go").touch()
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * workers, "\n".join(errors)
    for n in range(_FRESH_FILES):
        assert len(SentimentCache(tmp_path / f"fresh-{n}.sqlite")) == workers


def test_a_new_model_version_never_reads_old_results(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    CachedBackend(CountingVader("1"), SentimentCache(path)).predict(["fine day"])
    newer = CountingVader("2")
    results = CachedBackend(newer, SentimentCache(path)).predict(["fine day"])
    assert newer.seen == ["fine day"]
    assert results[0].model_version == "2"
    assert len(SentimentCache(path)) == 2


def test_normalised_duplicates_share_an_entry(tmp_path: Path) -> None:
    inner = CountingVader()
    cached = CachedBackend(inner, SentimentCache(tmp_path / "c.sqlite"), normalise=normalize_tweet)
    out = cached.predict(["@alice so good http://t.co/1", "@bob so good http://t.co/2"])
    assert len(inner.seen) == 1
    assert out[0] == out[1]
    assert text_key("@x hi") == text_key("@y  hi ")
    assert text_key("hi") != text_key("ho")


def test_large_lookups_are_chunked(tmp_path: Path) -> None:
    cached = CachedBackend(CountingVader(), SentimentCache(tmp_path / "c.sqlite"))
    texts = [f"post number {i}" for i in range(1_200)]
    assert cached.predict(texts) == VaderBackend().predict(texts)
    assert cached.predict(texts) == VaderBackend().predict(texts)
    assert cached.misses == 1_200
    assert cached.hits == 1_200


def test_spark_step_fills_and_uses_the_cache(spark: SparkSession, settings: Settings) -> None:
    rows = [("1", "what a great day"), ("2", "terrible service"), ("3", "what a great day")]
    posts = spark.createDataFrame(rows, "post_id string, text_clean string")
    scored = add_sentiment(posts, BackendSpec.of("vader", settings), batch_size=2)
    expected_sent = classify_frame(pd.Series([t for _, t in rows]), VaderBackend(), 2)
    expected = spark.createDataFrame(
        pd.concat([pd.DataFrame(rows, columns=["post_id", "text_clean"]), expected_sent], axis=1),
        scored.schema,
    )
    assertDataFrameEqual(scored, expected)
    cache = SentimentCache(default_cache_path(settings))
    assert len(cache) == 2  # the duplicate was classified once
    assert set(cache.get_many([text_key("terrible service")], "vader", VaderBackend.version))


def test_cache_can_be_switched_off(spark: SparkSession, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d", sentiment_cache=False, _env_file=None)
    posts = spark.createDataFrame([("1", "ok")], "post_id string, text_clean string")
    assert add_sentiment(posts, BackendSpec.of("vader", settings)).count() == 1
    assert not default_cache_path(settings).exists()


def test_unversioned_backends_are_not_cached(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d", _env_file=None)
    remote = CountingVader("remote")
    assert with_cache(remote, settings) is remote
    assert isinstance(with_cache(CountingVader(), settings), CachedBackend)
