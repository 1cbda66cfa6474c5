"""ALS with implicit preferences on user x post interactions (Spark transforms, no I/O).

Interactions are deduplicated by ``(user, post, kind, ts)`` because the lake is append-only and
a redelivered batch would otherwise count twice; the confidence of a (user, post) pair is the sum
of its interaction weights. String ids are indexed to the integers ALS needs with
``StringIndexer`` and mapped back with ``IndexToString``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from pyspark.ml.feature import IndexToString, StringIndexerModel
from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from socialpulse.config import RecommendSettings
from socialpulse.domain.columns import Col
from socialpulse.recommend.ranking import top_k_by_factors
from socialpulse.recommend.recommender import TrainingSet, read_object, write_object

CONFIDENCE = "confidence"
USER_IDX = "user_idx"
ITEM_IDX = "item_idx"
EXCLUDED = "excluded"


@dataclass(frozen=True)
class AlsParams:
    """ALS hyper-parameters (see Spark's ``ALS``); ``alpha`` scales implicit confidence."""

    rank: int
    reg_param: float
    alpha: float
    max_iter: int
    seed: int

    @classmethod
    def from_settings(cls, settings: RecommendSettings) -> AlsParams:
        """The parameters configured in ``settings``."""
        return cls(
            rank=settings.als_rank,
            reg_param=settings.als_reg_param,
            alpha=settings.als_alpha,
            max_iter=settings.als_max_iter,
            seed=settings.seed,
        )

    def as_dict(self) -> dict[str, float | int]:
        """Plain values for reports."""
        return asdict(self)


def dedupe_interactions(interactions: DataFrame) -> DataFrame:
    """Drop redelivered interactions: one row per ``(user_id, post_id, kind, ts)``."""
    return interactions.dropDuplicates([Col.USER_ID, Col.POST_ID, Col.KIND, Col.TS])


def confidence(interactions: DataFrame) -> DataFrame:
    """Summed weight per (user, post): ``user_id, post_id, confidence``."""
    return interactions.groupBy(Col.USER_ID, Col.POST_ID).agg(
        F.sum(Col.WEIGHT).cast("double").alias(CONFIDENCE)
    )


@dataclass(frozen=True)
class IdIndex:
    """Fitted string-to-integer indexes of users and posts."""

    users: StringIndexerModel
    items: StringIndexerModel

    @classmethod
    def from_labels(cls, users: list[str], items: list[str]) -> IdIndex:
        """The index whose ids are numbered in the order of ``users`` and ``items``."""
        # handleInvalid="skip" makes index() drop ids unseen at fit time (e.g. posts nobody
        # engaged with), which is what candidate generation and exclusion lists need.
        return cls(
            users=StringIndexerModel.from_labels(
                users, inputCol=Col.USER_ID, outputCol=USER_IDX, handleInvalid="skip"
            ),
            items=StringIndexerModel.from_labels(
                items, inputCol=Col.POST_ID, outputCol=ITEM_IDX, handleInvalid="skip"
            ),
        )

    @property
    def n_items(self) -> int:
        """Number of indexed posts."""
        return len(self.items.labels)

    def index(self, df: DataFrame) -> DataFrame:
        """Add ``user_idx``/``item_idx``; rows with an unknown user or post are dropped."""
        out = self.items.transform(self.users.transform(df))
        return out.withColumn(USER_IDX, F.col(USER_IDX).cast("int")).withColumn(
            ITEM_IDX, F.col(ITEM_IDX).cast("int")
        )

    def unindex(self, df: DataFrame) -> DataFrame:
        """Replace ``user_idx``/``item_idx`` by ``user_id``/``post_id``."""
        to_user = IndexToString(
            inputCol=USER_IDX, outputCol=Col.USER_ID, labels=list(self.users.labels)
        )
        to_item = IndexToString(
            inputCol=ITEM_IDX, outputCol=Col.POST_ID, labels=list(self.items.labels)
        )
        return to_item.transform(to_user.transform(df)).drop(USER_IDX, ITEM_IDX)


def fit_index(pairs: DataFrame) -> IdIndex:
    """Index the users and posts of ``pairs`` (frequency order, ties alphabetical), as
    ``StringIndexer`` does (``frequencyDesc``), counted in one Spark job instead of one per
    column: each is a cold job in a short command (fit-predict fits three indexes)."""
    ids = F.explode(
        F.array(
            F.struct(F.lit(0).alias("side"), F.col(Col.USER_ID).alias("id")),
            F.struct(F.lit(1).alias("side"), F.col(Col.POST_ID).alias("id")),
        )
    )
    counts = (
        pairs.select(ids.alias("e"))
        .select("e.side", "e.id")
        .where(F.col("id").isNotNull())
        .groupBy("side", "id")
        .count()
        .toPandas()
    )
    users, items = _labels(counts)
    return IdIndex.from_labels(users, items)


def index_labels_pd(pairs: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Pandas twin of :func:`fit_index`: the user and post labels in index order (the index
    of an id is its position), for data already on the driver."""
    sides = [
        pd.DataFrame({"side": side, "id": pairs[col].dropna().astype(str)})
        for side, col in ((0, Col.USER_ID), (1, Col.POST_ID))
    ]
    both = pd.concat(sides, ignore_index=True)
    counts = both.groupby(["side", "id"], sort=False).size().rename("count").reset_index()
    return _labels(counts)


def _labels(counts: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Users' and posts' labels from ``side, id, count`` rows: most frequent first, ties by id."""
    # Python orders str by code point, as Spark orders UTF-8 strings by their bytes.
    counts = counts.sort_values(["side", "count", "id"], ascending=[True, False, True])
    users = [str(x) for x in counts.loc[counts["side"] == 0, "id"]]
    items = [str(x) for x in counts.loc[counts["side"] == 1, "id"]]
    return users, items


def fit_als(indexed: DataFrame, params: AlsParams) -> ALSModel:
    """Fit implicit-preference ALS on ``user_idx, item_idx, confidence``."""
    # One block per core: ALS's default of 10 blocks makes many tiny tasks on a small machine,
    # and one per core still spreads the work over a whole cluster.
    blocks = max(2, indexed.sparkSession.sparkContext.defaultParallelism)
    als = ALS(
        numUserBlocks=blocks,
        numItemBlocks=blocks,
        rank=params.rank,
        regParam=params.reg_param,
        alpha=params.alpha,
        maxIter=params.max_iter,
        seed=params.seed,
        implicitPrefs=True,
        userCol=USER_IDX,
        itemCol=ITEM_IDX,
        ratingCol=CONFIDENCE,
        coldStartStrategy="drop",
    )
    return als.fit(indexed)


def exclusions(seen: DataFrame, authored: DataFrame | None) -> DataFrame:
    """Per user, the posts never to recommend: ``user_id, excluded array<string>``.

    ``seen`` and ``authored`` both have ``user_id, post_id`` (for posts: the author id renamed).
    """
    pairs = seen.select(Col.USER_ID, Col.POST_ID)
    if authored is not None:
        pairs = pairs.unionByName(authored.select(Col.USER_ID, Col.POST_ID))
    return pairs.groupBy(Col.USER_ID).agg(F.collect_set(Col.POST_ID).alias(EXCLUDED))


@dataclass(frozen=True)
class AlsRecommender:
    """A fitted ALS model together with the id index it was trained under."""

    index: IdIndex
    model: ALSModel

    def item_matrix(self) -> np.ndarray:
        """Item factors on the driver, row ``i`` for item index ``i`` (zeros if it has none)."""
        return _factor_matrix(
            self.model.itemFactors.toPandas(), self.index.n_items, self.model.rank
        )

    def user_factors(self) -> tuple[np.ndarray, np.ndarray]:
        """User indexes that have factors, and their factor rows, on the driver."""
        users = self.model.userFactors.toPandas().sort_values("id")
        ids = users["id"].to_numpy(np.int32)
        return ids, _factor_matrix(users, len(ids), self.model.rank, rows=np.arange(len(ids)))

    def recommend(self, excluded: DataFrame, k: int) -> DataFrame:
        """Top ``k`` unseen posts for every trained user: ``user_id, post_id, rank, score``.

        ``excluded`` is the output of :func:`exclusions`.
        """
        matrix = self.item_matrix()
        excl_idx = (
            self.index.index(excluded.select(Col.USER_ID, F.explode(EXCLUDED).alias(Col.POST_ID)))
            .groupBy(USER_IDX)
            .agg(F.collect_list(ITEM_IDX).alias(EXCLUDED))
        )
        users = self.model.userFactors.select(
            F.col("id").cast("int").alias(USER_IDX), "features"
        ).join(excl_idx, USER_IDX, "left")
        top = top_k_by_factors(users, matrix, k)
        return self.index.unindex(top).select(Col.USER_ID, Col.POST_ID, Col.RANK, Col.SCORE)


def _factor_matrix(
    factors: pd.DataFrame, n: int, rank: int, rows: np.ndarray | None = None
) -> np.ndarray:
    """``id, features`` rows of an ALS factor table as an n x rank float64 matrix (row = id,
    or ``rows``)."""
    matrix = np.zeros((n, rank), dtype=np.float64)
    if not factors.empty:
        where = factors["id"].to_numpy() if rows is None else rows
        matrix[where] = np.stack([np.asarray(f, dtype=np.float64) for f in factors["features"]])
    return matrix


def train_als_on_confidence(
    conf: DataFrame, params: AlsParams, index: IdIndex | None = None
) -> AlsRecommender:
    """Index (with ``index`` when given, fitted on ``conf``) and fit on ``user_id, post_id,
    confidence`` (one row per pair)."""
    # A caller's cached frame stays cached: fit-predict shares it with a thread scoring EASE.
    cached = conf.is_cached
    conf = conf.persist()
    index = index or fit_index(conf)
    model = fit_als(index.index(conf), params)
    if not cached:
        conf.unpersist()
    return AlsRecommender(index=index, model=model)


class AlsModel:
    """User x post implicit ALS behind the :class:`~socialpulse.recommend.recommender.Recommender`
    interface: ``AlsModel(params).fit(data).recommend(k)``."""

    name = "als"

    def __init__(
        self,
        params: AlsParams,
        fitted: AlsRecommender | None = None,
        excluded: DataFrame | None = None,
    ) -> None:
        self.params = params
        self._fitted = fitted
        self._excluded = excluded

    @property
    def fitted(self) -> AlsRecommender:
        """The fitted model and its id index (raises before :meth:`fit`)."""
        if self._fitted is None:
            raise ValueError("the ALS model is not fitted yet: call fit() first")
        return self._fitted

    def fit(self, data: TrainingSet, index: IdIndex | None = None) -> AlsModel:
        """Index (with ``index`` when given, fitted on ``data.conf``) and fit on ``data.conf``;
        ``data.excluded`` is kept for :meth:`recommend`."""
        fitted = train_als_on_confidence(data.conf, self.params, index)
        return AlsModel(self.params, fitted, data.excluded)

    def recommend(self, k: int) -> DataFrame:
        """Top ``k`` posts not excluded for every trained user."""
        if self._excluded is None:
            raise ValueError("the ALS model is not fitted yet: call fit() first")
        return self.fitted.recommend(self._excluded, k)

    def save(self, path: str) -> None:
        """ALS model, id indexes, parameters and exclusions under ``path``."""
        fitted = self.fitted
        spark = SparkSession.active()
        fitted.model.write().overwrite().save(f"{path}/als")
        fitted.index.users.write().overwrite().save(f"{path}/users")
        fitted.index.items.write().overwrite().save(f"{path}/items")
        write_object(spark, self.params, f"{path}/params")
        if self._excluded is not None:
            self._excluded.write.mode("overwrite").parquet(f"{path}/excluded")

    @classmethod
    def load(cls, spark: SparkSession, path: str) -> AlsModel:
        """The model :meth:`save` wrote."""
        index = IdIndex(
            users=StringIndexerModel.load(f"{path}/users"),
            items=StringIndexerModel.load(f"{path}/items"),
        )
        fitted = AlsRecommender(index=index, model=ALSModel.load(f"{path}/als"))
        return cls(
            read_object(spark, f"{path}/params"), fitted, spark.read.parquet(f"{path}/excluded")
        )
