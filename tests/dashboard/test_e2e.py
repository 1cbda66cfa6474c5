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
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.dashboard.cdp import Browser
from tests.dashboard.conftest import DashboardApi

pytestmark = pytest.mark.slow

DOCS_SHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "dashboard.png"

# Per Vega canvas, the pixels that are clearly coloured (marks), not white, grey axes or text.
_COLOURED_PIXELS = """
Array.from(document.querySelectorAll('.vega-embed canvas')).map((c) => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) {
    const hi = Math.max(d[i], d[i + 1], d[i + 2]), lo = Math.min(d[i], d[i + 1], d[i + 2]);
    if (d[i + 3] > 0 && hi - lo > 60) n++;
  }
  return n;
})
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def dashboard_url(
    pipeline_api: DashboardApi, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """``socialpulse dashboard`` serving on a loopback port, reading the pipeline's API."""
    port = _free_port()
    cli = Path(sys.executable).with_name("socialpulse")
    env = {**os.environ, "SOCIALPULSE_DASHBOARD_API_KEY": pipeline_api.read_key}
    log = tmp_path_factory.mktemp("dashboard-log") / "streamlit.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(cli), "dashboard", "--api-url", pipeline_api.base_url, "--port", str(port)],
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


def _open(browser: Browser, url: str, title: str, charts: int) -> list[int]:
    """Open a page; wait for its title and ``charts`` charts with marks painted; pixels each."""
    browser.navigate(url)
    browser.wait_for(
        f"Array.from(document.querySelectorAll('h1')).some(h => h.textContent.includes({title!r}))"
    )
    painted: list[int] = browser.wait_for(
        f"(() => {{ const n = {_COLOURED_PIXELS}; "
        f"return n.filter(x => x > 200).length >= {charts} ? n : null; }})()"
    )
    return painted


def _assert_no_errors(dom: str) -> None:
    assert 'data-testid="stException"' not in dom
    assert "The API is not answering" not in dom
    assert "refused the dashboard" not in dom


def test_dashboard_renders_charts_with_data(dashboard_url: str) -> None:
    with Browser(width=1400, height=1500) as browser:
        painted = _open(browser, f"{dashboard_url}/", "Sentiment over time", charts=4)
        time.sleep(1)  # let the last chart finish its transition before the picture
        dom = browser.dom()
        png = browser.screenshot()
        _assert_no_errors(dom)
        assert dom.count('class="vega-embed') >= 4
        assert len(painted) >= 4

        image = Image.open(io.BytesIO(png)).convert("RGB")
        assert image.size == (1400, 1500)
        colours = image.getcolors(maxcolors=1 << 20) or []
        assert len(colours) > 500, "the screenshot is (nearly) blank"

        def near(rgb: object, target: tuple[int, int, int]) -> bool:
            assert isinstance(rgb, tuple)
            return sum(abs(int(a) - b) for a, b in zip(rgb, target, strict=True)) < 40

        # Both ends of the sentiment scale are drawn (charts.LABEL_COLOURS).
        for target in ((0xD1, 0x49, 0x5B), (0x2E, 0x9E, 0x5B)):
            assert sum(n for n, rgb in colours if near(rgb, target)) > 500, target

        if os.environ.get("SOCIALPULSE_UPDATE_SCREENSHOT"):
            DOCS_SHOT.parent.mkdir(parents=True, exist_ok=True)
            small = image.resize((1050, 1125)).quantize(colors=128, method=Image.Quantize.MEDIANCUT)
            small.save(DOCS_SHOT, optimize=True)
            assert DOCS_SHOT.stat().st_size < 300_000

        # The user and health pages, through the sidebar's URLs.
        _open(browser, f"{dashboard_url}/user", "User", charts=3)
        dom = browser.dom()
        _assert_no_errors(dom)
        assert 'data-testid="stDataFrame"' in dom  # recommendations with reasons
        _open(browser, f"{dashboard_url}/health", "Pipeline health", charts=1)
        dom = browser.dom()
        _assert_no_errors(dom)
        assert "No stream running" in dom
