"""``transformers``: any Hugging Face text-classification model, by hub id or local path.

The default is ``distilbert-base-uncased-finetuned-sst-2-english`` (binary: neutral comes from
``hf_neutral_threshold``); for tweets ``cardiffnlp/twitter-roberta-base-sentiment-latest``
(negative/neutral/positive, trained on tweets) is the better choice. Loading a hub id needs hub
access or a filled Hugging Face cache; a local folder written by ``save_pretrained`` works
offline.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from socialpulse.domain.records import SentimentResult
from socialpulse.sentiment.labels import map_label, result_from_label_scores

if TYPE_CHECKING:
    from socialpulse.config import SentimentSettings


class TransformersBackend:
    """Batched inference with a sequence-classification model and its tokenizer.

    ``name`` is ``transformers:<model id or path>`` so stored results say which model labelled
    them; ``version`` is the hub commit, or a fingerprint of a local folder's files.
    """

    def __init__(
        self,
        model_id: str,
        device: str = "cpu",
        max_length: int = 128,
        batch_size: int = 32,
        neutral_threshold: float = 0.6,
    ) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self._torch = torch
        self._tokenizer: Any = AutoTokenizer.from_pretrained(model_id)
        self._model: Any = AutoModelForSequenceClassification.from_pretrained(model_id)
        self._model.to(device)
        self._model.eval()
        self._device = device
        self._max_length = max_length
        self._batch_size = batch_size
        self._threshold = neutral_threshold
        id2label: dict[int, str] = {int(k): v for k, v in self._model.config.id2label.items()}
        n = len(id2label)
        # Fail at start-up, not on the first batch, when the labels mean nothing to us.
        for label in id2label.values():
            map_label(label, n)
        self._labels = [id2label[i] for i in range(n)]
        self.model_id = model_id
        self.name = f"transformers:{model_id}"
        self.version = _fingerprint(model_id, getattr(self._model.config, "_commit_hash", None))

    def predict(self, texts: Sequence[str]) -> list[SentimentResult]:
        """Classify ``texts`` in batches of ``batch_size``; order is kept."""
        results: list[SentimentResult] = []
        for start in range(0, len(texts), self._batch_size):
            results.extend(self._batch([t or "" for t in texts[start : start + self._batch_size]]))
        return results

    def _batch(self, texts: list[str]) -> list[SentimentResult]:
        torch = self._torch
        enc = self._tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self._max_length,
            return_tensors="pt",
        ).to(self._device)
        with torch.inference_mode():
            probs = torch.softmax(self._model(**enc).logits.float(), dim=-1).cpu().tolist()
        n = len(self._labels)
        return [
            result_from_label_scores(
                zip(self._labels, row, strict=True), n, self._threshold, self.name, self.version
            )
            for row in probs
        ]


def _fingerprint(model_id: str, commit: str | None) -> str:
    """A version that changes when the weights do: the hub commit, else a hash of the files."""
    if commit:
        return commit
    folder = Path(model_id)
    if not folder.is_dir():
        return "unknown"
    h = hashlib.sha256()
    for f in sorted(folder.iterdir()):
        if f.is_file():
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:12]


def build(settings: SentimentSettings) -> TransformersBackend:
    """The backend under these settings (the registry's builder)."""
    return TransformersBackend(
        settings.transformers_model,
        device=settings.transformers_device,
        max_length=settings.transformers_max_length,
        batch_size=settings.transformers_batch_size,
        neutral_threshold=settings.hf_neutral_threshold,
    )
