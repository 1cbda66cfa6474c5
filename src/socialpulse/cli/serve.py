"""``socialpulse serve``: the REST API under uvicorn (composition root for the API command)."""

from __future__ import annotations

from typing import Annotated

import typer

from socialpulse.config import Settings


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default: settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: settings).")] = None,
) -> None:
    """Serve the REST API (OpenAPI docs at /docs); loopback by default."""
    import uvicorn

    from socialpulse.api.deps import build_app
    from socialpulse.api.middleware import configure_json_logging

    configure_json_logging()
    settings = Settings()
    app = build_app(settings)
    # access_log off: the API writes its own structured access log with request ids.
    uvicorn.run(
        app, host=host or settings.api_host, port=port or settings.api_port, access_log=False
    )
