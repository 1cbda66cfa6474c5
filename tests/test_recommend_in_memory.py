"""fit-predict's driver path: each in-memory twin ranks exactly as its Spark original, and
fit-predict writes the same file whichever path it takes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession
from pyspark.testing import assertDataFrameEqual
from scipy.sparse import csr_matrix

from socialpulse.domain.columns import Col
from socialpulse.recommend import ease
from socialpulse.recommend.als import CONFIDENCE, AlsModel, AlsParams, fit_index
from socialpulse.recommend.ease import (
    fit_gram,
    recommend_variants,
    recommend_variants_collected,
    recommend_variants_pd,
    variant_passes,
)
from socialpulse.recommend.fit_predict import _item_item_validation, run_fit_predict
from socialpulse.recommend.in_memory import IndexedPairs, als_top_k, id_index
from socialpulse.recommend.metrics import ranking_metrics_pd
from socialpulse.recommend.ranking import (
    top_k_by_factors,
    top_k_by_factors_pd,
    top_k_by_item_matrices,
    top_k_by_item_matrices_pd,
)
from tests.recommend_fixtures import confidence_table, planted, training_set

RANKED = ["variant", Col.USER_ID, Col.POST_ID, Col.RANK, Col.SCORE]


def _users_frame(spark: SparkSession, x: np.ndarray, excluded: list[list[int]]) -> object:
    rows = [
        (u, [int(i) for i in np.flatnonzero(x[u])], [float(v) for v in x[u][x[u] != 0]], excl)
        for u, excl in enumerate(excluded)
    ]
    return spark.createDataFrame(
        rows, "user_idx int, items array<int>, values array<double>, excluded array<int>"
    )


def test_item_matrix_top_k_twin_equals_spark(spark: SparkSession) -> None:
    rng = np.random.default_rng(11)
    x = np.where(rng.random((30, 12)) < 0.3, rng.integers(1, 4, (30, 12)), 0).astype(float)
    # Rounded weights make tied scores common, so the tie rule is exercised too.
    dense = np.round(rng.normal(size=(12, 12)), 1)
    sparse = csr_matrix(np.where(np.abs(dense) > 0.8, dense, 0.0))
    excluded = [[int(i) for i in np.flatnonzero(x[u])] for u in range(30)]
    users = _users_frame(spark, x, excluded)
    for k in (3, 12):
        want = top_k_by_item_matrices(users, [dense, sparse], k)  # type: ignore[arg-type]
        got = top_k_by_item_matrices_pd(
            csr_matrix(x), [np.asarray(e, dtype=np.int64) for e in excluded], [dense, sparse], k
        )
        assert len(got) > 0
        assertDataFrameEqual(spark.createDataFrame(got, want.schema), want, checkRowOrder=False)


def test_factor_top_k_twin_equals_spark(spark: SparkSession) -> None:
    rng = np.random.default_rng(12)
    users_f = np.round(rng.normal(size=(25, 4)), 1)
    items_f = np.round(rng.normal(size=(9, 4)), 1)
    ids = np.arange(100, 125, dtype=np.int32)
    excluded = [rng.choice(9, size=int(rng.integers(0, 5)), replace=False) for _ in ids]
    users = spark.createDataFrame(
        [
            (int(u), [float(v) for v in f], [int(i) for i in e])
            for u, f, e in zip(ids, users_f, excluded, strict=True)
        ],
        "user_idx int, features array<float>, excluded array<int>",
    )
    # The Spark side reads features as float32: compare on the same values.
    users_f32 = users_f.astype(np.float32).astype(np.float64)
    want = top_k_by_factors(users, items_f, 4)
    got = top_k_by_factors_pd(ids, users_f32, items_f, excluded, 4)
    assertDataFrameEqual(spark.createDataFrame(got, want.schema), want, checkRowOrder=False)


def test_indexed_pairs_sum_repeats_and_exclude_every_seen_pair() -> None:
    conf = pd.DataFrame(
        {
            Col.USER_ID: ["a", "a", "b", "b", "c"],
            Col.POST_ID: ["p", "q", "p", "r", "p"],
            CONFIDENCE: [1.0, 0.0, 2.0, 1.5, 1.0],
        }
    )
    pairs = IndexedPairs.from_conf(conf)
    # Frequency order, ties by id: users a, b (2 pairs), c; posts p (3), then q, r.
    assert (pairs.users, pairs.items) == (["a", "b", "c"], ["p", "q", "r"])
    np.testing.assert_array_equal(
        pairs.x.toarray(), [[1.0, 0.0, 0.0], [2.0, 0.0, 1.5], [1.0, 0.0, 0.0]]
    )
    # a's zero-confidence pair (a, q) is still seen, so never recommended.
    assert [list(e) for e in pairs.excluded(3)] == [[0, 1], [0, 2], [0]]
    assert [list(e) for e in pairs.excluded(1)] == [[0], [0], [0]]
    named = pairs.named(
        pd.DataFrame({"user_idx": [2], "item_idx": [1], Col.RANK: [1], Col.SCORE: [0.5]})
    )
    assert named.to_dict("records") == [
        {Col.USER_ID: "c", Col.POST_ID: "q", Col.RANK: 1, Col.SCORE: 0.5}
    ]


@pytest.mark.parametrize("max_items", [100, 5])
def test_ease_twin_equals_spark_with_and_without_the_item_cap(
    spark: SparkSession, max_items: int
) -> None:
    pdf = confidence_table(21, users=20, items=9, fill=0.4)
    regs = [1.0, 5.0]
    data = training_set(spark, pdf)
    fitted = fit_gram(data.conf, max_items)
    want = recommend_variants(fitted, data.excluded, regs, 3)
    got = recommend_variants_pd(IndexedPairs.from_conf(pdf), max_items, regs, 3)
    assert got[Col.USER_ID].nunique() == pdf[Col.USER_ID].nunique()
    assertDataFrameEqual(spark.createDataFrame(got[RANKED], want.schema), want, checkRowOrder=False)
    fitted.indexed.unpersist()


def test_variant_passes_share_a_pass_while_the_weights_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ease, "VARIANT_BYTES", 4 * 100 * 100 * 2)  # two 100-item matrices
    assert variant_passes(100, 5) == [range(0, 2), range(2, 4), range(4, 5)]
    assert variant_passes(10, 5) == [range(0, 5)]
    # A matrix over the budget still gets a pass: one λ each.
    assert variant_passes(1000, 3) == [range(0, 1), range(1, 2), range(2, 3)]
    assert variant_passes(1000, 0) == []


@pytest.mark.slow
def test_als_twin_equals_spark_scoring(spark: SparkSession) -> None:
    pdf = confidence_table(22, users=25, items=12, fill=0.35)
    pairs = IndexedPairs.from_conf(pdf)
    model = AlsModel(AlsParams(4, 0.1, 1.0, 5, 42)).fit(training_set(spark, pdf), id_index(pairs))
    want = model.recommend(4)
    got = als_top_k(model.fitted, pairs, 4)
    assertDataFrameEqual(spark.createDataFrame(got, want.schema), want, checkRowOrder=False)
    other = IndexedPairs.from_conf(pdf[pdf[Col.POST_ID] != pairs.items[0]])
    with pytest.raises(ValueError, match="another index"):
        als_top_k(model.fitted, other, 4)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["auto", "als"])
def test_fit_predict_writes_the_same_file_on_the_driver_and_in_spark(
    spark: SparkSession, tmp_path: Path, model: str
) -> None:
    log = planted(group_users=(12, 8, 8), posts_per_group=15, per_user=8).interactions
    train = tmp_path / "train.csv"
    pd.DataFrame(
        {
            "user": log[Col.USER_ID],
            "item": log[Col.POST_ID],
            "weight": 1.0,
            "ts": log[Col.TS].astype("int64") // 10**9,
        }
    ).to_csv(train, index=False)
    params = AlsParams(4, 0.1, 1.0, 5, 42)
    outputs, reports = [], []
    for local_pairs in (10**6, 0):
        out = tmp_path / f"out-{local_pairs}.csv"
        reports.append(
            run_fit_predict(spark, train, out, 5, params, model=model, local_pairs=local_pairs)
        )
        outputs.append(out.read_text())
    assert reports[0] == reports[1]
    assert outputs[0] == outputs[1]
    assert outputs[0].count("\n") == 1 + 5 * log[Col.USER_ID].nunique()


def test_the_lambda_grid_ranks_alike_in_one_pass_or_one_pass_per_lambda(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A large catalogue's λ are scored in several Spark passes, each collected on its own.
    pdf = confidence_table(23, users=20, items=9, fill=0.4)
    data = training_set(spark, pdf)
    index = fit_index(data.conf)
    regs = (1.0, 5.0, 25.0)
    fitted = fit_gram(data.conf, 100, index)
    together = recommend_variants_collected(fitted, data.excluded, regs, 3)
    monkeypatch.setattr(ease, "VARIANT_BYTES", 1)
    assert len(ease.variant_passes(fitted.n_items, len(regs))) == len(regs)
    apart = recommend_variants_collected(fitted, data.excluded, regs, 3)
    fitted.indexed.unpersist()
    # fit-predict's Spark validation rates the grid from those lists (past an edge: more λ).
    relevant = pdf[[Col.USER_ID, Col.POST_ID]]
    family, rated = _item_item_validation(
        data, index, 9, 100, regs, 3, lambda recs: ranking_metrics_pd(recs, relevant, 3, 9)
    )
    assert family == "ease"
    assert set(regs) <= set(rated)
    key = ["variant", Col.USER_ID, Col.RANK]
    got = apart.sort_values(key, ignore_index=True)
    want = together.sort_values(key, ignore_index=True)
    assert set(got["variant"]) == {0, 1, 2}
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
