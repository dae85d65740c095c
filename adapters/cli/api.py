"""``parako-config serve`` (the Management API) and ``parako-config token …`` (its tokens)."""

from __future__ import annotations

import os
import sys

import click

from adapters.cli.support import HELP, command, emit, guarded, reading
from adapters.cli.workers import Started, banner, listen, serve_workers
from adapters.service import ConfigService
from adapters.sources.bootstrap import project_root
from adapters.sources.layers import read_sources
from adapters.wiring import open_service
from eventstore.errors import ConfigError
from eventstore.tokens import SCOPES, TokenStore

_ISSUER_HELP = "who creates or revokes (recorded with the event)"


@click.command(context_settings=HELP)
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option(
    "--port",
    type=int,
    default=None,
    help="port (default: DEPLOYMENT_SERVER_PORT, else 9007)",
)
@click.option("--interval", default=30.0, show_default=True, help="seconds between log polls")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="processes serving the one port, each with its own store connection",
)
def serve(host: str, port: int | None, interval: float, workers: int) -> None:
    """Serve the Management API on uvicorn until SIGTERM/SIGINT (finishing requests in flight).

    With ``--workers N`` this process binds the port, then forks N workers that share it; each
    opens its own service and follows the others' writes as any process does (hints, polling).

    \b
    Example:
      parako-config serve --host 0.0.0.0 --port 9007 --workers 2
    """
    guarded(_database_mode_only)
    if workers > 1:
        sys.exit(serve_workers(host, port, interval, workers))

    async def main() -> None:
        from adapters.http.server import ApiServer, serve_until_signalled

        service = await open_service(project_root(), os.environ, configure_logs=True)
        try:
            chosen = port or service.config.deployment.server.port
            sock = listen(host, chosen)
            click.echo(banner(host, chosen, Started.of(service)), err=True)
            server = ApiServer(service, host, chosen, poll_interval=interval)
            await serve_until_signalled(server, [sock])
        finally:
            await service.close()

    guarded(main)


async def _database_mode_only() -> None:
    """The API's tokens and the console's sessions live in the event store: in file mode no
    token could sign in, so serving would advertise a console nobody can use."""
    if read_sources(project_root(), os.environ).file_mode:
        raise ConfigError(
            "serve needs database mode: the API's tokens, the console's sessions and the "
            "history live in the event store (set USE_FILE_CONFIG=false in runtime/.env); "
            "`parako-config show` and `run` read a config file"
        )


@click.group(context_settings=HELP)
def token() -> None:
    """Bearer tokens of the Management API (only their SHA-256 digests are stored)."""


@token.command(name="create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(SCOPES),
    help="repeat for several scopes",
)
@click.option("--by", "actor", default="cli", show_default=True, help=_ISSUER_HELP)
@click.option("--json", "as_json", is_flag=True, help="print JSON for scripts")
@command
async def create(
    service: ConfigService, name: str, scopes: tuple[str, ...], actor: str, as_json: bool
) -> None:
    """Create token NAME (the actor of its writes); prints the token once: keep it safe.

    \b
    Example:
      parako-config token create deploy-bot --scope parako:config:read
    """
    created, plaintext = await TokenStore(service.event_log).create(name, scopes, actor)
    if as_json:
        emit({**created.to_json(), "token": plaintext}, True)
        return
    click.echo(plaintext)
    click.echo(
        f"token {name!r} created with {', '.join(created.scopes)}; it is not shown again",
        err=True,
    )


@token.command(name="list")
@click.option("--all", "show_all", is_flag=True, help="include revoked tokens")
@click.option("--json", "as_json", is_flag=True, help="print JSON for scripts")
@reading
async def list_(service: ConfigService, show_all: bool, as_json: bool) -> None:
    """Token names, scopes, who created them and when (never the tokens).

    \b
    Example:
      parako-config token list --all
    """
    tokens = await TokenStore(service.event_log).tokens()
    shown = [t for t in tokens.values() if show_all or t.active]
    if as_json:
        emit([t.to_json() for t in shown], True)
        return
    for t in shown:
        state = "" if t.active else f"  revoked {t.revoked_at:%Y-%m-%d %H:%M} by {t.revoked_by}"
        when = t.created_at.isoformat(timespec="seconds")
        click.echo(f"{t.name:<20} {' '.join(t.scopes):<60} {when}{state}")


@token.command()
@click.argument("name")
@click.option("--by", "actor", default="cli", show_default=True, help=_ISSUER_HELP)
@command
async def revoke(service: ConfigService, name: str, actor: str) -> None:
    """Revoke token NAME: every API process refuses it from its next request.

    \b
    Example:
      parako-config token revoke deploy-bot --by alice
    """
    await TokenStore(service.event_log).revoke(name, actor)
    click.echo(f"token {name!r} revoked")
