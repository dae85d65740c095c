"""The URL paths the service itself serves, and the settings that must stay clear of them.

``features.metrics.path`` is mounted beside the Management API and the console; a value inside
either, or on the console's icon, would be saved and then stop the next ``serve`` (two routes for
one path). The write pipeline runs :func:`route_conflicts` on every candidate config, so such a
value is refused when it is written, not discovered at the next start. No web framework is
imported here: the CLI validates writes without loading one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from eventstore.docpath import get_path
from eventstore.errors import Issue

API_PREFIX: Final = "/api/v1"
#: its own prefix: Litestar's OpenAPI router answers every path under its prefix (in HTML)
OPENAPI_PATH: Final = f"{API_PREFIX}/openapi"
ADMIN_PREFIX: Final = "/admin"
#: prefix → what is served under it
OWNED_PREFIXES: Final = {API_PREFIX: "the Management API", ADMIN_PREFIX: "the console"}
#: single paths served outside those prefixes ("/" itself is refused for every setting)
FAVICON_PATH: Final = "/favicon.ico"
OWNED_PATHS: Final = {FAVICON_PATH: "the console's icon"}
#: settings that name a path the service mounts
MOUNTED_PATH_SETTINGS: Final = ("features.metrics.path",)


def route_conflicts(config: Mapping[str, Any]) -> list[Issue]:
    """An issue for every mounted-path setting of ``config`` that is not an absolute path or
    falls on or under a prefix the service owns."""
    issues = []
    for setting in MOUNTED_PATH_SETTINGS:
        path = get_path(config, setting, None)
        if not isinstance(path, str):
            continue
        normal = "/" + path.strip("/")
        if not path.startswith("/") or normal == "/":
            issues.append(Issue(setting, "must be an absolute path below / such as /metrics"))
            continue
        for prefix, owner in OWNED_PREFIXES.items():
            if normal == prefix or normal.startswith(prefix + "/"):
                issues.append(
                    Issue(setting, f"{path} is served by {owner}; choose a path outside {prefix}")
                )
        if normal in OWNED_PATHS:
            issues.append(Issue(setting, f"{path} is served as {OWNED_PATHS[normal]}"))
    return issues
