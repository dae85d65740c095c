"""Connection credentials inside URLs and free text: masked for every output, one set of rules.

A storage or OIDC-storage URL (``postgresql://``, ``mongodb://``, ``mongodb+srv://``,
``redis://`` …) may carry a password, in the user-info or as a query parameter. The running
process needs the real URL to connect; everything it *shows* — ``show``, ``--json``, error
messages, log lines — goes through :func:`mask_url` (a value known to be a URL) or
:func:`mask_urls_in_text` (a message that may quote one), so the password never leaves in clear.

The user-info is taken to end at the first ``@`` that no other ``@`` follows before the host
part ends, so an unescaped ``@``, ``:``, ``/``, ``?`` or ``#`` inside a password is hidden whole
rather than cut at the first one: hiding too much is the safe failure. Everything but the
password is kept byte for byte, so the operator still sees which server and database was meant.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import unquote

__all__ = ["URL_MASK", "mask_url", "mask_urls_in_text"]

#: what stands in for a password inside a URL (ASCII, so the URL stays one a shell can paste)
URL_MASK: Final = "***"

# ``scheme://user:`` then the password, up to the ``@`` that ends the user-info: the first one
# after which the host part (up to ``/``, ``?``, ``#`` or the end) holds no further ``@``.
_VALUE_USERINFO: Final = re.compile(
    r"(?P<lead>[A-Za-z][A-Za-z0-9+.\-]*://[^:/?#@\s]*:).*?@(?=[^@/?#]*(?:[/?#]|$))", re.DOTALL
)
# The same inside free text, where a URL ends at whitespace, a quote or a closing bracket and
# the password cannot span whitespace (a message must not be swallowed up to a later ``@``).
_TEXT_USERINFO: Final = re.compile(
    r"(?P<lead>[A-Za-z][A-Za-z0-9+.\-]*://[^:/?#@\s'\"]*:)\S*?@"
    r"(?=[^@/?#\s'\"<>()\[\]{},;]*(?:[/?#\s'\"<>()\[\]{},;]|$))"
)
# A query parameter that carries a credential: ``password=`` (libpq, the MongoDB driver),
# ``sslpassword=``, ``tlsCertificateKeyFilePassword=``, tokens and secrets of any spelling, and
# MongoDB's ``authMechanismProperties`` (which may hold an AWS session token).
_PARAMETER: Final = re.compile(r"(?P<lead>[?&;](?P<name>[^=&#;\s]*)=)(?P<value>[^&#;\s]*)")
_CREDENTIAL_NAMES: Final = ("password", "secret", "token", "authmechanismproperties")


def _is_credential_name(name: str) -> bool:
    normalized = unquote(name).lower().replace("_", "").replace("-", "")
    return any(part in normalized for part in _CREDENTIAL_NAMES)


def _mask_parameter(match: re.Match[str]) -> str:
    if not _is_credential_name(match["name"]):
        return match[0]
    return match["lead"] + URL_MASK


def mask_url(url: str) -> str:
    """``url`` with its password (user-info and credential parameters) replaced by ``***``.

    A URL without a password comes back unchanged; so does anything that is not a URL.
    """
    if "://" not in url:
        return url
    masked = _VALUE_USERINFO.sub(rf"\g<lead>{URL_MASK}@", url, count=1)
    return _PARAMETER.sub(_mask_parameter, masked) if "=" in masked else masked


def mask_urls_in_text(text: str) -> str:
    """``text`` with the password of every URL it quotes replaced by ``***``.

    For messages that may quote a connection URL: a driver's error, an exception in a log line.
    Credential parameters are masked only after a ``://`` (a plain ``token=`` in prose is not a
    URL's, and masking it would hide what the message is about).
    """
    if "://" not in text:
        return text
    masked = _TEXT_USERINFO.sub(rf"\g<lead>{URL_MASK}@", text)
    if "=" not in masked:
        return masked
    head, separator, rest = masked.partition("://")
    return head + separator + _PARAMETER.sub(_mask_parameter, rest)
