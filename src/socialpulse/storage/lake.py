"""Layout of the Parquet lake. Paths only: reading and writing happens in job modules."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LakePaths:
    """Locations of the lake's tables under one base URI (local path, hdfs://, s3a://)."""

    base: str

    def _join(self, name: str) -> str:
        return f"{self.base.rstrip('/')}/{name}"

    @property
    def posts(self) -> str:
        """Clean posts with sentiment, partitioned by ``day``."""
        return self._join("posts")

    @property
    def interactions(self) -> str:
        """Validated interactions, partitioned by ``day``."""
        return self._join("interactions")

    @property
    def quarantine(self) -> str:
        """Rejected records with their reason."""
        return self._join("quarantine")
