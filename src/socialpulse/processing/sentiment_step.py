"""Sentiment as a Spark step: ``mapInPandas`` with one backend per worker process.

The backend is built lazily inside the worker (never pickled) and reused for every batch that
process handles; texts are classified in batches, each distinct text once per batch.

Posts are routed by their ``lang`` (X's BCP 47 code): English, and posts whose language is
missing or one of X's "no language" codes (``und``, ``zxx``, ``art``, ``q*``), go to the main
backend, which is English-only. Any other language goes to
``settings.sentiment.multilingual_backend`` when one is configured; otherwise the post is kept,
marked ``unsupported_language`` with a neutral, zero-score placeholder, and never labelled as
if it were English. ``sentiment_status`` says which of these happened to each post.

One encoder pass (issue 16): asked for vectors of a ``vector_version`` (the loaded topic
model's), the step also emits :data:`~socialpulse.topics.base.TOPIC_VECTOR` from the main
backend's own pass (``Embeds.predict_with_vectors``) for the topic step to read, so no post is
encoded twice. A post whose sentiment came from the result cache is only embedded; a post
routed to another language's backend (or marked unsupported) gets the main backend's
``embed`` of its text: the same vector the topic step would compute, once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql.types import ArrayType, FloatType, StructField, StructType

from socialpulse.domain.columns import Col
from socialpulse.domain.protocols import Embeds, SentimentBackend, WithFallback
from socialpulse.domain.records import SentimentResult, SentimentStatus
from socialpulse.domain.schemas import SENTIMENT_FIELDS
from socialpulse.topics.base import TOPIC_VECTOR

if TYPE_CHECKING:
    from pyspark.accumulators import Accumulator

    from socialpulse.config import SentimentSettings, Settings


@dataclass(frozen=True)
class BackendSpec:
    """What a worker needs to build its backend: the registry name and the sentiment section.

    It is pickled into every Spark task, so it carries the sentiment settings only, with every
    secret removed (checked here). A backend that needs a token on an executor (``hf-api``)
    reads ``SOCIALPULSE_HF_TOKEN`` from the executor's own environment (docs/DEPLOYMENT.md).
    """

    name: str
    sentiment: SentimentSettings
    cache_path: Path
    """The persistent result cache's SQLite file, resolved on the driver."""

    def __post_init__(self) -> None:
        if self.sentiment.hf_token is not None:
            raise ValueError("BackendSpec must not carry secrets: use BackendSpec.of(...)")

    @classmethod
    def of(cls, name: str, settings: Settings) -> BackendSpec:
        """The spec of backend ``name`` under ``settings``, secrets left out."""
        from socialpulse.sentiment.cache import default_cache_path

        return cls(name, settings.sentiment.without_secrets(), default_cache_path(settings))

    def build(self) -> SentimentBackend:
        """Build the backend (called in the worker process), behind the persistent cache."""
        return self._build(self.name)

    def build_multilingual(self) -> SentimentBackend | None:
        """The backend for non-English posts, or ``None`` when none is configured."""
        name = self.sentiment.multilingual_backend
        return self._build(name) if name else None

    def _build(self, name: str) -> SentimentBackend:
        from socialpulse.config import env_secret
        from socialpulse.sentiment.base import create_backend
        from socialpulse.sentiment.cache import with_cache_at

        sentiment = self.sentiment.model_copy(update={"hf_token": env_secret("hf_token")})
        return with_cache_at(create_backend(name, sentiment), sentiment, self.cache_path)

    @property
    def key(self) -> str:
        """Identifies the backend this spec builds (one per worker process and key)."""
        return f"{self.name}:{self.cache_path}:{self.sentiment.model_dump_json()}"


# One backend per Python worker process, keyed by spec. Spark reuses Python workers between
# tasks (spark.python.worker.reuse), so the model is loaded once per worker, not per batch.
_WORKER_BACKENDS: dict[str, SentimentBackend] = {}


_WORKER_MULTILINGUAL: dict[str, SentimentBackend | None] = {}


def _backend_for(spec: BackendSpec) -> SentimentBackend:
    backend = _WORKER_BACKENDS.get(spec.key)
    if backend is None:
        backend = for_task_slot(spec).build()
        _WORKER_BACKENDS[spec.key] = backend
    return backend


def for_task_slot(spec: BackendSpec) -> BackendSpec:
    """``spec`` as a Spark task runs it: a local model gets the task's cores as its threads.

    Spark already runs one Python worker per core (``local[*]``: one per task slot), each with
    its own model; letting each model also use every core (``threads = 0``) puts cores x cores
    threads on the machine, and the workers' parallel operators wait on each other's threads.
    An explicit ``sentiment.threads`` is kept; outside a task (the driver) nothing changes.
    """
    from pyspark import TaskContext

    task = TaskContext.get()
    if task is None or spec.sentiment.threads:
        return spec
    threads = max(1, int(task.cpus()))
    return replace(spec, sentiment=spec.sentiment.model_copy(update={"threads": threads}))


