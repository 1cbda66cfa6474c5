"""``socialpulse sentiment ...``: classify, evaluate and train (the composition root for them)."""

from __future__ import annotations

import csv
import json
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from socialpulse.cli.runtime import Runtime, err_console, print_error
from socialpulse.cli.sentiment_serve import serve
from socialpulse.config import Settings
from socialpulse.domain.protocols import SentimentBackend

sentiment_app = typer.Typer(help="Sentiment: classify posts, evaluate and train models.")
# `sentiment serve` lives in its own module (the inference server); it belongs to this group.
sentiment_app.command("serve")(serve)

_CHUNK = 1024


class InputFormatError(ValueError):
    """An input file that cannot be read as posts: the message says where and why."""


def read_posts(path: Path, text_column: str = "text") -> list[str]:
    """Posts from a text file (one per line), CSV/TSV with a header, or JSON Lines.

    Every line of a text file is a post, an empty line included; a JSONL line that is blank is
    an empty post too, so output line N always answers input line N.
    """
    suffix = path.suffix.lower()
    if suffix in {".csv", ".tsv"}:
        return _read_table(path, text_column, "\t" if suffix == ".tsv" else ",")
    if suffix in {".jsonl", ".ndjson"}:
        return _read_jsonl(path, text_column)
    with path.open(encoding="utf-8", newline="") as fh:
        content = fh.read()
    if not content:
        return []
    # Split on newlines only: str.splitlines would also split inside posts on U+2028 and friends.
    lines = content.split("\n")
    if lines[-1] == "":
        lines.pop()  # the file's final newline ends the last post; it does not start a new one
    return [line.removesuffix("\r") for line in lines]


def _read_table(path: Path, text_column: str, delimiter: str) -> list[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        if text_column not in (reader.fieldnames or []):
            raise InputFormatError(
                f"{path}: no column {text_column!r} (columns: {reader.fieldnames}); "
                "choose one with --text-column"
            )
        return [row[text_column] or "" for row in reader]


def _read_jsonl(path: Path, text_column: str) -> list[str]:
    posts: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                posts.append("")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputFormatError(f"{path}:{lineno}: not JSON ({exc.msg})") from None
            if not isinstance(obj, dict) or text_column not in obj:
                raise InputFormatError(
                    f"{path}:{lineno}: expected an object with a {text_column!r} field"
                )
            value = obj[text_column]
            posts.append("" if value is None else str(value))
    return posts


def _build_backend(name: str | None, settings: Settings) -> SentimentBackend:
    from socialpulse.sentiment.base import UnknownBackendError, create_backend
    from socialpulse.sentiment.cache import with_cache

    try:
        return with_cache(create_backend(name or settings.sentiment.backend, settings), settings)
    except UnknownBackendError as exc:
        raise typer.BadParameter(str(exc), param_hint="--backend") from None


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console(),
    )


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


@sentiment_app.command()
def classify(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help="Posts to classify.")],
    backend: Annotated[str | None, typer.Option(help="Backend (default: settings).")] = None,
    text_column: Annotated[
        str, typer.Option("--text-column", help="Text column of CSV/TSV/JSONL input.")
    ] = "text",
    output: Annotated[
        Path | None, typer.Option("--output", help="JSON Lines out (default: stdout).")
    ] = None,
) -> None:
    """Label every post of INPUT; writes one JSON line per post, in input order."""
    if not input_path.is_file():
        raise typer.BadParameter(f"{input_path} is not a file", param_hint="INPUT")
    try:
        posts = read_posts(input_path, text_column)
    except (InputFormatError, UnicodeDecodeError) as exc:
        print_error(exc)
        raise typer.Exit(code=2) from None
    settings = Runtime().settings
    model = _build_backend(backend, settings)
    sink: IO[str] = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        with _progress() as progress:
            task = progress.add_task(f"classifying ({model.name})", total=len(posts))
            for chunk in _chunks(posts):
                lines = []
                for r in model.predict(chunk):
                    lines.append(
                        json.dumps(
                            {
                                "label": r.label.value,
                                "score": r.score,
                                "probabilities": r.probabilities,
                                "model": r.model,
                                "model_version": r.model_version,
                            }
                        )
                    )
                sink.write("\n".join(lines) + "\n")
                progress.advance(task, len(chunk))
    finally:
        if output:
            sink.close()


