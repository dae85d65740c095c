"""``parako-config tenant …``: tenants and their overrides from the command line.

Multi-tenancy needs ``MULTI_TENANCY_ENABLED=true`` and PostgreSQL or MongoDB (D23 in
docs/decisions.md); every command here says so clearly when it is off rather than failing on a
missing attribute.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from adapters.cli.completion import complete_assignment, complete_path, complete_tenant
from adapters.cli.support import (
    BY_HELP,
    EXPECTED_HELP,
    HELP,
    JSON_HELP,
    REASON_HELP,
    audit_filters,
    audit_options,
    command,
    dry_run_option,
    emit,
    maybe_rehearsed,
    nonblank,
    parse_assignments,
    reading,
    show_audit,
    show_diff,
)
from adapters.service import ConfigService
from adapters.tenant_service import TenantService
from eventstore.commands import Author
from eventstore.docpath import get_path
from eventstore.errors import ConfigError, ValidationFailed
from eventstore.schema import unstructure


def tenants_of(service: ConfigService) -> TenantService:
    if service.tenants is None:
        raise ConfigError(
            "multi-tenancy is off: set MULTI_TENANCY_ENABLED=true (with STORAGE_ADAPTER="
            "postgresql or mongodb) to manage tenants"
        )
    return service.tenants


async def show_tenant(service: ConfigService, slug: str, path: str | None, as_json: bool) -> None:
    """The tenant's effective config, or one PATH of it; secrets masked."""
    effective = await tenants_of(service).effective(slug)
    doc = unstructure(effective.config)
    if path:
        try:
            emit(get_path(doc, path), as_json)
        except KeyError:
            raise ValidationFailed([], f"no setting at {path!r}") from None
    else:
        emit(doc, as_json)


@click.group(context_settings=HELP)
def tenant() -> None:
    """Tenants and their overrides (multi-tenant mode)."""


@tenant.command()
@click.argument("slug")
@click.option("--name", "display_name", help="display name (default: the slug)")
@click.option("--domain", help="custom domain, e.g. auth.acme.com")
@click.option("--by", "actor", default="cli", show_default=True, callback=nonblank, help=BY_HELP)
@click.option("--reason", default="", help="why (kept in the audit trail)")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@command
async def create(
    service: ConfigService,
    slug: str,
    display_name: str | None,
    domain: str | None,
    actor: str,
    reason: str,
    as_json: bool,
) -> None:
    """Register a tenant.

    \b
    Example:
      parako-config tenant create acme --name "Acme Inc" --domain auth.acme.com
    """
    created = await tenants_of(service).create(
        slug, Author(actor, reason), display_name=display_name, domain=domain
    )
    emit(created.to_json() if as_json else f"created tenant {created.slug}", as_json)


@tenant.command(name="list")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@reading
async def list_(service: ConfigService, as_json: bool) -> None:
    """Every tenant: slug, status, domain.

    \b
    Example:
      parako-config tenant list --json
    """
    registry = await tenants_of(service).registry()
    rows = [t.to_json() for t in sorted(registry.tenants.values(), key=lambda t: t.slug)]
    if as_json:
        emit(rows, True)
        return
    for row in rows:
        click.echo(f"{row['slug']}\t{row['status']}\t{row['domain'] or '-'}")


@tenant.command(name="set")
@click.argument("slug", shell_complete=complete_tenant)
@click.argument("assignments", nargs=-1, required=True, shell_complete=complete_assignment)
@click.option("--by", "actor", required=True, callback=nonblank, help=BY_HELP)
@click.option("--reason", required=True, callback=nonblank, help=REASON_HELP)
@click.option("--expected-version", type=click.IntRange(min=1), help=EXPECTED_HELP)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@dry_run_option
@command
async def set_(
    service: ConfigService,
    slug: str,
    assignments: tuple[str, ...],
    actor: str,
    reason: str,
    expected_version: int | None,
    as_json: bool,
    dry_run: bool,
) -> None:
    """Override settings for one tenant: PATH=VALUE… ('' inherits the platform value).

    \b
    Example:
      parako-config tenant set acme branding.companyName=Acme --by ops --reason onboarding
    """
    partial = parse_assignments(assignments)
    tenants = tenants_of(service)
    async with maybe_rehearsed(dry_run, as_json):
        result = await tenants.save(slug, partial, Author(actor, reason), expected_version)
    if dry_run:
        return
    if as_json:
        emit(result.to_json(), True)
        return
    for path in result.stripped:
        click.echo(f"warning: {path} cannot be overridden by a tenant; ignored", err=True)
    for adjusted in result.adjustments:
        click.echo(
            f"adjusted {adjusted.path}: {adjusted.original} → {adjusted.adjusted} "
            f"({adjusted.reason})",
            err=True,
        )
    click.echo(
        f"saved {slug} {result.semver}"
        if result.appended
        else f"no change ({slug} {result.semver})"
    )