def _multilingual_for(spec: BackendSpec) -> SentimentBackend | None:
    key = spec.key
    if key not in _WORKER_MULTILINGUAL:
        # Built only when a batch holds a non-English post, so English-only streams never
        # load the multilingual model.
        _WORKER_MULTILINGUAL[key] = spec.build_multilingual()
    return _WORKER_MULTILINGUAL[key]


Status = SentimentStatus
"""Values of the ``sentiment_status`` column (defined in ``domain`` for the aggregates)."""


# X's codes for posts without a detectable language: undetermined, no linguistic content,
# emoji/art only, and the q* family (hashtags, mentions, media or cashtags only).
NO_LANGUAGE: Final = frozenset({"und", "zxx", "art", "qam", "qct", "qht", "qme", "qst"})
UNSUPPORTED_MODEL: Final = "unsupported-language"


def is_english(lang: object) -> bool:
    """Whether a post with this ``lang`` goes to the main (English) backend.

    English (``en``, ``en-GB``, ...) and posts with no language (missing, empty or one of X's
    no-language codes) do: no detector runs, because the codes X leaves undetermined are
    mostly short, emoji- or hashtag-heavy posts that the English model's preprocessing handles.
    """
    if lang is None or (isinstance(lang, float) and np.isnan(lang)):
        return True
    code = str(lang).strip().lower()
    return code == "" or code in NO_LANGUAGE or code.split("-")[0] == "en"


def _status(backend: SentimentBackend, r: SentimentResult) -> str:
    if isinstance(backend, WithFallback) and (r.model, r.model_version) == (
        backend.fallback.name,
        backend.fallback.version,
    ):
        return Status.FALLBACK
    return Status.OK


Row = tuple[str, float, float, float, float, str, str, str]

VECTOR_FIELD: Final = StructField(TOPIC_VECTOR, ArrayType(FloatType(), containsNull=False))
"""The column :func:`add_sentiment` adds when asked for vectors (as ``topics.vectors``)."""


def _predict(
    texts: list[str], backend: SentimentBackend, batch_size: int, vectors: bool
) -> tuple[list[SentimentResult], list[npt.NDArray[np.float32]]]:
    results: list[SentimentResult] = []
    out: list[npt.NDArray[np.float32]] = []
    for start in range(0, len(texts), batch_size):
        chunk = texts[start : start + batch_size]
        if vectors and isinstance(backend, Embeds):
            found, vecs = backend.predict_with_vectors(chunk)
            out.extend(vecs)
        else:
            found = backend.predict(chunk)
        results.extend(found)
    return results, out


def _rows(
    texts: list[str], backend: SentimentBackend, batch_size: int, vectors: bool = False
) -> tuple[list[Row], list[npt.NDArray[np.float32]]]:
    results, vecs = _predict(texts, backend, batch_size, vectors)
    rows = [
        (
            r.label.value,
            r.score,
            r.probabilities.get("negative", 0.0),
            r.probabilities.get("neutral", 0.0),
            r.probabilities.get("positive", 0.0),
            r.model,
            r.model_version,
            _status(backend, r),
        )
        for r in results
    ]
    return rows, vecs


def classify_frame(
    texts: pd.Series,
    backend: SentimentBackend,
    batch_size: int,
    langs: pd.Series | None = None,
    multilingual: Callable[[], SentimentBackend | None] = lambda: None,
    vectors: bool = False,
) -> pd.DataFrame:
    """Sentiment columns for ``texts``: each distinct (text, route) is classified once.

    ``langs`` (aligned with ``texts``; ``None`` = all English) routes each post, see
    :func:`is_english`; ``multilingual`` supplies the backend for the other languages. With
    ``vectors`` (``backend`` must :class:`~socialpulse.domain.protocols.Embeds`) the frame also
    has :data:`TOPIC_VECTOR`: English posts' from the sentiment pass itself, the others' from
    ``backend.embed`` (their sentiment ran elsewhere); each distinct text is encoded once.
    """
    embeds = backend if isinstance(backend, Embeds) else None
    if vectors and embeds is None:
        raise TypeError(f"backend {backend.name!r} cannot emit topic vectors")
    filled = texts.fillna("").astype(str).reset_index(drop=True)
    english = (
        np.ones(len(filled), dtype=bool)
        if langs is None
        else np.fromiter((is_english(v) for v in langs), dtype=bool, count=len(filled))
    )
    names = [f.name for f in SENTIMENT_FIELDS]
    out = pd.DataFrame(index=range(len(filled)), columns=names)
    found: list[npt.NDArray[np.float32] | None] = [None] * len(filled)
    other = multilingual() if not english.all() else None
    for mask, route in ((english, backend), (~english, other)):
        if not mask.any():
            continue
        positions = np.flatnonzero(mask)
        codes, uniques = pd.factorize(filled.iloc[positions], sort=False)
        if embeds is not None and vectors and route is not backend:
            # Routed elsewhere for sentiment: the main encoder has not seen these texts.
            embedded = embeds.embed(list(uniques))
            for pos, code in zip(positions, codes, strict=True):
                found[pos] = embedded[code]
        if route is None:
            rows = [_unsupported(langs.iloc[i] if langs is not None else None) for i in positions]
            out.iloc[positions] = pd.DataFrame.from_records(rows, columns=names).to_numpy()
            continue
        table_rows, vecs = _rows(list(uniques), route, batch_size, vectors and route is backend)
        table = pd.DataFrame.from_records(table_rows, columns=names)
        out.iloc[positions] = table.iloc[codes].to_numpy()
        if vecs:
            for pos, code in zip(positions, codes, strict=True):
                found[pos] = vecs[code]
    typed = out.astype(
        {
            n: ("float64" if f.dataType.typeName() == "double" else "object")
            for n, f in zip(names, SENTIMENT_FIELDS, strict=True)
        }
    )
    if vectors:
        typed[TOPIC_VECTOR] = pd.Series(found, index=typed.index, dtype=object)
    return typed


