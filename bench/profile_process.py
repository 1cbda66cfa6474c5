"""Where `process` spends its time: wall and CPU seconds per pipeline stage (issue 20).

    python bench/profile_process.py --posts 20000 [--backend minilm]

Runs the batch job in this process on the unique real tweets of ``bench_pipeline_real`` (result
cache off, fresh data folder) and, at every stage change the job reports, samples the CPU
seconds (user + system) of the whole process tree split into the driver (this process), the
JVM and the Python workers. Each stage's Spark jobs are labelled with its name
(``setJobDescription``) and the event log is kept, so the Spark tasks' own run and CPU times
per stage are printed too. Prints a table; nothing is recorded.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import psutil
from bench_pipeline_real import SHARED, real_texts, write_inputs


def _tree_cpu() -> dict[str, float]:
    me = psutil.Process()
    out: dict[str, float] = defaultdict(float)
    for p in [me, *me.children(recursive=True)]:
        try:
            t = p.cpu_times()
            name = " ".join(p.cmdline()[:3])
        except psutil.Error:
            continue
        kind = "driver" if p.pid == me.pid else ("jvm" if "java" in name else "python workers")
        out[kind] += t.user + t.system
    return out


def main() -> None:
    """Run the job once and print wall / CPU seconds per stage."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", default="minilm")
    ap.add_argument("--posts", type=int, default=20000)
    args = ap.parse_args()
    texts = real_texts(SHARED)[: args.posts]
    work = Path(tempfile.mkdtemp(prefix="sp-prof-"))
    in_dir, _plain = write_inputs(texts, work)
    events = work / "events"
    events.mkdir()
    os.environ.update(
        {
            "SOCIALPULSE_DATA_DIR": str(work / "data"),
            "SOCIALPULSE_SENTIMENT_BACKEND": args.backend,
            "SOCIALPULSE_SENTIMENT_CACHE": "false",
            "SOCIALPULSE_SPARK_CONF": json.dumps(
                {
                    "spark.eventLog.enabled": "true",
                    "spark.eventLog.dir": f"file://{events}",
                    "spark.eventLog.compress": "false",
                }
            ),
        }
    )
    from socialpulse.cli.runtime import Runtime
    from socialpulse.processing.batch_job import run_batch

    marks: list[tuple[str, float, dict[str, float]]] = []
    load_before = os.getloadavg()
    with Runtime() as rt:
        rt.ensure_data_dir()
        store = rt.store()
        t0 = time.perf_counter()
        spark = rt.spark("socialpulse-profile")
        marks.append(("spark start-up", t0, _tree_cpu()))
        sc = spark.sparkContext

        def on_stage(name: str) -> None:
            sc.setJobDescription(name)
            marks.append((name, time.perf_counter(), _tree_cpu()))

        on_stage("topics model + first stage")
        report = run_batch(
            spark,
            str(in_dir),
            rt.lake,
            store,
            rt.backend(None),
            batch_size=rt.settings.sentiment.batch_size,
            on_stage=on_stage,
            topics_model_dir=rt.topics_model_dir,
        )
        marks.append(("end", time.perf_counter(), _tree_cpu()))
        spark.stop()
    n = len(texts)
    total = marks[-1][1] - marks[0][1]
    print(f"{n:,} posts, {report.stored:,} stored, reconciles={report.reconciles}")
    print(f"wall {total:.1f}s = {n / total:.0f} posts/s; load before {load_before}")
    print(f"after {os.getloadavg()}")
    print(f"{'stage':<52} {'wall s':>7} {'driver':>7} {'jvm':>7} {'py wk':>7}")
    for (name, t, cpu), (_n2, t2, cpu2) in itertools.pairwise(marks):
        d = {k: cpu2.get(k, 0.0) - cpu.get(k, 0.0) for k in ("driver", "jvm", "python workers")}
        print(
            f"{name:<52} {t2 - t:7.1f} {d['driver']:7.1f} {d['jvm']:7.1f} "
            f"{d['python workers']:7.1f}"
        )
    _spark_stages(events)
    shutil.rmtree(work, ignore_errors=True)


def _spark_stages(events: Path) -> None:
    """Per job description: Spark stages, tasks, summed task run and CPU seconds."""
    desc_of_stage: dict[int, str] = {}
    rows: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0])
    # Spark 4 writes each application's log as a folder of rolling event files.
    for log in sorted(f for f in events.rglob("events_*") if f.is_file()):
        for line in log.read_text(encoding="utf-8").splitlines():
            ev = json.loads(line)
            kind = ev.get("Event")
            if kind == "SparkListenerJobStart":
                desc = (ev.get("Properties") or {}).get("spark.job.description", "?")
                for sid in ev.get("Stage IDs", []):
                    desc_of_stage[sid] = desc
            elif kind == "SparkListenerTaskEnd":
                m = ev.get("Task Metrics") or {}
                r = rows[desc_of_stage.get(ev["Stage ID"], "?")]
                r[1] += 1
                r[2] += m.get("Executor Run Time", 0) / 1000
                r[3] += m.get("Executor CPU Time", 0) / 1e9
            elif kind == "SparkListenerStageCompleted":
                sid = ev["Stage Info"]["Stage ID"]
                rows[desc_of_stage.get(sid, "?")][0] += 1
    print(f"\n{'spark jobs labelled':<52} {'stages':>6} {'tasks':>6} {'run s':>7} {'jvm cpu':>7}")
    for desc, (stages, tasks, run, cpu) in rows.items():
        print(f"{desc:<52} {stages:6.0f} {tasks:6.0f} {run:7.1f} {cpu:7.1f}")


if __name__ == "__main__":
    main()