@tenant.command()
@click.argument("slug", shell_complete=complete_tenant)
@click.argument("path", required=False, shell_complete=complete_path)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@reading
async def show(service: ConfigService, slug: str, path: str | None, as_json: bool) -> None:
    """The tenant's effective config (platform ⊕ overrides ⊕ policy ⊕ computed), or one PATH.

    \b
    Example:
      parako-config tenant show acme branding
    """
    await show_tenant(service, slug, path, as_json)


@tenant.command()
@click.argument("slug", shell_complete=complete_tenant)
@click.option("--version", "semver", help="the overrides as of this version")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@reading
async def overrides(service: ConfigService, slug: str, semver: str | None, as_json: bool) -> None:
    """What the tenant overrides (stored values; tenant secrets masked).

    \b
    Example:
      parako-config tenant overrides acme --version 1.0.0
    """
    tenants = tenants_of(service)
    state = await tenants.overrides(slug, semver)
    out: dict[str, Any] = {"_version": state.version, **tenants.masked(state)}
    emit(out, as_json)


@tenant.command()
@click.argument("slug", shell_complete=complete_tenant)
@click.option(
    "--limit", default=10, show_default=True, type=click.IntRange(min=1), help="newest versions"
)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@reading
async def history(service: ConfigService, slug: str, limit: int, as_json: bool) -> None:
    """The tenant's override versions, newest first.

    \b
    Example:
      parako-config tenant history acme --limit 5
    """
    versions = (await tenants_of(service).history(slug))[:limit]
    if as_json:
        emit([v.to_json() for v in versions], True)
        return
    for v in versions:
        click.echo(
            f"{v.version}\t{v.timestamp.isoformat()}\t{v.last_modified_by}\t{v.change_reason}"
        )


@tenant.command()
@click.argument("slug", shell_complete=complete_tenant)
@click.argument("old")
@click.argument("new")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@reading
async def diff(service: ConfigService, slug: str, old: str, new: str, as_json: bool) -> None:
    """Differences between two versions of the tenant's overrides, with impact warnings.

    \b
    Example:
      parako-config tenant diff acme 1.0.0 1.0.2
    """
    show_diff(await tenants_of(service).diff(slug, old, new), as_json)


@tenant.command()
@click.argument("slug", shell_complete=complete_tenant)
@audit_options
@reading
async def audit(
    service: ConfigService,
    slug: str,
    prefix: str | None,
    actor: str | None,
    since: datetime | None,
    until: datetime | None,
    kind: tuple[str, ...],
    limit: int,
    as_json: bool,
) -> None:
    """Who changed the tenant's overrides or record, and every policy adjustment.

    \b
    Example:
      parako-config tenant audit acme --kind adjustment
    """
    entries = await tenants_of(service).audit(slug, **audit_filters(prefix, actor, since, until))
    show_audit(entries, kind, limit, as_json)


@tenant.command()
@click.argument("slug", shell_complete=complete_tenant)
@click.argument("section")
@click.option("--by", "actor", required=True, callback=nonblank, help=BY_HELP)
@click.option("--reason", default="", help="why (default: Reset SECTION)")
@command
async def reset(service: ConfigService, slug: str, section: str, actor: str, reason: str) -> None:
    """Drop every override of SECTION: the tenant inherits it again.

    \b
    Example:
      parako-config tenant reset acme branding --by ops --reason "back to the platform look"
    """
    result = await tenants_of(service).reset_section(slug, section, Author(actor, reason))
    click.echo(f"reset {slug} {section}: {result.semver or 'nothing to reset'}")


@tenant.command()
@click.argument("slug", shell_complete=complete_tenant)
@click.argument("semver")
@click.option("--by", "actor", required=True, callback=nonblank, help=BY_HELP)
@click.option("--reason", required=True, callback=nonblank, help=REASON_HELP)
@command
async def rollback(service: ConfigService, slug: str, semver: str, actor: str, reason: str) -> None:
    """Make a new version of the tenant's overrides equal to SEMVER's.

    \b
    Example:
      parako-config tenant rollback acme 1.0.1 --by ops --reason undo
    """
    result = await tenants_of(service).restore(slug, semver, Author(actor, reason))
    click.echo(f"restored {slug} {semver} as {result.semver}")
