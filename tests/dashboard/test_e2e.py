"""End to end: ``socialpulse dashboard`` against a live API, looked at by headless Chromium.

Set SOCIALPULSE_UPDATE_SCREENSHOT=1 to also write the trends page to docs/img/dashboard.png.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from PIL import Image

from socialpulse.dashboard.charts import AREA_OPACITY, LABEL_COLOURS, LABEL_ORDER
from tests.dashboard.cdp import Browser
from tests.dashboard.conftest import DashboardApi

pytestmark = pytest.mark.slow

DOCS_SHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "dashboard.png"

# Per Vega chart (Streamlit renders them as SVG), the drawn data marks: lines, areas, bars,
# arcs and points are paths in groups of role "mark" (axes, legends and titles have other roles).
_DATA_MARKS = """
Array.from(document.querySelectorAll('.vega-embed svg')).map(
  (svg) => svg.querySelectorAll('g.role-mark path[d]:not([d=""])').length
)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextmanager
def serve_dashboard(api: DashboardApi, log_dir: Path) -> Iterator[str]:
    """``socialpulse dashboard`` serving on a loopback port, reading ``api``; yields its URL."""
    port = _free_port()
    cli = Path(sys.executable).with_name("socialpulse")
    env = {**os.environ, "SOCIALPULSE_DASHBOARD_API_KEY": api.read_key}
    log = log_dir / "streamlit.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(cli), "dashboard", "--api-url", api.base_url, "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=2).text == "ok":
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the dashboard did not start:\n{log.read_text()}", pytrace=False)
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def dashboard_url(
    pipeline_api: DashboardApi, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """``socialpulse dashboard`` serving on a loopback port, reading the pipeline's API."""
    with serve_dashboard(pipeline_api, tmp_path_factory.mktemp("dashboard-log")) as url:
        yield url


def _open(browser: Browser, url: str, title: str, charts: int) -> list[int]:
    """Open a page; wait for its title and ``charts`` charts with data marks; marks per chart."""
    browser.navigate(url)
    browser.wait_for(
        f"Array.from(document.querySelectorAll('h1')).some(h => h.textContent.includes({title!r}))"
    )
    painted: list[int] = browser.wait_for(
        f"(() => {{ const n = {_DATA_MARKS}; "
        f"return n.filter(x => x >= 3).length >= {charts} ? n : null; }})()"
    )
    return painted


def _assert_no_errors(dom: str) -> None:
    assert 'data-testid="stException"' not in dom
    assert "The API is not answering" not in dom
    assert "refused the dashboard" not in dom


def test_dashboard_renders_charts_with_data(dashboard_url: str) -> None:
    with Browser(width=1400, height=1500) as browser:
        marks = _open(browser, f"{dashboard_url}/", "Sentiment over time", charts=4)
        time.sleep(1)  # let the last chart finish its transition before the picture
        dom = browser.dom()
        png = browser.screenshot()
        _assert_no_errors(dom)
        assert dom.count('role="graphics-document"') >= 4  # one per Vega chart
        assert len(marks) >= 4
        assert sum(marks) >= 3 * 4 + 20  # 3 areas of 3 labels, lines with their points

        image = Image.open(io.BytesIO(png)).convert("RGB")
        assert image.size == (1400, 1500)
        colours = image.getcolors(maxcolors=1 << 20) or []
        assert len(colours) > 500, "the screenshot is (nearly) blank"

        def near(rgb: object, target: tuple[int, int, int]) -> bool:
            assert isinstance(rgb, tuple)
            return sum(abs(int(a) - b) for a, b in zip(rgb, target, strict=True)) < 30

        # Both ends of the sentiment scale are drawn: the label colours over white, as the
        # stacked areas blend them.
        for label in ("negative", "positive"):
            hex_colour = LABEL_COLOURS[LABEL_ORDER.index(label)]
            rgb = [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]
            a = AREA_OPACITY
            target = (*(round(a * c + (1 - a) * 255) for c in rgb),)
            assert len(target) == 3
            assert sum(n for n, px in colours if near(px, target)) > 100, (label, target)

        if os.environ.get("SOCIALPULSE_UPDATE_SCREENSHOT"):
            DOCS_SHOT.parent.mkdir(parents=True, exist_ok=True)
            # The page's top 1,100 px hold the charts; below is empty viewport.
            small = image.crop((0, 0, 1400, 1100)).resize((1050, 825), Image.Resampling.LANCZOS)
            small.save(DOCS_SHOT, optimize=True)
            assert DOCS_SHOT.stat().st_size < 300_000

        # The user and health pages, through the sidebar's URLs.
        _open(browser, f"{dashboard_url}/user", "User", charts=3)
        # The recommendations grid, with its accessible cells (row 1 is the first data row).
        browser.wait_for("document.querySelector('[data-testid=\"glide-cell-1-1\"]') !== null")
        dom = browser.dom()
        _assert_no_errors(dom)
        assert 'data-testid="stDataFrame"' in dom
        _open(browser, f"{dashboard_url}/health", "Pipeline health", charts=1)
        # No stream in this test: the page says so (in its last element) instead of failing.
        browser.wait_for("document.body.innerText.includes('No stream running')")
        _assert_no_errors(browser.dom())
