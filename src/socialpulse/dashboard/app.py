"""The dashboard's Streamlit script and composition root (``streamlit run`` executes this file).

Settings come from the environment (``SOCIALPULSE_DASHBOARD_API_URL``, ``..._API_KEY``,
``..._REFRESH_S``), which ``socialpulse dashboard`` sets for the Streamlit process it starts.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import streamlit as st

from socialpulse.config import Settings
from socialpulse.dashboard.client import ApiClient, connect
from socialpulse.dashboard.ui import PageOptions
from socialpulse.dashboard.views import health, top_posts, topics, trends, user

PAGES: dict[str, tuple[ModuleType, str]] = {
    # Material icons ship with Streamlit's frontend; emoji need a font many servers lack.
    "trends": (trends, ":material/show_chart:"),
    "top-posts": (top_posts, ":material/format_list_numbered:"),
    "user": (user, ":material/person:"),
    "topics": (topics, ":material/topic:"),
    "health": (health, ":material/monitor_heart:"),
}


@st.cache_resource(show_spinner=False)
def _client(base_url: str, api_key: str | None, timeout_s: float) -> ApiClient:
    # One pooled client per (URL, key) for the server process: Streamlit reruns the script on
    # every interaction, and live fragments keep calling the client between full reruns.
    return connect(base_url, api_key, timeout_s)


def _page(module: ModuleType, api: ApiClient, options: PageOptions) -> Callable[[], None]:
    def draw() -> None:
        module.render(api, options)

    return draw


def run_page(name: str, base_url: str, api_key: str | None, refresh_s: float = 15.0) -> None:
    """Draw one page against the API at ``base_url`` (what tests and single-page embeds use)."""
    module, _icon = PAGES[name]
    module.render(_client(base_url, api_key, 10.0), PageOptions(refresh_s=refresh_s))


def main(settings: Settings) -> None:
    """Every page behind a sidebar navigation, reading the API configured in ``settings``."""
    st.set_page_config(page_title="socialpulse", page_icon=":material/insights:", layout="wide")
    key = settings.dashboard.api_key.get_secret_value() if settings.dashboard.api_key else None
    options = PageOptions(refresh_s=settings.dashboard.refresh_s)
    api = _client(settings.dashboard.api_url, key, settings.dashboard.timeout_s)
    pages = [
        st.Page(
            _page(module, api, options),
            title=module.TITLE,
            icon=icon,
            url_path=path,
            default=path == "trends",
        )
        for path, (module, icon) in PAGES.items()
    ]
    nav = st.navigation(pages)
    st.sidebar.caption(f"API: {api.base_url}")
    nav.run()


if __name__ == "__main__":
    main(Settings())
