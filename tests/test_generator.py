"""The synthetic data generator: format, exact counts, determinism, planted signal, memory."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual
from typer.testing import CliRunner

from socialpulse.cli import app
from socialpulse.domain.columns import INTERACTIONS_DIR, POSTS_DIR, TRUTH_DIR, Col
from socialpulse.domain.schemas import MAX_INTERACTION_WEIGHT, RAW_POST_FIELDS
from socialpulse.generator import MANIFEST, GeneratorConfig, generate
from socialpulse.generator.malformed import INTERACTION_REASONS, POST_REASONS
from socialpulse.generator.rings import weighted_slots
from socialpulse.generator.writer import RollingWriter
from socialpulse.processing import transforms as T
from socialpulse.processing.batch_job import read_lines

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$")
SMALL = GeneratorConfig(posts=2_000, users=200, seed=11, malformed_rate=0.05)


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _raw_lines(folder: Path) -> list[tuple[str, int, bytes]]:
    """(file, 1-based line, raw bytes) of every line of every part file, in order."""
    out = []
    for path in sorted(folder.glob("part-*.jsonl")):
        data = path.read_bytes()
        assert data.endswith(b"\n"), f"{path} must end with a newline"
        for n, line in enumerate(data[:-1].split(b"\n"), start=1):
            out.append((path.name, n, line))
    return out


def _good_interaction(raw: bytes) -> dict[str, Any] | None:
    """The interaction on ``raw`` if it is well-formed, else None (Spark checks those)."""
    try:
        rec = json.loads(raw)
        ok = (
            isinstance(rec, dict)
            and all(isinstance(rec.get(k), str) for k in (Col.USER_ID, Col.POST_ID, Col.TS))
            and rec[Col.KIND] in {"like", "retweet", "reply", "quote"}
            and isinstance(rec.get(Col.WEIGHT, 1.0), float)
            and 0 <= rec.get(Col.WEIGHT, 1.0) <= MAX_INTERACTION_WEIGHT
        )
        if ok:
            _ts(rec[Col.TS])
    except ValueError:
        return None
    return rec if ok else None


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A small data set with a raised malformed rate, so every kind appears several times."""
    out = tmp_path_factory.mktemp("gen")
    return out, generate(SMALL, out)


def test_same_seed_gives_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    config = GeneratorConfig(posts=1_500, users=100, seed=5, lines_per_file=600)
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(config, a)
    generate(config, b)
    generate(GeneratorConfig(posts=1_500, users=100, seed=6, lines_per_file=600), c)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert {str(f) for f in files} >= {
        "posts/part-00000.jsonl",
        "posts/part-00002.jsonl",
        "interactions/part-00000.jsonl",
        "truth/users.jsonl",
        "truth/posts.jsonl",
        "truth/manifest.json",
    }
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f"{f} differs between runs"
    for name in ("posts/part-00000.jsonl", "interactions/part-00000.jsonl", "truth/users.jsonl"):
        assert (a / name).read_bytes() != (c / name).read_bytes(), f"{name} ignores the seed"


