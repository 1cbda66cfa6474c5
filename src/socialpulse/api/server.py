"""uvicorn as ``serve`` and the loopback tests run it: timeouts and a connection cap.

uvicorn times out idle keep-alive connections, but not a request that is being sent: a client
that sends half its headers (or a body slower than it promised) holds its connection forever,
and a few hundred such clients exhaust the server. :class:`ReadTimeoutProtocol` gives every
request ``api_read_timeout_s`` from its first byte (or from the connection's opening) to its
last; past that the client gets a 408 and the connection is closed.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from socialpulse.config import Settings

_TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 24\r\n"
    b"connection: close\r\n\r\n"
    b"request not sent in time"
)


class ReadTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline on reading each request."""

    def __init__(self, *args: Any, read_timeout_s: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read_timeout_s = read_timeout_s
        self._read_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self._read_timer = self.loop.call_later(self.read_timeout_s, self._read_timed_out)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock: the first request must arrive within the timeout."""
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        """A request's first byte: its headers and body must follow within the timeout."""
        super().on_message_begin()
        self._arm()

    def on_message_complete(self) -> None:
        """The whole request is in: no more deadline (the app's time is not the client's)."""
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        """Drop the timer with the connection."""
        self._disarm()
        super().connection_lost(exc)

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if self.transport.is_closing():
            return
        if self.flow.read_paused:
            # Reading is paused because the app has not taken the body yet: not the client's
            # fault, so wait on.
            self._arm()
            return
        cycle = self.cycle
        if cycle is None or cycle.response_complete or not cycle.response_started:
            self.transport.write(_TIMED_OUT)
        if cycle is not None and not cycle.response_complete:
            # The app, if it waits on the body, sees the client gone and its answer is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of ``uvicorn.run``/``uvicorn.Config`` from the API settings."""
    api = settings.api
    return {
        # uvicorn calls this to make each connection's protocol; a partial of a module-level
        # class pickles, so `serve --workers N` hands it to its worker processes.
        "http": functools.partial(ReadTimeoutProtocol, read_timeout_s=api.read_timeout_s),
        "timeout_keep_alive": api.keep_alive_s,
        # Past this many open connections (or requests in flight) uvicorn answers 503.
        "limit_concurrency": api.limit_concurrency,
    }
