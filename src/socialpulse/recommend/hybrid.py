"""The hybrid recommender: ALS + hashtag and text content + popularity, re-ranked by a
sentiment policy.

Every candidate post of the catalogue gets, per user, four scores each scaled to [0, 1]:

- ``als``: the user x post ALS dot product (zero for users or posts ALS never saw);
- ``content``: the user's hashtag profile (what they engage with and write about, plus the
  user x hashtag ALS's predicted affinity for hashtags they have not touched yet) against the
  post's hashtags; this is what serves cold-start users and posts newer than any interaction;
- ``popularity``: distinct engaged users, log-scaled;
- ``text``: cosine between the post's text embedding and the user's text profile (the
  confidence-weighted sum of the embeddings of the posts they engaged with or wrote); like
  ``content`` it reaches posts nobody engaged with and users who only post.

The blend ``w_als * als + w_content * content + w_pop * popularity + w_text * text`` is then
multiplied by the
policy (see :class:`HybridPolicy` and docs/RECOMMEND.md): the user's own sentiment on the post's
topics, a penalty for strongly negative posts, and freshness. What the user interacted with or
wrote is never a candidate. Each item carries the reason of its largest contribution.

All scoring runs in ``mapInPandas`` with numpy against one broadcast catalogue: the newest
``max_candidates`` posts, so the cost is users x candidates however long the history grows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from pyspark.ml.feature import IndexToString
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from socialpulse.config import RecommendSettings
from socialpulse.domain.columns import Col
from socialpulse.recommend.als import (
    CONFIDENCE,
    EXCLUDED,
    USER_IDX,
    AlsParams,
    AlsRecommender,
    train_als_on_confidence,
)
from socialpulse.recommend.content import (
    AFFINITY,
    TOPIC_SENTIMENT,
    hashtag_profile,
    hashtag_vocabulary,
    post_hashtags,
)
from socialpulse.recommend.embedding import TextEmbedder

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
FA = TypeVar("FA", npt.NDArray[np.float32], npt.NDArray[np.float64])
I64 = npt.NDArray[np.int64]

HYBRID = "hybrid"
CONTENT = "content"
REASON_CODE = Col.REASON_CODE

# Reason codes persisted with each item (``recommendations.reason_code``).
R_HASHTAG = "hashtag"
R_TOPIC = "topic"
R_SIMILAR = "similar"
R_POPULAR_TOPIC = "popular_topic"
R_POPULAR = "popular"
R_TEXT = "text"
REASON_CODES = (R_HASHTAG, R_TOPIC, R_SIMILAR, R_POPULAR_TOPIC, R_POPULAR, R_TEXT)
# Per-user inputs of the text profile: catalogue positions of engaged/own posts and weights.
TEXT_POS = "text_pos"
TEXT_W = "text_w"

HYBRID_SCHEMA = (
    "user_id string, post_id string, rank int, score double, reason_code string, reason_text string"
)
# Cap on one chunk's users x posts score matrix (several live at once): 2M doubles = 16 MB.
_MAX_CELLS = 2_000_000
# Scores below this count as "no signal" when picking a reason.
_EPS = 1e-9


# The policy's defaults are the settings' defaults, written once in config.py.
_DEFAULTS = RecommendSettings()


@dataclass(frozen=True)
class HybridPolicy:
    """Blend weights and the sentiment policy (``settings.recommend``)."""

    als_weight: float = _DEFAULTS.als_weight
    content_weight: float = _DEFAULTS.content_weight
    popularity_weight: float = _DEFAULTS.popularity_weight
    topic_als_weight: float = _DEFAULTS.topic_als_weight
    """Share of the user x hashtag ALS prediction added to the observed hashtag profile."""
    author_weight: float = _DEFAULTS.author_weight
    """Profile weight of each own post's hashtag (an engaged post weighs its confidence)."""
    topic_sentiment_weight: float = _DEFAULTS.topic_sentiment_weight
    """Posts on a topic get x (1 + this * user's mean sentiment on it), clipped at 0."""
    negative_threshold: float = _DEFAULTS.negative_threshold
    """Posts whose sentiment score is at or below this are strongly negative ..."""
    negative_penalty: float = _DEFAULTS.negative_penalty
    """... and get their score multiplied by this."""
    recency_half_life_hours: float = _DEFAULTS.recency_half_life_hours
    """A post's score halves every this many hours of age; 0 = no decay."""
    vocabulary_size: int = _DEFAULTS.hashtag_vocabulary
    text_weight: float = _DEFAULTS.text_weight
    """Blend weight of text similarity (0 where the catalogue has no text embeddings)."""
    max_candidates: int = _DEFAULTS.max_candidates
    """Only the newest this many posts are candidates (0 = every post in the lake)."""

    @classmethod
    def from_settings(cls, settings: RecommendSettings) -> HybridPolicy:
        """The policy configured in ``settings``."""
        return cls(
            als_weight=settings.als_weight,
            content_weight=settings.content_weight,
            popularity_weight=settings.popularity_weight,
            topic_als_weight=settings.topic_als_weight,
            author_weight=settings.author_weight,
            topic_sentiment_weight=settings.topic_sentiment_weight,
            negative_threshold=settings.negative_threshold,
            negative_penalty=settings.negative_penalty,
            recency_half_life_hours=settings.recency_half_life_hours,
            vocabulary_size=settings.hashtag_vocabulary,
            text_weight=settings.text_weight,
            max_candidates=settings.max_candidates,
        )

    def with_weights(
        self, als: float, content: float, popularity: float, text: float
    ) -> HybridPolicy:
        """The same policy with other blend weights (content-only, ALS-only, ...)."""
        d = asdict(self)
        d.update(
            als_weight=als, content_weight=content, popularity_weight=popularity, text_weight=text
        )
        return HybridPolicy(**d)

    def as_dict(self) -> dict[str, float | int]:
        """Plain values for reports."""
        return asdict(self)


