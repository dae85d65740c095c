"""A client for app processes: the runtime configuration over the Management API, kept current
(Server-Sent Events with resume, long-polls when a stream cannot be used). No database, no key;
of this project it uses only :mod:`eventstore`'s schema, so ``client.config`` is the same
``AppConfig`` the service reads in process."""

from adapters.client.errors import AccessDenied, RuntimeClientError, Unavailable
from adapters.client.runtime_client import RuntimeClient, RuntimeVersion
from adapters.client.threaded import ThreadedRuntimeClient

__all__ = [
    "AccessDenied",
    "RuntimeClient",
    "RuntimeClientError",
    "RuntimeVersion",
    "ThreadedRuntimeClient",
    "Unavailable",
]
