"""Keeping connection credentials out of messages, logs and tracebacks, for every URL scheme.

A storage or hint URL (``postgresql://``, ``mongodb://``, ``mongodb+srv://``, ``redis://``) may
carry a password, and both the URL and the driver's error text about it end up in messages an
operator reads and in log files. Two tools, so each adapter redacts the same way:

* :func:`redact_url` rewrites a URL for display: ``user:***@host``, and ``password=***`` in the
  query, keeping everything else so the operator can still tell which server was meant.
* :func:`url_secrets` and :func:`scrub` clean free text (a driver's message) that may quote the
  password in any form the driver parsed it into.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

#: what stands in for a removed password
MASK: Final = "***"
# ``user:`` and the password after it, up to the ``@`` that ends the authority: the first ``@``
# that no other ``@`` follows before the path, query or fragment (or the end).
_USERINFO_PASSWORD: Final = re.compile(r"(://[^:/@]*:).*?@(?=[^@/?#]*(?:[/?#]|$))")


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, safe for messages and logs.

    Handles the password both in the authority (``user:pw@host``) and as a ``password=`` query
    parameter; if the URL cannot even be split, a pattern-based scrub is the fallback. Both
    take the user-info to end at the authority's *last* ``@``, so an unescaped ``@`` in a
    password is hidden whole.
    """
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hostport = netloc.rpartition("@")
            user, colon, _ = userinfo.partition(":")
            netloc = f"{user}:***@{hostport}" if colon else f"{user}@{hostport}"
        query = urlencode(
            [
                (k, "***" if k.lower() == "password" else v)
                for k, v in parse_qsl(parts.query, keep_blank_values=True)
            ],
            safe="*",
        )
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        scrubbed = _USERINFO_PASSWORD.sub(r"\1***@", url)
        return re.sub(r"(?i)(password=)[^&]*", r"\1***", scrubbed)


def url_secrets(url: object) -> list[str]:
    """Every string that could be the URL's password, however the URL is malformed.

    Driver messages may quote parts of a URL they could not parse; since a password containing
    an unescaped ``@`` or ``/`` makes the user-info boundary ambiguous, each plausible reading
    is redacted, raw and percent-decoded.
    """
    if not isinstance(url, str) or "://" not in url:
        return []
    rest = url.split("://", 1)[1]
    host_part = rest.split("/", 1)[0]
    userinfos = [part.rsplit("@", 1)[0] for part in (host_part, rest) if "@" in part]
    candidates: set[str] = set()
    for userinfo in userinfos:
        if ":" in userinfo:
            password = userinfo.split(":", 1)[1]
            candidates.update({password, unquote(password), userinfo, unquote(userinfo)})
    return _longest_first(candidates)


def password_forms(password: str | None) -> list[str]:
    """A known password as it may appear in text: raw and percent-decoded."""
    return _longest_first({password, unquote(password)} if password else set())


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each of ``secrets`` replaced by ``***``.

    Pass the secrets longest first (as :func:`url_secrets` and :func:`password_forms` return
    them), so a password is not half-replaced through a shorter candidate inside it.
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


def _longest_first(candidates: set[str]) -> list[str]:
    return sorted((c for c in candidates if c), key=len, reverse=True)
