"""``socialpulse db``: schema migrations and lake-versus-database reconciliation.

A composition root: it builds the store and (for reconcile) the Spark session from settings.
Schema work goes through the store's own methods: how a store versions its schema (Alembic,
for the SQL store) is the store's business.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from socialpulse.cli.runtime import Runtime, err_console

app = typer.Typer(help="The serving database: migrations and reconciliation.", no_args_is_help=True)


@app.command()
def upgrade(
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Migrate the database (SOCIALPULSE_DATABASE_URL, default SQLite in data_dir) to a revision."""
    with Runtime() as rt:
        store = rt.store(schema=False)
        before = store.schema_revision().current
        store.create_schema(revision)
        after = store.schema_revision().current
    typer.echo(json.dumps({"from": before, "to": after}))


@app.command()
def current() -> None:
    """Print the database's revision and the newest one available."""
    with Runtime() as rt:
        rev = rt.store(schema=False).schema_revision()
    typer.echo(json.dumps({"current": rev.current, "head": rev.head}))
    if rev.current != rev.head:
        raise typer.Exit(code=1)


@app.command()
def reconcile() -> None:
    """Compare posts per day in the lake with the database; exit 1 on any mismatch."""
    from socialpulse.storage.lake_jobs import lake_post_counts_by_day, reconcile_counts

    rt = Runtime()
    with rt:
        db_counts = rt.store(schema=False).post_counts_by_day()
    lake_counts = lake_post_counts_by_day(rt.spark("socialpulse-reconcile"), rt.lake.posts)
    days = reconcile_counts(lake_counts, db_counts)
    table = Table("day", "lake", "database", "status", title="posts per day")
    for d in days:
        table.add_row(d.day.isoformat(), str(d.lake), str(d.database), "ok" if d.ok else "MISMATCH")
    err_console().print(table)
    bad = [d for d in days if not d.ok]
    typer.echo(
        json.dumps(
            {
                "days": len(days),
                "mismatched_days": [d.day.isoformat() for d in bad],
                "lake_posts": sum(lake_counts.values()),
                "database_posts": sum(db_counts.values()),
            }
        )
    )
    if bad:
        raise typer.Exit(code=1)
