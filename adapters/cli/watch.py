"""The lines ``parako-config watch`` prints: one per applied version, text or JSON."""

from __future__ import annotations

import json
from datetime import datetime

from projections.runtime import AppliedVersion


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def format_applied(applied: AppliedVersion, as_json: bool) -> str:
    """``--json``: one compact object per line, so a pipe can parse line by line.

    ``committed_at`` is the time the log recorded the event; ``applied_at`` the time this
    process applied it; their difference is the propagation delay.
    """
    if as_json:
        return json.dumps(
            {
                "version": applied.semver,
                "_version": applied.version,
                "tenant": applied.tenant,
                "position": applied.position,
                "committed_at": _iso(applied.committed_at),
                "applied_at": _iso(applied.applied_at),
            },
            separators=(",", ":"),
        )
    scope = f"tenant {applied.tenant}" if applied.tenant else "platform"
    return (
        f"{applied.semver} ({scope}, _version {applied.version}) committed "
        f"{_iso(applied.committed_at)} applied {_iso(applied.applied_at)}"
    )
