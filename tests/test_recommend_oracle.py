"""The oracle row of `recommend evaluate` on generated data (issue 19)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from socialpulse.domain.columns import Col
from socialpulse.generator import GeneratorConfig, generate
from socialpulse.recommend.als import EXCLUDED, AlsParams, dedupe_interactions
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
from socialpulse.recommend.oracle import APPEAL, ORACLE, PlantedTruth, oracle_recommend
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


def test_the_oracle_ranks_by_preference_times_appeal(spark: SparkSession) -> None:
    """Score = the user's weight on the post's topic x the post's appeal; without appeal every
    post of a topic ties and the newest wins; an excluded post is never ranked."""
    prefs = pd.DataFrame({Col.USER_ID: ["u"] * 2, "topic": ["t1", "t2"], Col.WEIGHT: [0.7, 0.3]})
    posts = pd.DataFrame(
        {
            Col.POST_ID: ["p1", "p2", "p3", "p4"],
            "topic": ["t1", "t1", "t2", "t1"],
            APPEAL: [1.0, 5.0, 20.0, 50.0],
        }
    )
    candidates = spark.createDataFrame(
        [(p, f"2026-11-0{i + 1} 00:00:00") for i, p in enumerate(["p1", "p2", "p3", "p4"])],
        "post_id string, created_at string",
    ).withColumn(Col.CREATED_AT, F.to_timestamp(Col.CREATED_AT))
    users = spark.createDataFrame([("u",)], "user_id string")
    excluded = spark.createDataFrame([("u", ["p4"])], f"user_id string, {EXCLUDED} array<string>")

    def ranked(truth: PlantedTruth) -> list[tuple[str, float]]:
        rows = oracle_recommend(truth, users, candidates, excluded, 3).orderBy(Col.RANK).collect()
        return [(r[Col.POST_ID], round(r[Col.SCORE], 6)) for r in rows]

    assert ranked(PlantedTruth(prefs, posts)) == [("p3", 6.0), ("p2", 3.5), ("p1", 0.7)]
    flat = PlantedTruth(prefs, posts.drop(columns=[APPEAL]))
    assert ranked(flat) == [("p2", 0.7), ("p1", 0.7), ("p3", 0.3)]


def test_the_truth_reader_keeps_each_posts_appeal(generated: Path) -> None:
    truth = read_planted_truth(generated / "landing")
    assert isinstance(truth, PlantedTruth)
    lines = _lines(generated / "landing" / "truth")
    appeal: dict[object, object] = {}
    for r in lines:  # a re-delivered post's line repeats its id: the original's comes first
        if r.get(Col.POST_ID) and r.get("topic"):
            appeal.setdefault(r[Col.POST_ID], r[APPEAL])
    read = dict(zip(truth.post_topics[Col.POST_ID], truth.post_topics[APPEAL], strict=True))
    assert read == appeal
    assert max(read.values()) > 10 * min(read.values())  # likes differ a lot between posts
