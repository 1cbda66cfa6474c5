"""The import rules of docs/ARCHITECTURE.md hold (import-linter contracts in ``.importlinter``)
and no source file grows past the size where it starts doing several jobs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Past ~450 lines a module has, in this code base, always been doing more than one job.
MAX_LINES = 460


def test_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--config", str(ROOT / ".importlinter"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout
    assert "Contracts: 4 kept, 0 broken." in result.stdout


def test_no_source_file_is_oversized() -> None:
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in (ROOT / "src" / "socialpulse").rglob("*.py")
    }
    assert len(sizes) > 100
    oversized = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert oversized == {}
