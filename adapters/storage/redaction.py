"""Keeping connection credentials out of messages, logs and tracebacks, for every URL scheme.

A storage or hint URL (``postgresql://``, ``mongodb://``, ``mongodb+srv://``, ``redis://``) may
carry a password, and both the URL and the driver's error text about it end up in messages an
operator reads and in log files. Two tools, so each adapter redacts the same way:

* :func:`redact_url` rewrites a URL for display: ``user:***@host``, and ``password=***`` in the
  query, keeping everything else so the operator can still tell which server was meant.
* :func:`url_secrets` and :func:`scrub` clean free text (a driver's message) that may quote the
  password in any form the driver parsed it into; :func:`quotes_a_piece` tells when a message
  quotes a piece of it, which only withholding the message hides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import unquote

from eventstore.credentials import URL_MASK, mask_url

#: what stands in for a removed password
MASK: Final = URL_MASK


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, safe for messages and logs.

    Handles the password both in the authority (``user:pw@host``) and in credential query
    parameters (``password=`` …), by the rules every output uses
    (:func:`eventstore.credentials.mask_url`): the user-info ends at the authority's *last*
    ``@``, so an unescaped ``@`` in a password is hidden whole.
    """
    return mask_url(url)


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


# where a URL parser may cut an unescaped password: the pieces between are what it then quotes
_URL_DELIMITERS: Final = re.compile(r"[@:/?#]")


def quotes_a_piece(text: str, secrets: Iterable[str]) -> bool:
    """Whether ``text`` quotes a piece of one of ``secrets`` (two characters or more between
    ``@ : / ? #``).

    A parser that took an unescaped delimiter inside a password for the end of the user-info
    reads the rest as host and port and quotes it in its error ("invalid port 's3cr@db'"):
    :func:`scrub` cannot see that, as only a piece of the password is there.
    """
    return any(
        len(piece) >= 2 and piece in text
        for secret in secrets
        for piece in _URL_DELIMITERS.split(secret)
    )


def _longest_first(candidates: set[str]) -> list[str]:
    return sorted((c for c in candidates if c), key=len, reverse=True)