@dataclass(frozen=True)
class Catalogue:
    """The candidate posts as aligned numpy arrays (broadcast to the scoring tasks).

    ``tag_idx[i]`` holds post ``i``'s hashtag indexes into ``vocabulary``, padded with
    ``len(vocabulary)`` (a zero column); ``tag_w`` the matching weights ``1/n_tags``;
    ``text_vecs[i]`` post ``i``'s unit text embedding (None: no text signal).
    """

    post_ids: list[str]
    vocabulary: list[str]
    tag_idx: I64
    tag_w: F64
    popularity: F64
    prior: F64
    als_items: F32 | None
    topic_items: F32 | None
    text_vecs: F32 | None = None

    @property
    def n_posts(self) -> int:
        """Number of candidate posts."""
        return len(self.post_ids)


def build_catalogue(
    posts: pd.DataFrame,
    popularity: pd.DataFrame,
    vocabulary: list[str],
    policy: HybridPolicy,
    as_of: datetime,
    als: AlsRecommender | None,
    topic_als: AlsRecommender | None,
    embedder: TextEmbedder | None = None,
) -> Catalogue:
    """Align everything the scorer needs to one post order.

    ``posts``: ``post_id, hashtags, sentiment_score, created_at`` and, for text candidates,
    ``text_clean`` or ``text`` (the candidates); ``popularity``: ``post_id, score`` (distinct
    engaged users); ``embedder``: None for no text signal.
    """
    posts = posts.drop_duplicates(Col.POST_ID).reset_index(drop=True)
    post_ids = [str(p) for p in posts[Col.POST_ID]]
    pos = {p: i for i, p in enumerate(post_ids)}
    vocab_pos = {t: j for j, t in enumerate(vocabulary)}
    pad = len(vocabulary)
    per_post = [
        sorted(
            {
                vocab_pos[t.lower()]
                for t in (tags if tags is not None else [])
                if t.lower() in vocab_pos
            }
        )
        for tags in posts[Col.HASHTAGS]
    ]
    width = max([1, *(len(t) for t in per_post)])
    tag_idx = np.full((len(post_ids), width), pad, dtype=np.int64)
    tag_w = np.zeros((len(post_ids), width), dtype=np.float64)
    for i, tags in enumerate(per_post):
        if tags:
            tag_idx[i, : len(tags)] = tags
            tag_w[i, : len(tags)] = 1.0 / len(tags)

    pop = np.zeros(len(post_ids), dtype=np.float64)
    for post, score in zip(popularity[Col.POST_ID], popularity[Col.SCORE], strict=True):
        at = pos.get(str(post))
        if at is not None:
            pop[at] = np.log1p(float(score))
    if pop.max(initial=0.0) > 0:
        pop /= pop.max()

    sentiment = posts[Col.SENTIMENT_SCORE].astype("float64").fillna(0.0).to_numpy()
    prior = np.where(sentiment <= policy.negative_threshold, policy.negative_penalty, 1.0)
    if policy.recency_half_life_hours > 0:
        created = pd.to_datetime(posts[Col.CREATED_AT], utc=True)
        now = pd.Timestamp(as_of)
        # Spark hands back naive datetimes in the session time zone, which is UTC.
        now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
        age_h = (now - created).dt.total_seconds() / 3600.0
        age = np.clip(age_h.fillna(0.0).to_numpy(dtype=np.float64), 0.0, None)
        prior = prior * np.power(0.5, age / policy.recency_half_life_hours)

    return Catalogue(
        post_ids=post_ids,
        vocabulary=vocabulary,
        tag_idx=tag_idx,
        tag_w=tag_w,
        popularity=pop,
        prior=prior.astype(np.float64),
        als_items=_aligned_items(als, pos, len(post_ids)),
        topic_items=_aligned_items(topic_als, vocab_pos, len(vocabulary)),
        text_vecs=_text_vectors(posts, embedder),
    )