@sentiment_app.command()
def evaluate(
    data: Annotated[Path, typer.Option("--data", help="SemEval TSV or CSV with text and label.")],
    backend: Annotated[str | None, typer.Option(help="Backend (default: settings).")] = None,
    text_column: Annotated[str, typer.Option("--text-column", help="CSV text column.")] = "text",
    label_column: Annotated[
        str | None, typer.Option("--label-column", help="CSV label column (default: guessed).")
    ] = None,
) -> None:
    """Accuracy, macro recall, macro-F1 and the confusion matrix of a backend on labelled data."""
    from socialpulse.sentiment.evaluation import DataFormatError, compute_metrics, read_labelled

    if not data.is_file():
        raise typer.BadParameter(f"{data} is not a file", param_hint="--data")
    try:
        rows = read_labelled(data, text_column, label_column)
    except DataFormatError as exc:
        print_error(exc)
        raise typer.Exit(code=2) from None
    settings = Runtime().settings
    model = _build_backend(backend, settings)
    predicted: list[str] = []
    texts = [r.text for r in rows]
    with _progress() as progress:
        task = progress.add_task(f"evaluating ({model.name})", total=len(texts))
        for chunk in _chunks(texts):
            predicted.extend(r.label.value for r in model.predict(chunk))
            progress.advance(task, len(chunk))
    metrics = compute_metrics([r.label.value for r in rows], predicted)
    report: dict[str, object] = {
        "data": str(data),
        "backend": model.name,
        "model_version": model.version,
    }
    report.update(metrics.as_dict())
    typer.echo(json.dumps(report, indent=2))


@sentiment_app.command()
def train(
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="SemEval-2017 task 4A folder.")
    ] = Path("../shared/data/sentiment/semeval-2017-task4a"),
    out: Annotated[Path | None, typer.Option("--out", help="Head artifact to write.")] = None,
    layers: Annotated[str, typer.Option(help="Encoder layers to pool, comma separated.")] = "4",
    vader: Annotated[bool, typer.Option(help="Add VADER's scores to the features.")] = True,
    c: Annotated[float, typer.Option("--c", help="Inverse L2 strength of the head.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed of the held-out sample and the fit.")] = 42,
    holdout_size: Annotated[int, typer.Option(help="Held-out tweets sampled.")] = 3000,
    train_files: Annotated[
        str, typer.Option(help="Training file names, comma separated (default: all but held out).")
    ] = "",
    runtime: Annotated[
        str, typer.Option(help="Encoder runtime the features come from: onnx-int8, onnx, torch.")
    ] = "onnx-int8",
    holdout_rest: Annotated[
        bool, typer.Option(help="Also train on the held-out file's rows outside the sample.")
    ] = True,
    ngram_c: Annotated[
        float, typer.Option("--ngram-c", help="Stacked n-gram model's inverse L2 (0 = none).")
    ] = 0.0,
    ngram_weight: Annotated[
        float, typer.Option("--ngram-weight", help="Weight of the n-gram log-probabilities.")
    ] = 1.0,
    finetune: Annotated[
        bool,
        typer.Option(
            "--finetune",
            help="Fine-tune copies of encoder layers up to 4 + a linear head (the minilm-ft "
            "artifact, a delta over the base weights) instead of training a head on frozen "
            "features.",
        ),
    ] = False,
    tuned_layers: Annotated[
        int, typer.Option(help="--finetune: base layers tuned, ending at layer 4 (1-4).")
    ] = 1,
    precision: Annotated[
        str, typer.Option(help="--finetune: fp32, or bf16 (mixed precision, fp32 weights).")
    ] = "fp32",
    sample: Annotated[
        int, typer.Option(help="--finetune: tweets sampled (seeded) to fine-tune on.")
    ] = 10000,
    epochs: Annotated[float, typer.Option(help="--finetune: passes over the sample.")] = 1.0,
    lr: Annotated[float, typer.Option(help="--finetune: learning rate of the layer.")] = 1e-4,
    head_lr: Annotated[float, typer.Option(help="--finetune: learning rate of the head.")] = 1e-3,
) -> None:
    """Train the minilm head (seeded; data hashes and this command go into its metadata).

    With ``--finetune``: the ``minilm-ft`` artifact (docs/SENTIMENT.md, issue 18); ``--c``,
    ``--layers``, ``--vader`` and the held-out options do not apply to it.
    """
    from socialpulse.sentiment.minilm import onnx_cache_dir
    from socialpulse.sentiment.minilm_head import DEFAULT_HEAD
    from socialpulse.sentiment.training import TrainConfig
    from socialpulse.sentiment.training import train as run_training

    settings = Runtime().settings
    command = "socialpulse sentiment " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    if finetune:
        _train_finetuned(
            settings,
            data_dir,
            out,
            sample,
            epochs,
            lr,
            head_lr,
            seed,
            ngram_c,
            ngram_weight,
            command,
            tuned_layers,
            precision,
        )
        return
    config = TrainConfig(
        data_dir=data_dir,
        cache_dir=settings.storage.data_dir / "sentiment_features",
        runtime=runtime,
        onnx_cache=onnx_cache_dir(settings.sentiment),
        layers=tuple(int(x) for x in layers.split(",")),
        vader=vader,
        c=c,
        seed=seed,
        holdout_size=holdout_size,
        train_files=tuple(f for f in train_files.split(",") if f),
        holdout_rest=holdout_rest,
        ngram_c=ngram_c,
        ngram_weight=ngram_weight,
    )
    with _progress() as progress:
        task = progress.add_task("starting", total=None)
        result = run_training(config, command, lambda s: progress.update(task, description=s))
    target = out or DEFAULT_HEAD
    result.head.save(target)
    typer.echo(
        json.dumps(
            {"artifact": str(target), "n_train": result.n_train, **result.holdout.as_dict()},
            indent=2,
        )
    )


