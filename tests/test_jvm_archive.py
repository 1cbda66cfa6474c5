"""The JVM class archive: where it lives, how it is built (never half-written), and that a Spark
driver started with it really loads its classes from it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from socialpulse import jvm_archive
from socialpulse.jvm_archive import (
    ArchiveError,
    archive_key,
    archive_path,
    build_archive,
    java_options,
    prune_others,
)


def test_setting_names_the_archive(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert archive_path("off") is None
    assert archive_path(str(tmp_path / "mine.jsa")) == tmp_path / "mine.jsa"
    auto = archive_path("auto")
    assert auto == tmp_path / "cache" / "socialpulse" / "jvm" / f"spark-{archive_key()}.jsa"


def test_key_changes_with_the_jars(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    jars = tmp_path / "jars"
    jars.mkdir()
    (jars / "spark-core.jar").write_bytes(b"x" * 10)
    monkeypatch.setattr(jvm_archive, "_pyspark_jars", lambda: jars)
    before = archive_key()
    assert re.fullmatch(r"[0-9a-f]{16}", before)
    assert archive_key() == before
    (jars / "spark-core.jar").write_bytes(b"x" * 11)  # an upgraded jar
    upgraded = archive_key()
    assert upgraded != before
    # Reinstalled in place: same name and size, a new time. The JVM refuses the old archive then.
    stat = (jars / "spark-core.jar").stat()
    os.utime(jars / "spark-core.jar", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    reinstalled = archive_key()
    assert reinstalled != upgraded
    upgraded = reinstalled
    # The same jars in another checkout's venv: the JVM would refuse that class path.
    other = tmp_path / "other-venv" / "jars"
    other.mkdir(parents=True)
    (other / "spark-core.jar").write_bytes(b"x" * 11)
    monkeypatch.setattr(jvm_archive, "_pyspark_jars", lambda: other)
    assert archive_key() != upgraded


def test_options_only_for_an_existing_archive(tmp_path: Path) -> None:
    path = tmp_path / "a.jsa"
    assert java_options(str(path)) == ""
    assert java_options("off") == ""
    path.write_bytes(b"archive")
    assert java_options(str(path)).startswith(f"-XX:SharedArchiveFile={path} ")


def test_pruning_keeps_the_archive_and_the_newest_others(tmp_path: Path) -> None:
    keep = tmp_path / "spark-new.jsa"
    keep.write_bytes(b"n")
    for age, name in enumerate(["spark-a.jsa", "spark-b.jsa", "spark-c.jsa", "spark-d.jsa"]):
        (tmp_path / name).write_bytes(b"o")
        os.utime(tmp_path / name, (1_000_000 - age * 100, 1_000_000 - age * 100))
    (tmp_path / "notes.txt").write_text("not an archive")
    gone = prune_others(keep, others=2)
    assert sorted(p.name for p in gone) == ["spark-c.jsa", "spark-d.jsa"]  # the two oldest
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["notes.txt", "spark-a.jsa", "spark-b.jsa", "spark-new.jsa"]


# A stand-in for the child steps: "--dump TMP" writes TMP, "--check TMP" passes or fails.
_CHILD = textwrap.dedent(
    """
    import sys
    step, tmp = sys.argv[-2], sys.argv[-1]
    if step == "--dump":
        open(tmp, "wb").write(b"classes")
    elif sys.argv[1] == "fail-check":
        print("could not map the archive")
        sys.exit(3)
    """
)


def test_build_renames_into_place_only_after_both_steps(tmp_path: Path) -> None:
    path = tmp_path / "jvm" / "spark.jsa"
    result = build_archive(path, [sys.executable, "-c", _CHILD, "ok"])
    assert result.built
    assert path.read_bytes() == b"classes"
    assert result.size_bytes == len(b"classes")
    again = build_archive(path, [sys.executable, "-c", "raise SystemExit(9)"])
    assert not again.built  # present: nothing is run
    assert sorted(p.name for p in path.parent.iterdir()) == ["spark.jsa"]


def test_a_failed_check_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "spark.jsa"
    with pytest.raises(ArchiveError, match=r"check step failed .*could not map the archive"):
        build_archive(path, [sys.executable, "-c", _CHILD, "fail-check"])
    # Neither the archive nor the temporary dump is left for a JVM to map.
    assert list(tmp_path.iterdir()) == []


_SESSION = textwrap.dedent(
    """
    import sys
    from socialpulse.config import Settings
    from socialpulse.spark import build_spark
    spark = build_spark(
        Settings(spark_master="local[1]", spark_class_archive=sys.argv[1]),
        "archive-test",
        extra_java_options=f"-Xlog:class+load=info:file={sys.argv[2]}",
    )
    print(spark.range(10).count())
    spark.stop()
    """
)


@pytest.mark.slow
def test_a_driver_loads_spark_classes_from_the_archive(tmp_path: Path) -> None:
    """The archive ``make setup`` builds (built here if missing) is the one a session maps."""
    path = archive_path("auto")
    assert path is not None
    cli = Path(sys.executable).parent / "socialpulse"
    subprocess.run([str(cli), "jvm-archive"], check=True, capture_output=True, timeout=600)
    assert path.is_file()
    for setting, expect_shared in (("auto", True), ("off", False)):
        log = tmp_path / f"classes-{setting}.log"
        done = subprocess.run(
            [sys.executable, "-c", _SESSION, setting, str(log)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip().splitlines()[-1] == "10"
        spark_lines = [
            line
            for line in log.read_text().splitlines()
            if "org.apache.spark.SparkContext " in line
        ]
        assert spark_lines, "the class log names no SparkContext"
        # "shared objects file (top)" is the dynamic (application) archive layer.
        shared = all("shared objects file (top)" in line for line in spark_lines)
        assert shared is expect_shared, spark_lines
