"""``socialpulse dashboard``: the Streamlit dashboard, reading a running REST API."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from socialpulse.cli.runtime import Runtime


def streamlit_command(host: str, port: int) -> list[str]:
    """The ``streamlit run`` command line of the dashboard script (headless, no telemetry)."""
    from socialpulse.dashboard import app

    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        app.__file__,
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "minimal",
        # A blue accent: Streamlit's default red would read as "negative" next to the charts.
        "--theme.primaryColor",
        "#3b6ea5",
    ]


def dashboard(
    api_url: Annotated[
        str | None, typer.Option(help="Base URL of the REST API (default: settings).")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Bind address (default: settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: settings).")] = None,
    refresh: Annotated[
        float | None, typer.Option(min=1, help="Seconds between live refreshes.")
    ] = None,
) -> None:
    """Serve the dashboard (Streamlit); its API key comes from SOCIALPULSE_DASHBOARD_API_KEY."""
    settings = Runtime().settings
    env = dict(os.environ)
    # The Streamlit process builds its own Settings from the environment; the key stays in the
    # environment (never on a command line, where `ps` would show it).
    env["SOCIALPULSE_DASHBOARD_API_URL"] = api_url or settings.dashboard.api_url
    env["SOCIALPULSE_DASHBOARD_REFRESH_S"] = str(refresh or settings.dashboard.refresh_s)
    host = host or settings.dashboard.host
    port = port or settings.dashboard.port
    typer.echo(
        f"dashboard on http://{host}:{port} reading {env['SOCIALPULSE_DASHBOARD_API_URL']}",
        err=True,
    )
    command = streamlit_command(host, port)
    # Become the Streamlit server (exec, not a child process): signals from a terminal or a
    # supervisor reach it directly, and stopping this command leaves no orphan behind.
    os.execve(command[0], command, env)
