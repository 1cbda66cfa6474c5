"""The seed scenario: 10,000 generated posts through the batch pipeline, all accounted for."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from socialpulse.config import Settings
from socialpulse.domain.columns import Col
from socialpulse.domain.records import LABELS
from socialpulse.generator import GeneratorConfig, generate
from socialpulse.generator.malformed import POST_REASONS
from socialpulse.processing.batch_job import run_batch
from socialpulse.processing.sentiment_step import BackendSpec
from socialpulse.storage.factory import create_store
from socialpulse.storage.lake import LakePaths

pytestmark = pytest.mark.slow


def test_ten_thousand_generated_posts_reconcile_exactly(
    spark: SparkSession, settings: Settings, tmp_path: Path
) -> None:
    landing = tmp_path / "generated"
    manifest = generate(GeneratorConfig(posts=10_000, users=500, seed=11), landing)
    counts = manifest["counts"]
    settings.storage.data_dir.mkdir(parents=True)
    store = create_store(settings.storage.resolved_database_url)
    store.create_schema()
    lake = LakePaths(settings.storage.resolved_lake_uri)

    report = run_batch(
        spark,
        str(landing),
        lake,
        store,
        BackendSpec.of("vader", settings),
    )

    # Counts reconcile exactly, and agree with what the generator planted.
    assert report.reconciles
    assert report.input_records == counts["post_lines"] == 10_000
    assert report.quarantined == counts["malformed"]
    assert report.duplicates == counts["duplicates"]
    assert report.stored == counts["valid_unique_posts"]
    assert report.interactions_stored == counts["interactions_valid"]
    assert report.interactions_quarantined == counts["interactions_malformed"]

    # No duplicate post ids, in the lake or the database.
    lake_posts = spark.read.parquet(lake.posts)
    assert lake_posts.count() == lake_posts.select(Col.POST_ID).distinct().count() == report.stored
    assert store.count("posts") == report.stored

    # Every valid post has exactly one sentiment, a real label with a distribution.
    labelled = lake_posts.filter(
        F.col(Col.SENTIMENT_LABEL).isin(*[lab.value for lab in LABELS])
        & (
            F.abs(F.col(Col.PROB_NEGATIVE) + F.col(Col.PROB_NEUTRAL) + F.col(Col.PROB_POSITIVE) - 1)
            < 1e-6
        )
    )
    assert labelled.count() == report.stored
    assert sum(store.label_distribution().values()) == report.stored

    # Every malformed line is in quarantine, with the reason its kind calls for.
    quarantined = spark.read.parquet(lake.quarantine).collect()
    by_line: Counter[tuple[str, str]] = Counter()
    for q in quarantined:
        if q[Col.SOURCE_FILE].split("/")[-2] == "posts":
            by_line[(q[Col.SOURCE_FILE].split("/")[-1], q[Col.RAW])] += q[Col.OCCURRENCES]
    reasons = {(q[Col.SOURCE_FILE].split("/")[-1], q[Col.RAW]): q[Col.REASON] for q in quarantined}
    files = {p.name: p.read_bytes().split(b"\n") for p in (landing / "posts").glob("*.jsonl")}
    truth = [json.loads(line) for line in (landing / "truth" / "posts.jsonl").open()]
    malformed = [t for t in truth if t["category"] == "malformed"]
    assert len(malformed) == counts["malformed"]
    utf8_reasons = Counter(r for r in reasons.values() if r == "invalid UTF-8")
    for t in malformed:
        name = Path(t["file"]).name
        line = files[name][t["line"] - 1]
        if t["malformed_kind"] == "invalid_utf8":
            continue  # its stored text carries replacement characters; counted below
        key = (name, line.decode("utf-8"))
        assert by_line[key] > 0, f"malformed line {t} not in quarantine"
        by_line[key] -= 1
        assert reasons[key].startswith(POST_REASONS[t["malformed_kind"]]), (t, reasons[key])
    n_utf8 = sum(1 for t in malformed if t["malformed_kind"] == "invalid_utf8")
    assert (
        sum(q[Col.OCCURRENCES] for q in quarantined if q[Col.REASON] == "invalid UTF-8")
        == n_utf8
        == counts["malformed_by_kind"]["invalid_utf8"]
    )
    assert utf8_reasons  # the kind was generated and seen
    store.close()