def _text_column(columns: list[str]) -> str | None:
    """The clean text where the lake has it, else the raw text, else none."""
    return next((c for c in (Col.TEXT_CLEAN, Col.TEXT) if c in columns), None)


def _text_vectors(posts: pd.DataFrame, embedder: TextEmbedder | None) -> F32 | None:
    column = _text_column(list(posts.columns))
    if embedder is None or column is None:
        return None
    return embedder.embed(posts[column].tolist())


def _aligned_items(model: AlsRecommender | None, pos: dict[str, int], n: int) -> F32 | None:
    """ALS item factors re-ordered to ``pos`` (rows of unknown items stay zero)."""
    if model is None:
        return None
    labels = list(model.index.items.labels)
    factors = model.model.itemFactors.toPandas()
    # float32: ALS factors are floats anyway, and the scorer's matrices are float32.
    out = np.zeros((n, model.model.rank), dtype=np.float32)
    for idx, vec in zip(factors["id"], factors["features"], strict=True):
        i = pos.get(labels[int(idx)])
        if i is not None:
            out[i] = np.asarray(vec, dtype=np.float32)
    return out


def user_factors(model: AlsRecommender, name: str) -> DataFrame:
    """``user_id, <name> array<float>`` of a fitted ALS model."""
    to_user = IndexToString(
        inputCol=USER_IDX, outputCol=Col.USER_ID, labels=list(model.index.users.labels)
    )
    ids = model.model.userFactors.select(
        F.col("id").cast("int").alias(USER_IDX), F.col("features").alias(name)
    )
    return to_user.transform(ids).drop(USER_IDX)


def train_topic_als(profile: DataFrame, params: AlsParams) -> AlsRecommender:
    """User x hashtag implicit ALS on the profile affinities (topic affinity)."""
    conf = profile.select(
        Col.USER_ID,
        F.col(Col.HASHTAG).alias(Col.POST_ID),
        F.col(AFFINITY).alias(CONFIDENCE),
    )
    return train_als_on_confidence(conf, params)


