"""``socialpulse process`` shows its stages with counts on a terminal, and nothing otherwise."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from rich.console import Console
from typer.testing import CliRunner

from socialpulse.cli import app
from socialpulse.cli.progress import StageProgress

pytestmark = pytest.mark.slow


def _landing(root: Path, n: int) -> Path:
    (root / "posts").mkdir(parents=True)
    lines = [
        json.dumps(
            {
                "post_id": f"p{i}",
                "author_id": f"u{i % 7}",
                "text": f"post number {i} is {'great' if i % 2 else 'awful'} #tag{i % 3}",
                "created_at": "2026-10-03T12:00:00Z",
                "ingested_at": "2026-10-03T12:00:01Z",
            }
        )
        for i in range(n)
    ]
    (root / "posts" / "part-0.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def _process(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, terminal: bool, name: str
) -> tuple[str, dict[str, object]]:
    # The CLI builds its own settings; the session fixture is reused through getOrCreate.
    monkeypatch.setenv("SOCIALPULSE_DATA_DIR", str(tmp_path / name / "data"))
    monkeypatch.setenv("SOCIALPULSE_SENTIMENT_BACKEND", "vader")
    # rich reads TTY_COMPATIBLE on every check: 1 = a terminal, 0 = a pipe or a log.
    monkeypatch.setenv("TTY_COMPATIBLE", "1" if terminal else "0")
    monkeypatch.setenv("COLUMNS", "200")
    landing = _landing(tmp_path / name / "in", 40)
    result = CliRunner().invoke(app, ["process", "--input", str(landing)])
    assert result.exit_code == 0, result.output
    out = result.output
    report = json.loads(out[out.index("{") : out.rindex("}") + 1])
    return out, report


def test_process_shows_stages_with_counts_only_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, spark: SparkSession
) -> None:
    shown, report = _process(monkeypatch, tmp_path, terminal=True, name="tty")
    assert report["stored"] == 40
    assert report["reconciles"]
    for stage in ("validating posts", "classifying sentiment", "writing the database"):
        assert stage in shown, shown
    # The classifying stage counts records: done / total of the 40 new posts.
    assert "40/40" in shown, shown
    assert "records" in shown, shown

    quiet, report = _process(monkeypatch, tmp_path, terminal=False, name="pipe")
    assert report["stored"] == 40
    assert report["reconciles"]
    # Only the JSON report: no stage line, no bar, no control codes.
    assert quiet.startswith("{"), quiet
    assert "validating posts" not in quiet, quiet
    assert "\x1b" not in quiet, quiet


def test_on_an_80_column_terminal_the_stage_name_gives_way_not_the_numbers() -> None:
    out = io.StringIO()
    console = Console(width=80, file=out, force_terminal=True, color_system=None)
    with StageProgress(console) as progress:
        progress.stage("classifying sentiment and writing the database")
        progress.count(61_855, lambda: 61_855)
    lines = [line for line in out.getvalue().splitlines() if "61855/61855" in line]
    assert lines, out.getvalue()
    last = lines[-1].rstrip()
    assert len(last) <= 80, last
    # Whole numbers and times (no ellipsis inside them); the long name is cut instead.
    assert re.search(r"61855/61855 records .*\d:\d\d:\d\d$", last), last
    assert "classifying" in last, last
    assert "…" in last, last
