"""``socialpulse sentiment classify`` and ``evaluate``: the exact CLI contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from socialpulse.cli import app
from socialpulse.sentiment.evaluation import compute_metrics, read_semeval
from socialpulse.sentiment.vader import VaderBackend

POSTS = ["I love this!", "", "worst day ever", "   ", 'ok then, a "quoted" post, with commas']


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIALPULSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # no .env from the checkout


def _classify(*args: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(app, ["sentiment", "classify", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def _expected_labels(texts: list[str]) -> list[str]:
    return [r.label.value for r in VaderBackend().predict(texts)]


def _assert_matches(rows: list[dict[str, object]], texts: list[str]) -> None:
    assert [r["label"] for r in rows] == _expected_labels(texts)
    for r in rows:
        assert r["label"] in {"negative", "neutral", "positive"}
        assert isinstance(r["score"], float)
        assert -1.0 <= r["score"] <= 1.0


def test_text_file_one_post_per_line_empty_lines_kept(tmp_path: Path) -> None:
    src = tmp_path / "posts.txt"
    src.write_text("\n".join(POSTS) + "\n", encoding="utf-8")
    _assert_matches(_classify(str(src), "--backend", "vader"), POSTS)


def test_text_file_without_final_newline_and_crlf(tmp_path: Path) -> None:
    src = tmp_path / "posts.txt"
    src.write_bytes(b"good\r\n\r\nbad")
    _assert_matches(_classify(str(src), "--backend", "vader"), ["good", "", "bad"])


def test_csv_with_text_column(tmp_path: Path) -> None:
    src = tmp_path / "posts.csv"
    lines = ["id,body"] + [f'{i},"{p.replace(chr(34), chr(34) * 2)}"' for i, p in enumerate(POSTS)]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = _classify(str(src), "--backend", "vader", "--text-column", "body")
    _assert_matches(rows, POSTS)


def test_tsv_with_text_column(tmp_path: Path) -> None:
    src = tmp_path / "posts.tsv"
    src.write_text("text\tn\n" + "".join(f"{p}\t{i}\n" for i, p in enumerate(POSTS[:3])))
    _assert_matches(_classify(str(src), "--backend", "vader"), POSTS[:3])


def test_jsonl_input_and_output_file(tmp_path: Path) -> None:
    src = tmp_path / "posts.jsonl"
    objs = [json.dumps({"text": p, "id": i}) for i, p in enumerate(POSTS)]
    objs.append(json.dumps({"text": None}))
    src.write_text("\n".join(objs) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        app, ["sentiment", "classify", str(src), "--backend", "vader", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    _assert_matches(rows, [*POSTS, ""])
    assert rows[0]["model"] == "vader"


def test_bad_inputs_give_clear_errors(tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text('{"text": "ok"}\n{not json\n')
    result = CliRunner().invoke(app, ["sentiment", "classify", str(bad_json), "--backend", "vader"])
    assert result.exit_code == 2
    assert "bad.jsonl:2" in result.output
    no_col = tmp_path / "x.csv"
    no_col.write_text("a,b\n1,2\n")
    result = CliRunner().invoke(app, ["sentiment", "classify", str(no_col), "--backend", "vader"])
    assert result.exit_code == 2
    assert "--text-column" in result.output
    good = tmp_path / "ok.txt"
    good.write_text("fine\n")
    result = CliRunner().invoke(app, ["sentiment", "classify", str(good), "--backend", "nope"])
    assert result.exit_code == 2
    assert "unknown sentiment backend" in result.output


SEMEVAL = (
    "1\tpositive\tI love it :)\n"
    '2\tnegative\t"I hate ""this"" so much"\t\n'
    "3\tneutral\tThe bus leaves at 9\t\n"
    '4\tneutral\t" a post that runs\n'
    'over two lines"\t\n'
    "5\tnegative\tawful, just awful\n"
)


def test_evaluate_semeval_tsv(tmp_path: Path) -> None:
    data = tmp_path / "sample-A.txt"
    data.write_text(SEMEVAL, encoding="utf-8")
    rows = read_semeval(data)
    assert [r.text for r in rows][1:4] == [
        'I hate "this" so much',
        "The bus leaves at 9",
        " a post that runs\nover two lines",
    ]
    result = CliRunner().invoke(
        app, ["sentiment", "evaluate", "--data", str(data), "--backend", "vader"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    expected = compute_metrics(
        [r.label.value for r in rows], _expected_labels([r.text for r in rows])
    )
    assert report["n"] == 5
    assert report["accuracy"] == pytest.approx(expected.accuracy)
    assert report["macro_recall"] == pytest.approx(expected.macro_recall)
    assert report["macro_f1"] == pytest.approx(expected.macro_f1)
    assert report["confusion"] == expected.confusion
    assert sum(map(sum, report["confusion"])) == 5


def test_evaluate_csv_and_bad_label(tmp_path: Path) -> None:
    data = tmp_path / "airline.csv"
    data.write_text(
        "tweet_id,airline_sentiment,text\n1,positive,great crew\n2,negative,delayed again\n"
    )
    result = CliRunner().invoke(
        app, ["sentiment", "evaluate", "--data", str(data), "--backend", "vader"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n"] == 2
    data.write_text("text,label\nhello,happy\n")
    result = CliRunner().invoke(
        app, ["sentiment", "evaluate", "--data", str(data), "--backend", "vader"]
    )
    assert result.exit_code == 2
    assert "unknown label 'happy'" in result.output
