"""Exploration: which sentence vector clusters tweets by topic best (issue 16), and at what cost.

Usage: ``python bench/explore_topic_vectors.py encode airline|planted`` (token-level states of
layers 4 and 6, fp32 PyTorch, pickled under ``--work``), then
``python bench/explore_topic_vectors.py score airline|planted``.

Not a shipped path and not a benchmark of the product: it scores alternatives to the shipped
vector (layer 6 pooled over content pieces since stop 29, before that its plain mean; centred,
KMeans) by NMI against gold topics, three KMeans seeds
averaged, k = 8 and 10 on the airline reasons (ten), 24 on the planted topics:

- pooling: all tokens, content pieces with [CLS]/[SEP] (the topic models' stop list; shipped
  since stop 29), without [CLS]/[SEP], without stop words and punctuation (content tokens
  only, scikit-learn's stop list), IDF-weighted, SIF-weighted (Arora et al. 2017);
- the same at layer 4 (what the sentiment head already computes: free);
- layer 6 concatenated with an LSA (TF-IDF over the topic tokens, 100 SVD dimensions) vector;
- a ridge projection from layer 4's mean (+ max) pool onto layer 6's mean pool, 2-fold
  cross-fitted (the target is the base model's vector, never a gold label): a layer-6-like
  vector at no extra encoder cost.

The airline reasons are the issue's unseen test labels: nothing here may be chosen on them
alone; the planted column is the check that a gain is not airline-specific.
"""

from __future__ import annotations

import argparse
import os
import pickle
import string
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def unit(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)
    return out


def encode(name: str, work: Path) -> None:
    import torch
    from bench_topics import airline_posts, planted_posts
    from transformers import BertModel

    from socialpulse.sentiment.minilm_tokens import encode_batch, load_tokenizer
    from socialpulse.sentiment.minilm_weights import encoder_dir
    from socialpulse.sentiment.preprocess import normalize_tweet

    rows = airline_posts() if name == "airline" else planted_posts(3000, 23)
    texts = [normalize_tweet(t) for t, _ in rows]
    tok = load_tokenizer(encoder_dir(), 64, pad=True)
    model = BertModel.from_pretrained(str(encoder_dir())).eval()  # type: ignore[no-untyped-call]
    order = np.argsort([len(t) for t in texts], kind="stable")
    ids: list[Any] = [None] * len(texts)
    h4: list[Any] = [None] * len(texts)
    h6: list[Any] = [None] * len(texts)
    with torch.inference_mode():
        for s in range(0, len(texts), 128):
            idx = order[s : s + 128]
            enc = encode_batch(tok, [texts[i] for i in idx], 64)
            t_ids = torch.tensor([e.ids for e in enc])
            mask = torch.tensor([e.attention_mask for e in enc])
            hs = model(
                input_ids=t_ids, attention_mask=mask, output_hidden_states=True
            ).hidden_states
            for j, i in enumerate(idx):
                n = int(mask[j].sum())
                ids[i] = t_ids[j, :n].numpy()
                h4[i] = hs[4][j, :n].numpy().astype(np.float16)
                h6[i] = hs[6][j, :n].numpy().astype(np.float16)
    payload = {"ids": ids, "h4": h4, "h6": h6, "gold": [g for _, g in rows], "texts": texts}
    (work / f"tok-{name}.pkl").write_bytes(pickle.dumps(payload))


