"""Labelled data readers and the quality metrics the project reports.

Readers accept the SemEval-2017 task 4A TSV (``id<TAB>label<TAB>text``, some texts quoted, some
lines with a trailing tab) and CSV files with a text and a label column (e.g. the airline tweets).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from socialpulse.domain.records import LABELS, SentimentLabel

_LABEL_NAMES = [lab.value for lab in LABELS]
_ESCAPED_UNICODE = re.compile(r"\\u([0-9a-fA-F]{4})")


class DataFormatError(ValueError):
    """A labelled file that cannot be read: the message says which file and line."""


@dataclass(frozen=True)
class LabelledText:
    """One labelled example."""

    text: str
    label: SentimentLabel


def read_labelled(
    path: Path, text_column: str | None = None, label_column: str | None = None
) -> list[LabelledText]:
    """Read a labelled file: SemEval TSV (``.txt``/``.tsv`` without header) or CSV with header."""
    if path.suffix.lower() == ".csv":
        return read_labelled_csv(path, text_column or "text", label_column)
    return read_semeval(path)


def read_semeval(path: Path) -> list[LabelledText]:
    """Read a SemEval-2017 task 4A file; a malformed line raises :class:`DataFormatError`.

    A quoted text may run over several lines (a tweet with a line break): a line that is not a
    record continues the previous record when that record's text opened a quote.
    """
    records: list[tuple[str, str, str]] = []  # (where, label, raw text)
    with path.open(encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = raw.rstrip("\r\n")
            parts = line.split("\t", 2)
            if len(parts) == 3 and parts[0].strip().isdigit():
                records.append((f"{path}:{lineno}", parts[1], parts[2]))
            elif records and records[-1][2].lstrip().startswith('"'):
                where, label, text = records[-1]
                records[-1] = (where, label, f"{text}\n{line}")
            elif line.strip():
                raise DataFormatError(f"{path}:{lineno}: expected id<TAB>label<TAB>text")
    return [
        LabelledText(_clean_semeval_text(text), _parse_label(label, where))
        for where, label, text in records
    ]


def read_labelled_csv(path: Path, text_column: str, label_column: str | None) -> list[LabelledText]:
    """Read a CSV with a header; the label column defaults to ``label`` or ``*sentiment``."""
    out: list[LabelledText] = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames or []
        label_col = label_column or _guess_label_column(fields)
        for col, what in ((text_column, "text"), (label_col, "label")):
            if col not in fields:
                raise DataFormatError(f"{path}: no {what} column {col!r} (columns: {fields})")
        for lineno, row in enumerate(reader, start=2):
            out.append(
                LabelledText(
                    row[text_column] or "", _parse_label(row[label_col], f"{path}:{lineno}")
                )
            )
    return out


def _guess_label_column(fields: Sequence[str]) -> str:
    for name in ("label", "sentiment", "airline_sentiment"):
        if name in fields:
            return name
    return next((f for f in fields if f.endswith("sentiment")), "label")


def _clean_semeval_text(text: str) -> str:
    # Trailing tabs, quotes wrapped around the whole text, and JSON-style escapes are artefacts
    # of how the data set was exported, not part of the tweet.
    s = text.strip().strip("\t").strip()
    if len(s) >= 2 and s[0] == '"' and s[-1] == '"':
        s = s[1:-1].replace('""', '"')
    elif s.startswith('"') and s.count('"') == 1:
        s = s[1:]
    elif s.endswith('"') and s.count('"') == 1:
        s = s[:-1]
    return _ESCAPED_UNICODE.sub(lambda m: chr(int(m.group(1), 16)), s)


def _parse_label(raw: str, where: str) -> SentimentLabel:
    value = raw.strip().lower()
    try:
        return SentimentLabel(value)
    except ValueError:
        raise DataFormatError(
            f"{where}: unknown label {raw!r}; expected one of {_LABEL_NAMES}"
        ) from None


@dataclass(frozen=True)
class Metrics:
    """Classification quality over the three classes (rows of ``confusion`` = true labels)."""

    n: int
    accuracy: float
    macro_recall: float
    macro_f1: float
    recall: dict[str, float]
    f1: dict[str, float]
    confusion: list[list[int]]

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view; ``confusion`` rows and columns are in ``labels`` order."""
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "macro_recall": self.macro_recall,
            "macro_f1": self.macro_f1,
            "recall": self.recall,
            "f1": self.f1,
            "labels": _LABEL_NAMES,
            "confusion": self.confusion,
        }


def compute_metrics(truth: Sequence[str], predicted: Sequence[str]) -> Metrics:
    """Accuracy, macro recall, macro-F1 and the confusion matrix over the three labels."""
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true labels but {len(predicted)} predictions")
    index = {name: i for i, name in enumerate(_LABEL_NAMES)}
    confusion = [[0, 0, 0] for _ in _LABEL_NAMES]
    for true_label, pred_label in zip(truth, predicted, strict=True):
        confusion[index[str(true_label)]][index[str(pred_label)]] += 1
    n = len(truth)
    recall: dict[str, float] = {}
    f1: dict[str, float] = {}
    for i, name in enumerate(_LABEL_NAMES):
        tp = confusion[i][i]
        actual = sum(confusion[i])
        pred = sum(row[i] for row in confusion)
        rec = tp / actual if actual else 0.0
        prec = tp / pred if pred else 0.0
        recall[name] = rec
        f1[name] = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return Metrics(
        n=n,
        accuracy=sum(confusion[i][i] for i in range(3)) / n if n else 0.0,
        macro_recall=sum(recall.values()) / 3,
        macro_f1=sum(f1.values()) / 3,
        recall=recall,
        f1=f1,
        confusion=confusion,
    )
