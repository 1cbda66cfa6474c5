"""Train/test splitters for interaction logs, each in a pandas and a Spark twin.

The twins give the same rows on the same input, so a metric computed on a small pandas fixture
means the same thing as one computed by the Spark job. Every split is deterministic: ties in
time are broken by ``(post_id, kind)`` and the random splitter hashes ids with a seed instead of
drawing from a generator whose stream would differ between pandas and Spark.
"""

from __future__ import annotations

import hashlib
import math

import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from socialpulse.domain.columns import Col

Split = tuple[pd.DataFrame, pd.DataFrame]
SparkSplit = tuple[DataFrame, DataFrame]

# 32 bits of an MD5 digest: plenty of resolution for a fraction, and both pandas (hashlib) and
# Spark (F.md5) compute it bit for bit the same.
_HASH_HEX = 8
_HASH_SPACE = float(16**_HASH_HEX)


def _check_fraction(fraction: float) -> None:
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"test fraction must be strictly between 0 and 1, got {fraction}")


# -- global time cut ---------------------------------------------------------------------------
def time_cut_pd(df: pd.DataFrame, test_fraction: float) -> pd.Timestamp:
    """The timestamp that leaves about ``test_fraction`` of the rows at or after it.

    It is the discrete percentile (``percentile_disc``) of ``ts`` at ``1 - test_fraction``: the
    smallest timestamp whose cumulative share of rows reaches that level.
    """
    _check_fraction(test_fraction)
    if df.empty:
        raise ValueError("cannot split an empty interaction log")
    ts = df[Col.TS].sort_values(kind="mergesort").reset_index(drop=True)
    pos = max(math.ceil((1.0 - test_fraction) * len(ts)) - 1, 0)
    return pd.Timestamp(ts.iloc[pos])


def time_cut_spark(df: DataFrame, test_fraction: float) -> object:
    """Spark twin of :func:`time_cut_pd` (exact, not approximate)."""
    _check_fraction(test_fraction)
    level = 1.0 - test_fraction
    # percentile_disc does not order timestamps; their microsecond counts order the same way.
    micros = F.expr(f"percentile_disc({level!r}) WITHIN GROUP (ORDER BY unix_micros({Col.TS}))")
    row = df.select(F.timestamp_micros(micros.cast("long")).alias("cut")).first()
    if row is None or row["cut"] is None:
        raise ValueError("cannot split an empty interaction log")
    return row["cut"]


def split_global_time_pd(df: pd.DataFrame, cut: pd.Timestamp) -> Split:
    """Rows before ``cut`` train, rows at or after it test: no future leaks into training."""
    before = df[Col.TS] < cut
    return df[before], df[~before]


def split_global_time_spark(df: DataFrame, cut: object) -> SparkSplit:
    """Spark twin of :func:`split_global_time_pd`."""
    before = F.col(Col.TS) < F.lit(cut)
    return df.filter(before), df.filter(~before)


# -- per-user last fraction --------------------------------------------------------------------
def _n_test(n: int, fraction: float) -> int:
    return math.floor(n * fraction)


def split_user_last_pd(df: pd.DataFrame, test_fraction: float) -> Split:
    """Each user's latest ``floor(n_user * test_fraction)`` interactions go to test."""
    _check_fraction(test_fraction)
    ordered = df.sort_values([Col.USER_ID, Col.TS, Col.POST_ID, Col.KIND], kind="mergesort")
    pos = ordered.groupby(Col.USER_ID, sort=False).cumcount() + 1
    size = ordered.groupby(Col.USER_ID, sort=False)[Col.TS].transform("size")
    n_test = (size * test_fraction).map(math.floor)
    is_test = pos > size - n_test
    return ordered[~is_test], ordered[is_test]


def split_user_last_spark(df: DataFrame, test_fraction: float) -> SparkSplit:
    """Spark twin of :func:`split_user_last_pd`."""
    _check_fraction(test_fraction)
    by_user = Window.partitionBy(Col.USER_ID)
    ordered = by_user.orderBy(Col.TS, Col.POST_ID, Col.KIND)
    marked = (
        df.withColumn("_pos", F.row_number().over(ordered))
        .withColumn("_size", F.count(F.lit(1)).over(by_user))
        .withColumn(
            "_test", F.col("_pos") > F.col("_size") - F.floor(F.col("_size") * test_fraction)
        )
    )
    drop = ["_pos", "_size", "_test"]
    return (
        marked.filter(~F.col("_test")).drop(*drop),
        marked.filter(F.col("_test")).drop(*drop),
    )


# -- random ------------------------------------------------------------------------------------
def _pair_key(seed: int, user: str, post: str) -> str:
    return f"{seed}\x1f{user}\x1f{post}"


def split_random_pd(df: pd.DataFrame, test_fraction: float, seed: int) -> Split:
    """A seeded random split by (user, post) pair, so a pair never straddles train and test."""
    _check_fraction(test_fraction)
    keys = [_pair_key(seed, u, p) for u, p in zip(df[Col.USER_ID], df[Col.POST_ID], strict=True)]
    draw = pd.Series(
        [
            int(hashlib.md5(k.encode("utf-8"), usedforsecurity=False).hexdigest()[:_HASH_HEX], 16)
            / _HASH_SPACE
            for k in keys
        ],
        index=df.index,
        dtype="float64",
    )
    is_test = draw < test_fraction
    return df[~is_test], df[is_test]


def split_random_spark(df: DataFrame, test_fraction: float, seed: int) -> SparkSplit:
    """Spark twin of :func:`split_random_pd` (same hash, same rows)."""
    _check_fraction(test_fraction)
    key = F.concat_ws("\x1f", F.lit(str(seed)), F.col(Col.USER_ID), F.col(Col.POST_ID))
    draw = F.conv(F.substring(F.md5(key), 1, _HASH_HEX), 16, 10).cast("double") / _HASH_SPACE
    marked = df.withColumn("_test", draw < test_fraction)
    return (
        marked.filter(~F.col("_test")).drop("_test"),
        marked.filter(F.col("_test")).drop("_test"),
    )