def test_manifest_counts_equal_the_files(small: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = small
    counts = manifest["counts"]
    assert manifest == json.loads((out / TRUTH_DIR / MANIFEST).read_text())
    lines = _raw_lines(out / POSTS_DIR)
    truth = _jsonl(out / TRUTH_DIR / "posts.jsonl")
    assert len(lines) == len(truth) == counts["post_lines"] == SMALL.posts
    assert [(f["file"], f["lines"]) for f in manifest["files"][POSTS_DIR]] == sorted(
        Counter(f for f, _, _ in lines).items()
    )

    by_category = Counter(t["category"] for t in truth)
    assert by_category["original"] == counts["originals"]
    assert by_category["retweet"] == counts["retweets"]
    assert by_category["duplicate"] == counts["duplicates"] > 0
    assert by_category["malformed"] == counts["malformed"] > 0
    assert counts["valid_unique_posts"] == counts["originals"] + counts["retweets"]
    assert counts["post_lines"] == (
        counts["valid_unique_posts"] + counts["duplicates"] + counts["malformed"]
    )
    assert Counter(t["malformed_kind"] for t in truth if t["malformed_kind"]) == {
        k: v for k, v in counts["malformed_by_kind"].items() if v
    }
    expected = manifest["expected_pipeline"]
    assert expected["stored"] + expected["quarantined"] + expected["duplicates"] == len(lines)

    inter = _raw_lines(out / INTERACTIONS_DIR)
    assert len(inter) == counts["interaction_lines"] > SMALL.posts
    assert counts["interactions_valid"] + counts["interactions_malformed"] == len(inter)
    assert counts["interactions_malformed"] > 0


def test_lines_agree_with_their_truth(small: tuple[Path, dict[str, Any]]) -> None:
    """Locators, ids, re-deliveries, retweets and replies are what the truth says they are."""
    out, manifest = small
    lines = _raw_lines(out / POSTS_DIR)
    truth = _jsonl(out / TRUTH_DIR / "posts.jsonl")
    start, end = _ts(manifest["period"]["start"]), _ts(manifest["period"]["end"])
    valid: dict[str, dict[str, Any]] = {}  # post id -> latest delivered record
    fresh_ids: list[int] = []
    malformed_ids: list[str] = []
    for (file, n, raw), t in zip(lines, truth, strict=True):
        assert (t["file"], t["line"]) == (f"{POSTS_DIR}/{file}", n)
        if t["category"] == "malformed":
            if t["post_id"] is not None:
                malformed_ids.append(t["post_id"])
                fresh_ids.append(int(t["post_id"]))
            continue
        rec = json.loads(raw.decode("utf-8"))
        assert set(rec) == {*RAW_POST_FIELDS, Col.SCHEMA_VERSION}
        assert rec[Col.POST_ID] == t["post_id"]
        assert ISO.match(rec[Col.CREATED_AT])
        assert ISO.match(rec[Col.INGESTED_AT])
        created, ingested = _ts(rec[Col.CREATED_AT]), _ts(rec[Col.INGESTED_AT])
        assert start <= created < end
        assert ingested > created
        assert t["label"] in {"negative", "neutral", "positive"}
        if t["category"] == "duplicate":
            first = valid[rec[Col.POST_ID]]  # only already written valid posts are re-sent
            assert rec[Col.TEXT] == first[Col.TEXT]
            assert rec[Col.CREATED_AT] == first[Col.CREATED_AT]
            assert rec[Col.LIKE_COUNT] > first[Col.LIKE_COUNT]
            assert _ts(rec[Col.INGESTED_AT]) > _ts(first[Col.INGESTED_AT])
        else:
            assert rec[Col.POST_ID] not in valid, "a valid post id is used twice"
            fresh_ids.append(int(rec[Col.POST_ID]))
            for ref in (Col.RETWEET_OF_ID, Col.REPLY_TO_ID, Col.QUOTE_OF_ID):
                if rec[ref] is not None:
                    target = valid[rec[ref]]  # references point to earlier valid posts
                    assert _ts(target[Col.CREATED_AT]) <= created
            if t["category"] == "retweet":
                target = valid[rec[Col.RETWEET_OF_ID]]
                assert rec[Col.TEXT] == f"RT @{target[Col.AUTHOR_HANDLE]}: {target[Col.TEXT]}"
            if rec[Col.REPLY_TO_ID] is not None:
                target = valid[rec[Col.REPLY_TO_ID]]
                assert rec[Col.TEXT].startswith(f"@{target[Col.AUTHOR_HANDLE]} ")
        valid[rec[Col.POST_ID]] = rec
    assert len(valid) == manifest["counts"]["valid_unique_posts"]
    # Ids are fresh and increase along the stream like X's snowflakes; malformed lines never
    # reuse a valid id, so reconciliation by id is exact.
    assert fresh_ids == sorted(fresh_ids)
    assert len(set(fresh_ids)) == len(fresh_ids)
    assert malformed_ids
    assert not set(malformed_ids) & set(valid)

    good = [_good_interaction(raw) for _, _, raw in _raw_lines(out / INTERACTIONS_DIR)]
    interactions = [rec for rec in good if rec is not None]
    assert len(interactions) == manifest["counts"]["interactions_valid"]
    for rec in interactions:
        post = valid[rec[Col.POST_ID]]  # only valid posts, and only after they were created
        assert _ts(rec[Col.TS]) > _ts(post[Col.CREATED_AT])


def test_every_malformed_line_is_rejected_for_its_reason_and_no_other_is(
    spark: SparkSession, small: tuple[Path, dict[str, Any]]
) -> None:
    out, manifest = small
    expected: dict[str, str | None] = {}
    for (_, _, raw), t in zip(
        _raw_lines(out / POSTS_DIR), _jsonl(out / TRUTH_DIR / "posts.jsonl"), strict=True
    ):
        expected[hashlib.sha256(raw).hexdigest()] = t["malformed_kind"]
    assert set(expected.values()) == {None, *POST_REASONS}, "every malformed kind must appear"

    validated = T.validate_posts(read_lines(spark, str(out / POSTS_DIR)))
    rows = validated.select(
        F.sha2(F.col("value").cast("binary"), 256).alias("h"), Col.REASON
    ).collect()
    assert len(rows) == manifest["counts"]["post_lines"]
    for row in rows:
        kind = expected[row["h"]]
        if kind is None:
            assert row[Col.REASON] is None, f"a good line was rejected: {row[Col.REASON]}"
        else:
            assert row[Col.REASON] is not None, f"a {kind} line passed validation"
            assert row[Col.REASON].startswith(POST_REASONS[kind]), (kind, row[Col.REASON])

    # After dedupe, exactly the valid posts remain, each as its latest delivery.
    latest: dict[str, int] = {}
    for _, _, raw in _raw_lines(out / POSTS_DIR):
        if expected[hashlib.sha256(raw).hexdigest()] is None:
            rec = json.loads(raw)
            latest[rec[Col.POST_ID]] = rec[Col.LIKE_COUNT]
    got = T.dedupe_posts(T.valid_posts(validated)).select(Col.POST_ID, Col.LIKE_COUNT)
    want = spark.createDataFrame(
        sorted(latest.items()), f"{Col.POST_ID} string, {Col.LIKE_COUNT} long"
    )
    assertDataFrameEqual(got, want)
    assert len(latest) == manifest["expected_pipeline"]["stored"]


def test_malformed_interactions_are_rejected_and_counted(
    spark: SparkSession, small: tuple[Path, dict[str, Any]]
) -> None:
    out, manifest = small
    counts = manifest["counts"]
    validated = T.validate_interactions(read_lines(spark, str(out / INTERACTIONS_DIR)))
    reasons = [r[Col.REASON] for r in validated.select(Col.REASON).collect()]
    assert len(reasons) == counts["interaction_lines"]
    rejected = [r for r in reasons if r is not None]
    assert len(rejected) == counts["interactions_malformed"]
    by_kind = Counter(
        next(k for k, prefixes in INTERACTION_REASONS.items() if r.startswith(prefixes))
        for r in rejected
    )
    assert by_kind == {k: v for k, v in counts["interactions_malformed_by_kind"].items() if v}


def test_planted_preferences_drive_interactions(small: tuple[Path, dict[str, Any]]) -> None:
    """Users engage mostly with their preferred topics: far above what chance would give."""
    out, _ = small
    users = {u[Col.USER_ID]: u for u in _jsonl(out / TRUTH_DIR / "users.jsonl")}
    truth = _jsonl(out / TRUTH_DIR / "posts.jsonl")
    topic_of = {t["post_id"]: t["topic"] for t in truth if t["category"] != "malformed"}
    originals = Counter(t["topic"] for t in truth if t["category"] == "original")
    share = {topic: n / sum(originals.values()) for topic, n in originals.items()}

    on_top = chance = total = 0.0
    for _, _, raw in _raw_lines(out / INTERACTIONS_DIR):
        rec = _good_interaction(raw)
        if rec is None:
            continue
        prefs = users[rec[Col.USER_ID]]["topic_preferences"]
        top3 = sorted(prefs, key=prefs.get, reverse=True)[:3]
        on_top += topic_of[rec[Col.POST_ID]] in top3
        chance += sum(share.get(t, 0.0) for t in top3)
        total += 1
    observed, baseline = on_top / total, chance / total
    assert observed > 0.5, observed
    assert observed > 3 * baseline, (observed, baseline)
    # ... but not perfectly: the signal is noisy, or recommending would be trivial.
    assert observed < 0.95, observed


def test_weighted_slots_pick_in_proportion_to_appeal_and_uniformly_when_equal() -> None:
    """Equal appeal reproduces the uniform pick ``floor(u * fill)`` exactly; unequal appeal
    is drawn in proportion; unfilled slots (appeal 0) are never drawn."""
    rng = np.random.default_rng(5)
    u = rng.random(20_000)
    equal = np.cumsum(np.r_[np.ones(7), np.zeros(3)])[None, :].repeat(u.size, axis=0)
    assert (weighted_slots(equal, u) == (u * 7).astype(np.int64)).all()
    appeal = np.array([1.0, 3.0, 6.0, 0.0, 0.0])
    cum = np.cumsum(appeal)[None, :].repeat(u.size, axis=0)
    share = np.bincount(weighted_slots(cum, u), minlength=appeal.size) / u.size
    assert share[3:].sum() == 0
    assert np.allclose(share[:3], appeal[:3] / appeal.sum(), atol=0.01), share


def test_interactions_follow_appeal_and_the_truth_records_it(
    small: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """Posts with more likes draw more interactions (appeal = likes + 1), each truth line
    carries its post's appeal, and ``appeal_exponent=0`` takes that pull away."""

    def likes_and_truth(out: Path) -> list[tuple[int, dict[str, Any]]]:
        lines = zip(
            _raw_lines(out / POSTS_DIR), _jsonl(out / TRUTH_DIR / "posts.jsonl"), strict=True
        )
        return [
            (json.loads(raw)[Col.LIKE_COUNT], t)
            for (_, _, raw), t in lines
            if t["category"] == "original"
        ]

    def heavy_share(out: Path) -> tuple[float, float]:
        """Interactions on, and share of, the originals in the top tenth by likes."""
        likes = {t["post_id"]: n for n, t in likes_and_truth(out)}
        cut = sorted(likes.values())[int(0.9 * len(likes))]
        heavy = {p for p, n in likes.items() if n > cut}
        raws = (raw for _, _, raw in _raw_lines(out / INTERACTIONS_DIR))
        hits = [
            rec[Col.POST_ID] in heavy
            for rec in map(_good_interaction, raws)
            if rec is not None and rec[Col.POST_ID] in likes
        ]
        return sum(hits) / len(hits), len(heavy) / len(likes)

    out, _ = small
    for likes, t in likes_and_truth(out):
        assert t["appeal"] == pytest.approx(likes + 1, rel=1e-5)
    pulled, top = heavy_share(out)
    assert pulled > 3 * top, (pulled, top)

    flat = tmp_path / "flat"
    generate(replace(SMALL, appeal_exponent=0.0), flat)
    uniform, top0 = heavy_share(flat)
    assert uniform < 2 * top0, (uniform, top0)


def test_activity_is_heavy_tailed_and_texts_carry_the_planted_features(
    small: tuple[Path, dict[str, Any]],
) -> None:
    out, _ = small
    truth = _jsonl(out / TRUTH_DIR / "posts.jsonl")
    topics = {t["topic"]: set(t["hashtags"]) for t in _jsonl(out / TRUTH_DIR / "topics.jsonl")}
    originals = []
    for (_, _, raw), t in zip(_raw_lines(out / POSTS_DIR), truth, strict=True):
        if t["category"] == "original":
            originals.append((json.loads(raw), t))
    per_author = Counter(rec[Col.AUTHOR_ID] for rec, _ in originals)
    top = sum(n for _, n in per_author.most_common(SMALL.users // 20))
    assert top / len(originals) > 0.25, "the top 5% of users should write far more than 5%"

    texts = [rec[Col.TEXT] for rec, _ in originals]
    tagged = sum(
        bool({h.lower() for h in re.findall(r"#(\w+)", rec[Col.TEXT])} & topics[t["topic"]])
        for rec, t in originals
    )
    assert tagged / len(originals) > 0.8
    for feature in (r"https://t\.co/\w{10}", r"(^|\s)@\w+", r"\bnot\b|\bnever\b", "[😍😡🤔]"):
        hits = sum(bool(re.search(feature, text)) for text in texts)
        assert 0.02 < hits / len(texts) < 0.9, (feature, hits)
    labels = Counter((t["label"], t["strength"]) for _, t in originals)
    assert set(labels) == {
        ("negative", "mild"),
        ("negative", "strong"),
        ("neutral", "none"),
        ("positive", "mild"),
        ("positive", "strong"),
    }


def test_cli_generates_and_refuses_to_mix_data_sets(tmp_path: Path) -> None:
    args = ["generate", "--posts", "300", "--users", "20", "--seed", "3", "--out", str(tmp_path)]
    runner = CliRunner()
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    manifest = json.loads((tmp_path / TRUTH_DIR / MANIFEST).read_text())
    assert manifest["seed"] == 3
    assert manifest["counts"]["post_lines"] == 300
    again = runner.invoke(app, args)
    assert again.exit_code == 2
    assert "--force" in again.output
    forced = runner.invoke(app, [*args, "--force", "--end", "2026-06-01T00:00:00Z"])
    assert forced.exit_code == 0, forced.output
    assert json.loads((tmp_path / TRUTH_DIR / MANIFEST).read_text())["period"]["end"] == (
        "2026-06-01T00:00:00.000Z"
    )
    future = runner.invoke(app, [*args, "--force", "--end", "2999-01-01"])
    assert future.exit_code == 2
    assert "in the future" in future.output


def test_bad_parameters_are_named() -> None:
    with pytest.raises(ValueError, match="users must be >= 2"):
        GeneratorConfig(posts=10, users=1)
    with pytest.raises(ValueError, match="malformed_rate must be in"):
        GeneratorConfig(posts=10, malformed_rate=1.5)
    with pytest.raises(ValueError, match="timezone-aware"):
        GeneratorConfig(posts=10, end=datetime(2026, 1, 1))


# Run in a fresh interpreter: its peak resident memory (ru_maxrss) is then the generator's alone.
_GENERATE_AND_MEASURE = """
import json, resource, sys
from pathlib import Path
from socialpulse.generator import GeneratorConfig, generate

manifest = generate(GeneratorConfig(posts=int(sys.argv[1]), users=2_000, seed=1), Path(sys.argv[2]))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
print(json.dumps({"manifest": manifest, "peak": peak}))
"""


def _generate_measured(posts: int, out: Path) -> tuple[dict[str, Any], int]:
    """``generate`` in its own process: the manifest and the process's peak RSS in bytes."""
    done = subprocess.run(
        [sys.executable, "-c", _GENERATE_AND_MEASURE, str(posts), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.splitlines()[-1])
    return result["manifest"], int(result["peak"])


@pytest.mark.slow
def test_memory_stays_bounded_for_200k_posts(tmp_path: Path) -> None:
    """Streaming: 200k posts take a few chunks' worth more memory than 2k, far below their size.

    Measured as the peak resident memory of a process that only generates (the interpreter,
    numpy and the 2k-post run's chunks and buffers are the baseline), which costs no tracing:
    tracemalloc made the same check about four times slower.
    """
    _, baseline = _generate_measured(2_000, tmp_path / "small")
    manifest, peak = _generate_measured(200_000, tmp_path / "big")
    growth = peak - baseline
    size = sum(p.stat().st_size for p in (tmp_path / "big" / POSTS_DIR).iterdir())
    assert manifest["counts"]["post_lines"] == 200_000
    # The bound is fixed (measured growth: ~23 MiB, the chunk arrays and full write buffers);
    # the posts alone, held as lines, would need `size` bytes (~95 MB).
    assert growth < 40 * 2**20, f"growth {growth / 2**20:.1f} MiB (peak {peak / 2**20:.1f} MiB)"
    assert size > 2 * growth
    assert datetime.now(UTC) > _ts(manifest["period"]["end"])  # dates stay in the past


def test_writer_rolls_parts_and_writes_bad_bytes_verbatim(tmp_path: Path) -> None:
    bad = b'{"text":"caf\xc3(\xff"}'
    with RollingWriter(tmp_path, lines_per_file=3, buffer_lines=2) as w:
        located = w.extend([f'{{"n":{i}}}' for i in range(7)])
        located.append(w.add(bad.decode("utf-8", "surrogateescape")))
    assert located == [
        *[("part-00000.jsonl", i) for i in (1, 2, 3)],
        *[("part-00001.jsonl", i) for i in (1, 2, 3)],
        ("part-00002.jsonl", 1),
        ("part-00002.jsonl", 2),
    ]
    assert w.files == [("part-00000.jsonl", 3), ("part-00001.jsonl", 3), ("part-00002.jsonl", 2)]
    assert (tmp_path / "part-00001.jsonl").read_bytes() == b'{"n":3}\n{"n":4}\n{"n":5}\n'
    assert (tmp_path / "part-00002.jsonl").read_bytes() == b'{"n":6}\n' + bad + b"\n"
