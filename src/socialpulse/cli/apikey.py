"""``socialpulse apikey create|revoke|list``: manage the REST API's keys in the database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from socialpulse.cli.runtime import Runtime

apikey_app = typer.Typer(help="Create, revoke and list REST API keys.", no_args_is_help=True)


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
    with Runtime() as rt:
        new = make_key(name, scopes)
        rt.store().add_api_key(new.row)
    typer.echo(f"key id: {new.key_id}", err=True)
    typer.echo("store it now; it cannot be shown again:", err=True)
    typer.echo(new.secret_key)


@apikey_app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="The key id (from `list`).")]) -> None:
    """Revoke a key; running APIs refuse it within ``api_key_cache_seconds``."""
    with Runtime() as rt:
        done = rt.store().revoke_api_key(key_id, datetime.now(UTC))
    if not done:
        typer.echo(f"no active key {key_id!r}", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"revoked {key_id}")


@apikey_app.command("list")
def list_keys() -> None:
    """List keys as JSON lines (id, name, scopes, created, revoked); never secrets."""
    with Runtime() as rt:
        rows = rt.store().api_keys()
    for row in rows:
        public = {k: v for k, v in row.items() if k != "key_hash"}
        typer.echo(json.dumps(public, default=str))
