"""Top-level commands. Sub-command groups live in sibling modules and are mounted here."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer

from socialpulse.cli import db, lake
from socialpulse.cli.apikey import apikey_app
from socialpulse.cli.cluster import cluster_app
from socialpulse.cli.dashboard import dashboard
from socialpulse.cli.demo import demo
from socialpulse.cli.generate import generate
from socialpulse.cli.ingest import ingest_app, mock_x_app
from socialpulse.cli.jvm import jvm_archive
from socialpulse.cli.progress import StageProgress
from socialpulse.cli.recommend import app as recommend_app
from socialpulse.cli.runtime import Runtime, err_console, print_error
from socialpulse.cli.sentiment import sentiment_app
from socialpulse.cli.serve import serve
from socialpulse.cli.stream import stream
from socialpulse.cli.topics import topics_app

app = typer.Typer(
    help="socialpulse: real-time sentiment analysis and recommendations for social media data.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold secrets
)
app.command("generate")(generate)
app.command("demo")(demo)
app.command("serve")(serve)
app.command("dashboard")(dashboard)
app.command("jvm-archive")(jvm_archive)
app.add_typer(apikey_app, name="apikey")
app.add_typer(recommend_app, name="recommend")
app.add_typer(ingest_app, name="ingest")
app.add_typer(mock_x_app, name="mock-x")
app.add_typer(db.app, name="db")
app.add_typer(lake.app, name="lake")
app.add_typer(cluster_app, name="cluster")

app.command(name="stream")(stream)


@app.callback()
def _root() -> None:
    """socialpulse: real-time sentiment analysis and recommendations for social media data."""


SHORT_BATCH_BYTES = 128 * 2**20
"""A landing folder up to this size is a short batch (JIT ``auto`` compiles with C1 alone).

Measured on unique real tweets with vader (BENCHMARKS scale, rows of the EPYC VNNI host): C1
alone saves 5-7 s at 100k posts (93 MB with their interactions) and loses 27 s at 1M; the two
meet near 250k posts, so the limit stays well below."""


def is_short_batch(folder: Path) -> bool:
    """True when the files under ``folder`` add up to at most :data:`SHORT_BATCH_BYTES`."""
    total = 0
    for path in folder.rglob("*"):
        # A file that vanishes or a link that dangles between listing and stat adds nothing: the
        # answer only picks a compiler, and the job itself reports what it cannot read.
        with contextlib.suppress(OSError):
            if path.is_file():
                total += path.stat().st_size
        if total > SHORT_BATCH_BYTES:
            return False
    return True


@app.command()
def process(
    input_dir: Annotated[
        Path, typer.Option("--input", help="Folder with posts/ (and interactions/).")
    ],
    backend: Annotated[
        str | None, typer.Option(help="Sentiment backend (default: settings).")
    ] = None,
) -> None:
    """Run the batch pipeline over a landing folder: validate, dedupe, enrich, classify, store."""
    from socialpulse.processing.batch_job import run_batch
    from socialpulse.processing.topic_step import TopicModelError

    if not input_dir.exists():
        raise typer.BadParameter(f"{input_dir} does not exist", param_hint="--input")
    with Runtime() as rt:
        rt.ensure_data_dir()
        store = rt.store()  # schema first: the executors write through its spec
        spark = rt.spark("socialpulse-process", short_job=is_short_batch(input_dir))
        try:
            with StageProgress(err_console(), spark.sparkContext) as progress:
                report = run_batch(
                    spark,
                    str(input_dir.resolve()),
                    rt.lake,
                    store,
                    rt.backend(backend),
                    batch_size=rt.settings.sentiment.batch_size,
                    on_stage=progress.stage,
                    topics_model_dir=rt.topics_model_dir,
                    on_count=progress.count,
                    aggregate_driver_rows=rt.settings.spark.driver_aggregate_rows,
                )
        except TopicModelError as exc:
            print_error(exc)
            raise typer.Exit(code=2) from None
        typer.echo(json.dumps(report.as_dict(), indent=2))
    if not report.reconciles:
        raise typer.Exit(code=1)


app.add_typer(sentiment_app, name="sentiment")
app.add_typer(topics_app, name="topics")
