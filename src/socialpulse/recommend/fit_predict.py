"""``socialpulse recommend fit-predict``: the file-to-file contract (a job: it reads and writes).

:func:`run_fit_predict` reads a ``user,item,weight[,timestamp]`` file, chooses ALS or an
item-item model (EASE, or item-kNN past the item cap) and its parameter on a validation split
carved from that file, refits the winner on all of it and writes every user's top-K unseen
items.
"""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.sql import SparkSession

from socialpulse.domain.columns import Col
from socialpulse.recommend.als import (
    CONFIDENCE,
    AlsModel,
    AlsParams,
    IdIndex,
    exclusions,
    index_labels_pd,
)
from socialpulse.recommend.ease import (
    DEFAULT_REGS,
    EaseModel,
    ease_grid,
    fit_gram,
    fit_gram_pd,
    recommend_fitted_pd,
    recommend_variants_collected,
    recommend_variants_pd,
)
from socialpulse.recommend.in_memory import IndexedPairs, als_top_k, id_index
from socialpulse.recommend.item_knn import (
    DEFAULT_NEIGHBOURS,
    ItemKnnModel,
    fit_knn_index,
    recommend_knn_variants,
)
from socialpulse.recommend.metrics import RankingMetrics, ranking_metrics_pd
from socialpulse.recommend.recommender import TrainingSet
from socialpulse.recommend.splitters import split_random_pd


class InteractionFileError(ValueError):
    """The training file is not a ``user,item,weight[,timestamp]`` table."""


_FILE_COLUMNS = [Col.USER_ID, Col.POST_ID, Col.WEIGHT, Col.TS]


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def read_interaction_file(path: Path) -> pd.DataFrame:
    """Parse ``user,item,weight[,timestamp]`` (comma or tab, header optional, ids as strings)."""
    # utf-8-sig: spreadsheets often save a byte-order mark that would stick to the first id.
    with path.open(encoding="utf-8-sig", newline="") as fh:
        found = next(((i, line) for i, line in enumerate(fh) if line.strip()), None)
    if found is None:
        raise InteractionFileError(f"{path} is empty")
    first_no, first = found
    sep = "\t" if "\t" in first else ","
    fields = next(csv.reader([first], delimiter=sep))
    if len(fields) not in (3, 4):
        raise InteractionFileError(
            f"{path}: expected 3 or 4 columns (user, item, weight[, timestamp]), "
            f"found {len(fields)} in {first.strip()!r}"
        )
    # A header is a first line whose weight field is not a number.
    has_header = not _is_number(fields[2].strip())
    frame = pd.read_csv(
        path,
        sep=sep,
        header=None,
        skiprows=first_no + 1 if has_header else first_no,
        encoding="utf-8-sig",
        names=_FILE_COLUMNS[: len(fields)],
        dtype=str,
        keep_default_na=False,
        skip_blank_lines=True,
    )
    frame[Col.USER_ID] = frame[Col.USER_ID].str.strip()
    frame[Col.POST_ID] = frame[Col.POST_ID].str.strip()
    weight = pd.to_numeric(frame[Col.WEIGHT].str.strip(), errors="coerce")
    bad = ~np.isfinite(weight.to_numpy(dtype=np.float64, na_value=np.nan))
    bad |= (frame[Col.USER_ID] == "") | (frame[Col.POST_ID] == "")
    if bad.any():
        # Report 1-based file lines; blank lines inside the file are not counted.
        offset = first_no + (2 if has_header else 1)
        lines = [int(i) + offset for i in frame.index[bad][:5]]
        raise InteractionFileError(
            f"{path}: {int(bad.sum())} rows lack a user, an item or a finite numeric weight "
            f"(first at lines {lines})"
        )
    out = pd.DataFrame(
        {Col.USER_ID: frame[Col.USER_ID], Col.POST_ID: frame[Col.POST_ID], Col.WEIGHT: weight}
    )
    if Col.TS in frame.columns:
        seconds = _epoch_seconds(frame[Col.TS].str.strip())
        # Timestamps only order the validation split: a file whose times do not all parse is
        # treated as having none (the contract never required them).
        if seconds.notna().all():
            out[Col.TS] = seconds.astype("float64")
    return out


