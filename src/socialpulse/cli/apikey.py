"""``socialpulse apikey create|revoke|list``: manage the REST API's keys in the database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from socialpulse.config import Settings
from socialpulse.storage.base import Store, create_store

apikey_app = typer.Typer(help="Create, revoke and list REST API keys.", no_args_is_help=True)


def _store(settings: Settings) -> Store:

    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = create_store(settings.resolved_database_url)
    store.create_schema()
    return store


@apikey_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="Who or what the key is for.")],
    scope: Annotated[
        list[str], typer.Option(help="read (data, analyze) or admin (also key management).")
    ] = ["read"],  # noqa: B006 - typer reads the default, never mutates it
) -> None:
    """Make a key and print it once; only its hash is stored."""
    from socialpulse.api.auth import Scope, make_key

    try:
        scopes = [Scope(s) for s in scope]
    except ValueError:
        raise typer.BadParameter(
            f"scopes are read or admin, got {scope}", param_hint="--scope"
        ) from None
    store = _store(Settings())
    try:
        new = make_key(name, scopes)
        store.add_api_key(new.row)
    finally:
        store.close()
    typer.echo(f"key id: {new.key_id}", err=True)
    typer.echo("store it now; it cannot be shown again:", err=True)
    typer.echo(new.secret_key)


@apikey_app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="The key id (from `list`).")]) -> None:
    """Revoke a key; running APIs refuse it within ``api_key_cache_seconds``."""
    store = _store(Settings())
    try:
        done = store.revoke_api_key(key_id, datetime.now(UTC))
    finally:
        store.close()
    if not done:
        typer.echo(f"no active key {key_id!r}", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"revoked {key_id}")


@apikey_app.command("list")
def list_keys() -> None:
    """List keys as JSON lines (id, name, scopes, created, revoked); never secrets."""
    store = _store(Settings())
    try:
        rows = store.api_keys()
    finally:
        store.close()
    for row in rows:
        public = {k: v for k, v in row.items() if k != "key_hash"}
        typer.echo(json.dumps(public, default=str))
