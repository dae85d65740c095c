"""Debian's Chromium for the admin console's browser tests, installed on demand.

The tests drive ``/usr/bin/chromium`` through Playwright (PyPI ``playwright``) rather than a
browser build Playwright downloads, because only the distribution's package registries are
reachable. When the binary is missing, the set-up installs the ``chromium`` package with apt
(the tests run as root in CI); when that is impossible they skip on a developer machine and fail
under ``CI=true`` (see ``servers.unavailable``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Final

from .servers import unavailable

CHROMIUM: Final = "/usr/bin/chromium"
_INSTALL_TIMEOUT: Final = 900


def ensure_chromium() -> str:
    """The path of a runnable Chromium, installing Debian's package when needed."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        unavailable("Chromium", f"{CHROMIUM} is missing", "Install it: apt-get install -y chromium")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in ([apt, "update"], [apt, "install", "-y", "--no-install-recommends", "chromium"]):
        result = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=_INSTALL_TIMEOUT, check=False
        )
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            unavailable("Chromium", f"{' '.join(command)} failed: {tail[0]}", "Install chromium")
    if not os.access(CHROMIUM, os.X_OK):
        unavailable("Chromium", f"{CHROMIUM} is still missing after apt-get", "Install chromium")
    return CHROMIUM