def user_inputs(
    spark: SparkSession,
    users: DataFrame,
    profile: DataFrame,
    excluded: DataFrame,
    catalogue: Catalogue,
    als: AlsRecommender | None,
    topic_als: AlsRecommender | None,
    engaged: DataFrame | None = None,
) -> DataFrame:
    """One row per user with everything :func:`score_users` needs.

    ``user_id, als, topic, tag_idx, tag_w, tag_sent, excluded, text_pos, text_w`` (arrays;
    null where absent). ``engaged``: ``user_id, post_id, weight`` the text profile is built
    from (engagements and own posts); None or a catalogue without text: no text profile.
    """
    vocab = spark.createDataFrame(
        pd.DataFrame({Col.HASHTAG: catalogue.vocabulary, "tag": range(len(catalogue.vocabulary))}),
        schema="hashtag string, tag int",
    )
    prof = (
        profile.join(F.broadcast(vocab), Col.HASHTAG)
        .groupBy(Col.USER_ID)
        .agg(F.sort_array(F.collect_list(F.struct("tag", AFFINITY, TOPIC_SENTIMENT))).alias("p"))
        .select(
            Col.USER_ID,
            F.col("p.tag").alias("tag_idx"),
            F.col(f"p.{AFFINITY}").alias("tag_w"),
            F.transform(f"p.{TOPIC_SENTIMENT}", lambda s: F.coalesce(s, F.lit(0.0))).alias(
                "tag_sent"
            ),
        )
    )
    post_pos = spark.createDataFrame(
        pd.DataFrame({Col.POST_ID: catalogue.post_ids, "pos": range(catalogue.n_posts)}),
        schema="post_id string, pos int",
    )
    excl = (
        excluded.select(Col.USER_ID, F.explode(EXCLUDED).alias(Col.POST_ID))
        .join(post_pos, Col.POST_ID)
        .groupBy(Col.USER_ID)
        .agg(F.collect_list("pos").alias(EXCLUDED))
    )
    out = users.select(Col.USER_ID).distinct()
    out = out.join(
        user_factors(als, "als") if als is not None else _null_factor(spark, "als"),
        Col.USER_ID,
        "left",
    )
    out = out.join(
        user_factors(topic_als, "topic") if topic_als is not None else _null_factor(spark, "topic"),
        Col.USER_ID,
        "left",
    )
    out = out.join(prof, Col.USER_ID, "left").join(excl, Col.USER_ID, "left")
    if engaged is not None and catalogue.text_vecs is not None:
        text = (
            engaged.join(post_pos, Col.POST_ID)
            .groupBy(Col.USER_ID)
            .agg(
                F.collect_list(
                    F.struct("pos", F.col(Col.WEIGHT).cast("double").alias(Col.WEIGHT))
                ).alias("t")
            )
            .select(
                Col.USER_ID,
                F.col("t.pos").alias(TEXT_POS),
                F.col(f"t.{Col.WEIGHT}").alias(TEXT_W),
            )
        )
        out = out.join(text, Col.USER_ID, "left")
    return out


def _null_factor(spark: SparkSession, name: str) -> DataFrame:
    return spark.createDataFrame([], f"user_id string, {name} array<float>")


def score_users(users: DataFrame, catalogue: Catalogue, policy: HybridPolicy, k: int) -> DataFrame:
    """Top ``k`` per user with a reason: ``user_id, post_id, rank, score, reason_code,
    reason_text`` (``users`` from :func:`user_inputs`)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    shared = users.sparkSession.sparkContext.broadcast(catalogue)
    # The hashtag gathers materialise users x posts x hashtags-per-post: size chunks by that.
    width = int(catalogue.tag_idx.shape[1]) if catalogue.tag_idx.ndim == 2 else 1
    chunk = max(1, _MAX_CELLS // max(catalogue.n_posts * width, 1))

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        cat: Catalogue = shared.value
        for pdf in batches:
            for start in range(0, len(pdf), chunk):
                yield score_chunk(cat, policy, pdf.iloc[start : start + chunk], k)

    return users.mapInPandas(run, HYBRID_SCHEMA)


def _scaled(scores: FA) -> FA:
    """Clip at 0 and divide each row by its maximum (rows without signal stay 0), in place:
    ``scores`` must be an array the caller owns."""
    np.maximum(scores, 0.0, out=scores)
    # initial=0: a catalogue without hashtags has zero-width profiles.
    top = scores.max(axis=1, keepdims=True, initial=0.0)
    np.divide(scores, top, out=scores, where=top > 0)
    return scores


def _factor_scores(column: pd.Series, items: F32 | None, n: int, width: int) -> F32:
    """Each user's factor dot every item's, scaled per user (zero rows for unknown users)."""
    if items is None:
        return np.zeros((n, width), dtype=np.float32)
    values = column.tolist()
    rows = [i for i, f in enumerate(values) if f is not None and len(f)]
    if not rows:
        return np.zeros((n, width), dtype=np.float32)
    u = np.stack([np.asarray(values[i], dtype=np.float32) for i in rows])
    scores = _scaled(u @ items.T)
    if len(rows) == n:
        return scores
    out = np.zeros((n, width), dtype=np.float32)
    out[rows] = scores
    return out


def _text_scores(cat: Catalogue, part: pd.DataFrame, n: int) -> F32:
    """Cosine of each post to the user's text profile, scaled per user (one matmul)."""
    if cat.text_vecs is None or TEXT_POS not in part.columns:
        return np.zeros((n, cat.n_posts), dtype=np.float32)
    rows: list[int] = []
    pos: list[npt.NDArray[np.int64]] = []
    weights: list[F64] = []
    for i, (p, w) in enumerate(zip(part[TEXT_POS], part[TEXT_W], strict=True)):
        if p is not None and len(p):
            rows.append(i)
            pos.append(np.asarray(p, dtype=np.int64))
            weights.append(np.asarray(w, dtype=np.float64))
    if not rows:
        return np.zeros((n, cat.n_posts), dtype=np.float32)
    owner = np.repeat(np.arange(len(rows)), [len(p) for p in pos])
    flat_pos, flat_w = np.concatenate(pos), np.concatenate(weights)
    profile = np.zeros((len(rows), cat.text_vecs.shape[1]), dtype=np.float32)
    np.add.at(profile, owner, flat_w[:, None].astype(np.float32) * cat.text_vecs[flat_pos])
    raw = profile @ cat.text_vecs.T
    # The profile's own posts are never candidates and would always be the best match:
    # scale by the best post the user may actually be shown.
    raw[owner, flat_pos] = 0.0
    scores = _scaled(raw)
    if len(rows) == n:
        return scores
    out = np.zeros((n, cat.n_posts), dtype=np.float32)
    out[rows] = scores
    return out


