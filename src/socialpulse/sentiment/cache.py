"""A persistent result cache so retweets and copy-paste spam are classified once, ever.

Results are keyed by (hash of the normalised text, model name, model version): a new model
version never reads an old model's answers. The store is one SQLite file (WAL mode, so several
Spark worker processes on one machine can share it); it is a cache, so losing it only costs time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from socialpulse.domain.protocols import Embeds, Normalising, SentimentBackend
from socialpulse.domain.records import LABELS, SentimentLabel, SentimentResult
from socialpulse.sentiment.preprocess import normalize_tweet
from socialpulse.sqlite_wal import open_wal

if TYPE_CHECKING:
    from socialpulse.config import SentimentSettings, Settings

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sentiment_cache (
    text_hash TEXT NOT NULL,
    model TEXT NOT NULL,
    model_version TEXT NOT NULL,
    label TEXT NOT NULL,
    score REAL NOT NULL,
    p_negative REAL NOT NULL,
    p_neutral REAL NOT NULL,
    p_positive REAL NOT NULL,
    PRIMARY KEY (text_hash, model, model_version)
)
"""
UNVERSIONED = frozenset({"", "remote"})
# SQLite caps the number of host parameters per statement; stay well below it.
_LOOKUP_CHUNK = 500


def text_key(text: str, normalise: Callable[[str], str] = normalize_tweet) -> str:
    """The cache key of a text: SHA-256 of its normalised form."""
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


class SentimentCache:
    """Results in an SQLite file, keyed by (text hash, model, version)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # The FastAPI server may call from a thread pool: open_wal's connection allows that.
        self._conn = open_wal(path, _SCHEMA, timeout_s=30.0, synchronous="NORMAL")

    def get_many(self, keys: Sequence[str], model: str, version: str) -> dict[str, SentimentResult]:
        """Cached results for those ``keys`` that have one."""
        found: dict[str, SentimentResult] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _LOOKUP_CHUNK):
            chunk = unique[start : start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                "SELECT text_hash, label, score, p_negative, p_neutral, p_positive "
                f"FROM sentiment_cache WHERE model = ? AND model_version = ? "
                f"AND text_hash IN ({marks})",
                (model, version, *chunk),
            )
            for key, label, score, pn, pu, pp in rows:
                found[key] = SentimentResult(
                    label=SentimentLabel(label),
                    score=float(score),
                    probabilities=dict(
                        zip((lab.value for lab in LABELS), (pn, pu, pp), strict=True)
                    ),
                    model=model,
                    model_version=version,
                )
        return found

    def put_many(self, items: Sequence[tuple[str, SentimentResult]]) -> None:
        """Store results; a key already present keeps its first result."""
        rows = [
            (
                key,
                r.model,
                r.model_version,
                r.label.value,
                r.score,
                r.probabilities.get("negative", 0.0),
                r.probabilities.get("neutral", 0.0),
                r.probabilities.get("positive", 0.0),
            )
            for key, r in items
        ]
        with self._conn:
            self._conn.executemany(
                "INSERT OR IGNORE INTO sentiment_cache VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
            )

    def __len__(self) -> int:
        (n,) = self._conn.execute("SELECT COUNT(*) FROM sentiment_cache").fetchone()
        return int(n)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


class CachedBackend:
    """Wraps a backend: each distinct key text is classified once per model version.

    The key text is what the backend itself sees: backends that normalise their input say so
    with a ``normalise`` method (:class:`~socialpulse.domain.protocols.Normalising`; ``minilm``
    uses :func:`normalize_tweet`, so retweets that differ only in a mention or a URL share one
    entry); for the others it is the text itself.
    """

    def __init__(
        self,
        inner: SentimentBackend,
        cache: SentimentCache,
        normalise: Callable[[str], str] | None = None,
    ) -> None:
        self.inner = inner
        self.cache = cache
        self.name = inner.name
        self.version = inner.version
        if normalise is None:
            normalise = inner.normalise if isinstance(inner, Normalising) else _identity
        self._normalise: Callable[[str], str] = normalise
        self.hits = 0
        self.misses = 0

    def _look_up(
        self, texts: Sequence[str]
    ) -> tuple[list[str], dict[str, SentimentResult], dict[str, str], dict[str, str]]:
        """Each text's key, the cached results, and the distinct key texts missed and hit."""
        keys = [text_key(t or "", self._normalise) for t in texts]
        found = self.cache.get_many(keys, self.name, self.version)
        todo: dict[str, str] = {}
        hit: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            (hit if key in found else todo).setdefault(key, text or "")
        self.misses += len(todo)
        self.hits += len(texts) - len(todo)
        return keys, found, todo, hit

    def _keep(
        self,
        found: dict[str, SentimentResult],
        todo: dict[str, str],
        fresh: list[SentimentResult],
    ) -> None:
        new = list(zip(todo.keys(), fresh, strict=True))
        self.cache.put_many(new)
        found.update(new)

    def predict(self, texts: Sequence[str]) -> list[SentimentResult]:
        """One result per text, in order; only texts never seen by this model version are run."""
        keys, found, todo, _hit = self._look_up(texts)
        if todo:
            self._keep(found, todo, self.inner.predict(list(todo.values())))
        return [found[k] for k in keys]


