"""Layout of the Parquet lake. Paths only: reading and writing happens in job modules.

Three layers under one base URI (a local path, ``file://``, ``hdfs://``, ``s3a://``: whatever
Hadoop's FileSystem resolves), each table partitioned by ``day`` (UTC):

- raw: post lines exactly as they landed (``raw/posts``: ``value``, ``source_file``,
  ``ingested_at``), partitioned by the day the record claims (``created_at``; the ingest day for
  a line too broken to say), which is what ``socialpulse lake reprocess --date`` reads back;
- clean: validated, enriched posts with sentiment (``posts``) and interactions;
- aggregates: daily hashtag, mention and user trends (``aggregates/<name>``, one per aggregate
  spec with a ``lake`` name): the batch job replaces whole days, the stream appends its
  micro-batches' increments (see docs/STORAGE.md).

``quarantine`` holds rejected records with their reason and is not partitioned.
"""

from __future__ import annotations

from dataclasses import dataclass

from socialpulse.domain.aggregates import AGGREGATES


@dataclass(frozen=True)
class LakePaths:
    """Locations of the lake's tables under one base URI (local path, hdfs://, s3a://)."""

    base: str

    def _join(self, name: str) -> str:
        return f"{self.base.rstrip('/')}/{name}"

    @property
    def raw_posts(self) -> str:
        """Raw layer: post records as received, partitioned by ``day``."""
        return self._join("raw/posts")

    @property
    def posts(self) -> str:
        """Clean posts with sentiment, partitioned by ``day``."""
        return self._join("posts")

    @property
    def interactions(self) -> str:
        """Validated interactions, partitioned by ``day``."""
        return self._join("interactions")

    def aggregate(self, name: str) -> str:
        """Aggregate layer: the table named by an aggregate spec's ``lake``, by ``day``."""
        return self._join(f"aggregates/{name}")

    @property
    def hashtag_trends(self) -> str:
        """Aggregate layer: daily sentiment per hashtag, partitioned by ``day``."""
        return self.aggregate("hashtag_trends")

    @property
    def mention_trends(self) -> str:
        """Aggregate layer: daily sentiment per mentioned account, partitioned by ``day``."""
        return self.aggregate("mention_trends")

    @property
    def user_trends(self) -> str:
        """Aggregate layer: daily sentiment per author, partitioned by ``day``."""
        return self.aggregate("user_trends")

    @property
    def quarantine(self) -> str:
        """Rejected records with their reason."""
        return self._join("quarantine")

    def day_partitioned(self) -> dict[str, str]:
        """The tables partitioned by ``day``, by name (what compaction walks)."""
        return {
            "raw_posts": self.raw_posts,
            "posts": self.posts,
            "interactions": self.interactions,
            **{a.lake: self.aggregate(a.lake) for a in AGGREGATES if a.lake is not None},
        }
