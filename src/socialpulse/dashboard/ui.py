"""What every page shares: its options, and turning API failures into plain messages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import streamlit as st

from socialpulse.dashboard.client import (
    ApiAuthError,
    ApiError,
    ApiNotFoundError,
    ApiUnavailableError,
)

T = TypeVar("T")


@dataclass(frozen=True)
class PageOptions:
    """Settings a page needs besides the API client."""

    refresh_s: float = 15.0
    """Seconds between live refreshes; pages offer a toggle to pause them."""


def explain(exc: ApiError) -> None:
    """Show ``exc`` as a message a person can act on (never a traceback)."""
    if isinstance(exc, ApiUnavailableError):
        st.error(
            f"**The API is not answering.** {exc.message}.  \n"
            "Start it with `socialpulse serve`, or point the dashboard at it with "
            "`socialpulse dashboard --api-url URL`.",
            icon=":material/power_off:",
        )
    elif isinstance(exc, ApiAuthError):
        st.error(
            f"**The API refused the dashboard's key** (HTTP {exc.status}: {exc.message}).  \n"
            "Make one with `socialpulse apikey create --name dashboard` and start the dashboard "
            "with `SOCIALPULSE_DASHBOARD_API_KEY` set to it.",
            icon=":material/key_off:",
        )
    elif isinstance(exc, ApiNotFoundError):
        st.warning(exc.message, icon=":material/search_off:")
    else:
        status = f"HTTP {exc.status}: " if exc.status else ""
        st.error(
            f"**The API answered with an error.** {status}{exc.message}", icon=":material/error:"
        )


def fetch(call: Callable[[], T]) -> T | None:
    """``call()``, or None after explaining its :class:`ApiError` on the page."""
    try:
        return call()
    except ApiError as exc:
        explain(exc)
        return None


def live_toggle(key: str, options: PageOptions) -> float | None:
    """A 'live' switch; the refresh interval in seconds while on, else None."""
    on = st.toggle(
        f"Live refresh (every {options.refresh_s:g} s)",
        value=True,
        key=key,
        help="Re-reads the API on a timer; set the interval with --refresh.",
    )
    return options.refresh_s if on else None
