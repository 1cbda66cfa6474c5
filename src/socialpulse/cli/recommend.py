"""``socialpulse recommend ...``: the composition root of the recommendation commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from socialpulse.cli.progress import StageProgress
from socialpulse.cli.runtime import Runtime, err_console, print_error

if TYPE_CHECKING:
    from socialpulse.recommend.job import EvaluationReport

app = typer.Typer(help="Train, evaluate and run recommenders.", no_args_is_help=True)
SEGMENT_NOTES = {
    "cold users": "users with at most 3 training posts",
    "fresh posts": "held-out pairs on posts nobody engaged with before the cut",
}


@app.command()
def train(
    k: Annotated[int | None, typer.Option(help="List length (default: settings).")] = None,
    tune: Annotated[
        bool,
        typer.Option(help="Choose ALS rank/regParam/alpha on a validation split first."),
    ] = False,
) -> None:
    """Fit the hybrid recommender on the lake and persist every user's top-K with reasons."""
    from socialpulse.recommend.job import LakeMissingError, run_train

    with Runtime() as rt:
        rt.ensure_data_dir()
        store = rt.store()
        spark = rt.spark("socialpulse-recommend-train")
        parts = rt.recommend_parts()
        try:
            with StageProgress(err_console(), spark.sparkContext) as progress:
                report = run_train(
                    spark,
                    rt.lake,
                    store,
                    parts.params,
                    k or rt.settings.recommend.top_k,
                    on_stage=progress.stage,
                    policy=parts.policy,
                    tune=tune,
                    embedder=parts.embedder,
                )
        except LakeMissingError as exc:
            print_error(exc)
            raise typer.Exit(code=2) from exc
    typer.echo(json.dumps(report.as_dict(), indent=2))


@app.command()
def evaluate(
    k: Annotated[int, typer.Option(help="Cut-off of the ranking metrics.")] = 10,
    test_fraction: Annotated[
        float, typer.Option(help="Latest share of interactions held out.")
    ] = 0.2,
    tune: Annotated[
        bool, typer.Option(help="Tune ALS on a validation split of the train part first.")
    ] = False,
    split: Annotated[
        str,
        typer.Option(
            help="per-user (each user's latest share held out), global (a time cut), or both."
        ),
    ] = "both",
    ease: Annotated[
        bool,
        typer.Option(help="Add EASE (item-item, lambda = recommend_ease_reg) to the comparison."),
    ] = True,
    generated: Annotated[
        Path | None,
        typer.Option(
            help=(
                "Folder `socialpulse generate` wrote (its truth/ adds the oracle row);"
                " default: the landing folder of the settings."
            )
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead.")] = False,
) -> None:
    """Compare ALS, EASE, content-based, hybrid and popularity on chronological splits.

    On generated data an oracle row ranks by the planted truth (users' topic preferences x
    posts' topics): the headroom the other rows leave.

    Per split: users evaluated and held-out pairs, each algorithm's precision@k with a 95 %
    bootstrap interval over users, and the paired interval of its difference to the hybrid.
    """
    from socialpulse.recommend.ease import EaseModel
    from socialpulse.recommend.evaluation import SPLITS
    from socialpulse.recommend.job import (
        LakeMissingError,
        read_planted_truth,
        run_evaluate_splits,
    )

    if split not in (*SPLITS, "both"):
        raise typer.BadParameter(f"one of {', '.join(SPLITS)}, both", param_hint="--split")
    rt = Runtime()
    truth = read_planted_truth(generated or rt.settings.storage.resolved_landing_dir)
    spark = rt.spark("socialpulse-recommend-evaluate")
    parts = rt.recommend_parts()
    try:
        with err_console().status("evaluating on chronological splits"):
            reports = run_evaluate_splits(
                spark,
                rt.lake,
                parts.params,
                k,
                test_fraction,
                tune,
                parts.policy,
                parts.embedder,
                SPLITS if split == "both" else (split,),
                EaseModel(rt.settings.recommend.ease_reg, rt.settings.recommend.ease_max_items)
                if ease
                else None,
                truth,
            )
    except LakeMissingError as exc:
        print_error(exc)
        raise typer.Exit(code=2) from exc
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in reports], indent=2))
        return
    for report in reports:
        _print_evaluation(report, k, test_fraction)


