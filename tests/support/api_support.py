"""Serving the Management API for tests: uvicorn on a free loopback port, in a thread of its own
(with its own event loop, as in production), in a temporary project directory.

The environment is passed explicitly (never ``os.environ``), so a developer's REDIS_HOST or
STORAGE_ADAPTER cannot leak into a test.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx

from adapters.http.app import ApiSettings
from adapters.http.server import ApiServer
from adapters.service import ConfigService
from adapters.wiring import open_service
from eventstore.tokens import SCOPES, TokenStore

KEY = "5a" * 32
BASE_ENV = {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": KEY}

Prepare = Callable[[ConfigService], Awaitable[None]]
T = TypeVar("T")


class RunningApi:
    """One server; ``token()`` mints tokens straight into its store, ``client()`` talks to it."""

    def __init__(self, root: Path, environ: Mapping[str, str], base_url: str) -> None:
        self.root = root
        self.environ = dict(environ)
        self.base_url = base_url
        self._clients: list[httpx.Client] = []

    def run(self, work: Callable[[ConfigService], Awaitable[T]]) -> T:
        """Run ``work`` against a second service on the same store (as another process would)."""

        async def main() -> T:
            service = await open_service(self.root, self.environ)
            try:
                return await work(service)
            finally:
                await service.close()

        return asyncio.run(main())

    def token(self, name: str, *scopes: str) -> str:
        chosen = scopes or SCOPES

        async def create(service: ConfigService) -> str:
            _, plaintext = await TokenStore(service.event_log).create(name, chosen, "tests")
            return plaintext

        return self.run(create)

    def client(self, token: str | None = None, **headers: str) -> httpx.Client:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        client = httpx.Client(base_url=f"{self.base_url}/api/v1", headers=headers, timeout=30)
        self._clients.append(client)
        return client

    def close(self) -> None:
        for client in self._clients:
            client.close()


@contextmanager
def serving(
    root: Path,
    environ: Mapping[str, str] | None = None,
    *,
    prepare: Prepare | None = None,
    settings: ApiSettings | None = None,
    port: int = 0,
) -> Iterator[RunningApi]:
    """``port`` 0 picks a free one; a given port (a restart where clients are still pointed)
    is bound with SO_REUSEADDR, so connections of the stopped server do not hold it."""
    env = {**BASE_ENV, **(environ or {})}
    (root / "runtime").mkdir(exist_ok=True)
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only for a socket
    # whose protocol says TCP, and without it every response waits ~40 ms on Nagle/delayed ACK
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    holder: dict[str, Any] = {}

    async def main() -> None:
        service = await open_service(root, env)
        try:
            if prepare is not None:
                await prepare(service)
            server = ApiServer(service, "127.0.0.1", port, settings=settings)
            holder["server"] = server
            await server.serve([sock])
        finally:
            await service.close()

    def thread_main() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # reported by the waiting test
            holder["error"] = exc

    thread = threading.Thread(target=thread_main, name="api-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not (holder.get("server") and holder["server"].started):
        if "error" in holder or not thread.is_alive():
            raise RuntimeError(f"the API did not start: {holder.get('error')!r}")
        if time.monotonic() > deadline:
            raise TimeoutError("the API did not start within 30 s")
        time.sleep(0.02)
    api = RunningApi(root, env, f"http://127.0.0.1:{port}")
    try:
        yield api
    finally:
        api.close()
        holder["server"].stop()
        thread.join(30)
        sock.close()


@contextmanager
def serving_tenants(root: Path) -> Iterator[RunningApi]:
    """The API with multi-tenancy on, over a fresh PostgreSQL database (skips, or fails under
    CI, without a server), with tenant ``acme`` created and no overrides yet."""
    from eventstore.commands import Author

    from .pg_server import fresh_database

    async def create_acme(service: ConfigService) -> None:
        assert service.tenants is not None
        await service.tenants.create("acme", Author("ops", "onboarding"))

    with fresh_database() as url:
        environ = {
            "STORAGE_ADAPTER": "postgresql",
            "STORAGE_POSTGRESQL_URL": url,
            "MULTI_TENANCY_ENABLED": "true",
        }
        with serving(root, environ, prepare=create_acme) as running:
            yield running