def _gather_tags(per_tag: F64, cat: Catalogue) -> F32:
    """``(n, posts)``: each post's tag-weighted sum of a per-user, per-hashtag matrix.

    One tag slot at a time: a single (n, posts, slots) gather allocated several times more.
    ``np.take`` along columns is ~5x faster than the equivalent fancy index ``values[:, idx]``.
    """
    values = per_tag.astype(np.float32)
    width = cat.tag_idx.shape[1] if cat.tag_idx.ndim == 2 else 0
    if width == 0:
        return np.zeros((len(values), cat.n_posts), dtype=np.float32)
    weights = cat.tag_w.astype(np.float32)
    out = np.take(values, cat.tag_idx[:, 0], axis=1)
    out *= weights[:, 0][None]
    for j in range(1, width):
        slot = np.take(values, cat.tag_idx[:, j], axis=1)
        slot *= weights[:, j][None]
        out += slot
    return out


def score_chunk(cat: Catalogue, policy: HybridPolicy, part: pd.DataFrame, k: int) -> pd.DataFrame:
    """Score one chunk of users against the whole catalogue (pure numpy; see module doc)."""
    n, n_posts, v = len(part), cat.n_posts, len(cat.vocabulary)
    if n == 0 or n_posts == 0:
        return _empty()
    observed = np.zeros((n, v + 1), dtype=np.float64)  # last column: the padding tag
    sentiment = np.zeros((n, v + 1), dtype=np.float64)
    for i, (idx, w, s) in enumerate(
        zip(part["tag_idx"], part["tag_w"], part["tag_sent"], strict=True)
    ):
        if idx is not None and len(idx):
            observed[i, np.asarray(idx, dtype=np.int64)] = np.asarray(w, dtype=np.float64)
            sentiment[i, np.asarray(idx, dtype=np.int64)] = np.asarray(s, dtype=np.float64)
    observed[:, :v] = _scaled(observed[:, :v])
    profile = observed.copy()
    if policy.topic_als_weight > 0:
        profile[:, :v] += policy.topic_als_weight * _factor_scores(
            part["topic"], cat.topic_items, n, v
        )

    # (n, posts, tags-per-post) gathers: the post's hashtags looked up in each user's profile.
    # Each component is weighted in place and summed without stacking: at 100k users x 20k
    # posts the copies, not the arithmetic, were most of the time.
    content = _scaled(_gather_tags(profile, cat))
    content *= policy.content_weight
    als = _factor_scores(part["als"], cat.als_items, n, n_posts)
    als *= policy.als_weight
    similar = _text_scores(cat, part, n) if policy.text_weight > 0 else None
    total = als + content
    if similar is not None:
        similar *= policy.text_weight
        total += similar
    # A vanishing popularity term breaks ties between equal blends by engagement.
    total += ((policy.popularity_weight + 1e-6) * cat.popularity).astype(np.float32)[None]
    if policy.topic_sentiment_weight != 0:
        topic_mood = _gather_tags(sentiment, cat)
        topic_mood *= policy.topic_sentiment_weight
        topic_mood += 1.0
        total *= np.maximum(topic_mood, 0.0, out=topic_mood)
    total *= cat.prior.astype(np.float32)[None]
    for i, excl in enumerate(part[EXCLUDED]):
        if excl is not None and len(excl):
            total[i, np.asarray(excl, dtype=np.int64)] = -np.inf

    kk = min(k, n_posts)
    # argpartition finds the smallest: negate in place rather than allocate a negated copy.
    np.negative(total, out=total)
    cand = (
        np.argpartition(total, kk - 1, axis=1)[:, :kk]
        if kk < n_posts
        else np.tile(np.arange(n_posts), (n, 1))
    )
    cand_scores = -np.take_along_axis(total, cand, axis=1)
    order = np.lexsort((cand, -cand_scores), axis=1)[:, :kk]
    best = np.take_along_axis(cand, order, axis=1)
    best_scores = np.take_along_axis(cand_scores, order, axis=1)
    # Weighted contributions at the chosen items only, for the reasons: (4, n, k).
    parts: F64 = np.zeros((4, n, kk), dtype=np.float64)
    parts[0] = np.take_along_axis(als, best, axis=1)
    parts[1] = np.take_along_axis(content, best, axis=1)
    parts[2] = policy.popularity_weight * cat.popularity[best]
    if similar is not None:
        parts[3] = np.take_along_axis(similar, best, axis=1)

    # Excluded posts score -inf and sort last: each user's finite scores are a prefix.
    keep = np.isfinite(best_scores)
    codes, texts = _reasons(cat, parts, observed, profile, best)
    users = np.repeat(part[Col.USER_ID].to_numpy(dtype=object), kk).reshape(n, kk)
    ranks = np.broadcast_to(np.arange(1, kk + 1, dtype=np.int32), (n, kk))
    return pd.DataFrame(
        {
            Col.USER_ID: pd.Series(users[keep], dtype="object"),
            Col.POST_ID: pd.Series([cat.post_ids[i] for i in best[keep]], dtype="object"),
            Col.RANK: pd.Series(ranks[keep], dtype="int32"),
            Col.SCORE: pd.Series(best_scores[keep], dtype="float64"),
            REASON_CODE: pd.Series(codes[keep], dtype="object"),
            Col.REASON_TEXT: pd.Series(texts[keep], dtype="object"),
        }
    )