def _epoch_seconds(text: pd.Series) -> pd.Series:
    """Numbers as epoch seconds, anything else parsed as an ISO 8601 time (NaN if neither)."""
    numeric = pd.to_numeric(text, errors="coerce")
    iso = pd.to_datetime(text.where(numeric.isna()), utc=True, errors="coerce", format="ISO8601")
    as_seconds = (iso - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    return numeric.fillna(as_seconds)


ALS_MODEL = "als"
EASE_MODEL = "ease"
KNN_MODEL = "item-knn"
VALIDATION_FRACTION = 0.2


@dataclass
class FitPredictReport:
    """Sizes of one fit-predict run, the model it chose and every candidate's validation
    precision@k (``validation``: model label -> precision, ``validation_users``: users scored)."""

    rows: int
    users: int
    items: int
    recommendations: int
    model: str = ""
    validation: dict[str, float] = field(default_factory=dict)
    validation_users: int = 0
    validation_split: str = ""

    def as_dict(self) -> dict[str, object]:
        """Plain values for JSON output."""
        return asdict(self)


def carve_validation(
    frame: pd.DataFrame, fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Split a training file into fit and validation parts; returns the split's name too.

    With timestamps: each user's latest ``max(1, floor(n * fraction))`` rows (users with at
    least two rows), the per-user chronological protocol. Without: a seeded hash of each
    (user, item) pair, so no pair straddles both parts.
    """
    if Col.TS in frame.columns:
        ordered = frame.sort_values([Col.USER_ID, Col.TS, Col.POST_ID], kind="mergesort")
        pos = ordered.groupby(Col.USER_ID, sort=False).cumcount() + 1
        size = ordered.groupby(Col.USER_ID, sort=False)[Col.POST_ID].transform("size")
        n_val = np.where(size >= 2, np.maximum(1, np.floor(size * fraction)), 0)
        is_val = pos > size - n_val
        return ordered[~is_val], ordered[is_val], "per-user chronological"
    fit, val = split_random_pd(frame, fraction, seed)
    return fit, val, "random by (user, item) pair"


def confidence_pd(frame: pd.DataFrame) -> pd.DataFrame:
    """``user_id, post_id, confidence``: a file's rows summed per (user, item) pair."""
    # Repeated lines of a pair are separate events here (a file has no redelivery key), so
    # their weights add up instead of being deduplicated.
    return (
        frame.groupby([Col.USER_ID, Col.POST_ID], sort=False)[Col.WEIGHT]
        .sum()
        .rename(CONFIDENCE)
        .reset_index()
    )


def _training_set(spark: SparkSession, conf: pd.DataFrame) -> TrainingSet:
    """``conf`` (cached) and ``excluded`` of :func:`confidence_pd`'s pairs, in Spark."""
    pairs = spark.createDataFrame(
        conf[[Col.USER_ID, Col.POST_ID, CONFIDENCE]],
        schema=f"user_id string, post_id string, {CONFIDENCE} double",
    ).persist()
    seen = pairs.select(Col.USER_ID, Col.POST_ID)
    return TrainingSet(conf=pairs, excluded=exclusions(seen, None))


@dataclass
class Selection:
    """What :func:`select_model` chose: the family (``als``, ``ease`` or ``item-knn``), its
    parameter (EASE's λ, item-kNN's neighbour count), the scores, and EASE fitted on the whole
    file while ALS was still validating (``ahead``, when asked for and EASE won)."""

    model: str
    value: float
    report: FitPredictReport
    ahead: EaseModel | None = None


def select_model(
    spark: SparkSession,
    frame: pd.DataFrame,
    k: int,
    params: AlsParams,
    ease_max_items: int,
    regs: Sequence[float] = DEFAULT_REGS,
    with_als: bool = True,
    ahead_on: TrainingSet | None = None,
    local_pairs: int = 0,
) -> Selection:
    """Score ALS (``params``, only ``with_als``) and the item-item family on a validation split
    carved from ``frame`` and pick the winner.

    The item-item family is EASE (each λ in ``regs``, and up to ``EDGE_STEPS`` more past the
    grid's edge while the best λ lies on it: `ease.next_reg`) up to ``ease_max_items`` items, and
    item-kNN (each count in ``DEFAULT_NEIGHBOURS``) past it, where EASE's n x n inverse on the
    driver would not fit. EASE and the ranking of ALS's factors run on the driver (no Spark
    job) when the fit part has at most ``local_pairs`` pairs. The winner has the best
    precision@k (ties: NDCG@k, then the order ALS, item-item). Without any validation pair the
    default is EASE with the middle λ.
    ``ahead_on`` (the whole file's training set): once EASE is validated in Spark and while
    ALS still runs, fit EASE on it too (``Selection.ahead``; its λ is set by the caller), the
    refit that EASE's choice needs.
    """
    fit, val, split_name = carve_validation(frame, VALIDATION_FRACTION, params.seed)
    seen = fit[[Col.USER_ID, Col.POST_ID]].drop_duplicates()
    relevant = (
        val[[Col.USER_ID, Col.POST_ID]]
        .drop_duplicates()
        .merge(seen, how="left", indicator=True)
        .query("_merge == 'left_only'")
        .drop(columns="_merge")
    )
    relevant = relevant[relevant[Col.USER_ID].isin(seen[Col.USER_ID])]
    report = FitPredictReport(0, 0, 0, 0, validation_split=split_name)
    report.validation_users = int(relevant[Col.USER_ID].nunique())
    if relevant.empty:
        report.model = f"{EASE_MODEL} (no validation pairs: default)"
        return Selection(EASE_MODEL, regs[len(regs) // 2], report)
    catalogue = int(seen[Col.POST_ID].nunique())
    fit_conf = confidence_pd(fit)
    # A small fit part is scored on the driver (the same lists as in Spark, without its jobs).
    pairs = IndexedPairs.from_conf(fit_conf) if len(fit_conf) <= local_pairs else None

    @functools.cache
    def in_spark() -> tuple[TrainingSet, IdIndex]:
        # Spark's copy of the fit part, with one index for both families (numbered on the
        # driver, where the file already is, instead of in a cold Spark job); built only when
        # a model runs in Spark.
        index = (
            id_index(pairs)
            if pairs is not None
            else IdIndex.from_labels(*index_labels_pd(fit_conf))
        )
        return _training_set(spark, fit_conf), index

    scores: list[tuple[float, float, int, str, float]] = []
    ahead: EaseModel | None = None

    def rate(recs: pd.DataFrame) -> RankingMetrics:
        return ranking_metrics_pd(recs, relevant, k, catalogue)

    # ALS runs in a second thread while the item-item family is scored here: both are chains of
    # small Spark jobs with driver work between them (or driver work alone), so each fills
    # the other's gaps.
    with ThreadPoolExecutor(max_workers=1) as pool:
        als_future = (
            pool.submit(_als_validation, *in_spark(), params, k, pairs) if with_als else None
        )
        if pairs is not None and catalogue <= ease_max_items:
            family = EASE_MODEL
            gram = fit_gram_pd(pairs, ease_max_items)
            rated = ease_grid(lambda rs: recommend_fitted_pd(gram, rs, k), regs, rate)
        else:
            family, rated = _item_item_validation(
                *in_spark(), catalogue, ease_max_items, regs, k, rate
            )
            if ahead_on is not None and family == EASE_MODEL:
                # Spent while ALS still validates; wasted (but overlapped) if ALS wins.
                ahead = EaseModel(regs[0], ease_max_items).fit(ahead_on)
        if als_future is not None:
            m = rate(als_future.result())
            report.validation[ALS_MODEL] = m.precision
            scores.append((m.precision, m.ndcg, 1, ALS_MODEL, 0.0))
    for value, m in rated.items():
        report.validation[_label(family, value)] = m.precision
        scores.append((m.precision, m.ndcg, 0, family, value))
    if in_spark.cache_info().currsize:
        in_spark()[0].conf.unpersist()
    best = max(scores)
    if ahead is not None and best[3] != EASE_MODEL:
        ahead.unpersist()
        ahead = None
    return Selection(best[3], best[4], report, ahead)


def _als_validation(
    data: TrainingSet, index: IdIndex, params: AlsParams, k: int, pairs: IndexedPairs | None
) -> pd.DataFrame:
    """ALS's top-``k`` lists on the fit part (scored on the driver when ``pairs`` has it)."""
    model = AlsModel(params).fit(data, index)
    if pairs is not None:
        return als_top_k(model.fitted, pairs, k)
    return model.recommend(k).toPandas()


def _item_item_validation(
    data: TrainingSet,
    index: IdIndex,
    catalogue: int,
    ease_max_items: int,
    regs: Sequence[float],
    k: int,
    rate: Callable[[pd.DataFrame], RankingMetrics],
) -> tuple[str, dict[float, RankingMetrics]]:
    """The item-item family's top-``k`` lists on the fit part rated per parameter: EASE (the λ
    of :func:`ease_grid`, all from one Gram matrix) up to ``ease_max_items`` items, item-kNN
    (each neighbour count) past it."""
    if catalogue <= ease_max_items:
        fitted = fit_gram(data.conf, ease_max_items, index)
        rated = ease_grid(
            lambda rs: recommend_variants_collected(fitted, data.excluded, rs, k), regs, rate
        )
        fitted.indexed.unpersist()
        return EASE_MODEL, rated
    knn = fit_knn_index(data.conf)
    recs = recommend_knn_variants(knn, data.excluded, DEFAULT_NEIGHBOURS, k).toPandas()
    knn.indexed.unpersist()
    return KNN_MODEL, {
        float(n): rate(recs[recs["variant"] == i]) for i, n in enumerate(DEFAULT_NEIGHBOURS)
    }


def _label(family: str, value: float) -> str:
    if family == EASE_MODEL:
        return f"{EASE_MODEL}(lambda={value:g})"
    if family == KNN_MODEL:
        return f"{KNN_MODEL}(neighbours={value:g})"
    return family


def run_fit_predict(
    spark: SparkSession,
    train_file: Path,
    output: Path,
    k: int,
    params: AlsParams,
    model: str = "auto",
    ease_max_items: int = 20_000,
    on_choice: Callable[[str], None] = lambda _choice: None,
    local_pairs: int = 0,
) -> FitPredictReport:
    """Train on a file and write each user's top-``k`` unseen items as CSV.

    ``model``: ``als``, ``ease`` (the item-item family only: EASE, or item-kNN past
    ``ease_max_items``; its parameter still tuned on validation), or ``auto``: the better of the
    two on a validation split carved from the file (:func:`select_model`); ``on_choice`` hears
    one line saying what was chosen and why. EASE and the ranking of ALS's factors run on the
    driver when the file has at most ``local_pairs`` (user, item) pairs (the same ranks as in
    Spark, without its jobs). Output
    columns ``user,item,rank,score``, rank from 1, sorted by user id then rank so that two runs
    diff cleanly.
    """
    frame = read_interaction_file(train_file)
    conf = confidence_pd(frame)
    pairs = IndexedPairs.from_conf(conf) if len(conf) <= local_pairs else None
    regs: Sequence[float] = DEFAULT_REGS
    # Cached lazily: the refit uses it, and so does EASE fitted ahead during the selection.
    data = _training_set(spark, conf) if pairs is None else None
    selection = Selection(ALS_MODEL, 0.0, FitPredictReport(0, 0, 0, 0, model=ALS_MODEL))
    if model != ALS_MODEL:
        selection = select_model(
            spark,
            frame,
            k,
            params,
            ease_max_items,
            regs,
            with_als=model != EASE_MODEL,
            ahead_on=data,
            local_pairs=local_pairs,
        )
        report = selection.report
        report.model = _label(selection.model, selection.value)
        scored = ", ".join(f"{n} {p:.4f}" for n, p in report.validation.items())
        on_choice(
            f"fit-predict: chose {report.model} on a {report.validation_split} validation split"
            f" ({report.validation_users} users; precision@{k}: {scored or 'none'})"
        )
    chosen, reg, report = selection.model, selection.value, selection.report
    if chosen == EASE_MODEL and pairs is not None:
        recs_df = recommend_variants_pd(pairs, ease_max_items, [reg], k).drop(columns="variant")
    else:
        data = data or _training_set(spark, conf)
        if chosen == EASE_MODEL:
            ease = selection.ahead or EaseModel(reg, ease_max_items).fit(data)
            recs_df = ease.with_reg(reg).recommend(k).toPandas()
            ease.unpersist()
        elif chosen == KNN_MODEL:
            knn = ItemKnnModel(int(reg)).fit(data)
            recs_df = knn.recommend(k).toPandas()
            knn.unpersist()
        elif pairs is not None:
            recs_df = als_top_k(AlsModel(params).fit(data, id_index(pairs)).fitted, pairs, k)
        else:
            recs_df = AlsModel(params).fit(data).recommend(k).toPandas()
        data.conf.unpersist()
    recs = recs_df.sort_values([Col.USER_ID, Col.RANK], kind="mergesort")
    out = pd.DataFrame(
        {
            "user": recs[Col.USER_ID],
            "item": recs[Col.POST_ID],
            "rank": recs[Col.RANK].astype(int),
            "score": recs[Col.SCORE],
        }
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(output, index=False)
    report.rows = len(frame)
    report.users = int(frame[Col.USER_ID].nunique())
    report.items = int(frame[Col.POST_ID].nunique())
    report.recommendations = len(out)
    return report
