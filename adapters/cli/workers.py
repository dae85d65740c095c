"""``parako-config serve --workers N``: N processes answering on one port.

The parent binds the port and forks the workers; it never runs an event loop and never opens
the store, because a fork copies whatever the parent holds — a loop, a database connection, the
half-taken locks of other threads — into every child. What it needs to know before binding
(the default port, the mode and version for the banner) comes from a first short-lived child
that opens the store once and closes it: that child also performs a first start's writes
(generated secrets, data keys) alone, before N workers open the store at the same time.

Each worker opens its own service on the shared socket and follows the other workers' writes
like any process does: hints where the deployment has them, polling of the log head always
(D19, D20). Tokens and the reveal limit are read from the log, so they hold across workers.

The parent forwards SIGTERM and SIGINT to the workers as SIGTERM (a second SIGINT as SIGINT,
which makes uvicorn stop waiting for requests in flight), waits for them, and exits 0 only if
every worker stopped cleanly after being asked to. A worker that exits on its own is reported,
the others are stopped, and the parent exits 1. Workers ask the kernel for a SIGTERM when the
parent dies, so killing the parent does not leave them serving on.
"""

from __future__ import annotations

import contextlib
import errno
import multiprocessing
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from multiprocessing.context import ForkContext, ForkProcess
from types import FrameType
from typing import TYPE_CHECKING, Final

import attrs
import click

from adapters.cli.support import fail, guarded
from adapters.sources.bootstrap import project_root
from adapters.wiring import open_service
from eventstore.errors import ConfigError

if TYPE_CHECKING:
    from adapters.service import ConfigService

#: uvicorn's default listen backlog
BACKLOG: Final = 2048
#: how long the parent waits for the workers after asking them to stop: uvicorn's grace for
#: requests in flight, plus closing the store
STOP_SECONDS: Final = 40.0
_SIGNALS: Final = frozenset({signal.SIGINT, signal.SIGTERM})
_PR_SET_PDEATHSIG: Final = 1


@attrs.frozen
class Started:
    """What the banner says, and the port the configuration asks for."""

    file_mode: bool
    version: int | None
    port: int
    #: ``deployment.url`` is https: TLS is terminated in front of this process
    behind_tls: bool = False

    @classmethod
    def of(cls, service: ConfigService) -> Started:
        deployment = service.config.deployment
        return cls(
            service.file_mode,
            service.version,
            deployment.server.port,
            deployment.url.lower().startswith("https://"),
        )


#: addresses only this machine can reach
LOOPBACK: Final = ("127.0.0.1", "::1", "localhost")


def banner(host: str, port: int, started: Started, workers: int = 1) -> str:
    """The start line; and, when the API is reachable from other machines over plain HTTP, a
    warning: the runtime routes answer with secrets in clear, and sign-in tokens travel too."""
    mode = "file" if started.file_mode else "database"
    many = f", {workers} workers" if workers > 1 else ""
    line = (
        f"parako-config API on http://{host}:{port}/api/v1 ({mode} mode, "
        f"version {started.version or '-'}{many}); OpenAPI at /api/v1/openapi, "
        f"admin console at http://{host}:{port}/admin"
    )
    if host not in LOOPBACK and not started.behind_tls:
        line += (
            f"\nwarning: listening on {host} over plain HTTP, and deployment.url is not https: "
            "tokens and the runtime config's secrets would cross the network in clear; "
            "terminate TLS in front (and set DEPLOYMENT_URL=https://…) or listen on 127.0.0.1"
        )
    return line


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port``, or a ConfigError saying why not.

    The protocol is given as TCP explicitly: asyncio sets TCP_NODELAY only on connections
    accepted from a socket that says so, and without it small responses wait ~40 ms.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(f"cannot listen on {host} port {port} ({_reason(exc)})") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"port {port} is busy ({_reason(exc)} on {host})") from None
        raise ConfigError(f"cannot listen on {host} port {port} ({_reason(exc)})") from None
    return sock


def _reason(exc: BaseException) -> str:
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return text[:1].lower() + text[1:]


def serve_workers(host: str, port: int | None, interval: float, workers: int) -> int:
    """Bind, print the banner, run ``workers`` workers until signalled; the exit code."""
    import adapters.http.server  # noqa: F401 (imported once here, shared by every fork)

    debug = bool(click.get_current_context().find_root().params.get("debug"))
    context = multiprocessing.get_context("fork")
    started = _preflight(context, debug)
    chosen = port or started.port
    try:
        sock = listen(host, chosen)
    except ConfigError as exc:
        fail(1, f"error: {exc}")
        return 1
    click.echo(banner(host, chosen, started, workers), err=True)
    parent = os.getpid()
    supervisor = Supervisor(context, lambda: _worker(sock, host, chosen, interval, parent, debug))
    try:
        return supervisor.run(workers)
    finally:
        sock.close()


