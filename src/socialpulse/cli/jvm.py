"""``socialpulse jvm-archive``: build the driver JVM's class archive (run by ``make setup``)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from socialpulse.cli.runtime import Runtime, err_console, print_error

# The child steps re-enter this command in a fresh interpreter: the archive must be dumped by a
# JVM that exits (it is written at exit), and checked by one that starts with it.
_CHILD = [sys.executable, "-c", "from socialpulse.cli import app; app()", "jvm-archive"]


def jvm_archive(
    force: Annotated[bool, typer.Option(help="Rebuild even if the archive exists.")] = False,
    dump: Annotated[Path | None, typer.Option(hidden=True)] = None,
    check: Annotated[Path | None, typer.Option(hidden=True)] = None,
) -> None:
    """Build the Spark driver's class-data-sharing archive, so sessions start faster.

    It is keyed by the JVM and pyspark's jars (`spark_class_archive`, default auto: under
    ~/.cache/socialpulse/jvm); a run that finds it for this machine does nothing.
    """
    from socialpulse.jvm_archive import (
        AUTO,
        ArchiveError,
        archive_path,
        build_archive,
        check_options,
        dump_options,
        prune_others,
        workload,
    )

    settings = Runtime().settings
    step = dump or check
    if step is not None:
        from socialpulse.spark import build_spark

        # A fresh local session, whatever master the environment names: the archive holds the
        # driver's classes, and this child must own (and end) its JVM.
        local = settings.model_copy(
            update={"spark_master": "local[2]", "spark_class_archive": "off"}
        )
        options = dump_options(step) if dump is not None else check_options(step)
        spark = build_spark(local, "socialpulse-jvm-archive", extra_java_options=options)
        rows = workload(spark) if dump is not None else spark.range(100).count()
        spark.stop()
        typer.echo(f"{rows} rows")
        return
    path = archive_path(settings.spark.class_archive)
    if path is None:
        typer.echo("the class archive is off (spark_class_archive=off)")
        return
    start = time.perf_counter()
    with err_console().status("building the JVM class archive (about a minute, once)"):
        try:
            result = build_archive(path, _CHILD, force=force)
        except ArchiveError as exc:
            print_error(f"no class archive built: {exc}")
            raise typer.Exit(code=1) from exc
    if result.built and settings.spark.class_archive == AUTO:
        for old in prune_others(result.path):
            typer.echo(f"removed an archive of other jars: {old}")
    verb = "built" if result.built else "present"
    typer.echo(
        f"class archive {verb}: {result.path} ({result.size_bytes / 2**20:.0f} MiB"
        + (f", {time.perf_counter() - start:.0f} s)" if result.built else ")")
    )
