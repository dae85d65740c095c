"""What every route needs, built once per application and kept in the app's state."""

from __future__ import annotations

from typing import Any, Final

import attrs
from litestar.connection import ASGIConnection

from adapters.http.feed import ChangeFeed
from adapters.http.limits import RevealLimit
from adapters.http.metrics import ApiMetrics
from adapters.http.tokens import TokenAuthenticator
from adapters.service import ConfigService
from eventstore.schema import AppConfig, unstructure

STATE_KEY: Final = "parako_api"
#: sections an app process is not given: the store's own database connection
NOT_FOR_APPS: Final = ("storage",)
#: tenants whose runtime documents are kept rendered (the oldest make room)
TENANT_DOCUMENTS: Final = 1024


@attrs.define
class ApiContext:
    service: ConfigService
    authenticator: TokenAuthenticator
    reveals: RevealLimit
    metrics: ApiMetrics
    health_chain_window: int = 100
    _shown: tuple[object, dict[str, Any]] | None = None
    _runtime: tuple[object, dict[str, Any]] | None = None
    _tenant_runtime: dict[str, tuple[object, dict[str, Any]]] = attrs.field(factory=dict)
    _feed: ChangeFeed | None = None
    #: change events already encoded for watchers (see ``routes_runtime``)
    encoded_changes: dict[tuple[int, str | None, bool, bool], Any] = attrs.field(factory=dict)

    @property
    def feed(self) -> ChangeFeed:
        """The changes this process applies, for watchers; made by the first one."""
        if self._feed is None:
            self._feed = ChangeFeed(self.service)
        return self._feed

    def shown_config(self) -> dict[str, Any]:
        """The current config as reads show it (secrets masked), built once per version.

        Rendering every setting is most of a read's cost; the RuntimeConfig object is replaced,
        never mutated, on each new version, so its identity is the cache key. Callers must not
        mutate the result.
        """
        config = self.service.config
        if self._shown is None or self._shown[0] is not config:
            self._shown = (config, unstructure(config))
        return self._shown[1]

    async def close_streams(self) -> None:
        """End every watch (the server is stopping)."""
        if self._feed is not None:
            await self._feed.close()

    def runtime_config(self) -> dict[str, Any]:
        """The current config as app processes read it (secrets in clear), once per version."""
        config = self.service.config
        if self._runtime is None or self._runtime[0] is not config:
            self._runtime = (config, runtime_document(config))
        return self._runtime[1]

    def tenant_runtime_config(self, slug: str, config: AppConfig) -> dict[str, Any]:
        """A tenant's effective config as app processes read it, once per build of it."""
        cached = self._tenant_runtime.get(slug)
        if cached is None or cached[0] is not config:
            if len(self._tenant_runtime) >= TENANT_DOCUMENTS:
                self._tenant_runtime.pop(next(iter(self._tenant_runtime)))
            cached = (config, runtime_document(config))
            self._tenant_runtime[slug] = cached
        return cached[1]


def runtime_document(config: AppConfig) -> dict[str, Any]:
    """A config as app processes read it: secrets in clear, every section but the store's own
    connection (:data:`NOT_FOR_APPS`)."""
    doc = unstructure(config, reveal=True)
    return {k: v for k, v in doc.items() if k not in NOT_FOR_APPS}


def api_context(connection: ASGIConnection[Any, Any, Any, Any]) -> ApiContext:
    context = connection.app.state[STATE_KEY]
    assert isinstance(context, ApiContext)
    return context