class CachedEmbeddingBackend(CachedBackend):
    """A :class:`CachedBackend` around a backend that also :class:`Embeds`.

    A cached result has no vector (vectors are not stored: 384 floats a post, and a cache hit
    is exactly the post the encoder never needs to see for sentiment), so
    :meth:`predict_with_vectors` runs ``inner.predict_with_vectors`` on the misses and only
    ``inner.embed`` on the hits: every distinct key text is encoded once either way.
    """

    inner: Embeds  # type: ignore[assignment]  # also a SentimentBackend (checked on build)

    def __init__(
        self,
        inner: SentimentBackend,
        cache: SentimentCache,
        normalise: Callable[[str], str] | None = None,
    ) -> None:
        if not isinstance(inner, Embeds):
            raise TypeError(f"backend {inner.name!r} does not embed")
        super().__init__(inner, cache, normalise)
        self.vector_version = inner.vector_version

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """The inner backend's vectors (never cached)."""
        return self.inner.embed(texts)

    def predict_with_vectors(
        self, texts: Sequence[str]
    ) -> tuple[list[SentimentResult], npt.NDArray[np.float32]]:
        """Results (cached or fresh) and vectors, each distinct key text encoded once."""
        keys, found, todo, hit = self._look_up(texts)
        vectors: dict[str, npt.NDArray[np.float32]] = {}
        if todo:
            fresh, fresh_vectors = self.inner.predict_with_vectors(list(todo.values()))
            self._keep(found, todo, fresh)
            vectors.update(zip(todo.keys(), fresh_vectors, strict=True))
        if hit:
            vectors.update(zip(hit.keys(), self.inner.embed(list(hit.values())), strict=True))
        if not keys:
            return [], np.zeros((0, 0), dtype=np.float32)
        return [found[k] for k in keys], np.stack([vectors[k] for k in keys])


def _identity(text: str) -> str:
    return text


def default_cache_path(settings: Settings) -> Path:
    """Where the cache lives: ``sentiment_cache_path`` or ``data_dir/sentiment_cache.sqlite``."""
    return settings.sentiment.cache_path or settings.storage.data_dir / "sentiment_cache.sqlite"


def with_cache(backend: SentimentBackend, settings: Settings) -> SentimentBackend:
    """``backend`` behind the persistent cache when ``settings.sentiment.cache`` is on.

    Backends without a pinned version (``hf-api`` reports ``"remote"``: the hosted model may
    change behind its id) are not cached, since nothing would tell stale results apart.
    """
    return with_cache_at(backend, settings.sentiment, default_cache_path(settings))


def with_cache_at(
    backend: SentimentBackend, sentiment: SentimentSettings, path: Path
) -> SentimentBackend:
    """:func:`with_cache` with the cache file already resolved (what Spark tasks carry)."""
    if not sentiment.cache or backend.version in UNVERSIONED:
        return backend
    if isinstance(backend, Embeds):
        return CachedEmbeddingBackend(backend, SentimentCache(path))
    return CachedBackend(backend, SentimentCache(path))
