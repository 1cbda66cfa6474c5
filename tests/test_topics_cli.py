"""``socialpulse topics fit-predict / train / show`` on small inputs (lda: no encoder to load)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from typer.testing import CliRunner

from socialpulse.cli.main import app
from socialpulse.domain.columns import Col

pytestmark = pytest.mark.slow

THEMES = (
    "my bag was lost and baggage claim never found the luggage",
    "the flight was delayed again and the delay made me miss my connection",
    "customer service put me on hold and the agent never called back",
)


def _posts(n: int) -> list[str]:
    return [f"{THEMES[i % 3]} trip{i % 5}" for i in range(n)]


@pytest.fixture(autouse=True)
def _cheap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOCIALPULSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SOCIALPULSE_TOPICS_MODEL", "lda")
    monkeypatch.setenv("SOCIALPULSE_TOPICS_LDA_MAX_ITER", "5")
    monkeypatch.setenv("SOCIALPULSE_TOPICS_LDA_TOPICS", "[2, 3]")


def test_fit_predict_answers_every_line_in_order_empty_lines_included(
    spark: SparkSession, tmp_path: Path
) -> None:
    posts = _posts(30)
    posts[4] = ""
    posts[7] = "@united https://t.co/x"
    source = tmp_path / "posts.txt"
    source.write_text("\n".join(posts) + "\n", encoding="utf-8")
    out = tmp_path / "topics.jsonl"
    args = ["topics", "fit-predict", "--input", str(source), "--k", "3", "--output", str(out)]
    result = CliRunner().invoke(app, [*args, "--model", "lda"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 30
    assert all(set(line) == {"topic", "weight", "label"} for line in lines)
    assert all(0 <= line["topic"] < 3 and isinstance(line["label"], str) for line in lines)
    common = max({x["topic"] for x in lines}, key=[x["topic"] for x in lines].count)
    for empty in (lines[4], lines[7]):
        assert (empty["topic"], empty["weight"]) == (common, 0.0)
    assert all(line["weight"] > 0 for i, line in enumerate(lines) if i not in (4, 7))
    # Posts of one theme share a topic: the order of the answers is the order of the input.
    assert lines[0]["topic"] == lines[3]["topic"] == lines[6]["topic"]


def test_fit_predict_refuses_an_unknown_model(tmp_path: Path) -> None:
    source = tmp_path / "posts.txt"
    source.write_text("a post\n", encoding="utf-8")
    args = ["topics", "fit-predict", "--input", str(source), "--k", "2", "--output", "o.jsonl"]
    result = CliRunner().invoke(app, [*args, "--model", "nope"])
    assert result.exit_code == 2
    assert "unknown topic model 'nope'" in result.output


def test_train_saves_a_current_version_that_show_lists(spark: SparkSession, tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["topics", "train"])
    assert missing.exit_code == 2
    lake_posts = tmp_path / "data" / "lake" / "posts"
    rows = [(str(i), t) for i, t in enumerate(_posts(60))]
    frame = spark.createDataFrame(rows, f"{Col.POST_ID} string, {Col.TEXT} string")
    frame.write.mode("overwrite").parquet(str(lake_posts))
    from socialpulse.cli.runtime import Runtime

    assert Runtime().lake.posts.rstrip("/") == str(lake_posts)
    trained = runner.invoke(app, ["topics", "train"])
    assert trained.exit_code == 0, trained.output
    report = json.loads(trained.stdout)
    assert report["version"].startswith("lda-k")
    assert Path(report["path"]).is_dir()
    shown = runner.invoke(app, ["topics", "show", "--json", "--top-words", "4"])
    assert shown.exit_code == 0, shown.output
    listing = json.loads(shown.stdout)
    assert listing["version"] == report["version"]
    assert sum(t["size"] for t in listing["topics"]) == 60
    assert all(len(t["words"]) == 4 and t["label"] for t in listing["topics"])
