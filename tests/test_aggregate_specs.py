"""The aggregate specs agree with the database schema and refuse inconsistent declarations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from socialpulse.domain import aggregates as AG
from socialpulse.domain.columns import Col
from socialpulse.domain.records import SentimentStatus
from socialpulse.storage import tables as t
from socialpulse.storage.lake import LakePaths


@pytest.mark.parametrize("agg", AG.served(), ids=lambda a: a.name)
def test_a_served_aggregate_matches_its_table(agg: AG.Aggregate) -> None:
    assert agg.table is not None
    tbl = t.metadata.tables[agg.table]
    assert [c.name for c in tbl.columns] == list(agg.columns)
    assert [c.name for c in tbl.primary_key.columns] == list(agg.key_names)


def test_every_lake_aggregate_has_a_day_partitioned_lake_table() -> None:
    lake = LakePaths("file:///lake")
    tables = lake.day_partitioned()
    for agg in AG.AGGREGATES:
        if agg.lake is not None:
            assert tables[agg.lake] == f"file:///lake/aggregates/{agg.lake}"
    assert lake.hashtag_trends == tables["hashtag_trends"]


def test_the_labelled_rule() -> None:
    assert AG.LABELLED.holds({Col.SENTIMENT_STATUS: SentimentStatus.OK})
    assert AG.LABELLED.holds({Col.SENTIMENT_STATUS: SentimentStatus.FALLBACK})
    assert AG.LABELLED.holds({Col.SENTIMENT_STATUS: None})  # rows older than the column
    assert AG.LABELLED.holds({})
    assert not AG.LABELLED.holds({Col.SENTIMENT_STATUS: SentimentStatus.UNSUPPORTED_LANGUAGE})


def test_merge_rows_adds_counts_and_weighs_means_by_labelled_posts() -> None:
    t0 = datetime(2026, 10, 3, tzinfo=UTC)
    t1 = datetime(2026, 10, 4, tzinfo=UTC)

    def row(
        n: int, neg: int, neu: int, pos: int, mean: float, at: datetime, handle: str
    ) -> dict[str, Any]:
        return {
            Col.AUTHOR_ID: "u1",
            Col.AUTHOR_HANDLE: handle,
            Col.N_POSTS: n,
            Col.N_NEGATIVE: neg,
            Col.N_NEUTRAL: neu,
            Col.N_POSITIVE: pos,
            Col.MEAN_SCORE: mean,
            Col.FIRST_POST_AT: at,
            Col.LAST_POST_AT: at,
        }

    # Three posts, one of them unlabelled; then one labelled negative post, a day later.
    merged = AG.merge_rows(
        AG.USER_PROFILES, row(3, 0, 1, 1, 0.25, t0, "old"), row(1, 1, 0, 0, -0.5, t1, "new")
    )
    assert merged[Col.N_POSTS] == 4
    assert (merged[Col.N_NEGATIVE], merged[Col.N_NEUTRAL], merged[Col.N_POSITIVE]) == (1, 1, 1)
    assert merged[Col.MEAN_SCORE] == pytest.approx((0.25 * 2 - 0.5) / 3)
    assert (merged[Col.FIRST_POST_AT], merged[Col.LAST_POST_AT]) == (t0, t1)
    assert merged[Col.AUTHOR_HANDLE] == "new"
    older = AG.merge_rows(
        AG.USER_PROFILES, row(1, 1, 0, 0, -0.5, t1, "new"), row(3, 0, 1, 1, 0.25, t0, "old")
    )
    assert older[Col.AUTHOR_HANDLE] == "new"  # the handle follows the latest post, not arrival
    nothing = AG.merge_rows(
        AG.USER_PROFILES, row(1, 0, 0, 0, 0.0, t0, "a"), row(2, 0, 0, 0, 0.0, t0, "a")
    )
    assert (nothing[Col.N_POSTS], nothing[Col.MEAN_SCORE]) == (3, 0.0)


def test_inconsistent_specs_are_refused() -> None:
    with pytest.raises(ValueError, match="must divide a day"):
        AG.Window(Col.WINDOW_START, Col.WINDOW_SIZE, Col.CREATED_AT, (7,))
    with pytest.raises(ValueError, match="weight must name Count measures"):
        AG.Aggregate(
            "bad",
            keys=(AG.Field(Col.DAY),),
            measures=(AG.Mean(Col.MEAN_SCORE, Col.SENTIMENT_SCORE, (), (Col.N_POSTS,)),),
        )
    with pytest.raises(ValueError, match="by must name a Max measure"):
        AG.Aggregate(
            "bad",
            keys=(AG.Field(Col.AUTHOR_ID),),
            measures=(AG.Latest(Col.AUTHOR_HANDLE, Col.AUTHOR_HANDLE, by=Col.LAST_POST_AT),),
        )
    with pytest.raises(ValueError, match="needs a 'day' key"):
        AG.Aggregate("bad", keys=(AG.Field(Col.AUTHOR_ID),), measures=AG.SENTIMENT, lake="bad")
    with pytest.raises(ValueError, match="duplicate column"):
        AG.Aggregate("bad", keys=(AG.Field(Col.N_POSTS),), measures=AG.SENTIMENT)
