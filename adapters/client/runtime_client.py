"""The runtime configuration in an app process that has no database and no key: read over the
Management API's runtime routes and kept current.

    client = RuntimeClient("http://127.0.0.1:9007", token)   # a parako:config:runtime token
    await client.start()                                      # the config, or an error
    client.config.branding.company_name                       # as in-process (AppConfig)
    client.subscribe(lambda v: print(v.semver, v.paths))      # once per applied version
    ...
    await client.close()

After ``start()`` a background task follows ``/runtime/watch?full=true`` (Server-Sent Events, one
per applied version, each with the whole config of that version). When the stream ends or the
connection drops it reconnects with a growing, jittered delay (capped) and resumes with
``Last-Event-ID``: the server replays what was applied meanwhile, so callbacks see every version
once and in order, across a server restart too. When the server cannot resume from there
(too far behind), the stream starts with a new snapshot, and callbacks get one update for the
jump (``coalesced``).

When the stream cannot be used — answered by something other than an event stream (a proxy's
error page, a 404 from a proxy that does not route it, repeated 5xx), or a new stream that
delivers nothing within ``stream_timeout`` (a buffering proxy) — the client long-polls
(``/runtime?after=<etag>&wait=30s``) and tries the stream again every ``retry_stream_after``
seconds. ``prefer="long-poll"`` long-polls from the start. A long-poll answers with the newest
config only, so versions committed in quick succession may reach callbacks as one update
(``coalesced``).

A refused token (401 unknown or revoked, 403 without the scope) stops the client: ``start()``
raises :class:`AccessDenied`, and a revocation while running ends the follower with that error
(the server ends a revoked token's streams), kept in :attr:`RuntimeClient.error` and raised by
:meth:`RuntimeClient.wait`. ``client.config`` keeps answering with the last config.

The runtime document holds secrets in clear: use ``https://`` or a loopback address (a warning
is logged otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import ipaddress
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, NoReturn

import attrs
import httpx

from adapters.client.backoff import Backoff
from adapters.client.document import build, changed_paths
from adapters.client.errors import AccessDenied, RuntimeClientError, Unavailable
from adapters.client.sse import Event, SseError, SseParser
from eventstore.errors import ValidationFailed
from eventstore.schema import AppConfig

Prefer = Literal["stream", "long-poll"]
#: statuses of a refused stream that may pass (a restarting server behind a proxy)
_TRANSIENT: Final = frozenset({429, 500, 502, 503, 504})
#: consecutive transient refusals of the stream before long-polling instead
STREAM_REFUSALS: Final = 3

_log = logging.getLogger("parako_config.client")


@attrs.frozen
class RuntimeVersion:
    """One update a subscriber is told of: the version applied and the config it made.

    ``stream`` is ``platform`` or ``tenant`` (which stream's ``version`` moved: the stream
    version, ``_version`` in the API); ``semver`` is ``1.0.3`` for platform and tenant-override
    versions; ``etag`` is the runtime read's ETag value after it; ``paths`` the settings that
    changed (from a stream event: those the version saved; otherwise every setting whose
    effective value differs, derived ones included); ``position`` the log position (stream
    events only). ``coalesced`` is True when
    the update may stand for several versions (a long-poll answer, a stream that had to start
    over from a snapshot).
    """

    stream: str
    version: int
    semver: str | None
    etag: str
    paths: tuple[str, ...]
    position: int | None
    coalesced: bool
    config: AppConfig = attrs.field(repr=False)


Subscriber = Callable[[RuntimeVersion], Any]


class _StreamUnusable(Exception):
    """The stream endpoint answers, but not with a stream this client can follow."""


class _Transient(Exception):
    """An answer that may pass (5xx, 429, a malformed event): retry after a delay."""


def api_root(base_url: str) -> str:
    """``http://host:9007`` or ``http://host:9007/api/v1`` → ``http://host:9007/api/v1``."""
    root = base_url.rstrip("/")
    return root if root.endswith("/api/v1") else f"{root}/api/v1"


def _in_clear_elsewhere(url: str) -> bool:
    parsed = httpx.URL(url)
    if parsed.scheme != "http":
        return False
    host = parsed.host
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def _error_message(response: httpx.Response) -> str:
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        message = response.json()["error"]["message"]
        if isinstance(message, str):
            return message
    return response.reason_phrase or "no message"


def _tag(etag_header: str | None) -> str:
    if not etag_header:
        raise _Transient("an answer without an ETag")
    return etag_header.strip().removeprefix("W/").strip('"')


