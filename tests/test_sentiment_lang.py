"""Routing by ``lang``: English to the main backend, the rest to a multilingual one or marked.

Real Spark (``mapInPandas``); the multilingual backend is the ``transformers`` backend over a
tiny model built here with a fixed bias, so its labels are known without hard-coding them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession
from pyspark.testing import assertDataFrameEqual

from socialpulse.config import Settings
from socialpulse.domain.columns import Col
from socialpulse.processing.sentiment_step import (
    UNSUPPORTED_MODEL,
    BackendSpec,
    Status,
    add_sentiment,
    classify_frame,
    is_english,
)
from socialpulse.sentiment.base import create_backend
from socialpulse.sentiment.vader import VaderBackend
from tests.tiny_hf_models import build_tiny_model

ROWS = [
    ("1", "what a great day", "en"),
    ("2", "terrible service", "en-GB"),
    ("3", "#monday 😍", "und"),
    ("4", "no lang field at all", None),
    ("5", "quel service horrible", "fr"),
    ("6", "ひどいサービス", "ja"),
    ("7", "what a great day", "fr"),  # same text, other route: not served from the English row
]
SCHEMA = "post_id string, text_clean string, lang string"


def test_which_codes_count_as_english() -> None:
    assert all(is_english(c) for c in ["en", "EN", "en-GB", "und", "zxx", "qme", "", None])
    assert not any(is_english(c) for c in ["fr", "ja", "es", "enx"])


def test_unsupported_languages_are_marked_not_labelled(
    spark: SparkSession, settings: Settings
) -> None:
    posts = spark.createDataFrame(ROWS, SCHEMA)
    scored = add_sentiment(posts, BackendSpec.of("vader", settings), batch_size=3)
    english = [r for r in ROWS if is_english(r[2])]
    vader = VaderBackend().predict([t for _, t, _ in english])
    third = 1.0 / 3.0
    expected_rows = [
        (*row, r.label.value, r.score, r.probabilities["negative"], r.probabilities["neutral"],
         r.probabilities["positive"], "vader", VaderBackend.version, Status.OK)
        for row, r in zip(english, vader, strict=True)
    ] + [
        (*row, "neutral", 0.0, third, third, third, UNSUPPORTED_MODEL, row[2],
         Status.UNSUPPORTED_LANGUAGE)
        for row in ROWS
        if not is_english(row[2])
    ]  # fmt: skip
    assertDataFrameEqual(scored, spark.createDataFrame(expected_rows, scored.schema))


@pytest.mark.slow
def test_other_languages_go_to_the_multilingual_backend(
    spark: SparkSession, settings: Settings, tmp_path: Path
) -> None:
    model = build_tiny_model(
        tmp_path / "multi", {0: "negative", 1: "neutral", 2: "positive"}, bias=[2.0, 0.0, 0.0]
    )
    routed = settings.model_copy(
        update={"sentiment_multilingual_backend": "transformers", "transformers_model": str(model)}
    )
    posts = spark.createDataFrame(ROWS, SCHEMA)
    scored = add_sentiment(posts, BackendSpec.of("vader", routed), batch_size=4)
    got = scored.select(Col.POST_ID, Col.SENTIMENT_MODEL, Col.SENTIMENT_STATUS)
    multi = create_backend("transformers", routed)
    expected = [
        (pid, "vader" if is_english(lang) else multi.name, Status.OK) for pid, _, lang in ROWS
    ]
    assertDataFrameEqual(got, spark.createDataFrame(expected, got.schema))
    # The tiny model's fixed bias makes every non-English post negative.
    foreign = scored.filter(
        ~scored[Col.LANG].isin("en", "en-GB", "und") & scored[Col.LANG].isNotNull()
    )
    assert {r[Col.SENTIMENT_LABEL] for r in foreign.collect()} == {"negative"}


def test_fallback_results_are_recorded_as_fallback() -> None:
    class Down:
        name = "remote"
        version = "remote"

        def predict(self, texts: list[str]) -> list[object]:
            from socialpulse.sentiment.fallback import RemoteUnavailableError

            raise RemoteUnavailableError("down", [None] * len(texts))

    from socialpulse.sentiment.fallback import FallbackBackend

    backend = FallbackBackend(Down(), VaderBackend())  # type: ignore[arg-type]
    out = classify_frame(pd.Series(["good", "bad"]), backend, 8)
    assert list(out[Col.SENTIMENT_STATUS]) == [Status.FALLBACK, Status.FALLBACK]
    assert list(out[Col.SENTIMENT_MODEL]) == ["vader", "vader"]
