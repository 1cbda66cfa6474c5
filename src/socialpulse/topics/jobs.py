"""Topic jobs the CLI runs: fit-and-assign a file's posts, train from the lake, saved versions.

Saved models live under ``<data_dir>/models/topics/<version>``; ``CURRENT`` there names the
version ``topics show`` (and the pipeline) reads. A new version is a new folder, so a model
already used to assign stored posts is never overwritten.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from socialpulse.config import TopicsSettings
from socialpulse.domain.columns import Col
from socialpulse.topics.base import TOPIC_ID, TOPIC_VECTOR, TOPIC_WEIGHT, TopicModel
from socialpulse.topics.registry import create_topic_trainer, load_topic_model

_ROW = "_row"
CURRENT = "CURRENT"
MODELS_SUBDIR = Path("models") / "topics"
"""Where saved models live, under the data dir."""


@dataclass(frozen=True, slots=True)
class Assigned:
    """One post's answer: its topic, the weight, the topic's label."""

    topic: int
    weight: float
    label: str

    def as_dict(self) -> dict[str, int | float | str]:
        """The JSON line of ``topics fit-predict``."""
        return {"topic": self.topic, "weight": self.weight, "label": self.label}


def with_k(settings: TopicsSettings, k: int, model: str | None = None) -> TopicsSettings:
    """``settings`` fitting exactly ``k`` topics (every family's candidates), family ``model``."""
    update: dict[str, object] = {"lda_topics": [k], "embedding_topics": [k]}
    if model:
        update["model"] = model
    return settings.model_copy(update=update)


def fit_predict(
    spark: SparkSession,
    texts: Sequence[str],
    settings: TopicsSettings,
    on_stage: Callable[[str], None] = lambda _: None,
) -> tuple[TopicModel, list[Assigned]]:
    """Fit a model on ``texts`` and answer each text, in input order.

    A post with no topic-bearing word (an empty line, only a link) still gets a topic: the
    most common one among the others, with weight 0.0 (the model found nothing in it).
    """
    posts = spark.createDataFrame(
        [(i, str(i), t) for i, t in enumerate(texts)],
        f"{_ROW} long, {Col.POST_ID} string, {Col.TEXT} string",
    ).cache()
    try:
        on_stage(f"fitting {settings.model} topics on {len(texts):,} posts")
        model = create_topic_trainer(settings).fit(posts.select(Col.POST_ID, Col.TEXT))
        on_stage("assigning topics")
        rows = model.assign(posts).select(_ROW, TOPIC_ID, TOPIC_WEIGHT).collect()
    finally:
        posts.unpersist()
    by_row = {int(r[_ROW]): (r[TOPIC_ID], r[TOPIC_WEIGHT]) for r in rows}
    common = Counter(t for t, _ in by_row.values() if t is not None).most_common(1)
    fallback = common[0][0] if common else 0
    labels = {d.topic_id: d.label for d in model.describe(top_words=3)}
    answers = []
    for i in range(len(texts)):
        topic, weight = by_row[i]
        if topic is None:
            topic, weight = fallback, 0.0
        answers.append(Assigned(int(topic), float(weight), labels.get(int(topic), "")))
    return model, answers


def train_from_posts(posts: DataFrame, settings: TopicsSettings, models_dir: Path) -> Path:
    """Fit ``settings.model`` on ``posts`` (the lake's clean layer), save it as a new version
    under ``models_dir`` and make it current; returns its folder."""
    keep = [Col.POST_ID, Col.TEXT, *([TOPIC_VECTOR] if TOPIC_VECTOR in posts.columns else [])]
    clean = posts.select(*keep).where(F.col(Col.TEXT).isNotNull())
    model = create_topic_trainer(settings).fit(clean)
    folder = models_dir / model.version
    model.save(str(folder))
    # Written last: a crash mid-save leaves the previous version current.
    (models_dir / CURRENT).write_text(model.version + "\n", encoding="utf-8")
    return folder


def current_version(models_dir: Path) -> str | None:
    """The version ``CURRENT`` names, or ``None`` when no model was trained."""
    marker = models_dir / CURRENT
    if not marker.is_file():
        return None
    return marker.read_text(encoding="utf-8").strip() or None


def load_version(spark: SparkSession, models_dir: Path, version: str | None = None) -> TopicModel:
    """The saved model ``version`` (default: the current one)."""
    chosen = version or current_version(models_dir)
    if chosen is None:
        raise FileNotFoundError(
            f"no topic model under {models_dir}: run `socialpulse topics train` first"
        )
    return load_topic_model(spark, str(models_dir / chosen))


def topic_sizes(model: TopicModel) -> list[int | None]:
    """Training posts per topic, as recorded at fit time (``None`` where not recorded)."""
    meta = getattr(model, "meta", {})
    sizes = meta.get("sizes") if isinstance(meta, dict) else None
    if not isinstance(sizes, list):
        return [None] * model.num_topics
    return [int(s) for s in sizes]
