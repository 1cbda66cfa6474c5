"""``socialpulse cluster up/down/status``: a Spark standalone cluster on loopback, for trying out.

``up`` starts a master and workers in the background and prints the master URL to export;
every job then runs on it with ``SOCIALPULSE_SPARK_MASTER`` set to that URL, nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from socialpulse.cli.runtime import Runtime
from socialpulse.config import Settings

if TYPE_CHECKING:
    from socialpulse.cluster import ClusterState

cluster_app = typer.Typer(
    help="A Spark standalone cluster (master + workers) on 127.0.0.1.", no_args_is_help=True
)


def _root(settings: Settings, root: Path | None) -> Path:
    return (root or settings.storage.data_dir / "cluster").resolve()


def _recorded(root: Path | None) -> tuple[Path, ClusterState]:
    """The state file ``cluster up`` wrote under ``root`` and its content; exit 1 if none."""
    from socialpulse.cluster import STATE_FILE, ClusterState

    state_file = _root(Runtime().settings, root) / STATE_FILE
    if not state_file.exists():
        typer.echo(f"no cluster recorded in {state_file}", err=True)
        raise typer.Exit(code=1)
    return state_file, ClusterState.load(state_file)


@cluster_app.command()
def up(
    workers: Annotated[int, typer.Option(min=1, help="Worker daemons to start.")] = 2,
    cores: Annotated[int, typer.Option(min=1, help="Cores each worker offers.")] = 1,
    memory: Annotated[str, typer.Option(help="Memory each worker offers executors.")] = "1g",
    root: Annotated[
        Path | None, typer.Option(help="Logs and work dirs (default: data_dir/cluster).")
    ] = None,
) -> None:
    """Start a master and workers on loopback; wait until every worker has registered."""
    from socialpulse.cluster import STATE_FILE, ClusterConfig, ClusterError, LocalCluster

    folder = _root(Runtime().settings, root)
    state_file = folder / STATE_FILE
    if state_file.exists():
        typer.echo(f"a cluster is already recorded in {state_file}: run `cluster down`", err=True)
        raise typer.Exit(code=1)
    cluster = LocalCluster(ClusterConfig(folder, workers, cores, memory))
    try:
        cluster.start()
    except ClusterError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    cluster.state.save(state_file)
    typer.echo(f"master UI {cluster.web_url}, logs in {folder / 'logs'}", err=True)
    typer.echo(f"export SOCIALPULSE_SPARK_MASTER={cluster.master_url}")


@cluster_app.command()
def down(
    root: Annotated[
        Path | None, typer.Option(help="Folder given to `cluster up` (default: data_dir/cluster).")
    ] = None,
) -> None:
    """Stop the cluster started by ``cluster up`` (workers first, then the master)."""
    from socialpulse.cluster import stop_pids

    state_file, state = _recorded(root)
    stop_pids(list(reversed(state.pids)))
    state_file.unlink()
    typer.echo(f"stopped {state.master_url}", err=True)


@cluster_app.command()
def status(
    root: Annotated[
        Path | None, typer.Option(help="Folder given to `cluster up` (default: data_dir/cluster).")
    ] = None,
) -> None:
    """Print the master's view: URL, alive workers, cores, running applications."""
    from socialpulse.cluster import alive_workers, master_status

    _, state = _recorded(root)
    try:
        info = master_status(state.web_url)
    except OSError as exc:
        typer.echo(f"master at {state.web_url} does not answer: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    summary = {
        "master_url": state.master_url,
        "web_url": state.web_url,
        "alive_workers": alive_workers(info),
        "cores": info.get("cores"),
        "active_apps": [a.get("name") for a in info.get("activeapps", [])],
    }
    typer.echo(json.dumps(summary, indent=2))
