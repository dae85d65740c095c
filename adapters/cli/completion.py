"""Shell completion of setting paths and tenant slugs (click's ``shell_complete`` hooks).

Enable it once per shell, e.g. ``eval "$(_PARAKO_CONFIG_COMPLETE=bash_source parako-config)"``
(zsh: ``zsh_source``, fish: ``fish_source``).
"""

from __future__ import annotations

import asyncio
import os
from functools import cache

import click
from click.shell_completion import CompletionItem

from eventstore.schema.paths import walk


@cache
def _setting_paths() -> tuple[str, ...]:
    return tuple(path for path, _ in walk())


@cache
def _leaves() -> frozenset[str]:
    """The settings themselves (not the sections and groups that hold them)."""
    return frozenset(path for path, declared in walk() if declared.info.nested is None)


def _next_segments(incomplete: str) -> list[str]:
    """Paths that extend ``incomplete`` by one segment (``branding.`` → ``branding.logo``…),
    so a shell offers a short list at each dot instead of 640 paths at once."""
    depth = incomplete.count(".")
    found = {
        ".".join(path.split(".")[: depth + 1])
        for path in _setting_paths()
        if path.startswith(incomplete)
    }
    return sorted(found)


def complete_path(
    _ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    return [CompletionItem(path) for path in _next_segments(incomplete)]


def complete_assignment(
    _ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """``PATH=VALUE``: the path part, then ``=`` once it names a setting."""
    if "=" in incomplete:
        return []
    leaves = _leaves()
    return [
        CompletionItem(f"{path}=" if path in leaves else path)
        for path in _next_segments(incomplete)
    ]


def complete_tenant(
    _ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Tenant slugs from the store of this deployment; nothing when it cannot be opened."""
    from adapters.sources.bootstrap import project_root
    from adapters.wiring import open_service

    async def slugs() -> list[str]:
        service = await open_service(project_root(), os.environ)
        try:
            if service.tenants is None:
                return []
            registry = await service.tenants.commands.registry()
            return sorted(registry.tenants)
        finally:
            await service.close()

    try:
        found = asyncio.run(asyncio.wait_for(slugs(), 5))
    except Exception:
        return []
    return [CompletionItem(slug) for slug in found if slug.startswith(incomplete)]
