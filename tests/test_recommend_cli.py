"""``socialpulse recommend fit-predict``: the file contract other tools depend on."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession
from typer.testing import CliRunner

from socialpulse.cli import app
from socialpulse.domain.columns import Col
from tests.recommend_fixtures import planted

pytestmark = pytest.mark.slow

K = 4


@pytest.fixture(autouse=True)
def _small_als(monkeypatch: pytest.MonkeyPatch, spark: SparkSession) -> None:
    # The CLI builds its own settings; the session fixture is reused through getOrCreate.
    for name, value in {"ALS_RANK": "4", "ALS_MAX_ITER": "5", "SEED": "42"}.items():
        monkeypatch.setenv(f"SOCIALPULSE_{name}", value)


def _interactions(numeric: bool) -> pd.DataFrame:
    log = planted(group_users=(6, 6), posts_per_group=10, per_user=4, cold_authors=0).interactions
    out = log[[Col.USER_ID, Col.POST_ID, Col.WEIGHT, Col.TS]].copy()
    if numeric:
        # Leading zeros must survive: ids are labels, not numbers.
        users = {u: f"{i:03d}" for i, u in enumerate(sorted(out[Col.USER_ID].unique()))}
        items = {p: str(1000 + i) for i, p in enumerate(sorted(out[Col.POST_ID].unique()))}
        out[Col.USER_ID] = out[Col.USER_ID].map(users)
        out[Col.POST_ID] = out[Col.POST_ID].map(items)
    out[Col.TS] = out[Col.TS].map(lambda t: t.isoformat())
    return out


def _write(df: pd.DataFrame, path: Path, sep: str, header: bool, with_ts: bool) -> None:
    cols = list(df.columns) if with_ts else list(df.columns[:3])
    out = df[cols].rename(
        columns={Col.USER_ID: "user", Col.POST_ID: "item", Col.WEIGHT: "weight", Col.TS: "ts"}
    )
    out.to_csv(path, sep=sep, header=header, index=False)


def _run(train: Path, out: Path) -> pd.DataFrame:
    result = CliRunner().invoke(
        app,
        ["recommend", "fit-predict", "--train", str(train), "--k", str(K), "--output", str(out)],
    )
    assert result.exit_code == 0, result.output
    # The model is chosen on a validation split carved from the file, and said so on stderr.
    assert "fit-predict: chose " in result.output
    with out.open() as fh:
        assert next(csv.reader(fh)) == ["user", "item", "rank", "score"]
    return pd.read_csv(out, dtype={"user": str, "item": str})


@pytest.mark.parametrize("numeric", [False, True], ids=["string-ids", "numeric-ids"])
def test_fit_predict_round_trips_every_format(tmp_path: Path, numeric: bool) -> None:
    data = _interactions(numeric)
    seen = set(zip(data[Col.USER_ID], data[Col.POST_ID], strict=True))
    layouts = [(",", True, True), ("\t", False, False), (",", False, True), ("\t", True, False)]
    if numeric:  # every layout once per id kind would double the run for no new path
        layouts = layouts[:2]
    outputs: list[tuple[bool, pd.DataFrame]] = []
    for sep, header, with_ts in layouts:
        name = f"{'tab' if sep == chr(9) else 'comma'}-{header}-{with_ts}"
        train = tmp_path / f"{name}.txt"
        _write(data, train, sep, header, with_ts)
        recs = _run(train, tmp_path / f"{name}.csv")
        # Every user of the file, K unseen items each, ranks from 1, ids exactly as written.
        assert set(recs["user"]) == set(data[Col.USER_ID])
        for _, ranks in recs.groupby("user")["rank"]:
            assert list(ranks) == list(range(1, K + 1))
        assert set(recs["item"]) <= set(data[Col.POST_ID])
        assert not set(zip(recs["user"], recs["item"], strict=True)) & seen
        outputs.append((with_ts, recs))
    # The same interactions in any layout give the same recommendations (timestamps, when
    # present, order the validation split the model is chosen on, so compare like with like).
    for with_ts in (True, False):
        same = [recs for ts, recs in outputs if ts == with_ts]
        for other in same[1:]:
            pd.testing.assert_frame_equal(same[0], other)


def test_fit_predict_rejects_a_bad_file(tmp_path: Path) -> None:
    train = tmp_path / "bad.csv"
    train.write_text("user,item,weight\na,x,1\nb,y,lots\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["recommend", "fit-predict", "--train", str(train), "--k", "3", "--output",
              str(tmp_path / "out.csv")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "finite numeric weight" in result.output
    assert "[3]" in result.output  # the line number of the bad row
    assert not (tmp_path / "out.csv").exists()


def test_train_and_evaluate_commands_on_a_lake(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from socialpulse.storage.factory import create_store
    from socialpulse.storage.lake import LakePaths
    from tests.recommend_fixtures import write_lake

    data_dir = tmp_path / "data"
    monkeypatch.setenv("SOCIALPULSE_DATA_DIR", str(data_dir))
    # EASE co-engagement off: it would add a fit and a hybrid-no-ease row per split to the
    # slowest test of the suite; tests/test_recommend_co_engaged.py covers it.
    monkeypatch.setenv("SOCIALPULSE_RECOMMEND_EASE_WEIGHT", "0")
    data = planted(group_users=(8, 6, 6), posts_per_group=12, per_user=6)
    write_lake(spark, LakePaths(str(data_dir / "lake")), data)

    trained = CliRunner().invoke(app, ["recommend", "train", "--k", "3"])
    assert trained.exit_code == 0, trained.output
    store = create_store(f"sqlite:///{data_dir / 'socialpulse.db'}")
    users = set(data.interactions[Col.USER_ID]) | set(data.posts["author_id"])
    assert store.count("recommendations") == 3 * len(users)
    some_user = sorted(users)[0]
    served = store.user_recommendations(some_user, 10)
    assert [r[Col.RANK] for r in served] == [1, 2, 3]
    assert all(r[Col.REASON_CODE] and r[Col.REASON_TEXT] for r in served)
    store.close()

    # One split: each split runs every model again (the default, both, doubled this test's
    # time); the splitters themselves are tested in test_recommend_splitters.
    evaluated = CliRunner().invoke(
        app, ["recommend", "evaluate", "--k", "5", "--split", "per-user"]
    )
    assert evaluated.exit_code == 0, evaluated.output
    assert "precision@5" in evaluated.output
    assert "Split global" not in evaluated.output
    for name in (
        "Split per-user",
        "held-out pairs",
        "95% CI",
        "the paired interval excludes 0",
        "als",
        "ease",
        "content-hashtag",
        "content-text",
        "hybrid-no-text",
        "popularity",
        "Segment: cold users",
        "Segment: fresh posts",
        "text embedding: hashing",
        # Not generated data: no oracle row, and the output says why.
        "no oracle: no planted truth at",
    ):
        assert name in evaluated.output
    assert not [r for r in evaluated.output.splitlines() if r.lstrip("│┃ ").startswith("oracle")]


def test_evaluate_names_the_splits_it_knows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCIALPULSE_DATA_DIR", str(tmp_path / "empty"))
    result = CliRunner().invoke(app, ["recommend", "evaluate", "--split", "weekly"])
    assert result.exit_code == 2
    assert "per-user" in result.output
    assert "global" in result.output


def test_train_without_a_lake_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCIALPULSE_DATA_DIR", str(tmp_path / "empty"))
    result = CliRunner().invoke(app, ["recommend", "train"])
    assert result.exit_code == 2
    assert "socialpulse process" in result.output
