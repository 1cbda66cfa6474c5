"""The hybrid's scoring signals, one module each; :data:`SIGNALS` is the registry.

Order matters twice: contributions are summed in this order, and when two signals contribute
exactly the same to an item its reason comes from the earlier one. The last signal is the
fallback whose reason explains items no signal scores (popularity: it scores every post).
Adding a signal: a module with a ``SIGNAL`` object following :class:`~.base.Signal`, and one
line here (see docs/ARCHITECTURE.md, "How to add a recommender signal").
"""

from __future__ import annotations

from socialpulse.recommend.signals import (
    co_engaged,
    hashtag_content,
    popularity,
    post_als,
    text,
    topic_model,
)
from socialpulse.recommend.signals.base import Signal

SIGNALS: tuple[Signal, ...] = (
    post_als.SIGNAL,
    co_engaged.SIGNAL,
    hashtag_content.SIGNAL,
    text.SIGNAL,
    topic_model.SIGNAL,
    popularity.SIGNAL,  # the fallback: keep it last
)
"""Every signal of the hybrid, in blend order."""

REASON_CODES: tuple[str, ...] = tuple(code for s in SIGNALS for code in s.reason_codes)
"""Every ``reason_code`` a recommendation may carry."""


def signal_named(name: str) -> Signal:
    """The registered signal called ``name``."""
    for signal in SIGNALS:
        if signal.name == name:
            return signal
    raise KeyError(f"no recommender signal {name!r}; registered: {[s.name for s in SIGNALS]}")
