"""``sentiment serve``: run the project's inference server (the composition root for it).

``serve`` is a plain typer command function, mounted with ``group.command("serve")(serve)``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from socialpulse.cli.runtime import Runtime


def serve(
    backend: Annotated[
        str | None, typer.Option(help="Local sentiment backend to serve (default: settings).")
    ] = None,
    model_id: Annotated[
        str | None,
        typer.Option("--model-id", help="Model id clients ask for (default: the backend name)."),
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="Bind address (default: loopback, from settings).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: settings).")] = None,
) -> None:
    """Serve a local backend over the Hugging Face Inference API protocol (POST /models/ID)."""
    import uvicorn

    from socialpulse.sentiment.base import create_backend
    from socialpulse.sentiment.server import create_app

    settings = Runtime().settings
    name = backend or settings.sentiment.backend
    if name == "hf-api":
        raise typer.BadParameter("serve a local backend, not hf-api", param_hint="--backend")
    app = create_app(
        create_backend(name, settings),
        model_id=model_id,
        max_inputs=settings.sentiment.serve_max_inputs,
        max_text_chars=settings.api.max_text_chars,
    )
    uvicorn.run(
        app,
        host=host or settings.sentiment.serve_host,
        port=port or settings.sentiment.serve_port,
        log_level="warning",
    )
