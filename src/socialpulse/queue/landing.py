"""The landing folder: JSON-lines batches written atomically for Spark's file source.

Layout under the landing root: ``posts/*.jsonl``, ``interactions/*.jsonl`` (what
``processing.batch_job`` reads) and ``quarantine/*.jsonl`` (rejected input with its reason).
Each file is written under a hidden ``.*.tmp`` name, fsynced, renamed, and its directory
fsynced: a reader never sees half a file, and a file that exists survives a crash.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from socialpulse.domain.columns import INTERACTIONS_DIR, POSTS_DIR
from socialpulse.ingest.state import fsync_dir

QUARANTINE_DIR = "quarantine"
API_ERRORS_DIR = "api_errors"


class LandingWriter:
    """Writes batches of JSON records as new, complete ``.jsonl`` files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, kind: str, records: Iterable[Mapping[str, Any]]) -> Path | None:
        """Land ``records`` as one file under ``root/kind``; None when there was nothing."""
        lines = [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in records]
        if not lines:
            return None
        return self.write_lines(kind, lines)

    def write_lines(self, kind: str, lines: list[str]) -> Path:
        """Land already-serialised JSON lines (the lander passes Kafka values through as-is)."""
        directory = self.root / kind
        directory.mkdir(parents=True, exist_ok=True)
        # Time-ordered names keep `ls` readable; the uuid makes concurrent writers safe.
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        final = directory / f"{stamp}-{uuid.uuid4().hex[:12]}.jsonl"
        tmp = directory / f".{final.name}.tmp"
        with tmp.open("w", encoding="utf-8") as fh:
            for line in lines:
                fh.write(line)
                fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(final)
        fsync_dir(directory)
        return final

    def remove_orphans(self, older_than_s: float) -> list[Path]:
        """Delete temp files a crashed writer left behind; return what was removed.

        Readers never see them (hidden, not ``*.jsonl``) and their records were never
        acknowledged, so they are redelivered: the files are only clutter. The age limit keeps a
        live writer's file (open for milliseconds) safe from a concurrent clean-up.
        """
        now = time.time()
        removed = []
        for tmp in self.root.glob("*/.*.jsonl.tmp"):
            try:
                if now - tmp.stat().st_mtime >= older_than_s:
                    tmp.unlink()
                    removed.append(tmp)
            except FileNotFoundError:  # its writer finished (renamed it) meanwhile
                continue
        return removed

    def quarantine(self, items: Iterable[Mapping[str, Any]]) -> Path | None:
        """Land rejected input; each item carries ``raw`` and ``reason``."""
        return self.write(QUARANTINE_DIR, items)


class LandingSink:
    """The embedded default sink: the ingester writes the landing folder directly."""

    name = "landing"

    def __init__(self, writer: LandingWriter) -> None:
        self.writer = writer

    def write(
        self,
        posts: list[dict[str, Any]],
        interactions: list[dict[str, Any]],
        api_errors: list[dict[str, Any]],
        rejects: list[dict[str, Any]],
    ) -> None:
        """Land the batch; returns only when every file is durable."""
        self.writer.write(POSTS_DIR, posts)
        self.writer.write(INTERACTIONS_DIR, interactions)
        self.writer.write(API_ERRORS_DIR, api_errors)
        self.writer.quarantine(rejects)

    def close(self) -> None:
        """Nothing to release."""