def _preflight(context: ForkContext, debug: bool) -> Started:
    """Open the store once in a child and report; a failure exits with the child's code (the
    child printed the one-line error)."""
    receiver, sender = context.Pipe(duplex=False)
    parent = os.getpid()

    def check() -> None:
        _die_with(parent)

        async def main() -> None:
            service = await open_service(project_root(), os.environ, configure_logs=True)
            try:
                sender.send(Started.of(service))
            finally:
                await service.close()

        _in_child(lambda: guarded(main), debug)

    child = context.Process(target=check, name="preflight")
    child.start()
    sender.close()
    try:
        started: Started | None = receiver.recv()
    except EOFError:
        started = None
    finally:
        receiver.close()
    child.join()
    if started is None or child.exitcode != 0:
        sys.exit(child.exitcode or 1)
    return started


class Supervisor:
    """Starts the workers, forwards stop signals, and reports the ones that fail."""

    def __init__(self, context: ForkContext, work: Callable[[], None]) -> None:
        self._context = context
        self._work = work
        self._workers: dict[ForkProcess, int] = {}  # process → its number, while alive
        self._deadline: float | None = None
        self._failed = False

    def run(self, count: int) -> int:
        previous = {sig: signal.signal(sig, self._signalled) for sig in _SIGNALS}
        try:
            self._start(count)
            self._watch()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 1 if self._failed else 0

    def _start(self, count: int) -> None:
        # blocked across the forks: a child must not run the parent's handler before its own
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            for number in range(1, count + 1):
                process = self._context.Process(target=self._work, name=f"worker-{number}")
                try:
                    process.start()
                except OSError as exc:
                    click.echo(f"error: worker {number} did not start ({_reason(exc)})", err=True)
                    self._failed = True
                    self._stop(signal.SIGTERM)
                    return
                self._workers[process] = number
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)

    def _signalled(self, signum: int, _frame: FrameType | None) -> None:
        # SIGTERM first; a repeated SIGINT (Ctrl-C twice) tells uvicorn not to wait any longer
        again = self._deadline is not None and signum == signal.SIGINT
        self._stop(signal.SIGINT if again else signal.SIGTERM)

    def _stop(self, sig: int) -> None:
        if self._deadline is None:
            self._deadline = time.monotonic() + STOP_SECONDS
        for process in list(self._workers):
            if process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, sig)

    def _watch(self) -> None:
        while self._workers:
            wait([process.sentinel for process in self._workers], timeout=0.5)
            for process, number in list(self._workers.items()):
                code = process.exitcode
                if code is None:
                    continue
                del self._workers[process]
                if self._deadline is None:
                    self._report(number, process, code, "stopped unexpectedly")
                    self._failed = True
                    self._stop(signal.SIGTERM)
                elif code != 0:
                    self._report(number, process, code, "failed while stopping")
                    self._failed = True
            if self._deadline is not None and time.monotonic() > self._deadline:
                for process, number in list(self._workers.items()):
                    click.echo(
                        f"error: worker {number} (pid {process.pid}) did not stop within "
                        f"{STOP_SECONDS:g} s; killed",
                        err=True,
                    )
                    process.kill()
                    process.join()
                self._workers.clear()
                self._failed = True

    @staticmethod
    def _report(number: int, process: ForkProcess, code: int, what: str) -> None:
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        click.echo(f"error: worker {number} (pid {process.pid}) {what} ({how})", err=True)


def _worker(
    sock: socket.socket, host: str, port: int, interval: float, parent: int, debug: bool
) -> None:
    """One worker: its own service, the inherited socket, until SIGTERM/SIGINT."""
    from adapters.http.server import ApiServer, stop_on_signals

    requested: list[int] = []  # a stop asked for before the server exists
    stop_on_signals(lambda: requested.append(1))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
    _die_with(parent)

    async def main() -> None:
        service = await open_service(project_root(), os.environ, configure_logs=True)
        try:
            if requested:
                return
            server = ApiServer(service, host, port, poll_interval=interval)
            stop_on_signals(server.stop)
            if requested:
                server.stop()
            await server.serve([sock])
        finally:
            await service.close()

    _in_child(lambda: guarded(main), debug)


def _in_child(work: Callable[[], None], debug: bool) -> None:
    """Run ``work`` in a forked child with the command line's error rules: one line on stderr
    and exit 1 for the unexpected, the traceback only with ``--debug``."""
    try:
        work()
    except Exception as exc:
        if debug:
            raise
        detail = " ".join(str(exc).split())[:300]
        fail(1, f"error: unexpected {type(exc).__name__}: {detail} (--debug shows where)")


def _die_with(parent: int) -> None:
    """Ask Linux for a SIGTERM when the parent dies (a killed parent leaves no worker behind)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before we asked
        os.kill(os.getpid(), signal.SIGTERM)
