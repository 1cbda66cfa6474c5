"""Fine-tuning the top of the ``minilm`` sentiment encoder on this CPU (issue 18).

What is trained: *copies* of all-MiniLM-L6-v2's top transformer layers of the sentiment
branch, ending at layer 4 (the deepest layer the head reads): layer 4 alone
(``FinetuneConfig.layers=1``, the first artifact) or layers 2-4 (``layers=3``, the shipped
``minilm-ft-v2``), plus a linear layer on their attention-masked mean; the layers below stay
frozen and shared. So the base model is never modified: the topic vector (base layer 6,
``TOPIC_LAYER``) still comes from base layers 0-6 over the same shared trunk, and the
sentiment branch runs the fine-tuned copies on top of the trunk.

Why this shape on 2 CPU cores: the frozen trunk's token states are computed once per tweet
and cached (:class:`TrunkStates`, float16), so an epoch costs only the trained layers' forward
and backward passes, not the whole encoder's; ``precision="bf16"`` halves that again where
the CPU has bf16 matrix units.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from socialpulse.sentiment.minilm_tokens import encode_batch, load_tokenizer
from socialpulse.sentiment.minilm_weights import HIDDEN, FloatArray

TRUNK_DEPTH = 3
"""Frozen base layers below the fine-tuned one (one tuned layer): their output is what the
copy reads."""
TUNED_LAYER = 4
"""The top of the sentiment branch: the deepest base layer copied and fine-tuned
(``hidden_states[4]`` = ``encoder.layer[3]``); with ``layers`` > 1 the copies are layers
``5 - layers`` .. 4 over a trunk of depth ``4 - layers``."""
TRUNK_VERSION = 1
"""Bump when the cached trunk states would change (part of their cache key)."""


def load_base(model_dir: Path, depth: int) -> Any:
    """The base BertModel (fp32, eval mode) cut after ``depth`` layers."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import BertModel

    model = BertModel.from_pretrained(str(model_dir))
    model.encoder.layer = model.encoder.layer[:depth]
    model.config.num_hidden_layers = depth
    model.eval()  # type: ignore[no-untyped-call]
    return model


