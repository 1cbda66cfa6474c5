"""EASE: Spark's Gram matrix and scores equal a numpy closed form; the item cap; fit-predict's
model choice on a validation split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession
from pyspark.testing import assertDataFrameEqual

from socialpulse.domain.columns import Col
from socialpulse.recommend.als import AlsParams
from socialpulse.recommend.ease import EDGE_STEPS, EaseModel, ease_weights, fit_gram, next_reg
from socialpulse.recommend.fit_predict import (
    _training_set,
    carve_validation,
    confidence_pd,
    select_model,
)
from socialpulse.recommend.ranking import _best, _best_block
from tests.recommend_fixtures import (
    assert_best_unseen,
    confidence_table,
    dense_matrix,
    planted,
    training_set,
)

REG = 3.0


def _matrix(seed: int) -> pd.DataFrame:
    """15 users x 9 items, about 40 % filled, weights 1-3 (a confidence table)."""
    return confidence_table(seed, users=15, items=9, fill=0.4)


def test_gram_and_weights_equal_the_numpy_closed_form(spark: SparkSession) -> None:
    pdf = _matrix(1)
    fitted = fit_gram(training_set(spark, pdf).conf, max_items=100)
    items = list(fitted.index.items.labels)
    x = dense_matrix(pdf, sorted(pdf[Col.USER_ID].unique()), items)
    np.testing.assert_allclose(fitted.gram, x.T @ x)
    # Steck's closed form written independently: solve instead of inverting.
    n = len(items)
    p = np.linalg.solve(x.T @ x + REG * np.eye(n), np.eye(n))
    expected = np.eye(n) - p / np.diag(p)
    np.fill_diagonal(expected, 0.0)
    gram = fitted.gram.copy()
    np.testing.assert_allclose(ease_weights(fitted.gram, REG), expected, atol=1e-10)
    np.testing.assert_array_equal(fitted.gram, gram)  # worked on a copy, in place
    fitted.indexed.unpersist()


def test_recommendations_are_the_best_unseen_items_by_x_b(spark: SparkSession) -> None:
    pdf = _matrix(2)
    k = 3
    model = EaseModel(REG, max_items=100).fit(training_set(spark, pdf))
    got = model.recommend(k).toPandas()
    items = list(model.fitted.index.items.labels)
    users = sorted(pdf[Col.USER_ID].unique())
    x = dense_matrix(pdf, users, items)
    scores = x @ ease_weights(x.T @ x, REG)
    model.unpersist()
    assert_best_unseen(got, x, scores, users, items, k)


def test_item_cap_models_only_the_most_engaged_items(spark: SparkSession) -> None:
    pdf = _matrix(3)
    model = EaseModel(REG, max_items=4).fit(training_set(spark, pdf))
    top = set(model.fitted.index.items.labels[:4])
    assert model.fitted.gram.shape == (4, 4)
    recs = model.recommend(5).toPandas()
    model.unpersist()
    assert set(recs[Col.POST_ID]) <= top
    counts = pdf[Col.POST_ID].value_counts()
    assert min(counts[list(top)]) >= counts.drop(list(top)).max()


def test_carve_validation_holds_out_each_users_latest_rows() -> None:
    frame = pd.DataFrame(
        {
            Col.USER_ID: ["a"] * 6 + ["b"] * 2 + ["c"],
            Col.POST_ID: [f"p{i}" for i in range(9)],
            Col.WEIGHT: 1.0,
            Col.TS: [5, 1, 4, 2, 6, 3, 9, 8, 7],
        }
    )
    fit, val, name = carve_validation(frame, 0.2, seed=0)
    assert name == "per-user chronological"
    # a: floor(6 * 0.2) = 1 -> its latest (ts 6); b: at least one (ts 9); c alone stays.
    assert set(val[Col.POST_ID]) == {"p4", "p6"}
    assert len(fit) + len(val) == len(frame)
    fit2, val2, name2 = carve_validation(frame.drop(columns=Col.TS), 0.2, seed=0)
    assert name2.startswith("random")
    assert len(fit2) + len(val2) == len(frame)


@pytest.mark.slow
def test_selection_scores_both_families_and_picks_the_best(spark: SparkSession) -> None:
    log = planted(group_users=(12, 8, 8), posts_per_group=15, per_user=8).interactions
    frame = pd.DataFrame(
        {
            Col.USER_ID: log[Col.USER_ID],
            Col.POST_ID: log[Col.POST_ID],
            Col.WEIGHT: 1.0,
            Col.TS: log[Col.TS].astype("int64") / 1e9,
        }
    )
    regs = (1.0, 10.0, 100.0)
    selection = select_model(
        spark,
        frame,
        5,
        AlsParams(4, 0.1, 1.0, 5, 42),
        ease_max_items=1000,
        regs=regs,
        ahead_on=(whole := _training_set(spark, confidence_pd(frame))),
    )
    chosen, reg, report = selection.model, selection.value, selection.report
    grid = {"als", "ease(lambda=1)", "ease(lambda=10)", "ease(lambda=100)"}
    assert grid <= set(report.validation)
    # Past the grid only while its best λ is on an edge: 200, 400, ... or 0.5, 0.25, ...
    extra = set(report.validation) - grid
    ups = {f"ease(lambda={100 * 2**j:g})" for j in range(1, EDGE_STEPS + 1)}
    downs = {f"ease(lambda={2.0**-j:g})" for j in range(1, EDGE_STEPS + 1)}
    assert extra <= ups or extra <= downs
    assert report.validation_users > 0
    best = max(report.validation.values())
    if chosen == "ease":
        assert report.validation[f"ease(lambda={reg:g})"] == best
        # The whole file's model, fitted while ALS validated, is the refit itself.
        assert selection.ahead is not None
        assertDataFrameEqual(
            selection.ahead.with_reg(reg).recommend(5),
            EaseModel(reg, 1000).fit(whole).recommend(5),
        )
    else:
        assert report.validation["als"] == best
        assert selection.ahead is None  # dropped: ALS is refitted instead
    assert best > 0.0


def test_block_top_k_equals_the_row_wise_one() -> None:
    rng = np.random.default_rng(5)
    # Rounded scores make ties common; some rows have fewer unexcluded items than k.
    scores = np.round(rng.normal(size=(40, 12)), 1)
    excluded: list[object] = [
        None if u % 5 == 0 else rng.choice(12, size=int(rng.integers(0, 11)), replace=False)
        for u in range(40)
    ]
    users = np.arange(100, 140, dtype=np.int32)
    for k in (1, 4, 12, 20):
        got = _best_block(users, scores.copy(), excluded, k)
        want = pd.concat(
            [_best(int(u), scores[i], excluded[i], k) for i, u in enumerate(users)],
            ignore_index=True,
        )
        cols = ["user_idx", "rank"]
        pd.testing.assert_frame_equal(
            got.sort_values(cols, ignore_index=True), want.sort_values(cols, ignore_index=True)
        )


def test_the_lambda_grid_extends_only_past_an_edge_it_peaks_on() -> None:
    assert next_reg({50.0: (0.10, 0.2), 100.0: (0.12, 0.3), 200.0: (0.11, 0.2)}) is None
    assert next_reg({50.0: (0.10, 0.2), 100.0: (0.11, 0.2), 200.0: (0.12, 0.1)}) == 400.0
    assert next_reg({50.0: (0.12, 0.2), 100.0: (0.11, 0.2), 200.0: (0.10, 0.3)}) == 25.0
    # NDCG breaks a precision tie; a full tie goes to the larger λ, as the final choice does.
    assert next_reg({50.0: (0.12, 0.3), 100.0: (0.12, 0.2)}) == 25.0
    assert next_reg({50.0: (0.12, 0.2), 100.0: (0.12, 0.2)}) == 200.0
    assert next_reg({50.0: (0.12, 0.2)}) is None  # one value: no edge to speak of
