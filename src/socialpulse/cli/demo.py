"""``socialpulse demo``: the whole system end to end on the embedded default, then a summary.

Generate → train topics on the generated posts → process (Spark, sentiment, topics) → lake +
SQLite → ALS recommendations and their evaluation → the REST API on loopback, queried for real
over HTTP → a summary and where to look.

Topics are trained *before* processing, on the same validated, deduplicated posts the batch job
will store (``topics.jobs.train_from_posts``, what ``socialpulse topics train`` runs on the
lake), so the one processing pass already stores every post's topic. The other order (process,
``topics train``, then ``lake reprocess`` of each of the ~15 generated days) re-runs the whole
pipeline per day for the same result.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from socialpulse.cli.runtime import Runtime, stage_progress
from socialpulse.config import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def _out_console() -> Console:
    """stdout; piped output (CI logs, `make demo | tee`) gets a width the tables fit in."""
    return Console(width=None if Console().is_terminal else 120)


def demo(
    posts: Annotated[int, typer.Option(min=100, help="Posts to generate.")] = 10_000,
    users: Annotated[int, typer.Option(min=10, help="Users to generate.")] = 1_000,
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 42,
    keep: Annotated[
        bool, typer.Option(help="Keep an earlier demo's data instead of starting afresh.")
    ] = False,
    live: Annotated[
        bool,
        typer.Option(
            "--live",
            help="Real time instead: stand-in X → ingest → stream → API, trends moving "
            "until Ctrl-C.",
        ),
    ] = False,
    duration: Annotated[
        float, typer.Option(min=0, help="--live: stop after this many seconds (0 = Ctrl-C).")
    ] = 0.0,
    rate: Annotated[
        float, typer.Option(min=0.1, help="--live: posts per second the stand-in X releases.")
    ] = 20.0,
    refresh: Annotated[
        float, typer.Option(min=0.5, help="--live: seconds between table refreshes.")
    ] = 3.0,
) -> None:
    """Run every stage on generated data, query the API, print what happened and where to look.

    With ``--live``: the real-time path instead, a live table of trends read from the API.
    """
    console = _out_console()
    if live:
        from socialpulse.cli.demo_live import run_live

        run_live(console, duration, rate, refresh, keep)
        return
    from socialpulse.api.background import ServerThread
    from socialpulse.api.deps import build_app
    from socialpulse.generator import GeneratorConfig, generate
    from socialpulse.processing.batch_job import run_batch
    from socialpulse.recommend.job import run_evaluate, run_train

    rt = Runtime.for_demo("demo", keep)
    settings = rt.settings
    root = settings.storage.data_dir
    landing = root / "landing"
    lake = rt.lake
    started = time.perf_counter()

    with stage_progress() as progress:
        task = progress.add_task(f"generating {posts:,} posts", total=posts)
        if not (landing / "truth" / "manifest.json").exists():
            generate(
                GeneratorConfig(posts=posts, users=users, seed=seed),
                landing,
                on_progress=lambda n: progress.update(task, completed=n),
                overwrite=True,
            )
        progress.update(task, completed=posts, description=f"generated {posts:,} posts")

        stage = progress.add_task("starting Spark", total=None)

        def on_stage(s: str) -> None:
            progress.update(stage, description=s)

        store = rt.store()
        spark = rt.spark("socialpulse-demo")
        on_stage(f"training {settings.topics.model} topics on the generated posts")
        topics_started = time.perf_counter()
        topics_version = _train_topics(spark, landing, settings)
        topics_seconds = time.perf_counter() - topics_started
        report = run_batch(
            spark,
            str(landing),
            lake,
            store,
            rt.backend(),
            batch_size=settings.sentiment.batch_size,
            on_stage=on_stage,
            topics_model_dir=rt.topics_model_dir,
            aggregate_driver_rows=settings.spark.driver_aggregate_rows,
        )
        # The same parameters, policy and text embedder as `recommend train` and `evaluate`.
        parts = rt.recommend_parts()
        train = run_train(
            spark,
            lake,
            store,
            parts.params,
            settings.recommend.top_k,
            on_stage=on_stage,
            policy=parts.policy,
            embedder=parts.embedder,
        )
        on_stage("evaluating ALS against popularity (chronological split)")
        evaluation = run_evaluate(
            spark,
            lake,
            parts.params,
            k=10,
            test_fraction=0.2,
            policy=parts.policy,
            embedder=parts.embedder,
        )
        progress.update(stage, description="pipeline done")

    with (
        ServerThread(build_app(settings)) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        answers = _query_api(http, list(train.sample)[:3])
    rt.close()
    answers["topics_trained"] = (topics_version, topics_seconds)
    _print_summary(
        console, report.as_dict(), evaluation, answers, settings, time.perf_counter() - started
    )
    if not report.reconciles:
        raise typer.Exit(code=1)


def _train_topics(spark: SparkSession, landing: Path, settings: Settings) -> str:
    """Fit ``settings.topics.model`` on the landing's valid, distinct posts and make it the
    current model (``data_dir/models/topics``); returns its version."""
    from socialpulse.domain.columns import POSTS_DIR
    from socialpulse.processing import transforms as T
    from socialpulse.processing.batch_job import read_lines
    from socialpulse.topics.jobs import MODELS_SUBDIR, train_from_posts

    lines = read_lines(spark, str(landing / POSTS_DIR))
    posts = T.dedupe_posts(T.valid_posts(T.validate_posts(lines)))
    models = settings.storage.data_dir / MODELS_SUBDIR
    return train_from_posts(posts, settings.topics, models).name


def _safe_url(url: str) -> str:
    """The database URL with any password masked: summaries end up in logs."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _query_api(http: httpx.Client, users: list[str]) -> dict[str, Any]:
    """Ask the running API what a downstream user would ask; fail loudly on any error."""

    def get(path: str, **params: Any) -> Any:
        r = http.get(path, params=params)
        r.raise_for_status()
        return r.json()

    health = get("/health/ready")
    top = get("/v1/hashtags/top", limit=8)["items"]
    recs = {u: get(f"/v1/users/{u}/recommendations", limit=3)["items"] for u in users}
    trend = get(f"/v1/hashtags/{top[0]['hashtag']}/trend") if top else None
    topics = get("/v1/topics", limit=8)
    trending = get("/v1/topics/trending", limit=5)
    r = http.post(
        "/v1/analyze",
        json={"texts": ["I absolutely love this!", "Worst. Service. Ever.", "Meeting at 3pm."]},
    )
    r.raise_for_status()
    return {
        "health": health,
        "top": top,
        "recs": recs,
        "trend": trend,
        "topics": topics,
        "trending": trending,
        "analyze": r.json(),
    }


