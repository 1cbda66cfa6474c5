"""A class-data-sharing (AppCDS) archive of the Spark driver's classes, for faster start-up.

Every ``SparkSession`` starts a JVM that reads, parses and verifies thousands of classes from
pyspark's jars before the first job runs. Java 17 can dump those classes, already parsed and
verified, into one file that the next JVM maps in (``-XX:SharedArchiveFile``); docs/BENCHMARKS.md
``jvm-class-archive`` has what it saves here.

The archive is only valid for the JVM and the jars it was made with, so its file name carries a
key of both (:func:`archive_key`); a JVM upgrade or a new pyspark simply finds no archive under
the new key and starts as before. It is built once (``socialpulse jvm-archive``, run by ``make
setup``): a child process runs :func:`workload` with ``-XX:ArchiveClassesAtExit``, a second child
maps the result with ``-Xshare:on`` (which fails instead of silently running without it), and
only then is the file renamed into place. A truncated archive crashes the JVM (SIGBUS), so no
reader may ever see a half-written one.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import SparkSession

OFF = "off"
AUTO = "auto"
# Archives under other keys (a rebuilt venv, another checkout) are 180 MiB each; a build under
# ``auto`` keeps this many of the newest others and deletes the rest.
KEEP_OTHERS = 2
# The dump lists hundreds of classes CDS cannot keep (signed jars, generated classes); they are
# loaded the ordinary way, so the warnings only bury real output.
_QUIET = "-Xlog:cds=off -Xlog:cds+dynamic=off"


class ArchiveError(RuntimeError):
    """Building or checking the archive failed (the message carries the child's output)."""


def _pyspark_jars() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent / "jars"


def java_executable() -> Path | None:
    """The ``java`` Spark will launch: ``$JAVA_HOME/bin/java``, else the one on ``PATH``."""
    home = os.environ.get("JAVA_HOME")
    candidate = Path(home) / "bin" / "java" if home else None
    if candidate is None or not candidate.exists():
        found = shutil.which("java")
        candidate = Path(found) if found else None
    return candidate.resolve() if candidate is not None else None


def archive_key() -> str:
    """A short hash of what the archive depends on: the JVM build and pyspark's jars (folder,
    names, sizes and modification times)."""
    import pyspark

    parts = [pyspark.__version__, platform.machine()]
    java = java_executable()
    parts.append(str(java))
    if java is not None:
        # The JVM's own library identifies its build; a package upgrade replaces it.
        for lib in sorted(java.parent.parent.glob("lib/server/libjvm.so")):
            st = lib.stat()
            parts.append(f"{lib}:{st.st_size}:{st.st_mtime_ns}")
    jars = _pyspark_jars()
    # The JVM checks the class path itself, not just the jars' contents: an archive dumped from
    # another checkout's venv is silently not used, so the jars' folder is part of the key.
    parts.append(str(jars))
    if jars.is_dir():
        # The JVM also checks each jar's modification time, and silently ignores an archive whose
        # jars were reinstalled: a venv rebuilt in the same folder has the same names and sizes
        # but new times (a CI run mapped nothing from a stale archive that way).
        parts.extend(
            f"{j.name}:{st.st_size}:{st.st_mtime_ns}"
            for j in sorted(jars.glob("*.jar"))
            for st in (j.stat(),)
        )
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def default_archive_dir() -> Path:
    """``$XDG_CACHE_HOME/socialpulse/jvm`` (``~/.cache/socialpulse/jvm``)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "socialpulse" / "jvm"


def archive_path(setting: str) -> Path | None:
    """Where the archive of ``setting`` lives: ``off`` = none, ``auto`` = the default folder
    under this machine's key, anything else = that file."""
    if setting == OFF:
        return None
    if setting == AUTO:
        return default_archive_dir() / f"spark-{archive_key()}.jsa"
    return Path(setting).expanduser()


def prune_others(keep: Path, others: int = KEEP_OTHERS) -> list[Path]:
    """Delete the ``spark-*.jsa`` archives beside ``keep`` except the ``others`` newest; returns
    what was deleted. A JVM that has one mapped keeps its mapping (Linux unlinks lazily)."""
    siblings = [p for p in keep.parent.glob("spark-*.jsa") if p != keep and p.is_file()]
    siblings.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    gone = siblings[others:]
    for old in gone:
        old.unlink(missing_ok=True)
    return gone


def java_options(setting: str) -> str:
    """Driver JVM options that map the archive of ``setting`` if it exists, else ``""``."""
    path = archive_path(setting)
    if path is None or not path.is_file():
        return ""
    return f"-XX:SharedArchiveFile={path} {_QUIET}"


def dump_options(path: Path) -> str:
    """JVM options that write the classes a run loaded to ``path`` when the JVM exits."""
    return f"-XX:ArchiveClassesAtExit={path} {_QUIET}"


def check_options(path: Path) -> str:
    """JVM options that map ``path`` or refuse to start."""
    return f"-XX:SharedArchiveFile={path} -Xshare:on {_QUIET}"


@dataclass(frozen=True)
class ArchiveResult:
    """The archive file, whether this call built it, and its size."""

    path: Path
    built: bool
    size_bytes: int


def build_archive(
    path: Path, child: Sequence[str], force: bool = False, timeout_s: float = 900.0
) -> ArchiveResult:
    """Build the archive at ``path`` unless it exists (or ``force``).

    ``child`` is the command that runs one step in a fresh process; it is called as
    ``child + ["--dump", TMP]`` (run :func:`workload` under :func:`dump_options`) and
    ``child + ["--check", TMP]`` (start Spark under :func:`check_options`). The file appears at
    ``path`` only after both succeed.
    """
    if path.is_file() and not force:
        return ArchiveResult(path, False, path.stat().st_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A name of this process's own, not created here: the JVM writes the file itself.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        for step in ("--dump", "--check"):
            done = subprocess.run(
                [*child, step, str(tmp)],
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
            if done.returncode != 0 or not tmp.is_file():
                tail = (done.stdout + done.stderr)[-2000:]
                raise ArchiveError(f"{step[2:]} step failed (exit {done.returncode}): {tail}")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return ArchiveResult(path, True, path.stat().st_size)


def workload(spark: SparkSession) -> int:
    """Small jobs that load the classes every project job uses: Arrow conversion, SQL
    aggregates, joins and windows, pandas UDFs, Parquet. Returns a row count, so they run.

    MLlib and streaming are left out on purpose: archiving their classes too made the archive
    half again as large and the build twice as long, and saved nothing measurable in
    ``recommend fit-predict`` (an ALS user), since what start-up spends is mostly the core.
    """
    import pandas as pd
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    n = 400
    frame = pd.DataFrame(
        {
            "user": [f"u{i % 37}" for i in range(n)],
            "item": [f"p{(i * 7) % 53}" for i in range(n)],
            "w": [1.0 + (i % 3) for i in range(n)],
            "ts": pd.date_range("2026-01-01", periods=n, freq="min", tz="UTC"),
        }
    )
    df = spark.createDataFrame(frame)
    agg = df.groupBy("user").agg(F.sum("w").alias("w"), F.count("*").alias("n"))
    joined = df.join(agg.withColumnRenamed("w", "total"), "user")
    ranked = joined.withColumn(
        "r", F.row_number().over(Window.partitionBy("user").orderBy(F.desc("ts")))
    )
    rows = ranked.filter("r <= 3").count()

    def double(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for pdf in batches:
            yield pdf.assign(w=pdf["w"] * 2)

    rows += df.select("user", "w").mapInPandas(double, "user string, w double").count()
    with tempfile.TemporaryDirectory() as tmp:
        df.write.partitionBy("user").parquet(f"{tmp}/lake")
        rows += spark.read.parquet(f"{tmp}/lake").count()
    return rows