def _train_finetuned(
    settings: Settings,
    data_dir: Path,
    out: Path | None,
    sample: int,
    epochs: float,
    lr: float,
    head_lr: float,
    seed: int,
    ngram_c: float,
    ngram_weight: float,
    command: str,
    tuned_layers: int = 1,
    precision: str = "fp32",
) -> None:
    import time

    from socialpulse.sentiment.finetune import FinetuneConfig
    from socialpulse.sentiment.finetune_train import FinetuneJob, train_finetuned
    from socialpulse.sentiment.minilm_head import FINETUNED_HEAD

    job = FinetuneJob(
        data_dir=data_dir,
        trunk_cache=settings.storage.data_dir / "sentiment_trunk",
        out=out or FINETUNED_HEAD,
        sample=sample,
        finetune=FinetuneConfig(
            epochs=epochs,
            lr=lr,
            head_lr=head_lr,
            seed=seed,
            layers=tuned_layers,
            precision=precision,
        ),
        # The n-gram model (unless --ngram-weight 0): C=1 unless given (v3's value).
        ngram_c=ngram_c if ngram_c > 0 else 1.0,
        ngram_weight=ngram_weight,
    )
    started = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task("starting", total=None)
        head = train_finetuned(job, command, lambda s: progress.update(task, description=s))
    typer.echo(
        json.dumps(
            {
                "artifact": str(job.out),
                "bytes": job.out.stat().st_size,
                "model_version": head.version,
                "n_train": head.meta["n_train"],
                "finetuned": head.meta["finetuned"],
                "seconds": round(time.perf_counter() - started, 1),
            },
            indent=2,
        )
    )


@sentiment_app.command()
def export(
    backend: Annotated[
        str | None, typer.Option(help="minilm backend to prepare (default: settings).")
    ] = None,
) -> None:
    """Export (and quantise) the minilm encoder to ONNX now, so the first classify is fast.

    The files go to ``sentiment_onnx_dir`` (default ``data_dir/models/onnx``), keyed by the
    encoder's hash; running it again only loads them. Other backends need no export.
    """
    import time

    settings = Runtime().settings
    name = backend or settings.sentiment.backend
    started = time.perf_counter()
    model = _build_backend(name, settings)
    model.predict(["warm-up"])
    typer.echo(
        json.dumps(
            {
                "backend": model.name,
                "model_version": model.version,
                "onnx_dir": str(_onnx_dir(settings)),
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    )


def _onnx_dir(settings: Settings) -> Path:
    from socialpulse.sentiment.minilm import onnx_cache_dir

    return onnx_cache_dir(settings.sentiment)
