"""The oracle row of `recommend evaluate` on generated data (issue 19)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession

from socialpulse.domain.columns import Col
from socialpulse.generator import GeneratorConfig, generate
from socialpulse.recommend.als import AlsParams, dedupe_interactions
from socialpulse.recommend.evaluation import (
    ALS,
    PER_USER_SPLIT,
    POPULARITY,
    authored_pairs,
    chronological_split,
    evaluate_split,
)
from socialpulse.recommend.job import (
    read_interactions,
    read_planted_truth,
    read_posts,
    usable_truth,
)
from socialpulse.recommend.oracle import ORACLE, PlantedTruth
from socialpulse.storage.lake import LakePaths
from tests.recommend_fixtures import Planted, write_lake

pytestmark = pytest.mark.slow


def _lines(folder: Path) -> list[dict[str, object]]:
    return [
        json.loads(line)
        for path in sorted(folder.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated data set (no malformed lines) and its lake, side by side."""
    root = tmp_path_factory.mktemp("oracle")
    generate(
        GeneratorConfig(
            posts=1_500, users=80, seed=5, malformed_rate=0.0, interaction_malformed_rate=0.0
        ),
        root / "landing",
    )
    return root


def _write_generated_lake(spark: SparkSession, root: Path) -> LakePaths:
    # The lake as `process` would write it, less sentiment and hashtags (the oracle and the
    # baselines here read neither).
    posts = pd.DataFrame(_lines(root / "landing" / "posts")).drop_duplicates(Col.POST_ID)
    posts[Col.HASHTAGS] = pd.Series([[]] * len(posts), index=posts.index, dtype="object")
    posts[Col.SENTIMENT_SCORE] = 0.0
    inter = pd.DataFrame(_lines(root / "landing" / "interactions"))
    inter[Col.TS] = pd.to_datetime(inter[Col.TS], utc=True)
    inter[Col.WEIGHT] = inter[Col.WEIGHT].fillna(1.0).astype(float)
    inter = inter[[Col.USER_ID, Col.POST_ID, Col.KIND, Col.TS, Col.WEIGHT]]
    lake = LakePaths(str(root / "lake"))
    write_lake(spark, lake, Planted(inter, posts, {}, {}))
    return lake


def test_the_oracle_row_ranks_by_the_planted_truth_and_beats_popularity(
    spark: SparkSession, generated: Path
) -> None:
    truth = read_planted_truth(generated / "landing")
    assert isinstance(truth, PlantedTruth)
    lake = _write_generated_lake(spark, generated)
    posts = read_posts(spark, lake).persist()
    train, test = chronological_split(
        dedupe_interactions(read_interactions(spark, lake)), 0.2, PER_USER_SPLIT
    )
    # Segments left out: they cost Spark jobs and say nothing about the oracle.
    result = evaluate_split(
        train,
        test,
        authored_pairs(posts),
        AlsParams(rank=4, reg_param=0.1, alpha=10.0, max_iter=5, seed=42),
        10,
        posts=posts,
        with_segments=False,
        oracle=truth,
    )
    posts.unpersist()
    m = result.metrics
    assert {ALS, POPULARITY, ORACLE} <= set(m)
    # Same users as every other row (the paired interval needs them), and far above popularity.
    assert m[ORACLE].n_users == m[POPULARITY].n_users == result.counts.evaluated_users
    assert m[ORACLE].precision > 2 * m[POPULARITY].precision
    paired = result.paired(POPULARITY)
    assert paired[ORACLE].low > 0  # a real difference, per user on the same users
    assert result.paired(ALS)[ORACLE].low > 0


def test_without_truth_the_row_is_absent_and_the_report_says_why(
    spark: SparkSession, tmp_path: Path, generated: Path
) -> None:
    missing = read_planted_truth(tmp_path / "landing")
    assert isinstance(missing, str)
    assert "no planted truth" in missing
    # Truth of another data set (none of the lake's posts) is refused too.
    other = PlantedTruth(
        preferences=pd.DataFrame({Col.USER_ID: ["x"], "topic": ["t"], Col.WEIGHT: [1.0]}),
        post_topics=pd.DataFrame({Col.POST_ID: ["nope"], "topic": ["t"]}),
    )
    posts = spark.createDataFrame([("p1",), ("p2",)], "post_id string")
    assert usable_truth(missing, posts) == (None, f"no oracle: {missing}")
    assert usable_truth(None, posts)[0] is None
    refused, why = usable_truth(other, posts)
    assert refused is None
    assert "another generated data set" in why
    mine = PlantedTruth(other.preferences, pd.DataFrame({Col.POST_ID: ["p1", "p2"], "topic": "t"}))
    assert usable_truth(mine, posts) == (mine, "")
