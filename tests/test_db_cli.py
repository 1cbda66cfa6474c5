"""``socialpulse db upgrade`` / ``db current`` on SQLite and PostgreSQL, set by the DSN only."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from socialpulse.cli.main import app
from socialpulse.config import Settings
from socialpulse.storage.sql import migrate


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_db_upgrade_and_current(
    backend: str, settings: Settings, request: pytest.FixtureRequest
) -> None:
    env = {"SOCIALPULSE_DATA_DIR": str(settings.storage.data_dir)}
    if backend == "postgresql":
        env["SOCIALPULSE_DATABASE_URL"] = str(request.getfixturevalue("postgres_url"))
    runner = CliRunner()
    behind = runner.invoke(app, ["db", "current"], env=env)
    assert behind.exit_code == 1  # nothing migrated yet
    assert json.loads(behind.stdout)["current"] is None

    first = runner.invoke(app, ["db", "upgrade", "--revision", "0001"], env=env)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == {"from": None, "to": "0001"}
    up = runner.invoke(app, ["db", "upgrade"], env=env)
    assert json.loads(up.stdout) == {"from": "0001", "to": migrate.head_revision()}

    now = runner.invoke(app, ["db", "current"], env=env)
    assert now.exit_code == 0, now.output
    assert json.loads(now.stdout)["current"] == migrate.head_revision()