def _print_evaluation(report: EvaluationReport, k: int, test_fraction: float) -> None:
    """One split's tables: metrics with intervals, then the segments."""
    how = {
        "per-user": f"each user's latest {test_fraction:.0%} held out",
        "global": f"global time cut, latest {test_fraction:.0%} held out",
    }.get(report.split, report.split)
    counts = report.counts
    table = Table(
        title=(
            f"Split {report.split} ({how}), k={k}: {counts.evaluated_users} users,"
            f" {counts.relevant_pairs} held-out pairs"
        )
    )
    ref = report.reference
    for col in (
        "algorithm",
        f"precision@{k}",
        "95% CI",
        f"Δ vs {ref} [95% CI]",
        f"recall@{k}",
        f"NDCG@{k}",
        f"MAP@{k}",
    ):
        table.add_column(col, justify="left" if col == "algorithm" else "right")
    table.add_column("coverage", justify="right")
    table.add_column("users", justify="right")
    for name, m in report.metrics.items():
        iv = report.intervals.get(name)
        diff = report.paired.get(name)
        table.add_row(
            name,
            f"{m.precision:.4f}",
            f"[{iv.low:.4f}, {iv.high:.4f}]" if iv else "",
            (f"{diff}{' *' if diff.excludes_zero else ''}" if diff else "—"),
            f"{m.recall:.4f}",
            f"{m.ndcg:.4f}",
            f"{m.map:.4f}",
            f"{m.coverage:.4f}",
            str(m.n_users),
        )
    Console().print(table)
    Console().print("* the paired interval excludes 0: a real difference at 95 %")
    if report.oracle_note:
        Console().print(report.oracle_note)
    for segment, by_algo in report.segments.items():
        seg = Table(title=f"Segment: {segment} ({SEGMENT_NOTES.get(segment, '')})")
        for col in ("algorithm", f"precision@{k}", f"recall@{k}", f"NDCG@{k}", "users"):
            seg.add_column(col, justify="left" if col == "algorithm" else "right")
        for name, m in by_algo.items():
            seg.add_row(
                name, f"{m.precision:.4f}", f"{m.recall:.4f}", f"{m.ndcg:.4f}", str(m.n_users)
            )
        Console().print(seg)
    Console().print(f"text embedding: {report.text_embedding}")
    Console().print(f"ALS parameters{' (tuned)' if report.tuning else ''}: {report.params}")
    Console().print(f"hybrid policy: {report.policy}")


@app.command("fit-predict")
def fit_predict(
    train_file: Annotated[
        Path, typer.Option("--train", help="CSV/TSV of user,item,weight[,timestamp].")
    ],
    k: Annotated[int, typer.Option("--k", min=1, help="Items per user.")],
    output: Annotated[Path, typer.Option("--output", help="CSV to write (user,item,rank,score).")],
) -> None:
    """Fit on a file and write the top-K unseen items of every user to a CSV.

    The model (ALS, or EASE / item-kNN past `recommend_ease_max_items` items; settings
    `recommend_fit_predict_model`) is chosen on a validation split carved from the file; the
    choice is printed on stderr.
    """
    from socialpulse.recommend.fit_predict import InteractionFileError, run_fit_predict

    if not train_file.is_file():
        raise typer.BadParameter(f"{train_file} is not a file", param_hint="--train")
    console = err_console()
    rt = Runtime()
    spark = rt.spark("socialpulse-recommend-fit-predict")
    section = rt.settings.recommend
    try:
        report = run_fit_predict(
            spark,
            train_file,
            output,
            k,
            rt.recommend_parts().params,
            model=section.fit_predict_model,
            ease_max_items=section.ease_max_items,
            on_choice=lambda line: console.print(line, highlight=False, soft_wrap=True),
            local_pairs=section.fit_predict_local_pairs,
        )
    except InteractionFileError as exc:
        print_error(exc)
        raise typer.Exit(code=2) from exc
    console.print(json.dumps(report.as_dict()))
