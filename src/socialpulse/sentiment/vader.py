"""VADER: the lexicon-and-rules fast path (no model weights, no GPU)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from socialpulse.domain.records import SentimentLabel, SentimentResult
from socialpulse.sentiment.preprocess import clip_for_model

if TYPE_CHECKING:
    from socialpulse.config import SentimentSettings

# VADER's authors recommend +-0.05 on the compound score as the neutral band.
_NEUTRAL_BAND = 0.05


class VaderBackend:
    """Sentiment from the VADER lexicon; ``score`` is VADER's compound polarity."""

    name = "vader"
    version = "3.3.2"

    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._analyzer = SentimentIntensityAnalyzer()

    def predict(self, texts: Sequence[str]) -> list[SentimentResult]:
        """Label each text; VADER's neg/neu/pos proportions serve as class probabilities."""
        return [self._one(t) for t in texts]

    def _one(self, text: str) -> SentimentResult:
        s = self._analyzer.polarity_scores(clip_for_model(text))
        compound = float(s["compound"])
        if compound >= _NEUTRAL_BAND:
            label = SentimentLabel.POSITIVE
        elif compound <= -_NEUTRAL_BAND:
            label = SentimentLabel.NEGATIVE
        else:
            label = SentimentLabel.NEUTRAL
        return SentimentResult(
            label=label,
            score=compound,
            probabilities=_proportions(float(s["neg"]), float(s["neu"]), float(s["pos"])),
            model=self.name,
            model_version=self.version,
        )


def _proportions(neg: float, neu: float, pos: float) -> dict[str, float]:
    # VADER's proportions are rounded to 3 places and all zero for an empty text; renormalise so
    # every backend hands out a proper distribution.
    total = neg + neu + pos
    if total <= 0:
        return {"negative": 0.0, "neutral": 1.0, "positive": 0.0}
    return {"negative": neg / total, "neutral": neu / total, "positive": pos / total}


def build(settings: SentimentSettings) -> VaderBackend:
    """The backend under these settings (the registry's builder)."""
    return VaderBackend()
