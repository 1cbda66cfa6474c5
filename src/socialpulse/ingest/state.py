"""The polling cursor (``since_id``) persisted under ``data_dir`` so a restart resumes exactly."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old or the new file, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename or new entry in ``directory`` durable (fsync of the directory itself)."""
    # The rename is only durable once the directory entry itself is on disk.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class CursorStore:
    """``since_id`` per key (source and query): one small JSON file per key in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path:
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
        return self.directory / f"search-{digest}.json"

    def load(self, key: str) -> str | None:
        """The newest post id already landed for ``key``, or None on a first run."""
        path = self._path(key)
        if not path.exists():
            return None
        state = json.loads(path.read_text(encoding="utf-8"))
        since = state.get("since_id")
        return since if isinstance(since, str) else None

    def save(self, key: str, since_id: str) -> None:
        """Record ``since_id``; call only after the posts up to it are durably written."""
        atomic_write_text(self._path(key), json.dumps({"key": key, "since_id": since_id}) + "\n")