class RuntimeClient:
    """The runtime config of one platform (``tenant=None``) or one tenant, kept current."""

    def __init__(
        self,
        base_url: str,
        token: str,
        tenant: str | None = None,
        *,
        prefer: Prefer = "stream",
        wait: float = 30.0,
        backoff: float = 0.5,
        backoff_cap: float = 30.0,
        stream_timeout: float = 10.0,
        idle_timeout: float = 45.0,
        retry_stream_after: float = 300.0,
        verify: bool | str = True,
    ) -> None:
        """``wait``: how long a long-poll is held (at most 300 s). ``backoff``/``backoff_cap``:
        the first and the longest delay between reconnections. ``stream_timeout``: how long a
        new stream may take to deliver its snapshot. ``idle_timeout``: how long a stream may
        stay silent (the server sends a keep-alive every 15 s) before it is taken as lost.
        ``verify``: TLS verification as httpx takes it (False, or a CA bundle path)."""
        if prefer not in ("stream", "long-poll"):
            raise ValueError("prefer must be 'stream' or 'long-poll'")
        if not 0 <= wait <= 300:
            raise ValueError("wait must be between 0 and 300 seconds")
        self._api = api_root(base_url)
        self._token = token
        self.tenant = tenant
        self._prefer: Prefer = prefer
        self._wait = wait
        self._backoff = (backoff, backoff_cap)
        self._stream_timeout = stream_timeout
        self._idle_timeout = idle_timeout
        self._retry_stream_after = retry_stream_after
        self._verify = verify
        self._http: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._subscribers: list[Subscriber] = []
        self._config: AppConfig | None = None
        self._document: dict[str, Any] = {}
        self._etag: str | None = None
        self._semver: str | None = None
        #: the id of the last stream event applied: what a reconnection resumes from
        self._cursor: int | None = None
        self._error: RuntimeClientError | None = None
        self._failing = False  # the last attempt to reach the server failed
        #: how updates arrive now: ``stream`` or ``long-poll``
        self.mode: Prefer = prefer

    # --- what an app reads ----------------------------------------------------------------

    @property
    def config(self) -> AppConfig:
        """The current configuration (one attribute read; replaced, never mutated)."""
        if self._config is None:
            raise RuntimeError("RuntimeClient.start() has not loaded the configuration yet")
        return self._config

    @property
    def document(self) -> Mapping[str, Any]:
        """The JSON document ``config`` was built from (do not mutate it)."""
        return self._document

    @property
    def etag(self) -> str | None:
        """The ETag value of the current config (``"12"``, a tenant's ``"12.3"``)."""
        return self._etag

    @property
    def version(self) -> str | None:
        """The platform version of the current config (``1.0.3``), when the server says it."""
        return self._semver

    @property
    def error(self) -> RuntimeClientError | None:
        """Why the client stopped following, if it did (a refused token, …)."""
        return self._error

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(RuntimeVersion)`` once per applied version, in order, after
        ``config`` is the new one; returns a function that unsubscribes. Callbacks run on the
        client's task (a coroutine function is awaited): keep them short."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self, timeout: float = 30.0) -> None:
        """Load the configuration (retrying a server that is not up yet for up to ``timeout``
        seconds), then follow it in the background. Raises :class:`AccessDenied` for a refused
        token, :class:`Unavailable` when no answer came in time, :class:`RuntimeClientError`
        for an answer that cannot be used (an unknown tenant, …)."""
        if self._http is not None:
            raise RuntimeError("the client was already started")
        if _in_clear_elsewhere(self._api):
            _log.warning(
                "the runtime config holds secrets and %s is plain HTTP beyond loopback: "
                "serve the API over TLS (https://) or on a loopback address",
                httpx.URL(self._api).host,
            )
        self._http = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {self._token}"},
            timeout=httpx.Timeout(10.0),
            verify=self._verify,
        )
        try:
            await self._load(timeout)
        except BaseException:
            await self._http.aclose()
            raise
        self._task = asyncio.create_task(self._follow(), name="parako-runtime-client")

    async def close(self) -> None:
        """Stop following and close the connections (``config`` stays readable)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self._task = task  # wait() still finds it, done
        if self._http is not None:
            await self._http.aclose()

    async def wait(self) -> None:
        """Until the client stops following: raises what stopped it (:class:`AccessDenied`
        after a revocation, …); returns after :meth:`close`."""
        if self._task is not None:
            await asyncio.wait({self._task})
        if self._error is not None:
            raise self._error

    async def __aenter__(self) -> RuntimeClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- the first read ---------------------------------------------------------------------

    async def _load(self, timeout: float) -> None:
        backoff = Backoff(*self._backoff)
        give_up = time.monotonic() + timeout
        while True:
            try:
                response = await self._client.get(f"{self._api}/runtime", params=self._params())
                if response.status_code == 200:
                    await self._apply_read(response, initial=True)
                    return
                self._refused(response)
            except (httpx.TransportError, _Transient) as error:
                problem = str(error) or type(error).__name__
            delay = backoff.next_delay()
            if time.monotonic() + delay > give_up:
                raise Unavailable(
                    f"no configuration from {self._api}/runtime within {timeout:g} s ({problem})"
                )
            await asyncio.sleep(delay)

    @property
    def _client(self) -> httpx.AsyncClient:
        assert self._http is not None
        return self._http

    def _params(self, **extra: str) -> dict[str, str]:
        return {**({"tenant": self.tenant} if self.tenant else {}), **extra}

    def _refused(self, response: httpx.Response) -> NoReturn:
        """Raise what an unusable answer of the read routes means: AccessDenied for 401/403,
        _Transient for what may pass, RuntimeClientError for the rest."""
        status = response.status_code
        if status in (401, 403):
            raise AccessDenied(status, _error_message(response))
        if status in _TRANSIENT:
            raise _Transient(f"HTTP {status}: {_error_message(response)}")
        raise RuntimeClientError(
            f"{response.request.url} answered {status}: {_error_message(response)}"
        )

    # --- following ----------------------------------------------------------------------------

    async def _follow(self) -> None:
        backoff = Backoff(*self._backoff)
        fell_back_at: float | None = None
        refusals = 0
        try:
            while True:
                if self.mode == "stream":
                    try:
                        await self._stream_once(backoff)
                        refusals = 0
                    except _StreamUnusable as why:
                        refusals = 0
                        _log.warning("runtime stream unusable (%s): long-polling instead", why)
                        self.mode, fell_back_at = "long-poll", time.monotonic()
                        self._cursor = None  # long-polls do not advance a stream position
                        continue
                    except _Transient as error:
                        refusals += 1
                        if refusals >= STREAM_REFUSALS:
                            _log.warning("runtime stream refused %d times (%s)", refusals, error)
                            self.mode, fell_back_at = "long-poll", time.monotonic()
                            self._cursor = None
                            continue
                        self._trouble(error)
                    except (httpx.TransportError, SseError) as error:
                        self._trouble(error)
                    await asyncio.sleep(backoff.next_delay())
                    continue
                try:
                    await self._poll_once()
                    backoff.reset()
                    self._recovered()
                except (httpx.TransportError, _Transient) as error:
                    self._trouble(error)
                    await asyncio.sleep(backoff.next_delay())
                if (
                    fell_back_at is not None
                    and self._prefer == "stream"
                    and time.monotonic() - fell_back_at >= self._retry_stream_after
                ):
                    self.mode, fell_back_at = "stream", None
        except RuntimeClientError as error:
            self._error = error
            _log.error("runtime config client stopped: %s", error)

    def _trouble(self, error: Exception) -> None:
        """Log the first failure of a run of them (not one line per retry)."""
        if not self._failing:
            _log.warning(
                "runtime config server unreachable (%s): keeping the last config, retrying",
                str(error) or type(error).__name__,
            )
        self._failing = True

    def _recovered(self) -> None:
        if self._failing:
            _log.warning("runtime config server reachable again")
        self._failing = False

    async def _stream_once(self, backoff: Backoff) -> None:
        """Follow one connection of the stream until it ends."""
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        fresh = self._cursor is None
        if not fresh:
            headers["Last-Event-ID"] = str(self._cursor)
        timeout = httpx.Timeout(10.0, read=self._idle_timeout)
        async with self._client.stream(
            "GET",
            f"{self._api}/runtime/watch",
            params=self._params(full="true"),
            headers=headers,
            timeout=timeout,
        ) as response:
            kind = response.headers.get("content-type", "")
            if response.status_code != 200 or not kind.startswith("text/event-stream"):
                await response.aread()
                self._stream_refused(response)
            parser = SseParser()
            chunks = aiter(response.aiter_bytes())
            first_by = asyncio.get_running_loop().time() + self._stream_timeout if fresh else None
            while True:
                try:
                    if first_by is None:
                        chunk = await anext(chunks)
                    else:
                        left = first_by - asyncio.get_running_loop().time()
                        chunk = await asyncio.wait_for(anext(chunks), max(left, 0.0))
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    raise _StreamUnusable(
                        f"no snapshot within {self._stream_timeout:g} s (a buffering proxy?)"
                    ) from None
                backoff.reset()
                self._recovered()
                for event in parser.feed(chunk):
                    first_by = None
                    await self._on_event(event)

    def _stream_refused(self, response: httpx.Response) -> NoReturn:
        status = response.status_code
        if status in (401, 403):
            raise AccessDenied(status, _error_message(response))
        if status in _TRANSIENT:
            raise _Transient(f"HTTP {status}: {_error_message(response)}")
        kind = response.headers.get("content-type", "") or "no content type"
        raise _StreamUnusable(f"HTTP {status}, {kind}")

    async def _on_event(self, event: Event) -> None:
        if event.type not in ("snapshot", "change"):
            return
        try:
            position = int(event.id)
            body = json.loads(event.data)
            document = body["config"]
            version = int(body["_version"])
        except (ValueError, KeyError, TypeError) as error:
            raise SseError(f"a malformed {event.type} event: {error!r}") from None
        if event.type == "snapshot":
            self._cursor = position
            tag = str(body.get("etag") or version)
            if tag != self._etag:
                stream = "tenant" if self.tenant else "platform"
                await self._apply(document, tag, stream, version, body.get("version"), position)
            return
        if self._cursor is not None and position <= self._cursor:
            return  # already applied (a replay overlapping what this client saw)
        self._cursor = position
        stream = str(body.get("stream", "platform"))
        tag = str(body.get("etag") or (version if stream == "platform" else self._etag))
        paths = body.get("paths")
        await self._apply(
            document,
            tag,
            stream,
            version,
            body.get("version"),
            position,
            paths=tuple(paths) if isinstance(paths, list) else None,
            coalesced=False,
        )

    async def _poll_once(self) -> None:
        assert self._etag is not None
        response = await self._client.get(
            f"{self._api}/runtime",
            params=self._params(after=self._etag, wait=f"{self._wait:g}s"),
            timeout=httpx.Timeout(10.0, read=self._wait + 15.0),
        )
        if response.status_code == 304:
            return
        if response.status_code != 200:
            self._refused(response)
        await self._apply_read(response, initial=False)

    async def _apply_read(self, response: httpx.Response, *, initial: bool) -> None:
        try:
            body = response.json()
            document, meta = body["data"], body["meta"]
            version = int(meta["_version"])
        except (ValueError, KeyError, TypeError) as error:
            raise _Transient(f"a malformed runtime read: {error!r}") from None
        tag = _tag(response.headers.get("etag"))
        semver = meta.get("version")
        if initial:
            if self._build(document, tag) is not None and isinstance(semver, str):
                self._semver = semver
            return
        stream = "tenant" if self.tenant else "platform"
        await self._apply(document, tag, stream, version, semver, None)

    def _build(self, document: Any, tag: str) -> AppConfig | None:
        if not isinstance(document, dict):
            raise _Transient("the runtime config is not an object")
        previous = None if self._config is None else (self._config, self._document)
        try:
            config, built_from, dropped = build(document, previous)
        except ValidationFailed as error:
            if self._config is None:
                raise RuntimeClientError(f"the runtime config does not validate: {error}") from None
            _log.error("version %s does not validate here, keeping %s: %s", tag, self._etag, error)
            return None
        if dropped:
            _log.warning("settings this client does not know were left out: %s", dropped)
        self._config, self._document, self._etag = config, built_from, tag
        return config

    async def _apply(
        self,
        document: Any,
        tag: str,
        stream: str,
        version: int,
        semver: Any,
        position: int | None,
        *,
        paths: tuple[str, ...] | None = None,
        coalesced: bool = True,
    ) -> None:
        before = self._document
        config = self._build(document, tag)
        if config is None:
            return
        semver = semver if isinstance(semver, str) else None
        if stream == "platform" and semver is not None:
            self._semver = semver
        if paths is None:
            paths = tuple(changed_paths(before, self._document))
        update = RuntimeVersion(
            stream,
            version,
            semver,
            tag,
            paths,
            position,
            coalesced,
            config,
        )
        for callback in list(self._subscribers):
            try:
                result = callback(update)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                _log.exception("a runtime config subscriber failed on %s", tag)
