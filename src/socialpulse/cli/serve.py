"""``socialpulse serve``: the REST API under uvicorn (composition root for the API command)."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Annotated

import typer

from socialpulse.cli.runtime import Runtime


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default: settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: settings).")] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Worker processes (default: settings.api_workers)."),
    ] = None,
) -> None:
    """Serve the REST API (OpenAPI docs at /docs); loopback by default."""
    import uvicorn

    from socialpulse.api.deps import build_app
    from socialpulse.api.middleware import configure_json_logging
    from socialpulse.api.ratelimit import create_rate_limiter
    from socialpulse.api.server import uvicorn_options

    configure_json_logging()
    rt = Runtime()
    settings = rt.settings
    n_workers = workers or settings.api.workers
    bind_host, bind_port = host or settings.api.host, port or settings.api.port
    # Read and keep-alive timeouts and the connection cap (api_read_timeout_s and co).
    options = uvicorn_options(settings)
    # access_log off: the API writes its own structured access log with request ids.
    if n_workers == 1:
        uvicorn.run(
            build_app(settings), host=bind_host, port=bind_port, access_log=False, **options
        )
        return
    if settings.api.rate_limiter == "memory":
        typer.echo(
            f"warning: api_rate_limiter=memory counts per worker: a key gets up to {n_workers}x "
            "its limit; use sqlite to share the limit",
            err=True,
        )
    # Migrate once here, so that the workers, starting together, find the schema (and the
    # rate-limit file) ready instead of racing to create them.
    with rt:
        rt.store()
    create_rate_limiter(settings).close()  # the shared buckets file, made before the workers
    # Each worker imports the factory and builds its own app (store pool, caches) from the
    # same environment; rate limits are shared through api_rate_limiter=sqlite.
    # The workers inherit this and count their metrics into files here, which /metrics sums.
    metrics_dir = tempfile.mkdtemp(prefix="socialpulse-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        uvicorn.run(
            "socialpulse.api.deps:asgi_app",
            factory=True,
            workers=n_workers,
            host=bind_host,
            port=bind_port,
            access_log=False,
            **options,
        )
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
