"""``socialpulse lake``: maintenance of the Parquet lake: compaction, re-processing a day.

A composition root: it builds the Spark session and the store from settings.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer

from socialpulse.cli.runtime import Runtime, stage_progress

app = typer.Typer(help="The Parquet lake: compaction, re-processing a day.", no_args_is_help=True)


@app.command()
def compact(
    table: Annotated[
        list[str] | None,
        typer.Option(help="Table(s) to compact (default: every table of the lake)."),
    ] = None,
    day: Annotated[
        list[str] | None, typer.Option(help="Only these days (YYYY-MM-DD); default: all.")
    ] = None,
    target_mb: Annotated[
        float, typer.Option(min=0.001, help="Target size of one Parquet file, MB.")
    ] = 128.0,
) -> None:
    """Rewrite day partitions made of many small files into few files of about target size."""
    from socialpulse.storage.lake_jobs import compact_table

    rt = Runtime()
    lake = rt.lake
    # The quarantine is not partitioned: its files are compacted as one group.
    tables = {**lake.day_partitioned(), "quarantine": lake.quarantine}
    chosen = table or list(tables)
    unknown = sorted(set(chosen) - set(tables))
    if unknown:
        raise typer.BadParameter(f"unknown table(s) {unknown}; choose from {sorted(tables)}")
    spark = rt.spark("socialpulse-lake-compact")
    results = []
    with stage_progress() as progress:
        task = progress.add_task("compacting", total=None)
        for name in chosen:

            def show(d: str, n: str = name) -> None:
                progress.update(task, description=f"{n} day={d}")

            report = compact_table(
                spark,
                tables[name],
                target_file_bytes=int(target_mb * 1024 * 1024),
                days=set(day) if day else None,
                on_partition=show,
                partitioned=name != "quarantine",
            )
            results.append(
                {
                    "table": name,
                    "partitions_seen": report.partitions_seen,
                    "partitions_compacted": len(report.compacted),
                    "files_removed": report.files_removed,
                }
            )
    typer.echo(json.dumps(results, indent=2))


@app.command()
def reprocess(
    day: Annotated[
        datetime,
        typer.Option("--date", formats=["%Y-%m-%d"], help="UTC day to re-process (YYYY-MM-DD)."),
    ],
    backend: Annotated[
        str | None, typer.Option(help="Sentiment backend (default: settings).")
    ] = None,
) -> None:
    """Rebuild one day from the raw layer, replacing its lake partitions and database rows."""
    from socialpulse.processing.reprocess_job import NothingToReprocessError, reprocess_day
    from socialpulse.processing.topic_step import TopicModelError

    with Runtime() as rt:
        try:
            store = rt.store()
            spark = rt.spark("socialpulse-lake-reprocess")
            with stage_progress() as progress:
                task = progress.add_task("starting", total=None)
                report = reprocess_day(
                    spark,
                    day.date(),
                    rt.lake,
                    store,
                    rt.backend(backend),
                    batch_size=rt.settings.sentiment.batch_size,
                    on_stage=lambda s: progress.update(task, description=s),
                    topics_model_dir=rt.topics_model_dir,
                    aggregate_driver_rows=rt.settings.spark.driver_aggregate_rows,
                )
        except NothingToReprocessError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code=1) from None
        except TopicModelError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code=2) from None
    typer.echo(json.dumps(report.as_dict(), indent=2))
