"""Tokenisation for the MiniLM encoders (torch and ONNX Runtime share it).

Texts are cut to :func:`char_cap` characters before the tokenizer sees them: the encoder reads
at most ``max_length`` word pieces anyway, and without the cap a 10,000-emoji text (whose
emojis :func:`~socialpulse.sentiment.preprocess.normalize_tweet` spells out as words) would
cost the tokenizer time in proportion to its length.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

# Characters kept per word piece of the model's input. Word pieces of tweets average about
# 4-5 characters (spaces included), so 8 per piece always leaves more text than the
# tokenizer keeps: predictions for ordinary posts do not change.
CHARS_PER_PIECE = 8


def char_cap(max_length: int) -> int:
    """Characters of a text that can matter to a model reading ``max_length`` word pieces."""
    return max_length * CHARS_PER_PIECE


def clip(texts: Sequence[str], max_length: int) -> list[str]:
    """``texts`` cut to :func:`char_cap` characters each."""
    cap = char_cap(max_length)
    return [t[:cap] for t in texts]


def load_tokenizer(model_dir: Path, max_length: int, pad: bool) -> Any:
    """The model's fast tokenizer, truncating to ``max_length``; padding to the batch's
    longest text when ``pad`` (the torch encoder), else none (ONNX pads per sorted batch)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(max_length)
    if pad:
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    else:
        tokenizer.no_padding()
    return tokenizer


def encode_batch(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[Any]:
    """Encodings of ``texts``, each clipped to the character cap first."""
    encodings: list[Any] = tokenizer.encode_batch(clip(texts, max_length))
    return encodings


def content_pieces(tokenizer: Any) -> NDArray[np.bool_]:
    """Per vocabulary id: does the word piece carry topic? Stop words (the topic models'
    list), the mention/URL placeholders and pieces of punctuation only do not; everything else
    does, [CLS] and [SEP] included (so every text keeps at least those two)."""
    from socialpulse.sentiment.preprocess import STOP_WORDS, URL_TOKEN, USER_TOKEN

    skip = STOP_WORDS | {USER_TOKEN.lstrip("@"), URL_TOKEN}
    vocab: dict[str, int] = tokenizer.get_vocab()
    table = np.ones(max(vocab.values()) + 1, dtype=np.bool_)
    for piece, i in vocab.items():
        if piece in skip or all(c in string.punctuation for c in piece):
            table[i] = False
    return table


def content_mask(
    table: NDArray[np.bool_], ids: NDArray[np.int64], mask: NDArray[np.int64]
) -> NDArray[np.int64]:
    """The attention ``mask`` restricted to content pieces (``table``) of ``ids``."""
    return (table[ids] & (mask > 0)).astype(np.int64)
