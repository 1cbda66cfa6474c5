"""Content signals: what each user posts and engages with, per hashtag (Spark transforms).

A user's hashtag profile is the confidence of every engaged post spread evenly over its
hashtags, plus ``author_weight`` per own post and hashtag (what people write about is what they
care about, which also gives users who never interacted a profile). Next to it, the user's mean
sentiment per hashtag over their own posts: the signal the sentiment policy steers hashtags by.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from socialpulse.domain.columns import Col

AFFINITY = "affinity"
HASHTAG_SENTIMENT = "hashtag_sentiment"
N_TAGS = "n_tags"


def post_hashtags(posts: DataFrame) -> DataFrame:
    """``post_id, hashtag, n_tags``: one row per post and distinct lower-cased hashtag."""
    tags = posts.select(
        Col.POST_ID, F.array_distinct(F.transform(Col.HASHTAGS, F.lower)).alias(Col.HASHTAGS)
    ).filter(F.size(Col.HASHTAGS) > 0)
    return tags.select(
        Col.POST_ID,
        F.explode(Col.HASHTAGS).alias(Col.HASHTAG),
        F.size(Col.HASHTAGS).alias(N_TAGS),
    ).dropDuplicates([Col.POST_ID, Col.HASHTAG])


def hashtag_profile(conf: DataFrame, posts: DataFrame, author_weight: float) -> DataFrame:
    """``user_id, hashtag, affinity, hashtag_sentiment`` (sentiment null where never posted).

    ``conf`` has ``user_id, post_id, confidence``; ``posts`` has ``post_id, author_id,
    hashtags, sentiment_score``.
    """
    tags = post_hashtags(posts)
    engaged = conf.join(tags, Col.POST_ID).select(
        Col.USER_ID,
        Col.HASHTAG,
        (F.col("confidence") / F.col(N_TAGS)).alias(AFFINITY),
        F.lit(None).cast("double").alias(Col.SENTIMENT_SCORE),
    )
    written = (
        posts.select(Col.POST_ID, F.col(Col.AUTHOR_ID).alias(Col.USER_ID), Col.SENTIMENT_SCORE)
        .join(tags, Col.POST_ID)
        .select(
            Col.USER_ID,
            Col.HASHTAG,
            F.lit(float(author_weight)).alias(AFFINITY),
            Col.SENTIMENT_SCORE,
        )
    )
    return (
        engaged.unionByName(written)
        .groupBy(Col.USER_ID, Col.HASHTAG)
        .agg(
            F.sum(AFFINITY).alias(AFFINITY),
            # avg ignores nulls: the mean over the user's own posts only.
            F.avg(Col.SENTIMENT_SCORE).alias(HASHTAG_SENTIMENT),
        )
        .filter(F.col(AFFINITY) > 0)
    )


def hashtag_vocabulary(tags: DataFrame, size: int) -> list[str]:
    """The ``size`` hashtags on most posts (ties alphabetical): the profile's dimensions."""
    rows = (
        tags.groupBy(Col.HASHTAG)
        .agg(F.count("*").alias("n"))
        .orderBy(F.col("n").desc(), F.col(Col.HASHTAG))
        .limit(size)
        .collect()
    )
    return [str(r[Col.HASHTAG]) for r in rows]
