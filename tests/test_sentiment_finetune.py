"""The fine-tuned ``minilm`` encoder (issue 18): training over the cached trunk, the shipped
delta and its hash checks, and the topic vector that fine-tuning must not move."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from socialpulse.sentiment.evaluation import read_semeval
from socialpulse.sentiment.finetune import (
    TUNED_LAYER,
    FinetuneConfig,
    Trunk,
    apply_delta,
    base_copies,
    delta_layers,
    finetune,
    head_log_probabilities,
    load_base,
    make_delta,
    tuned_pools,
)
from socialpulse.sentiment.minilm import build_encoder, build_minilm
from socialpulse.sentiment.minilm_head import DEFAULT_HEAD, Delta, Head, delta_sha256
from socialpulse.sentiment.minilm_weights import HIDDEN, ModelFilesError, encoder_dir
from socialpulse.sentiment.preprocess import normalize_tweet

TEXTS = [
    "I love this phone, best purchase ever! 😍",
    "Worst customer service I have ever had. Never again @united",
    "",
    "the bus leaves at 9 tomorrow",
    "meh. not sure how I feel about the new album #mixed",
]
INDEX = {"negative": 0, "neutral": 1, "positive": 2}


def _noisy_delta(seed: int = 0, size: float = 0.02, layers: int = 1) -> Delta:
    """A made-up delta for the top ``layers`` base layers up to 4: small noise on every
    parameter."""
    layer = base_copies(encoder_dir(), layers)
    rng = np.random.default_rng(seed)
    return {
        k: (rng.normal(0.0, size, tuple(v.shape))).astype(np.float16)
        for k, v in layer.state_dict().items()
    }


def _fake_head(delta: Delta, path: Path, base_sha: str) -> Path:
    rng = np.random.default_rng(1)
    head = Head(
        mean=np.zeros(HIDDEN, np.float32),
        scale=np.ones(HIDDEN, np.float32),
        coef=rng.normal(0, 1, (3, HIDDEN)).astype(np.float32),
        intercept=np.zeros(3, np.float32),
        meta={
            "name": "minilm-ft-test",
            "layers": [TUNED_LAYER],
            "vader": False,
            "runtime": "onnx",
            "max_length": 64,
            "base_sha256": base_sha,
        },
        delta=delta,
    )
    head.save(path)
    return path


def _dev_tweets(shared_dir: Path, n: int) -> tuple[list[str], np.ndarray]:
    """The first ``n`` real tweets of SemEval 2013 dev, normalised, and their class indices."""
    rows = read_semeval(
        shared_dir / "data" / "sentiment" / "semeval-2017-task4a" / "twitter-2013dev-A.txt"
    )[:n]
    texts = [normalize_tweet(r.text) for r in rows]
    return texts, np.asarray([INDEX[r.label.value] for r in rows], dtype=np.int64)


def _base_sha() -> str:
    from socialpulse.sentiment.minilm_weights import weights_hash

    return weights_hash(encoder_dir())


@pytest.mark.slow
def test_base_layer_over_cached_trunk_gives_the_base_pool(tmp_path: Path) -> None:
    texts = [normalize_tweet(t) for t in TEXTS]
    trunk = Trunk(encoder_dir(), tmp_path).states("t", texts)
    again = Trunk(encoder_dir(), tmp_path).states("t", texts)  # read back from the cache
    np.testing.assert_array_equal(again.states, trunk.states)
    base = load_base(encoder_dir(), TUNED_LAYER).encoder.layer[TUNED_LAYER - 1]
    ours = tuned_pools(base, trunk)
    want = build_encoder("torch", (2, 3, 4), threads=1).encode(texts)
    # The trunk's states are cached as float16: equal to the full pass up to that rounding.
    np.testing.assert_allclose(ours, want[:, 2 * HIDDEN :], atol=2e-2)
    np.testing.assert_allclose(
        trunk.pools.reshape(len(texts), -1), want[:, : 2 * HIDDEN], atol=1e-4
    )


@pytest.mark.slow
def test_finetuning_on_real_tweets_lowers_loss_and_changes_only_the_copy(
    tmp_path: Path, shared_dir: Path
) -> None:
    texts, y = _dev_tweets(shared_dir, 192)
    trunk = Trunk(encoder_dir(), tmp_path).states("dev", texts)
    config = FinetuneConfig(epochs=3, lr=3e-4, head_lr=3e-3, batch_size=16, threads=1)
    layer, head, losses = finetune(encoder_dir(), trunk, y, config)

    def loss_now() -> float:
        logp = head_log_probabilities(head, tuned_pools(layer, trunk))
        return float(-np.mean(logp[np.arange(len(y)), y]))

    assert len(losses) == 3 * int(np.ceil(len(y) / 16))
    # The untrained head guesses about uniformly: ln 3 ~ 1.10 at the first step.
    assert loss_now() < np.mean(losses[:3]) - 0.1
    base = load_base(encoder_dir(), TUNED_LAYER).encoder.layer[TUNED_LAYER - 1]
    delta = make_delta(layer, base)
    assert set(delta) == set(base.state_dict())
    assert max(float(np.abs(v).max()) for v in delta.values()) > 0
    # Seeded: the same run gives the same layer.
    layer2, _head2, losses2 = finetune(encoder_dir(), trunk, y, config)
    assert losses2 == losses
    assert delta_sha256(make_delta(layer2, base)) == delta_sha256(delta)


def test_a_tampered_delta_is_refused(tmp_path: Path) -> None:
    delta = {"w": np.ones((4, 3), np.float16), "b": np.zeros(3, np.float16)}
    path = _fake_head(delta, tmp_path / "ft.npz", "0" * 64)
    loaded = Head.load(path)
    assert loaded.meta["delta_sha256"] == delta_sha256(delta)
    np.testing.assert_array_equal(loaded.delta["w"], delta["w"])
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["delta:w"] = arrays["delta:w"].copy()
    arrays["delta:w"][0, 0] = 2.0
    tampered = tmp_path / "tampered.npz"
    np.savez_compressed(tampered, allow_pickle=False, **arrays)
    with pytest.raises(ModelFilesError, match=r"delta's sha256 is .* its metadata says"):
        Head.load(tampered)
    meta = json.loads(str(arrays["meta"]))
    del arrays["delta:w"], arrays["delta:b"]
    arrays["meta"] = np.array(json.dumps(meta))
    stripped = tmp_path / "stripped.npz"
    np.savez_compressed(stripped, allow_pickle=False, **arrays)
    with pytest.raises(ModelFilesError, match="delta's sha256"):
        Head.load(stripped)


def test_a_delta_for_other_base_weights_is_refused(tmp_path: Path) -> None:
    path = _fake_head(_noisy_delta(), tmp_path / "ft.npz", "0" * 64)
    with pytest.raises(ModelFilesError, match="made on base weights with sha256 0000"):
        build_minilm(head_path=path, onnx_cache=tmp_path / "onnx")


@pytest.mark.slow
@pytest.mark.parametrize("layers", [1, 2])
def test_a_finetuned_delta_runs_in_both_graphs_and_keeps_the_base_topic_vector(
    tmp_path: Path, layers: int
) -> None:
    delta = _noisy_delta(layers=layers)
    assert delta_layers(delta) == layers
    path = _fake_head(delta, tmp_path / "ft.npz", _base_sha())
    onnx = tmp_path / "onnx"
    tuned = build_minilm(head_path=path, runtime="onnx", onnx_cache=onnx, threads=1)
    base = build_minilm(head_path=DEFAULT_HEAD, runtime="onnx", onnx_cache=onnx, threads=1)
    results, vectors = tuned.predict_with_vectors(TEXTS)
    np.testing.assert_allclose(vectors, base.embed(TEXTS), atol=1e-5)
    # The sentiment branch reads the tuned layers, in the one-pass graph as in the
    # sentiment-only graph.
    alone = tuned.predict(TEXTS)
    np.testing.assert_allclose([r.score for r in results], [r.score for r in alone], atol=1e-4)
    # The exported branch is the base layers below the tuned ones, then the tuned copies up to
    # layer 4: the same pool as PyTorch's copies over the trunk of that depth (float16-cached
    # states: 2e-2); and it differs from the base model's layer 4.
    normalised = [normalize_tweet(t) for t in TEXTS]
    copies = base_copies(encoder_dir(), layers)
    apply_delta(copies, delta)
    trunk = Trunk(encoder_dir(), tmp_path / "trunk", depth=TUNED_LAYER - layers)
    want = tuned_pools(copies, trunk.states("t", normalised))
    np.testing.assert_allclose(tuned._featurizer.encoder.encode(normalised), want, atol=2e-2)
    base_pool = build_encoder("onnx", (4,), onnx_cache=onnx, threads=1).encode(normalised)
    assert float(np.abs(want - base_pool).max()) > 1e-2


@pytest.mark.slow
def test_train_finetune_command_writes_a_loadable_recorded_artifact(
    tmp_path: Path, shared_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from socialpulse.cli import app

    semeval = shared_dir / "data" / "sentiment" / "semeval-2017-task4a"
    small = tmp_path / "semeval"
    small.mkdir()
    for name in ("twitter-2013dev-A.txt", "twitter-2015train-A.txt"):
        lines = (semeval / name).read_text(encoding="utf-8").splitlines(keepends=True)
        (small / name).write_text("".join(lines[:60]), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "ft.npz"
    args = ["sentiment", "train", "--finetune", "--data-dir", str(small), "--sample", "50"]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--ngram-weight", "0.5"])
    assert result.exit_code == 0, result.output
    head = Head.load(out)
    assert head.meta["finetuned"]["sample"] == 50
    assert head.meta["ngram_weight"] == 0.5
    # The command is recorded from sys.argv (here pytest's), as plain `sentiment train` does.
    assert head.meta["command"].startswith("socialpulse sentiment")
    assert sorted(head.meta["train_files"]) == ["twitter-2013dev-A.txt", "twitter-2015train-A.txt"]
    assert head.meta["base_sha256"] == _base_sha()
    assert head.meta["delta_sha256"] == delta_sha256(head.delta)
    assert head.layers == (TUNED_LAYER,)
    # The trunk's states were cached under the data dir, for the next run.
    assert list((tmp_path / "data" / "sentiment_trunk").glob("*.npz"))
    assert head.ngram is not None
    # Weight 0 (the shipped v2 recipe): no n-gram model is fitted or shipped; two tuned layers
    # read a depth-2 trunk, cached beside the first.
    bare = tmp_path / "bare.npz"
    extra = ["--ngram-weight", "0", "--tuned-layers", "2", "--precision", "bf16"]
    result = CliRunner().invoke(app, [*args, "--out", str(bare), *extra])
    assert result.exit_code == 0, result.output
    head = Head.load(bare)
    assert head.ngram is None
    assert head.meta["ngram"] is None
    assert head.meta["finetuned"]["tuned_layers"] == [3, 4]
    assert head.meta["finetuned"]["trained_on"] == "PyTorch bf16 over cached trunk states"
    assert len(list((tmp_path / "data" / "sentiment_trunk").glob("*.npz"))) == 4
    result = CliRunner().invoke(app, [*args, "--out", str(bare), "--ngram-weight", "-1"])
    assert result.exit_code != 0
    assert "the n-gram weight must be >= 0" in str(result.exception)


def test_finetune_config_refuses_what_it_cannot_run() -> None:
    with pytest.raises(ValueError, match=r"tuned layers must be in \[1, 4\], not 5"):
        FinetuneConfig(layers=5)
    with pytest.raises(ValueError, match="precision must be fp32 or bf16, not 'fp16'"):
        FinetuneConfig(precision="fp16")
    with pytest.raises(ValueError, match=r"trunk depth must be in \[0, 3\], not 4"):
        Trunk(encoder_dir(), Path("unused"), depth=4)


@pytest.mark.slow
def test_finetuning_several_layers_tunes_their_copies_over_a_shallower_trunk(
    tmp_path: Path, shared_dir: Path
) -> None:
    texts, y = _dev_tweets(shared_dir, 64)
    config = FinetuneConfig(lr=3e-4, batch_size=16, threads=1, layers=2, precision="bf16")
    with pytest.raises(ValueError, match="read trunk depth 2, these states are of depth 3"):
        finetune(encoder_dir(), Trunk(encoder_dir(), tmp_path).states("dev", texts), y, config)
    trunk = Trunk(encoder_dir(), tmp_path, depth=2).states("dev", texts)
    assert trunk.depth == 2
    tuned, _head, losses = finetune(encoder_dir(), trunk, y, config)
    assert len(losses) == 4
    delta = make_delta(tuned, base_copies(encoder_dir(), 2))
    assert delta_layers(delta) == 2
    assert {k.split(".", 1)[0] for k in delta} == {"0", "1"}
    assert all(float(np.abs(v).max()) > 0 for k, v in delta.items() if k.endswith("weight"))
    # The copies over the depth-2 trunk give what the base model's layers 3-4 give when the
    # delta is added back to fresh copies.
    again = base_copies(encoder_dir(), 2)
    apply_delta(again, delta)
    np.testing.assert_allclose(
        tuned_pools(again, trunk), tuned_pools(tuned, trunk), atol=2e-2, rtol=0
    )
