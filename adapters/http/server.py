"""Running the API on uvicorn, with the propagator keeping this process's config current.

SIGTERM and SIGINT make uvicorn stop accepting connections and finish the requests in flight
(up to ``GRACE_SECONDS``) before the store is closed. uvicorn re-raises the signal once it has
shut down, to let the default behaviour happen; :func:`serve_until_signalled` installs handlers
that only stop the server first, so that re-raise does not kill the process before the store
is closed.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Callable
from typing import Final

import structlog
import uvicorn

from adapters.http.app import ApiSettings, create_app
from adapters.propagation.propagator import Propagator
from adapters.service import ConfigService

GRACE_SECONDS: Final = 30
_log = structlog.get_logger("parako-config.api")
DEFAULT_PORT: Final = 9007
#: how often a serving process re-verifies the whole log in the background
VERIFY_SECONDS: Final = 300.0


class ApiServer:
    """One uvicorn server in front of ``service``; ``stop()`` is safe from any thread."""

    def __init__(
        self,
        service: ConfigService,
        host: str,
        port: int,
        *,
        settings: ApiSettings | None = None,
        poll_interval: float = 30.0,
        verify_interval: float = VERIFY_SECONDS,
    ) -> None:
        self._service = service
        self._poll_interval = poll_interval
        self._verify_interval = verify_interval
        app = create_app(service, settings)
        self._context = app.context
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            http="httptools",  # a declared dependency; uvicorn would fall back to h11 silently
            access_log=False,  # the app logs each request with its request id
            lifespan="off",
            timeout_graceful_shutdown=GRACE_SECONDS,
            server_header=False,
        )
        self.server = uvicorn.Server(config)

    @property
    def started(self) -> bool:
        return self.server.started

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        """Serve until stopped; ``sockets`` already bound (tests bind port 0 to avoid races)."""
        streams = asyncio.create_task(self._end_streams_when_stopping(), name="end-streams")
        try:
            if self._service.file_mode:
                await self.server.serve(sockets)
                return
            async with Propagator(self._service, poll_interval=self._poll_interval):
                check = asyncio.create_task(self._verify_periodically(), name="verify")
                try:
                    await self.server.serve(sockets)
                finally:
                    check.cancel()
        finally:
            streams.cancel()

    async def _end_streams_when_stopping(self) -> None:
        """Watch streams never finish by themselves: once a stop is asked for, end them, so
        the graceful shutdown waits for real requests only."""
        while not self.server.should_exit:
            await asyncio.sleep(0.1)
        await self._context.close_streams()

    async def _verify_periodically(self) -> None:
        """The whole log, checked in the background at start and every ``verify_interval``
        seconds: catch-ups verify what they read, this finds an edit of older history (and
        health reports it). One pass costs about a second per 100,000 events."""
        while True:
            try:
                report = await self._service.verify_in_background()
            except Exception as exc:  # the store is down: the catch-ups report it
                _log.warning("background verification did not run", error=type(exc).__name__)
            else:
                if not report.ok:
                    return  # recorded; the process now refuses writes until restarted
            await asyncio.sleep(self._verify_interval)

    def stop(self) -> None:
        self.server.should_exit = True


def stop_on_signals(stop: Callable[[], None]) -> None:
    """Make SIGINT and SIGTERM call ``stop``. uvicorn installs its own handlers while it serves
    and puts these back when it is done, re-raising the signal it got: with ``stop`` in place
    that re-raise is harmless, and a signal that arrives before uvicorn is serving (while the
    propagator subscribes, say) still stops the server instead of being lost."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop())


async def serve_until_signalled(
    server: ApiServer, sockets: list[socket.socket] | None = None
) -> None:
    stop_on_signals(server.stop)
    await server.serve(sockets)
