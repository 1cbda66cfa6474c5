"""The generator's main loop: posts, interactions and ground truth, streamed to disk.

``generate`` builds the population, runs :class:`~socialpulse.generator.stream.PostStream`
chunk by chunk into rolling files, then writes the truth files and, last, the manifest.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from socialpulse.domain.columns import (
    INTERACTIONS_DIR,
    POSTS_DIR,
    SCHEMA_VERSION,
    TRUTH_DIR,
    Col,
)
from socialpulse.generator.config import LABELS, MANIFEST, GenerationCounts, GeneratorConfig, iso
from socialpulse.generator.population import Population, build_population
from socialpulse.generator.stream import PostStream
from socialpulse.generator.writer import RollingWriter

__all__ = ["MANIFEST", "GenerationCounts", "GeneratorConfig", "generate"]


def _check_out_dir(out: Path, overwrite: bool) -> None:
    used = [out / d for d in (POSTS_DIR, INTERACTIONS_DIR, TRUTH_DIR) if (out / d).exists()]
    if used and not overwrite:
        names = ", ".join(str(p) for p in used)
        raise FileExistsError(
            f"{names} already exist; refusing to mix two data sets (--force replaces them)"
        )
    for path in used:
        shutil.rmtree(path)


def generate(
    config: GeneratorConfig,
    out: Path,
    on_progress: Callable[[int], None] | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write a data set under ``out`` (``posts/``, ``interactions/``, ``truth/``).

    ``on_progress`` gets the number of post lines written so far after every chunk. Returns the
    manifest, which is also written last to ``truth/manifest.json`` (its presence marks a
    complete data set).
    """
    _check_out_dir(out, overwrite)
    seeds = np.random.SeedSequence(config.seed).spawn(4)
    pop_rng, post_rng, inter_rng, bad_rng = (np.random.default_rng(s) for s in seeds)
    pop = build_population(
        pop_rng, config.users, config.topics, config.topic_concentration, config.activity_exponent
    )
    truth = out / TRUTH_DIR
    truth.mkdir(parents=True)
    _write_users(truth / "users.jsonl", pop)
    _write_topics(truth / "topics.jsonl", pop)

    counts = GenerationCounts()
    with (
        RollingWriter(out / POSTS_DIR, config.lines_per_file) as posts_w,
        RollingWriter(out / INTERACTIONS_DIR, config.lines_per_file) as inter_w,
        RollingWriter(truth, 1, single_file="posts.jsonl") as truth_w,
    ):
        stream = PostStream(config, pop, post_rng, inter_rng, bad_rng, posts_w, inter_w, truth_w)
        done = 0
        while done < config.posts:
            n = min(config.chunk_size, config.posts - done)
            stream.chunk(done, n, counts)
            done += n
            if on_progress is not None:
                on_progress(done)

    manifest = {
        "generator": "socialpulse.generator",
        "schema_version": SCHEMA_VERSION,
        "seed": config.seed,
        "parameters": config.as_dict(),
        "period": {"start": iso(config.start.timestamp()), "end": iso(config.end.timestamp())},
        "counts": asdict(counts),
        "expected_pipeline": {
            "input_records": counts.post_lines,
            "stored": counts.valid_unique_posts,
            "quarantined": counts.malformed,
            "duplicates": counts.duplicates,
            "interactions_in": counts.interaction_lines,
            "interactions_stored": counts.interactions_valid,
            "interactions_quarantined": counts.interactions_malformed,
        },
        "files": {
            POSTS_DIR: [{"file": f, "lines": n} for f, n in posts_w.files],
            INTERACTIONS_DIR: [{"file": f, "lines": n} for f, n in inter_w.files],
        },
        "truth_posts_line_fields": [
            "file",
            "line",
            "post_id",
            "category",
            "malformed_kind",
            "topic",
            "label",
            "strength",
            "appeal",
        ],
    }
    tmp = truth / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    tmp.replace(truth / MANIFEST)
    return manifest


def _write_users(path: Path, pop: Population) -> None:
    disp = pop.disposition.tolist()
    with path.open("w", encoding="utf-8") as f:
        for u in range(pop.size):
            f.write(
                json.dumps(
                    {
                        Col.USER_ID: pop.ids[u],
                        "handle": pop.handles[u],
                        "topic_preferences": pop.preferences(u),
                        "sentiment_disposition": {
                            lab: round(p, 6) for lab, p in zip(LABELS, disp[u], strict=True)
                        },
                        "activity": float(pop.activity[u]),
                    }
                )
                + "\n"
            )


def _write_topics(path: Path, pop: Population) -> None:
    with path.open("w", encoding="utf-8") as f:
        for t in pop.topics:
            hashtags = [h.lower() for h in t.hashtags]
            f.write(json.dumps({"topic": t.name, "hashtags": hashtags, "nouns": t.nouns}) + "\n")
