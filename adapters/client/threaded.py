"""The runtime client for code without an event loop (a WSGI app, a script): the asyncio client
runs on a thread of its own, and ``config`` is read from any thread (one attribute read of an
immutable object).

    with ThreadedRuntimeClient("http://127.0.0.1:9007", token) as client:
        client.config.branding.company_name
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from adapters.client.errors import RuntimeClientError
from adapters.client.runtime_client import RuntimeClient, Subscriber
from eventstore.schema import AppConfig


class ThreadedRuntimeClient:
    """:class:`RuntimeClient` (same arguments) on a daemon thread; subscribers run there."""

    def __init__(self, base_url: str, token: str, tenant: str | None = None, **options: Any):
        self._client = RuntimeClient(base_url, token, tenant, **options)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="parako-runtime-client", daemon=True
        )

    def start(self, timeout: float = 30.0) -> None:
        """Load the config (raises what :meth:`RuntimeClient.start` raises), then follow it."""
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._client.start(timeout), self._loop).result()
        except BaseException:
            self._stop_loop()
            raise

    @property
    def config(self) -> AppConfig:
        return self._client.config

    @property
    def error(self) -> RuntimeClientError | None:
        return self._client.error

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        return self._client.subscribe(callback)

    def close(self) -> None:
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._client.close(), self._loop).result()
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> ThreadedRuntimeClient:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
