"""Item-kNN (issue 19, past EASE's item cap): Spark's neighbour lists and scores equal a numpy
brute force; sparse and dense item-item matrices rank alike; fit-predict switches to item-kNN
past the cap and tunes its neighbour count on validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import SparkSession
from scipy.sparse import csr_matrix

from socialpulse.domain.columns import Col
from socialpulse.recommend.als import AlsParams
from socialpulse.recommend.ease import user_rows
from socialpulse.recommend.fit_predict import (
    VALIDATION_FRACTION,
    carve_validation,
    run_fit_predict,
)
from socialpulse.recommend.item_knn import ItemKnnModel, fit_knn_index, item_neighbours
from socialpulse.recommend.ranking import top_k_by_item_matrices
from tests.recommend_fixtures import (
    assert_best_unseen,
    confidence_table,
    dense_matrix,
    planted,
    training_set,
)

SHRINK = 2.0


def _matrix(seed: int) -> pd.DataFrame:
    """20 users x 12 items, about 35 % filled, weights 1-3 (a confidence table)."""
    return confidence_table(seed, users=20, items=12, fill=0.35)


def _brute_force(x: np.ndarray, neighbours: int, shrink: float) -> np.ndarray:
    """The neighbour matrix written independently: full cosine, then each row's best."""
    g = x.T @ x
    norm = np.sqrt(np.diag(g))
    sim = g / (np.outer(norm, norm) + shrink)
    np.fill_diagonal(sim, 0.0)
    out: np.ndarray = np.zeros(sim.shape)
    for i in range(len(sim)):
        positive = [j for j in range(len(sim)) if sim[i, j] > 0]
        for j in sorted(positive, key=lambda j: (-sim[i, j], j))[:neighbours]:
            out[i, j] = sim[i, j]
    return out


def test_neighbour_lists_equal_the_numpy_brute_force(spark: SparkSession) -> None:
    pdf = _matrix(11)
    fitted = fit_knn_index(training_set(spark, pdf).conf)
    items = list(fitted.index.items.labels)
    x = dense_matrix(pdf, sorted(pdf[Col.USER_ID].unique()), items)
    got = item_neighbours(fitted.indexed, len(items), neighbours=4, shrink=SHRINK).toPandas()
    fitted.indexed.unpersist()
    want = _brute_force(x, 4, SHRINK)
    mine = np.zeros_like(want)
    mine[got["i"].to_numpy(), got["j"].to_numpy()] = got["sim"].to_numpy()
    np.testing.assert_allclose(mine, want, rtol=1e-12, atol=1e-12)
    assert (got.groupby("i").size() <= 4).all()
    assert not (got["i"] == got["j"]).any()


def test_recommendations_are_the_best_unseen_items_by_x_s(spark: SparkSession) -> None:
    pdf = _matrix(12)
    k = 3
    model = ItemKnnModel(neighbours=5, shrink=SHRINK).fit(training_set(spark, pdf))
    got = model.recommend(k).toPandas()
    assert model._fitted is not None
    items = list(model._fitted.index.items.labels)
    model.unpersist()
    users = sorted(pdf[Col.USER_ID].unique())
    x = dense_matrix(pdf, users, items)
    scores = x @ _brute_force(x, 5, SHRINK)
    assert_best_unseen(got, x, scores, users, items, k)


def test_a_sparse_item_matrix_ranks_as_its_dense_copy(spark: SparkSession) -> None:
    pdf = _matrix(13)
    data = training_set(spark, pdf)
    fitted = fit_knn_index(data.conf)
    n = fitted.index.n_items
    rng = np.random.default_rng(0)
    dense = np.where(rng.random((n, n)) < 0.3, np.round(rng.random((n, n)), 2), 0.0)
    users = user_rows(fitted.indexed, data.excluded, fitted.index, n)
    cols = ["variant", "user_idx", "rank"]
    got = top_k_by_item_matrices(users, [csr_matrix(dense)], 4).toPandas().sort_values(cols)
    want = top_k_by_item_matrices(users, [dense], 4).toPandas().sort_values(cols)
    fitted.indexed.unpersist()
    assert len(want) > 0
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))


def _planted_file() -> pd.DataFrame:
    log = planted(group_users=(12, 8, 8), posts_per_group=15, per_user=8).interactions
    return pd.DataFrame(
        {
            Col.USER_ID: log[Col.USER_ID],
            Col.POST_ID: log[Col.POST_ID],
            Col.WEIGHT: 1.0,
            Col.TS: log[Col.TS].astype("int64") / 1e9,
        }
    )


@pytest.mark.slow
def test_past_the_ease_cap_fit_predict_tunes_and_writes_item_knn(
    spark: SparkSession, tmp_path: Path
) -> None:
    frame = _planted_file()
    train = tmp_path / "train.csv"
    frame.to_csv(train, index=False, header=False)
    out = tmp_path / "out.csv"
    choices: list[str] = []
    params = AlsParams(4, 0.1, 1.0, 5, 42)
    # model="ease": the item-item family alone (ALS against it is test_recommend_ease's).
    report = run_fit_predict(
        spark, train, out, 5, params, model="ease", ease_max_items=10, on_choice=choices.append
    )
    assert set(report.validation) == {"item-knn(neighbours=50)", "item-knn(neighbours=200)"}
    assert report.validation[report.model] == max(report.validation.values())
    assert f"chose {report.model}" in choices[0]
    # Planted groups: users engage within their group, so co-engagement finds the group and
    # beats ranking at random (expected precision: a user's held-out items over their unseen
    # items) more than twice over.
    fit, val, _ = carve_validation(frame, VALIDATION_FRACTION, params.seed)
    n_items = fit[Col.POST_ID].nunique()
    seen = fit.groupby(Col.USER_ID)[Col.POST_ID].nunique()
    held = val.groupby(Col.USER_ID)[Col.POST_ID].nunique()
    chance = float((held / (n_items - seen[held.index])).mean())
    assert report.validation["item-knn(neighbours=50)"] > 2 * chance, chance

    recs = pd.read_csv(out, dtype={"user": str, "item": str})
    assert recs["user"].nunique() == frame[Col.USER_ID].nunique()
    assert (recs.groupby("user").size() == 5).all()
    seen_pairs = set(zip(frame[Col.USER_ID], frame[Col.POST_ID], strict=True))
    assert not any((u, i) in seen_pairs for u, i in zip(recs["user"], recs["item"], strict=True))