def _unsupported(lang: object) -> tuple[str, float, float, float, float, str, str, str]:
    # A placeholder that says "no opinion": neutral, zero score, equal probabilities; the
    # status column (and the model name) tell it apart from a real neutral label.
    third = 1.0 / 3.0
    return (
        "neutral",
        0.0,
        third,
        third,
        third,
        UNSUPPORTED_MODEL,
        str(lang),
        Status.UNSUPPORTED_LANGUAGE,
    )


def add_sentiment(
    posts: DataFrame,
    spec: BackendSpec,
    text_col: str = Col.TEXT_CLEAN,
    batch_size: int = 2048,
    backend_for: Callable[[BackendSpec], SentimentBackend] = _backend_for,
    lang_col: str = Col.LANG,
    vector_version: str | None = None,
    done: Accumulator[int] | None = None,
) -> DataFrame:
    """Append the sentiment columns to ``posts``, classifying ``text_col``.

    Posts are routed by ``lang_col`` when ``posts`` has it (see :func:`is_english`); without
    it every post goes to the main backend. With ``vector_version`` (check it first with
    :func:`why_no_vectors`) :data:`TOPIC_VECTOR` is appended too, from the same encoder pass.
    ``done`` counts the posts classified (for progress; the driver sees it per finished task).
    """
    from socialpulse.sentiment.base import prepare_backend

    # Runs on the driver: one-off exports happen here, not in every worker at once.
    prepare_backend(spec.name, spec.sentiment, vectors=vector_version is not None)
    if spec.sentiment.multilingual_backend:
        prepare_backend(spec.sentiment.multilingual_backend, spec.sentiment)
    extra = [VECTOR_FIELD] if vector_version is not None else []
    out_schema = StructType([*posts.schema.fields, *SENTIMENT_FIELDS, *extra])
    has_lang = lang_col in posts.columns

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        backend = backend_for(spec)
        if vector_version is not None:
            reason = _vector_mismatch(backend, vector_version)
            if reason:  # the driver checked the same spec: only a differing executor gets here
                raise RuntimeError(f"topic vectors asked for, but {reason}")
        for pdf in batches:
            sent = classify_frame(
                pdf[text_col],
                backend,
                batch_size,
                langs=pdf[lang_col].reset_index(drop=True) if has_lang else None,
                multilingual=lambda: _multilingual_for(spec),
                vectors=vector_version is not None,
            )
            if done is not None:
                done.add(len(pdf))
            yield pd.concat([pdf.reset_index(drop=True), sent], axis=1)

    return posts.mapInPandas(run, out_schema)


def _vector_mismatch(backend: SentimentBackend, vector_version: str) -> str | None:
    if not isinstance(backend, Embeds):
        return f"sentiment backend {backend.name!r} has no sentence vectors"
    if backend.vector_version != vector_version:
        return (
            f"sentiment backend {backend.name!r} embeds in {backend.vector_version!r}, "
            f"the topic model needs {vector_version!r}"
        )
    return None


def why_no_vectors(
    spec: BackendSpec,
    vector_version: str,
    backend_for: Callable[[BackendSpec], SentimentBackend] = _backend_for,
) -> str | None:
    """None when ``spec``'s backend can emit topic vectors of ``vector_version`` from its
    sentiment pass; otherwise why not (its vectors are of another space, or it has none).

    Runs on the driver, which builds the backend once (per process, as a worker does) to ask.
    """
    return _vector_mismatch(backend_for(spec), vector_version)
