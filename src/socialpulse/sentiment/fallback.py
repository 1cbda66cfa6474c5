"""Nothing dropped: a remote backend that stays down hands its texts to a local fallback.

The policy is explicit in ``Settings.sentiment_remote_fallback``: a backend name (default
``vader``) labels every text the remote backend could not, and those results carry the
fallback's model name and version, so they are recorded as fallback labels, never passed off as
the remote model's. An empty setting means no fallback: the error propagates and the batch
fails loudly instead of losing posts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from socialpulse.domain.protocols import SentimentBackend
from socialpulse.domain.records import SentimentResult

log = logging.getLogger(__name__)


class RemoteUnavailableError(RuntimeError):
    """A remote backend stayed down past its retries.

    ``partial`` holds one entry per input text: the result when that text's request succeeded,
    ``None`` when it did not.
    """

    def __init__(self, message: str, partial: Sequence[SentimentResult | None]) -> None:
        super().__init__(message)
        self.partial = list(partial)


class FallbackBackend:
    """Wraps a remote ``primary``; texts it cannot label go to ``fallback``."""

    def __init__(self, primary: SentimentBackend, fallback: SentimentBackend) -> None:
        self.primary = primary
        self.fallback = fallback
        self.name = primary.name
        self.version = primary.version
        self.fallback_count = 0  # texts labelled by the fallback so far (for reports and tests)

    def predict(self, texts: Sequence[str]) -> list[SentimentResult]:
        """Primary results where it answered, fallback results for the rest; order is kept."""
        try:
            return self.primary.predict(texts)
        except RemoteUnavailableError as err:
            missing = [i for i, r in enumerate(err.partial) if r is None]
            log.warning(
                "%s unavailable (%s): %d of %d texts labelled by fallback %s",
                self.primary.name,
                err,
                len(missing),
                len(texts),
                self.fallback.name,
            )
            filled = list(err.partial)
            for i, result in zip(
                missing, self.fallback.predict([texts[i] for i in missing]), strict=True
            ):
                filled[i] = result
            self.fallback_count += len(missing)
            done = [r for r in filled if r is not None]
            if len(done) != len(texts):  # a fallback that returns too few results is a bug
                raise RuntimeError(f"fallback {self.fallback.name} lost texts") from err
            return done
