"""The generator's parameters and the exact counts of what it wrote."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from socialpulse.generator import vocabulary as V
from socialpulse.generator.malformed import INTERACTION_BREAKERS, POST_BREAKERS

LABELS: Final = ("negative", "neutral", "positive")
MANIFEST: Final = "manifest.json"


def iso(sec: float) -> str:
    """``sec`` (Unix seconds) as X's timestamp format, whole seconds, UTC."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(int(sec)))


@dataclass(frozen=True)
class GeneratorConfig:
    """Parameters of one generated data set. ``posts`` counts every line of ``posts/``."""

    posts: int
    users: int = 1_000
    seed: int = 42
    end: datetime = datetime(2026, 11, 1, tzinfo=UTC)
    days: float = 14.0
    topics: int = len(V.TOPICS)
    malformed_rate: float = 0.02
    duplicate_rate: float = 0.02
    retweet_rate: float = 0.10
    reply_share: float = 0.08
    """Share of original posts that reply to an earlier post of their topic."""
    quote_share: float = 0.03
    interactions_per_post: float = 3.0
    interaction_noise: float = 0.2
    """Share of interactions on a uniformly random topic instead of a preferred one."""
    appeal_exponent: float = 1.0
    """A post's appeal is ``(likes + 1) ** appeal_exponent``; an interaction picks among its
    topic's recent posts in proportion to it (preferential attachment: engagement follows
    engagement). 0 picks uniformly, as the generator did before."""
    interaction_malformed_rate: float = 0.01
    topic_concentration: float = 0.08
    """Dirichlet concentration of users' topic preferences: small = few topics per user."""
    activity_exponent: float = 0.9
    """Zipf exponent of posting activity over users."""
    lines_per_file: int = 100_000
    chunk_size: int = 4_096
    ring_size: int = 256
    """Recent posts remembered per topic (what replies, retweets and interactions target)."""

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.posts < 0:
            problems.append(f"posts must be >= 0, got {self.posts}")
        if self.users < 2:
            problems.append(f"users must be >= 2, got {self.users}")
        if not 1 <= self.topics <= len(V.TOPICS):
            problems.append(f"topics must be in 1..{len(V.TOPICS)}, got {self.topics}")
        if self.end.tzinfo is None:
            problems.append("end must be timezone-aware (UTC)")
        if not self.days > 0:
            problems.append(f"days must be > 0, got {self.days}")
        for name in ("malformed_rate", "duplicate_rate", "retweet_rate", "reply_share"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                problems.append(f"{name} must be in [0, 1], got {value}")
        for name in ("quote_share", "interaction_noise", "interaction_malformed_rate"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                problems.append(f"{name} must be in [0, 1], got {value}")
        if self.malformed_rate + self.duplicate_rate + self.retweet_rate > 1:
            problems.append("malformed_rate + duplicate_rate + retweet_rate must be <= 1")
        if self.reply_share + self.quote_share > 1:
            problems.append("reply_share + quote_share must be <= 1")
        if not 0 <= self.appeal_exponent <= 4:
            problems.append(f"appeal_exponent must be in [0, 4], got {self.appeal_exponent}")
        if self.interactions_per_post < 0:
            problems.append("interactions_per_post must be >= 0")
        if self.topic_concentration <= 0 or self.activity_exponent < 0:
            problems.append("topic_concentration must be > 0 and activity_exponent >= 0")
        if self.lines_per_file < 1 or self.chunk_size < 1 or self.ring_size < 1:
            problems.append("lines_per_file, chunk_size and ring_size must be >= 1")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def start(self) -> datetime:
        """First instant of the generated period."""
        return self.end - timedelta(days=self.days)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready parameters (for the manifest)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = iso(value.timestamp()) if isinstance(value, datetime) else value
        return out


@dataclass
class GenerationCounts:
    """Exact counts of what was written; ``post_lines = valid_unique + duplicates + malformed``."""

    post_lines: int = 0
    valid_unique_posts: int = 0
    originals: int = 0
    replies: int = 0
    quotes: int = 0
    retweets: int = 0
    duplicates: int = 0
    malformed: int = 0
    malformed_by_kind: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(POST_BREAKERS, 0)
    )
    interaction_lines: int = 0
    interactions_valid: int = 0
    interactions_malformed: int = 0
    interactions_malformed_by_kind: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(INTERACTION_BREAKERS, 0)
    )
    labels: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LABELS, 0))
    """Intended labels of the valid unique posts."""
