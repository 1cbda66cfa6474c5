"""The ``minilm`` encoder on PyTorch (fp32, or int8 by dynamic quantisation)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from socialpulse.sentiment.minilm_tokens import (
    content_mask,
    content_pieces,
    encode_batch,
    load_tokenizer,
)
from socialpulse.sentiment.minilm_weights import HIDDEN, FloatArray
from socialpulse.sentiment.onnx_encoder import pool_layers


class MiniLMEncoder:
    """Tokenizer plus the first ``max(layers)`` transformer layers of all-MiniLM-L6-v2.

    :meth:`encode` returns, per text, the attention-masked mean of each requested layer's
    hidden states (layer 0 = embeddings), concatenated; ``topic_layer`` (when one of them) is
    pooled over content pieces only, as the ONNX export does (``onnx_encoder.pool_layers``).
    """

    def __init__(
        self,
        model_dir: Path,
        layers: Sequence[int] = (6,),
        max_length: int = 64,
        threads: int = 0,
        quantize: bool = False,
        topic_layer: int | None = None,
    ) -> None:
        # Set before transformers is imported so nothing ever tries the hub.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import BertModel

        if threads > 0:
            torch.set_num_threads(threads)
        self.layers = tuple(int(i) for i in layers)
        self.max_length = max_length
        self._torch = torch
        self._tokenizer = load_tokenizer(model_dir, max_length, pad=True)
        self.topic_layer = topic_layer if topic_layer in self.layers else None
        self._content = content_pieces(self._tokenizer) if self.topic_layer is not None else None
        model = BertModel.from_pretrained(str(model_dir))
        depth = max(self.layers)
        # Layers above the deepest one the head reads cost time and change nothing.
        model.encoder.layer = model.encoder.layer[:depth]
        model.config.num_hidden_layers = depth
        model.eval()  # type: ignore[no-untyped-call]
        if quantize:
            # torch flags eager-mode quantisation as deprecated in favour of torchao (another
            # dependency); it still works in the pinned torch, so keep its warning out of logs.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
                    model, {torch.nn.Linear}, dtype=torch.qint8
                )
        self._model = model

    def encode(self, texts: Sequence[str], batch_size: int = 128) -> FloatArray:
        """Features for already-normalised texts, shape ``(len(texts), len(layers) * 384)``."""
        torch = self._torch
        out = np.zeros((len(texts), len(self.layers) * HIDDEN), dtype=np.float32)
        # Sorting by length keeps each batch's padding (wasted compute) small.
        order = np.argsort([len(t) for t in texts], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                idx = order[start : start + batch_size]
                enc = encode_batch(self._tokenizer, [texts[i] for i in idx], self.max_length)
                ids = torch.tensor([e.ids for e in enc], dtype=torch.long)
                mask = torch.tensor([e.attention_mask for e in enc], dtype=torch.long)
                hidden = self._model(
                    input_ids=ids, attention_mask=mask, output_hidden_states=True
                ).hidden_states
                topic = None
                if self._content is not None:
                    topic = torch.from_numpy(content_mask(self._content, ids.numpy(), mask.numpy()))
                pooled = pool_layers(hidden, self.layers, mask, topic, self.topic_layer)
                out[idx] = pooled.numpy()
        return out