def score(name: str, work: Path) -> None:
    from sklearn.cluster import KMeans
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
    from sklearn.linear_model import Ridge
    from sklearn.metrics import normalized_mutual_info_score

    from socialpulse.sentiment.minilm_tokens import content_pieces, load_tokenizer
    from socialpulse.sentiment.minilm_weights import encoder_dir
    from socialpulse.topics.tokens import topic_tokens

    d = pickle.loads((work / f"tok-{name}.pkl").read_bytes())
    gold = np.array(d["gold"])
    ks = (8, 10) if name == "airline" else (24,)
    vocab = {v: k for k, v in load_tokenizer(encoder_dir(), 64, pad=False).get_vocab().items()}

    def nmi(x: np.ndarray) -> dict[int, float]:
        x = unit(unit(x) - unit(x).mean(0))
        return {
            k: round(
                float(
                    np.mean(
                        [
                            normalized_mutual_info_score(
                                gold, KMeans(k, n_init=1, random_state=s).fit_predict(x)
                            )
                            for s in (7, 8, 9)
                        ]
                    )
                ),
                3,
            )
            for k in ks
        }

    content = content_pieces(load_tokenizer(encoder_dir(), 64, pad=False))
    df: Counter[int] = Counter()
    for ids in d["ids"]:
        df.update(set(ids.tolist()))
    n = len(d["ids"])
    stop = set(ENGLISH_STOP_WORDS) | {"user", "http", "[CLS]", "[SEP]"}

    def is_stop(t: int) -> bool:
        w = vocab[t]
        return w in stop or all(c in string.punctuation for c in w)

    def pooled(layer: str, weight: Any) -> np.ndarray:
        out = []
        for ids, h in zip(d["ids"], d[layer], strict=True):
            w = np.array([weight(int(t)) for t in ids], dtype=np.float32)
            w = w if w.sum() > 0 else np.ones_like(w)
            out.append((h.astype(np.float32) * w[:, None]).sum(0) / w.sum())
        return np.stack(out)

    weights = {
        "mean, all tokens": lambda t: 1.0,
        "mean, no [CLS]/[SEP]": lambda t: 0.0 if vocab[t] in ("[CLS]", "[SEP]") else 1.0,
        "mean, content tokens": lambda t: 0.0 if is_stop(t) else 1.0,
        # What ships since stop 29 (sentiment.minilm_tokens.content_pieces): the topic models'
        # own stop list, placeholders and punctuation out, [CLS]/[SEP] kept.
        "content pieces + [CLS]/[SEP] (shipped)": lambda t: float(content[t]),
        "IDF-weighted": lambda t: float(np.log(n / df[t])),
        "SIF-weighted": lambda t: 1e-3 / (1e-3 + df[t] / n),
    }
    for layer in ("h6", "h4"):
        for label, w in weights.items():
            print(name, layer, label, nmi(pooled(layer, w)), flush=True)
    l6 = unit(pooled("h6", weights["mean, all tokens"]))
    l6c = unit(l6 - l6.mean(0))
    tf = TfidfVectorizer(analyzer=topic_tokens, min_df=3, sublinear_tf=True).fit_transform(
        d["texts"]
    )
    lsa = unit(TruncatedSVD(100, random_state=0).fit_transform(tf))
    lsa = unit(lsa - lsa.mean(0))
    print(name, "LSA alone", nmi(lsa), flush=True)
    for share in (0.5, 1.0):
        print(name, f"h6 + {share} x LSA", nmi(np.hstack([l6c, share * lsa])), flush=True)
    h4 = pooled("h4", weights["mean, all tokens"])
    h4max = np.stack([h.astype(np.float32).max(0) for h in d["h4"]])
    fold = np.random.default_rng(0).integers(0, 2, len(gold))
    for label, x in (("ridge(h4 mean)", h4), ("ridge(h4 mean+max)", np.hstack([h4, h4max]))):
        pred = np.zeros_like(l6)
        for f in (0, 1):
            pred[fold == f] = (
                Ridge(alpha=1.0).fit(x[fold != f], l6[fold != f]).predict(x[fold == f])
            )
        r2 = 1 - ((pred - l6) ** 2).sum() / ((l6 - l6.mean(0)) ** 2).sum()
        print(name, label, f"R2 {r2:.3f}", nmi(pred), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["encode", "score"])
    parser.add_argument("data", choices=["airline", "planted"])
    parser.add_argument("--work", type=Path, default=Path("/tmp/explore-topic-vectors"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    (encode if args.step == "encode" else score)(args.data, args.work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
