"""Running one dashboard page in Streamlit's AppTest, and reading what it drew."""

from __future__ import annotations

import json
from typing import Any

from streamlit.testing.v1 import AppTest


def _script(page: str, base_url: str, api_key: str | None) -> None:
    # AppTest runs this function's source as the page script: imports must live inside it.
    from socialpulse.dashboard.app import run_page

    run_page(page, base_url, api_key)


def page_test(page: str, base_url: str, api_key: str | None) -> AppTest:
    """An AppTest of ``page`` reading the API at ``base_url``, already run once."""
    at = AppTest.from_function(_script, args=(page, base_url, api_key), default_timeout=30)
    return at.run()


def vega_specs(at: AppTest) -> list[dict[str, Any]]:
    """Every Vega-Lite chart on the page: its spec with the data sets inlined as records."""
    specs = []
    for element in at.get("vega_lite_chart"):
        proto = element.proto
        spec = json.loads(proto.spec)
        spec["_datasets"] = {d.name: _rows(d.data.data) for d in proto.datasets}
        if proto.HasField("data"):
            spec["_datasets"][""] = _rows(proto.data.data)
        specs.append(spec)
    return specs


def _rows(arrow_bytes: bytes) -> list[dict[str, Any]]:
    import pyarrow as pa

    if not arrow_bytes:
        return []
    rows: list[dict[str, Any]] = pa.ipc.open_stream(arrow_bytes).read_all().to_pylist()
    return rows


def texts(at: AppTest, kind: str) -> list[str]:
    """The bodies of every ``kind`` element (error, warning, info, success)."""
    return [str(getattr(e, "value", "")) for e in at.get(kind)]


def metrics(at: AppTest) -> dict[str, str]:
    """Metric label → shown value."""
    return {m.label: m.value for m in at.metric}