def additive_mask(mask: Any, dtype: Any) -> Any:
    """``(B, T)`` 0/1 mask to the ``(B, 1, 1, T)`` additive mask a BertLayer takes.

    Additive float masks work with both the eager and the SDPA attention of transformers.
    """
    import torch

    return (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def masked_mean(states: Any, mask: Any) -> Any:
    """Attention-masked mean over tokens, ``(B, T, H)`` -> ``(B, H)``."""
    m = mask.unsqueeze(-1).to(states.dtype)
    return (states * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)


@dataclass
class TrunkStates:
    """Frozen-trunk outputs of ``n`` texts: the token states of base layer 3 (float16, all
    texts' tokens stacked, ``offsets[i]:offsets[i+1]`` is text ``i``) and the masked means of
    base layers 2 and 3 (float32, the head reads them as today)."""

    states: npt.NDArray[np.float16]
    offsets: npt.NDArray[np.int64]
    pools: FloatArray  # (n, 2, 384): layers 2 and 3
    depth: int = TRUNK_DEPTH  # the base layer whose token states these are

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def lengths(self) -> npt.NDArray[np.int64]:
        """Word pieces per text."""
        out: npt.NDArray[np.int64] = np.diff(self.offsets)
        return out

    def subset(self, rows: npt.NDArray[np.int64]) -> TrunkStates:
        """The states of ``rows`` only (a copy)."""
        lengths = self.lengths()[rows]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        parts = [self.states[self.offsets[i] : self.offsets[i + 1]] for i in rows]
        states = np.concatenate(parts) if parts else np.zeros((0, HIDDEN), np.float16)
        return TrunkStates(states.astype(np.float16), offsets, self.pools[rows], self.depth)

    def batch(self, rows: Sequence[int]) -> tuple[Any, Any]:
        """Padded token states ``(B, T, 384)`` (float32) and their 0/1 mask, as tensors."""
        import torch

        lengths = [int(self.offsets[i + 1] - self.offsets[i]) for i in rows]
        width = max(lengths)
        x = np.zeros((len(rows), width, HIDDEN), dtype=np.float32)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for j, (i, n) in enumerate(zip(rows, lengths, strict=True)):
            x[j, :n] = self.states[self.offsets[i] : self.offsets[i] + n]
            mask[j, :n] = 1
        return torch.from_numpy(x), torch.from_numpy(mask)

    @staticmethod
    def concat(parts: Sequence[TrunkStates]) -> TrunkStates:
        """Several blocks as one, in order."""
        lengths = np.concatenate([p.lengths() for p in parts])
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        depths = {p.depth for p in parts}
        if len(depths) != 1:
            raise ValueError(f"trunk blocks of different depths: {sorted(depths)}")
        return TrunkStates(
            np.concatenate([p.states for p in parts]),
            offsets,
            np.concatenate([p.pools for p in parts]),
            depths.pop(),
        )


class Trunk:
    """Runs the frozen base layers up to ``depth`` (PyTorch fp32) and caches what they give
    per text."""

    def __init__(
        self, model_dir: Path, cache_dir: Path, max_length: int = 64, depth: int = TRUNK_DEPTH
    ) -> None:
        if not 0 <= depth < TUNED_LAYER:
            raise ValueError(f"trunk depth must be in [0, {TUNED_LAYER - 1}], not {depth}")
        self.model_dir = model_dir
        self.cache_dir = cache_dir
        self.max_length = max_length
        self.depth = depth
        self._model: Any = None
        self._tokenizer: Any = None

    def states(
        self, tag: str, texts: Sequence[str], on_count: Callable[[int], None] = lambda _n: None
    ) -> TrunkStates:
        """Trunk outputs of normalised ``texts``, read from or written to the cache."""
        digest = hashlib.sha256(
            f"trunk{TRUNK_VERSION}|{self.depth}|{self.max_length}|".encode()
            + "\n".join(texts).encode()
        ).hexdigest()[:16]
        path = self.cache_dir / f"{tag}-{digest}.npz"
        if path.is_file():
            with np.load(path) as z:
                return TrunkStates(z["states"], z["offsets"], z["pools"], self.depth)
        got = self._compute(texts, on_count)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, states=got.states, offsets=got.offsets, pools=got.pools)
        os.replace(tmp, path)
        return got

    def _compute(self, texts: Sequence[str], on_count: Callable[[int], None]) -> TrunkStates:
        import torch

        if self._model is None:
            # Layers 2-3 run whatever the depth: their pools are v3's features.
            self._model = load_base(self.model_dir, max(self.depth, TRUNK_DEPTH))
            self._tokenizer = load_tokenizer(self.model_dir, self.max_length, pad=False)
        ids = [e.ids for e in encode_batch(self._tokenizer, texts, self.max_length)]
        lengths = np.asarray([len(i) for i in ids], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        states = np.zeros((int(offsets[-1]), HIDDEN), dtype=np.float16)
        pools = np.zeros((len(texts), 2, HIDDEN), dtype=np.float32)
        order = np.argsort(lengths, kind="stable")
        with torch.inference_mode():
            for start in range(0, len(texts), 128):
                idx = order[start : start + 128]
                width = int(lengths[idx].max())
                batch = torch.zeros((len(idx), width), dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                for row, i in enumerate(idx):
                    batch[row, : lengths[i]] = torch.tensor(ids[i])
                    mask[row, : lengths[i]] = 1
                hidden = self._model(
                    input_ids=batch, attention_mask=mask, output_hidden_states=True
                ).hidden_states
                top = hidden[self.depth].numpy()
                pools[idx, 0] = masked_mean(hidden[2], mask).numpy()
                pools[idx, 1] = masked_mean(hidden[3], mask).numpy()
                for row, i in enumerate(idx):
                    states[offsets[i] : offsets[i + 1]] = top[row, : lengths[i]]
                on_count(len(idx))
        return TrunkStates(states, offsets, pools, self.depth)


@dataclass(frozen=True)
class FinetuneConfig:
    """The knobs of one fine-tuning run (recorded in the artifact's metadata)."""

    epochs: float = 1.0
    lr: float = 1e-4
    head_lr: float = 1e-3
    batch_size: int = 32
    weight_decay: float = 0.01
    seed: int = 42
    threads: int = 2
    layers: int = 1
    """How many base layers, ending at ``TUNED_LAYER``, are copied and fine-tuned."""
    precision: str = "fp32"
    """``fp32``, or ``bf16``: autocast of the forward and backward passes, fp32 weights
    (mixed precision; ~2x faster where the CPU has bf16 matrix units)."""

    @property
    def trunk_depth(self) -> int:
        """The frozen base layer whose cached states the tuned copies read."""
        return TUNED_LAYER - self.layers

    def __post_init__(self) -> None:
        # Checked here, before the trunk states (minutes) are computed for a run that fails.
        if not 1 <= self.layers <= TUNED_LAYER:
            raise ValueError(f"tuned layers must be in [1, {TUNED_LAYER}], not {self.layers}")
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be fp32 or bf16, not {self.precision!r}")


def _class_weights(y: npt.NDArray[np.int64], classes: int = 3) -> npt.NDArray[np.float32]:
    # "balanced" as in scikit-learn: the target is macro-averaged recall.
    counts = np.bincount(y, minlength=classes).astype(np.float64)
    weights = len(y) / (classes * np.maximum(counts, 1.0))
    return weights.astype(np.float32)


def _batches(
    lengths: npt.NDArray[np.int64], batch_size: int, rng: np.random.Generator
) -> list[npt.NDArray[np.int64]]:
    # Batches of similar lengths (little padding), in a seeded random order: sort a shuffled
    # index by length in chunks of 50 batches, cut, then shuffle the batches.
    perm = rng.permutation(len(lengths))
    chunk = batch_size * 50
    out: list[npt.NDArray[np.int64]] = []
    for start in range(0, len(perm), chunk):
        part = perm[start : start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        out.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    rng.shuffle(out)
    return out


def run_tuned(tuned: Any, x: Any, mask: Any) -> Any:
    """Token states after ``tuned`` (one BertLayer, or a ``ModuleList`` of them in order)."""
    import torch

    layers = tuned if isinstance(tuned, torch.nn.ModuleList) else [tuned]
    extended = additive_mask(mask, x.dtype)
    for layer in layers:
        out = layer(x, attention_mask=extended)
        x = out[0] if isinstance(out, tuple) else out
    return x


def base_copies(model_dir: Path, layers: int) -> Any:
    """Fresh copies of the base layers ``TUNED_LAYER - layers + 1`` .. ``TUNED_LAYER``: one
    BertLayer for ``layers == 1`` (the shape the shipped delta has), else a ``ModuleList``."""
    import torch

    if not 1 <= layers <= TUNED_LAYER:
        raise ValueError(f"layers must be in [1, {TUNED_LAYER}], not {layers}")
    base = load_base(model_dir, TUNED_LAYER)
    picked = list(base.encoder.layer[TUNED_LAYER - layers : TUNED_LAYER])
    return picked[0] if layers == 1 else torch.nn.ModuleList(picked)


def finetune(
    model_dir: Path,
    trunk: TrunkStates,
    y: npt.NDArray[np.int64],
    config: FinetuneConfig,
    on_step: Callable[[int, int, float], None] = lambda _s, _t, _l: None,
) -> tuple[Any, Any, list[float]]:
    """Train copies of the top ``config.layers`` base layers of the sentiment branch + a
    linear head on their mean pool; return the layer(s) and the head (eval mode) and the
    training loss per step. Seeded: same inputs, same result."""
    import torch

    if trunk.depth != config.trunk_depth:
        raise ValueError(
            f"{config.layers} tuned layer(s) read trunk depth {config.trunk_depth},"
            f" these states are of depth {trunk.depth}"
        )
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    tuned = base_copies(model_dir, config.layers)
    tuned.train()
    head = torch.nn.Linear(HIDDEN, 3)
    weights = torch.from_numpy(_class_weights(y))
    optim = torch.optim.AdamW(
        [
            {"params": tuned.parameters(), "lr": config.lr},
            {"params": head.parameters(), "lr": config.head_lr},
        ],
        weight_decay=config.weight_decay,
    )
    rng = np.random.default_rng(config.seed)
    lengths = trunk.lengths()
    plan: list[npt.NDArray[np.int64]] = []
    whole = int(np.floor(config.epochs))
    for _ in range(whole):
        plan.extend(_batches(lengths, config.batch_size, rng))
    if config.epochs > whole:
        extra = _batches(lengths, config.batch_size, rng)
        plan.extend(extra[: round(len(extra) * (config.epochs - whole))])
    total = len(plan)
    # Linear decay to zero: one short pass, no warm-up needed for a pretrained layer.
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lambda s: max(0.0, 1.0 - s / max(total, 1)))
    losses: list[float] = []
    yt = torch.from_numpy(y.astype(np.int64))
    bf16 = config.precision == "bf16"
    for step, rows in enumerate(plan):
        x, mask = trunk.batch(rows.tolist())
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = head(masked_mean(run_tuned(tuned, x, mask), mask))
        loss = torch.nn.functional.cross_entropy(logits.float(), yt[rows], weight=weights)
        optim.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optim.step()
        sched.step()
        losses.append(float(loss.item()))
        on_step(step + 1, total, losses[-1])
    tuned.eval()
    head.eval()
    return tuned, head, losses


def tuned_pools(tuned: Any, trunk: TrunkStates, batch_size: int = 256) -> FloatArray:
    """Masked means ``(n, 384)`` of ``tuned`` (fine-tuned or base layer(s)) over the trunk."""
    import torch

    out = np.zeros((len(trunk), HIDDEN), dtype=np.float32)
    order = np.argsort(trunk.lengths(), kind="stable")
    with torch.inference_mode():
        for start in range(0, len(trunk), batch_size):
            idx = order[start : start + batch_size]
            x, mask = trunk.batch(idx.tolist())
            out[idx] = masked_mean(run_tuned(tuned, x, mask), mask).numpy()
    return out


def head_log_probabilities(head: Any, pools: FloatArray) -> FloatArray:
    """Class log-probabilities ``(n, 3)`` of the fine-tuning head over ``pools``."""
    import torch

    with torch.inference_mode():
        z = torch.log_softmax(head(torch.from_numpy(pools)), dim=1)
    out: FloatArray = z.numpy().astype(np.float32)
    return out


def delta_layers(delta: dict[str, npt.NDArray[np.float16]]) -> int:
    """How many base layers a delta tunes: one BertLayer's names (``attention.self...``), or
    a ``ModuleList``'s (``0.attention...``, ``1.attention...``) for several."""
    firsts = {name.split(".", 1)[0] for name in delta}
    if firsts and all(f.isdigit() for f in firsts):
        return len(firsts)
    return 1


def apply_delta(layer: Any, delta: dict[str, npt.NDArray[np.float16]]) -> None:
    """Add a shipped delta (``tuned - base``, float16) to a base layer's parameters in place.

    Names must match exactly: a delta for another architecture is refused, not half-applied.
    """
    import torch

    state = layer.state_dict()
    if set(state) != set(delta):
        missing = sorted(set(state) ^ set(delta))
        raise ValueError(f"the delta does not fit this layer (names differ: {missing[:4]})")
    with torch.no_grad():
        for name, value in state.items():
            value.add_(torch.from_numpy(delta[name].astype(np.float32)))


def make_delta(tuned: Any, base: Any) -> dict[str, npt.NDArray[np.float16]]:
    """``tuned - base`` per parameter, float16: what ships instead of the whole layer."""
    base_state = base.state_dict()
    return {
        k: (v.detach().float() - base_state[k].detach().float()).numpy().astype(np.float16)
        for k, v in tuned.state_dict().items()
    }


def layer_state(layer: Any) -> dict[str, npt.NDArray[np.float32]]:
    """The layer's parameters as float32 numpy arrays, keyed by their names."""
    return {k: v.detach().cpu().numpy().astype(np.float32) for k, v in layer.state_dict().items()}