def _best_tag(values: F64, tags: I64, valid: npt.NDArray[np.bool_]) -> I64:
    """Per (user, item): among the item's valid tags, the one with the largest value (ties:
    the smallest tag id). Items without a valid tag get -1."""
    masked = np.where(valid, values, -np.inf)
    top = masked.max(axis=-1, keepdims=True)
    at_top = valid & (masked == top)
    best = np.where(at_top, tags, np.iinfo(np.int64).max).min(axis=-1)
    return np.where(valid.any(axis=-1), best, -1)


def _reasons(
    cat: Catalogue, parts: F64, observed: F64, profile: F64, best: I64
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.object_]]:
    """Reason code and text of every chosen item: its largest contribution, in words.

    ``parts``: (4, users, k) weighted ALS, content, popularity and text contributions at the
    chosen items ``best`` (users, k); ``observed``/``profile``: (users, tags + padding).
    """
    v = len(cat.vocabulary)
    n, kk = best.shape
    tags = cat.tag_idx[best].reshape(n, kk, -1)  # (users, k, tag slots); v = padding
    valid = tags < v
    rows = np.arange(n)[:, None, None]
    observed_at = observed[rows, tags]
    liked = valid & (observed_at > _EPS)
    source = np.where(parts.max(axis=0) > _EPS, parts.argmax(axis=0), 2)
    # Content's reason names the tag the profile rates highest; popularity's, the liked tag
    # the user engaged with most.
    content_tag = _best_tag(profile[rows, tags], tags, valid)
    liked_tag = _best_tag(observed_at, tags, liked)
    engaged = (content_tag >= 0) & (observed[np.arange(n)[:, None], content_tag] > _EPS)
    names = np.array([*cat.vocabulary, ""], dtype=object)
    conditions = [
        source == 3,
        (source == 1) & (content_tag >= 0) & engaged,
        (source == 1) & (content_tag >= 0),
        source == 0,
        liked_tag >= 0,
    ]
    codes = np.select(
        conditions,
        np.array([R_TEXT, R_HASHTAG, R_TOPIC, R_SIMILAR, R_POPULAR_TOPIC], dtype=object),
        np.array(R_POPULAR, dtype=object),
    )
    content_name, liked_name = names[content_tag], names[liked_tag]
    texts = np.select(
        conditions,
        [
            np.array("similar in content to posts you liked", dtype=object),
            "because you engage with #" + content_name,
            "people with your interests follow #" + content_name,
            np.array("similar to posts you liked", dtype=object),
            "popular in topics you like (#" + liked_name + ")",
        ],
        np.array("popular with everyone right now", dtype=object),
    )
    return codes, texts


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            Col.USER_ID: pd.Series(dtype="object"),
            Col.POST_ID: pd.Series(dtype="object"),
            Col.RANK: pd.Series(dtype="int32"),
            Col.SCORE: pd.Series(dtype="float64"),
            REASON_CODE: pd.Series(dtype="object"),
            Col.REASON_TEXT: pd.Series(dtype="object"),
        }
    )


