"""What a system BLAS buys Spark's ALS: the same fits with netlib's Java fallback and with OpenBLAS.

Spark's ALS solves one small normal equation per user and item (``dspr`` to build it, LAPACK
``dppsv`` to solve it) through ``dev.ludovic.netlib``, which loads ``libblas.so.3`` and
``liblapack.so.3`` and otherwise falls back to its Java (Vector API) code with the
"``dlopen(libblas.so.3) failed``" warning every ALS run on this machine prints.

Each variant runs in its own Spark process (the library is chosen once per JVM), in alternating
order, ``--rounds`` times; each process fits once untimed (JIT warm-up) and then times
``--ranks`` on MovieLens-100k (from the ``recbole`` wheel, as bench_recommend_library.py) with the
project's own ``train_als_on_confidence``. The native variant needs the library on the loader's
path: system-wide (``apt-get install libopenblas0-pthread``), or unpacked with
``--native-dir`` (``apt-get download libopenblas0-pthread libgfortran5`` + ``dpkg -x``), which
changes nothing on the machine. The Java variant forces the fallback by naming a library that
does not exist, so both run on the same machine in the same run.

    python bench/bench_als_blas.py --native-dir /tmp/oblas/root/usr/lib/x86_64-linux-gnu
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import record, tree_cpu_s

JAVA_ONLY = " ".join(
    f"-Ddev.ludovic.netlib.{lib}.nativeLib=java-only.so" for lib in ("blas", "lapack")
)
VARIANTS = ("java", "native")


def _netlib_impl(jvm: Any, lib: str) -> str:
    """The implementation Spark's native calls get (``lib`` is ``BLAS`` or ``LAPACK``): like
    Spark's own ``BLAS.nativeBLAS``, the native one if it loads, else netlib's Java one."""
    package = getattr(jvm.dev.ludovic.netlib, lib.lower())
    try:
        impl = getattr(package, f"Native{lib}").getInstance()
    except Exception:  # noqa: BLE001 - any load failure means the Java fallback
        impl = getattr(package, lib).getInstance()
    return str(impl.getClass().getSimpleName())


def worker(ranks: list[int], iters: int) -> None:
    """One Spark process: which BLAS/LAPACK it loaded, then one timed fit per rank (JSON out)."""
    from bench_recommend_library import movielens

    from socialpulse.config import Settings
    from socialpulse.domain.columns import Col
    from socialpulse.recommend.als import AlsParams, confidence, train_als_on_confidence
    from socialpulse.spark import build_spark

    spark = build_spark(Settings(_env_file=None), "bench-als-blas")
    # Which implementation netlib picked is only visible through the JVM gateway.
    jvm = spark._jvm  # noqa: SLF001
    blas, lapack = _netlib_impl(jvm, "BLAS"), _netlib_impl(jvm, "LAPACK")
    frame = movielens()[[Col.USER_ID, Col.POST_ID, Col.WEIGHT]]
    conf = confidence(spark.createDataFrame(frame)).persist()
    conf.count()
    train_als_on_confidence(conf, AlsParams(4, 0.1, 10.0, 2, 42))  # JIT warm-up, not timed
    fits = []
    for rank in ranks:
        cpu, wall = tree_cpu_s(), time.perf_counter()
        train_als_on_confidence(conf, AlsParams(rank, 0.1, 10.0, iters, 42))
        fits.append(
            {
                "rank": rank,
                "wall_s": time.perf_counter() - wall,
                "cpu_s": tree_cpu_s() - cpu,
                "load": os.getloadavg()[0],
            }
        )
    print("RESULT " + json.dumps({"blas": blas, "lapack": lapack, "fits": fits}), flush=True)
    spark.stop()


def run_variant(
    variant: str, native_dir: str | None, ranks: list[int], iters: int
) -> dict[str, Any]:
    """Start one worker process configured for ``variant``; its JSON result."""
    env = dict(os.environ)
    if variant == "java":
        env["JAVA_TOOL_OPTIONS"] = JAVA_ONLY
    elif native_dir:
        env["LD_LIBRARY_PATH"] = f"{native_dir}/openblas-pthread:{native_dir}"
    # OpenBLAS would start a thread per core inside each of Spark's task threads.
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    cmd = [sys.executable, __file__, "--worker", "--ranks", ",".join(map(str, ranks))]
    done = subprocess.run(
        [*cmd, "--iters", str(iters)], env=env, capture_output=True, text=True, check=False
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            result["variant"] = variant
            return result
    raise SystemExit(f"{variant} worker failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ranks", default="10,64,128")
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--native-dir", default=None, help="unpacked lib dir (see the docstring)")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    ranks = [int(r) for r in args.ranks.split(",")]
    if args.worker:
        worker(ranks, args.iters)
        return
    results = []
    for r in range(args.rounds):
        order = VARIANTS if r % 2 == 0 else VARIANTS[::-1]
        for variant in order:
            res = run_variant(variant, args.native_dir, ranks, args.iters)
            print(json.dumps(res), flush=True)
            results.append(res)
    rows = [
        "| rank | BLAS / LAPACK (java) | java wall s | java JVM CPU s "
        "| BLAS / LAPACK (native) | native wall s | native JVM CPU s | wall ratio java/native "
        "| load |",
        "|---:|---|---:|---:|---|---:|---:|---:|---|",
    ]
    for i, rank in enumerate(ranks):
        by = {v: [res for res in results if res["variant"] == v] for v in VARIANTS}
        wall = {v: statistics.median(x["fits"][i]["wall_s"] for x in by[v]) for v in VARIANTS}
        cpu = {v: statistics.median(x["fits"][i]["cpu_s"] for x in by[v]) for v in VARIANTS}
        impl = {v: f"{by[v][0]['blas']} / {by[v][0]['lapack']}" for v in VARIANTS}
        loads = [x["fits"][i]["load"] for x in results]
        rows.append(
            f"| {rank} | {impl['java']} | {wall['java']:.1f} | {cpu['java']:.1f} "
            f"| {impl['native']} | {wall['native']:.1f} | {cpu['native']:.1f} "
            f"| {wall['java'] / wall['native']:.2f} | {min(loads):.1f}-{max(loads):.1f} |"
        )
    body = (
        "## Spark ALS: netlib's Java fallback against OpenBLAS\n\n"
        f"MovieLens-100k (943 users x 1,682 items, 100,000 pairs), implicit ALS, {args.iters} "
        f"iterations, `local[*]`; medians of {args.rounds} alternating rounds, each variant in its "
        "own Spark process after one untimed warm-up fit. JVM CPU s = CPU seconds of the JVM "
        "and its workers during the fit.\n\n" + "\n".join(rows) + "\n"
    )
    print(body)
    if not args.no_record:
        cmd = "python bench/bench_als_blas.py" + (
            f" --native-dir {args.native_dir}" if args.native_dir else ""
        )
        record("als-blas", body, cmd)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
