"""``socialpulse topics ...``: fit-predict a file, train from the lake, show the current model."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from socialpulse.cli.progress import StageProgress
from socialpulse.cli.runtime import Runtime, err_console, print_error
from socialpulse.cli.sentiment import InputFormatError, read_posts

topics_app = typer.Typer(help="Topics: fit and assign, train from the lake, show.")


def _progress() -> Progress:
    # Quiet when stderr is not a terminal (a pipe, a CI log): no spinner frames in the output.
    console = err_console()
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    )


def _family(name: str | None) -> str | None:
    from socialpulse.topics.registry import TOPIC_MODELS

    if name is not None and name not in TOPIC_MODELS:
        known = ", ".join(sorted(TOPIC_MODELS))
        raise typer.BadParameter(
            f"unknown topic model {name!r}; known: {known}", param_hint="--model"
        )
    return name


@topics_app.command("fit-predict")
def fit_predict(
    input_path: Annotated[
        Path, typer.Option("--input", help="Text file (one post per line), CSV/TSV or JSONL.")
    ],
    k: Annotated[int, typer.Option("--k", min=1, help="Number of topics.")],
    output: Annotated[Path, typer.Option("--output", help="JSON Lines out, one per post.")],
    model: Annotated[
        str | None, typer.Option("--model", help="Topic model family (default: settings).")
    ] = None,
    text_column: Annotated[
        str, typer.Option("--text-column", help="Text column of CSV/TSV/JSONL input.")
    ] = "text",
) -> None:
    """Fit K topics on INPUT's posts and write each post's topic, in input order.

    A post with no topic-bearing word (an empty line, only a link) gets the most common
    topic with weight 0.0.
    """
    from socialpulse.topics.jobs import fit_predict as run_fit_predict
    from socialpulse.topics.jobs import with_k

    if not input_path.is_file():
        raise typer.BadParameter(f"{input_path} is not a file", param_hint="--input")
    family = _family(model)
    try:
        posts = read_posts(input_path, text_column)
    except (InputFormatError, UnicodeDecodeError) as exc:
        print_error(exc)
        raise typer.Exit(code=2) from None
    if not posts:
        output.write_text("", encoding="utf-8")
        return
    rt = Runtime()
    settings = with_k(rt.settings.topics, k, family)
    spark = rt.spark("socialpulse-topics-fit-predict")
    try:
        with _progress() as progress:
            task = progress.add_task("starting", total=None)
            _, answers = run_fit_predict(
                spark, posts, settings, lambda s: progress.update(task, description=s)
            )
    except ValueError as exc:  # nothing to fit on: every post is empty of topic words
        print_error(exc)
        raise typer.Exit(code=2) from None
    with output.open("w", encoding="utf-8") as sink:
        for answer in answers:
            sink.write(json.dumps(answer.as_dict()) + "\n")


@topics_app.command()
def train(
    model: Annotated[
        str | None, typer.Option("--model", help="Topic model family (default: settings).")
    ] = None,
) -> None:
    """Refit topics on the lake's clean posts and save them as a new, current version."""
    from pyspark.errors import AnalysisException

    from socialpulse.topics.jobs import MODELS_SUBDIR, train_from_posts

    family = _family(model)
    with Runtime() as rt:
        data_dir = rt.ensure_data_dir()
        settings = rt.settings.topics
        if family:
            settings = settings.model_copy(update={"model": family})
        spark = rt.spark("socialpulse-topics-train")
        started = time.perf_counter()
        try:
            posts = spark.read.parquet(rt.lake.posts)
        except AnalysisException:  # no clean layer yet
            print_error(f"no posts in the lake at {rt.lake.posts}: run `socialpulse process` first")
            raise typer.Exit(code=2) from None
        with StageProgress(err_console(), spark.sparkContext) as progress:
            progress.stage(f"training {settings.model} topics on the lake")
            try:
                folder = train_from_posts(posts, settings, data_dir / MODELS_SUBDIR)
            except ValueError as exc:
                print_error(exc)
                raise typer.Exit(code=2) from None
    report = {
        "model": settings.model,
        "version": folder.name,
        "path": str(folder),
        "seconds": round(time.perf_counter() - started, 1),
    }
    typer.echo(json.dumps(report, indent=2))


@topics_app.command()
def show(
    version: Annotated[
        str | None, typer.Option(help="Saved version to show (default: the current one).")
    ] = None,
    top_words: Annotated[int, typer.Option(min=1, help="Words per topic.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead.")] = False,
) -> None:
    """The topics of the current (or a saved) model: label, top words, size."""
    from socialpulse.topics.jobs import MODELS_SUBDIR, load_version, topic_sizes

    rt = Runtime()
    models_dir = rt.settings.storage.data_dir / MODELS_SUBDIR
    spark = rt.spark("socialpulse-topics-show")
    try:
        model = load_version(spark, models_dir, version)
    except FileNotFoundError as exc:
        print_error(exc)
        raise typer.Exit(code=2) from None
    sizes = topic_sizes(model)
    topics = model.describe(top_words=top_words)
    if as_json:
        rows = [
            {"topic": d.topic_id, "label": d.label, "words": list(d.words), "size": sizes[i]}
            for i, d in enumerate(topics)
        ]
        typer.echo(json.dumps({"version": model.version, "topics": rows}, indent=2))
        return
    table = Table(title=f"Topics of {model.version}")
    for col in ("topic", "label", "size", "top words"):
        table.add_column(col, justify="right" if col in ("topic", "size") else "left")
    for d, size in zip(topics, sizes, strict=True):
        shown = "" if size is None else f"{size:,}"
        table.add_row(str(d.topic_id), d.label, shown, ", ".join(d.words))
    Console().print(table)
