"""``socialpulse generate``: write a synthetic data set with its planted ground truth."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from socialpulse.cli.runtime import err_console
from socialpulse.generator import GeneratorConfig
from socialpulse.generator import generate as run_generator

_DEFAULTS = GeneratorConfig(posts=0)


def _parse_end(value: str) -> datetime:
    try:
        end = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO-8601 time: {value!r}", param_hint="--end") from exc
    end = end.replace(tzinfo=UTC) if end.tzinfo is None else end.astimezone(UTC)
    if end > datetime.now(UTC):
        # The pipeline quarantines posts from the future, so a future period would be all bad.
        raise typer.BadParameter(f"{value} is in the future", param_hint="--end")
    return end


def generate(
    out: Annotated[
        Path, typer.Option("--out", help="Folder to write posts/, interactions/, truth/.")
    ],
    posts: Annotated[int, typer.Option("--posts", min=0, help="Post lines to write.")] = 10_000,
    users: Annotated[int, typer.Option("--users", min=2, help="Number of users.")] = 1_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same bytes).")] = 42,
    malformed_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of malformed post lines.")
    ] = _DEFAULTS.malformed_rate,
    duplicate_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of re-delivered (duplicate) posts.")
    ] = _DEFAULTS.duplicate_rate,
    retweet_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of retweets.")
    ] = _DEFAULTS.retweet_rate,
    interactions_per_post: Annotated[
        float, typer.Option(min=0.0, help="Mean interactions per post line.")
    ] = _DEFAULTS.interactions_per_post,
    interaction_malformed_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of malformed interaction lines.")
    ] = _DEFAULTS.interaction_malformed_rate,
    interaction_noise: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of interactions off users' tastes.")
    ] = _DEFAULTS.interaction_noise,
    appeal_exponent: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=4.0,
            help="Interactions pick a topic's posts in proportion to (likes + 1) ** this; "
            "0 picks uniformly.",
        ),
    ] = _DEFAULTS.appeal_exponent,
    topics: Annotated[
        int, typer.Option(min=1, help="Number of latent topics (at most 42).")
    ] = _DEFAULTS.topics,
    days: Annotated[float, typer.Option(help="Length of the period, in days.")] = _DEFAULTS.days,
    end: Annotated[
        str, typer.Option(help="End of the period, ISO-8601 UTC.")
    ] = _DEFAULTS.end.isoformat(),
    lines_per_file: Annotated[
        int, typer.Option(min=1, help="Lines per part file before rolling to the next.")
    ] = _DEFAULTS.lines_per_file,
    force: Annotated[
        bool, typer.Option("--force", help="Replace posts/, interactions/, truth/ if present.")
    ] = False,
) -> None:
    """Generate synthetic posts, interactions and the planted ground truth (users, labels)."""
    try:
        config = GeneratorConfig(
            posts=posts,
            users=users,
            seed=seed,
            malformed_rate=malformed_rate,
            duplicate_rate=duplicate_rate,
            retweet_rate=retweet_rate,
            interactions_per_post=interactions_per_post,
            interaction_malformed_rate=interaction_malformed_rate,
            interaction_noise=interaction_noise,
            appeal_exponent=appeal_exponent,
            topics=topics,
            days=days,
            end=_parse_end(end),
            lines_per_file=lines_per_file,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    progress = Progress(
        TextColumn("generating posts"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console(),
    )
    with progress:
        task = progress.add_task("posts", total=posts)
        try:
            manifest = run_generator(
                config,
                out,
                on_progress=lambda done: progress.update(task, completed=done),
                overwrite=force,
            )
        except FileExistsError as exc:
            raise typer.BadParameter(str(exc), param_hint="--out") from exc
    typer.echo(json.dumps(manifest["counts"], indent=2))