@dataclass(frozen=True)
class HybridModel:
    """Everything fitted for one hybrid run: the catalogue and the per-user inputs."""

    catalogue: Catalogue
    users: DataFrame

    def recommend(self, policy: HybridPolicy, k: int) -> DataFrame:
        """Top ``k`` per user under ``policy`` (weights may differ from the fitted one)."""
        return score_users(self.users, self.catalogue, policy, k)


def fit_hybrid(
    conf: DataFrame,
    posts: DataFrame,
    users: DataFrame,
    excluded: DataFrame,
    als: AlsRecommender | None,
    params: AlsParams,
    policy: HybridPolicy,
    as_of: datetime,
    embedder: TextEmbedder | None = None,
) -> HybridModel:
    """Build profiles, fit the user x hashtag ALS and align the catalogue.

    ``conf``: ``user_id, post_id, confidence`` (training pairs); ``posts``: the posts
    (``post_id, author_id, hashtags, sentiment_score, created_at`` and, for text candidates
    with ``embedder``, ``text_clean`` or ``text``); the newest ``policy.max_candidates`` of
    them are the candidates, and hashtag profiles come from all of them, so pass only posts
    that existed at ``as_of``; ``users``: who gets a list. The text profile only sees
    engagements with candidates (their embeddings are the ones computed).
    """
    spark = conf.sparkSession
    text_col = _text_column(posts.columns) if embedder is not None else None
    posts = posts.select(
        Col.POST_ID,
        Col.AUTHOR_ID,
        Col.HASHTAGS,
        Col.SENTIMENT_SCORE,
        Col.CREATED_AT,
        *([text_col] if text_col else []),
    ).persist()
    profile = hashtag_profile(conf, posts, policy.author_weight).persist()
    vocabulary = hashtag_vocabulary(post_hashtags(posts), policy.vocabulary_size)
    topic_als = None
    if policy.topic_als_weight > 0 and vocabulary and profile.limit(1).count() > 0:
        topic_als = train_topic_als(profile, params)
    popularity = (
        conf.groupBy(Col.POST_ID)
        .agg(F.countDistinct(Col.USER_ID).cast("double").alias(Col.SCORE))
        .toPandas()
    )
    # Scoring costs users x candidates, and the recency prior makes old posts all but
    # unreachable: bound the candidates by age rank so the cost stops growing with history.
    # Profiles above still use every post.
    candidates = posts.drop(Col.AUTHOR_ID)
    if policy.max_candidates > 0:
        candidates = candidates.orderBy(F.col(Col.CREATED_AT).desc_nulls_last(), Col.POST_ID).limit(
            policy.max_candidates
        )
    catalogue = build_catalogue(
        candidates.toPandas(),
        popularity,
        vocabulary,
        policy,
        as_of,
        als,
        topic_als,
        embedder,
    )
    # The text profile: what the user engaged with (by confidence) and wrote (author weight).
    engaged = conf.select(
        Col.USER_ID, Col.POST_ID, F.col(CONFIDENCE).alias(Col.WEIGHT)
    ).unionByName(
        posts.select(
            F.col(Col.AUTHOR_ID).alias(Col.USER_ID),
            Col.POST_ID,
            F.lit(float(policy.author_weight)).alias(Col.WEIGHT),
        )
    )
    inputs = user_inputs(
        spark, users, profile, excluded, catalogue, als, topic_als, engaged
    ).persist()
    inputs.count()
    posts.unpersist()
    profile.unpersist()
    return HybridModel(catalogue=catalogue, users=inputs)
