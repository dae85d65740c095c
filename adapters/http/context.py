"""What every route needs, built once per application and kept in the app's state."""

from __future__ import annotations

from typing import Any, Final

import attrs
from litestar.connection import ASGIConnection

from adapters.http.limits import RevealLimit
from adapters.http.metrics import ApiMetrics
from adapters.http.tokens import TokenAuthenticator
from adapters.service import ConfigService
from eventstore.schema import unstructure

STATE_KEY: Final = "parako_api"


@attrs.define
class ApiContext:
    service: ConfigService
    authenticator: TokenAuthenticator
    reveals: RevealLimit
    metrics: ApiMetrics
    health_chain_window: int = 100
    _shown: tuple[object, dict[str, Any]] | None = None

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


def api_context(connection: ASGIConnection[Any, Any, Any, Any]) -> ApiContext:
    context = connection.app.state[STATE_KEY]
    assert isinstance(context, ApiContext)
    return context
