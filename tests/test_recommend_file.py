"""Parsing the ``fit-predict`` training file: layouts, ids kept as text, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from socialpulse.domain.columns import Col
from socialpulse.recommend.fit_predict import InteractionFileError, read_interaction_file


def test_bom_blank_lines_header_and_tabs(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv"
    path.write_text("\ufeff\n\nuser\titem\tweight\n007\t1\t2.5\nx\ty\t1\n", encoding="utf-8")
    got = read_interaction_file(path)
    assert list(got[Col.USER_ID]) == ["007", "x"]
    assert list(got[Col.POST_ID]) == ["1", "y"]
    assert list(got[Col.WEIGHT]) == [2.5, 1.0]


def test_no_header_with_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("1,10,1,2026-01-01T00:00:00Z\n2,10,3,1700000000\n", encoding="utf-8")
    got = read_interaction_file(path)
    assert list(got[Col.USER_ID]) == ["1", "2"]
    assert list(got[Col.WEIGHT]) == [1.0, 3.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("a,b\n", "expected 3 or 4 columns"),
        ("a,b,1\nc,d,inf\n", r"finite numeric weight \(first at lines \[2\]\)"),
        ("user,item,weight\na,,1\n", r"lack a user, an item"),
    ],
)
def test_bad_files_are_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InteractionFileError, match=message):
        read_interaction_file(path)