def _print_summary(
    console: Console,
    report: dict[str, Any],
    evaluation: Any,
    answers: dict[str, Any],
    settings: Settings,
    seconds: float,
) -> None:
    counts = Table(title="Records", show_header=False)
    for key in ("input_records", "stored", "quarantined", "duplicates", "already_stored"):
        counts.add_row(key.replace("_", " "), f"{report[key]:,}")
    counts.add_row("interactions stored", f"{report['interactions_stored']:,}")
    counts.add_row("interactions quarantined", f"{report['interactions_quarantined']:,}")
    counts.add_row("reconciles", "[green]yes[/green]" if report["reconciles"] else "[red]NO[/red]")

    labels = Table(title="Sentiment labels")
    labels.add_column("label")
    labels.add_column("posts", justify="right")
    for label, n in sorted(report["labels"].items()):
        labels.add_row(label, f"{n:,}")

    tags = Table(title="Top hashtags (via GET /v1/hashtags/top)")
    for col in ("hashtag", "posts", "neg", "neu", "pos", "mean score"):
        tags.add_column(col, justify="left" if col == "hashtag" else "right")
    for h in answers["top"]:
        tags.add_row(
            f"#{h['hashtag']}",
            str(h["n_posts"]),
            str(h["n_negative"]),
            str(h["n_neutral"]),
            str(h["n_positive"]),
            f"{h['mean_score']:+.3f}",
        )

    version, trained_s = answers["topics_trained"]
    trending = {t["topic_id"] for t in answers["trending"]["items"]}
    topics = Table(title=f"Topics of {version} (via GET /v1/topics; trained in {trained_s:.0f} s)")
    for col in ("id", "label", "posts", "neg", "neu", "pos", "mean score", "trending"):
        topics.add_column(col, justify="left" if col in ("label", "trending") else "right")
    for tp in answers["topics"]["items"]:
        topics.add_row(
            str(tp["topic_id"]),
            tp["label"],
            str(tp["n_posts"]),
            str(tp["n_negative"]),
            str(tp["n_neutral"]),
            str(tp["n_positive"]),
            f"{tp['mean_score']:+.3f}",
            "yes" if tp["topic_id"] in trending else "",
        )

    recs = Table(title="Recommendations (via GET /v1/users/{id}/recommendations)")
    for col in ("user", "rank", "post", "hashtags", "reason"):
        recs.add_column(col)
    for user, items in answers["recs"].items():
        for it in items:
            text = (it.get("text") or "")[:60]
            recs.add_row(user, str(it["rank"]), text, " ".join(it["hashtags"]), it["reason"] or "")

    quality = Table(title="Recommendation quality, held-out interactions (chronological split)")
    for col in ("algorithm", "precision@10", "recall@10", "NDCG@10", "coverage"):
        quality.add_column(col, justify="left" if col == "algorithm" else "right")
    for name, m in evaluation.metrics.items():
        quality.add_row(
            name, f"{m.precision:.4f}", f"{m.recall:.4f}", f"{m.ndcg:.4f}", f"{m.coverage:.4f}"
        )

    for table in (counts, labels, tags, topics, recs, quality):
        console.print(table)
    analyzed = ", ".join(f"{a['label']} ({a['score']:+.2f})" for a in answers["analyze"]["items"])
    console.print(f"POST /v1/analyze of three sample texts → {analyzed}")

    data = Path(settings.storage.data_dir)
    env = f"SOCIALPULSE_DATA_DIR={data} SOCIALPULSE_API_AUTH_ENABLED=false"
    console.print(
        Panel.fit(
            "\n".join(
                [
                    f"Finished in {seconds:.0f} s. Where to look:",
                    f"  database  {_safe_url(settings.storage.resolved_database_url)}",
                    f"  lake      {settings.storage.resolved_lake_uri}  (posts/, interactions/, "
                    "quarantine/ - Parquet)",
                    f"  input     {data / 'landing'}  (generated posts, interactions, truth/)",
                    # One short line each: rich wraps a long line inside the panel, and
                    # scripts (and the demo test) look for these phrases whole.
                    f"  topics    {data / 'models' / 'topics'}  (model {version})",
                    "            GET /v1/topics, /v1/topics/trending, /v1/topics/{id}",
                    "            GET /v1/users/{id}/topics",
                    "            the dashboard's Topics page (/topics)",
                    "Explore further:",
                    f"  {env} .venv/bin/socialpulse serve   → http://127.0.0.1:8000/docs",
                    "  .venv/bin/socialpulse dashboard → http://127.0.0.1:8501 (while serve runs;"
                    " Topics: http://127.0.0.1:8501/topics)",
                    f"  {env} .venv/bin/socialpulse topics show",
                    f"  refit: {env} .venv/bin/socialpulse topics train, then "
                    "lake reprocess --date D per day",
                    f"  {env} .venv/bin/socialpulse recommend evaluate",
                    "  .venv/bin/socialpulse --help",
                ]
            ),
            title="socialpulse demo",
        )
    )
