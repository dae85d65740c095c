"""The admin console's session cookie, CSRF tokens and sealed pending changes.

Why a signed cookie rather than a server-side session table: ``parako-config serve`` may run as
several processes behind a balancer, and the console must not need a shared session store. The
cookie names the API token the person signed in with (its name and a digest prefix, never the
token) plus a random nonce; it is signed with a key derived from ENCRYPTION_KEY
(``derive_key(master, "admin-session")``), so every process of one deployment accepts it and
nobody without the key can forge one. The token is checked again on every request, so revoking it
ends the session at once; signing out records the session's id in the log
(:mod:`eventstore.console`), and every process refuses the cookie from then on, a copy of it
included (D25 in docs/decisions.md).

CSRF: every form carries ``_csrf`` = HMAC(nonce of the session); a post without it, or with one
from another session, is refused. The cookie is HttpOnly and SameSite=Strict as well.

A change awaiting confirmation (the impact summary step) travels in the page *sealed*
(AES-GCM under another derived key, bound to the session nonce): the page then never holds a
secret the person typed, and the server keeps no state between preview and save.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Mapping
from typing import Any, Final

import attrs
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from eventstore.crypto import KEY_BYTES, Keyring, derive_key

COOKIE: Final = "parako_admin"
LOGIN_COOKIE: Final = "parako_admin_login"
#: a session lasts a working day; signing in again is cheap
MAX_AGE_SECONDS: Final = 8 * 3600
#: how many leading characters of a presented token the sign-in limit keys on: the token's
#: ``pkc_`` prefix and 8 random characters, nothing that would help to guess the rest
TOKEN_TAG_CHARS: Final = 12
_PURPOSE_SESSION: Final = "admin-session"
_PURPOSE_CSRF: Final = "admin-csrf"
_PURPOSE_PENDING: Final = "admin-pending"
_PURPOSE_SIGN_IN: Final = "admin-sign-in"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@attrs.frozen
class AdminSession:
    """Who is signed in: the token's name (the actor of their changes) and its scopes."""

    token_name: str
    digest_prefix: str = attrs.field(repr=False)
    nonce: str = attrs.field(repr=False)
    issued_at: int
    scopes: tuple[str, ...] = ()

    def can(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def id(self) -> str:
        """What a sign-out records: derived from the cookie's random nonce, so the log never
        holds a value that could be used in a cookie or a CSRF check."""
        return hashlib.sha256(f"admin-session:{self.nonce}".encode()).hexdigest()[:32]


class SessionKeys:
    """The keys of the console, derived from one master key."""

    def __init__(self, master: bytes, *, clock: Any = time.time) -> None:
        self._session = derive_key(master, _PURPOSE_SESSION)
        self._csrf = derive_key(master, _PURPOSE_CSRF)
        self._pending = AESGCM(derive_key(master, _PURPOSE_PENDING))
        self._sign_in = derive_key(master, _PURPOSE_SIGN_IN)
        self._clock = clock

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> SessionKeys:
        """Keyed from ENCRYPTION_KEY; without one (file mode) a random per-process key, so
        sessions then do not outlive the process, which is all file mode needs."""
        value = environ.get("ENCRYPTION_KEY")
        if value:
            return cls(Keyring.from_values(value).current)
        return cls(os.urandom(KEY_BYTES))

    # --- the session cookie --------------------------------------------------------------------

    def issue(self, token_name: str, digest: str) -> str:
        payload = {
            "t": token_name,
            "d": digest[:16],
            "n": _b64(secrets.token_bytes(16)),
            "i": int(self._clock()),
        }
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{self._sign(body)}"

    def read(self, cookie: str | None) -> AdminSession | None:
        """The session a cookie holds, or None when absent, forged, malformed or expired."""
        if not cookie or cookie.count(".") != 1:
            return None
        body, signature = cookie.split(".")
        if not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            payload = json.loads(_unb64(body))
            session = AdminSession(
                str(payload["t"]), str(payload["d"]), str(payload["n"]), int(payload["i"])
            )
        except (binascii.Error, ValueError, KeyError, TypeError):
            return None
        age = self._clock() - session.issued_at
        return session if 0 <= age <= MAX_AGE_SECONDS else None

    def token_tag(self, presented: str) -> str:
        """What the sign-in limit keys a presented token by: a keyed digest of its first
        characters, the same in every process of a deployment. Keyed, so that the audit trail,
        which shows it, tells nobody which characters to type to lock that token out."""
        head = presented[:TOKEN_TAG_CHARS].encode("utf-8", "replace")
        return hmac.new(self._sign_in, head, hashlib.sha256).hexdigest()[:16]

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._session, body.encode(), hashlib.sha256).digest())

    # --- CSRF --------------------------------------------------------------------------------

    def csrf_for(self, nonce: str) -> str:
        """The CSRF token of a session (or of a sign-in form, keyed by its cookie's nonce)."""
        return _b64(hmac.new(self._csrf, nonce.encode(), hashlib.sha256).digest())

    def csrf_ok(self, nonce: str, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(self.csrf_for(nonce), str(presented))

    # --- sealed pending changes ----------------------------------------------------------------

    def seal(self, nonce: str, content: Mapping[str, Any]) -> str:
        iv = secrets.token_bytes(12)
        data = json.dumps(content, separators=(",", ":")).encode()
        return _b64(iv + self._pending.encrypt(iv, data, nonce.encode()))

    def unseal(self, nonce: str, sealed: str | None) -> dict[str, Any] | None:
        """The content, or None when it was altered or sealed for another session."""
        if not sealed:
            return None
        try:
            raw = _unb64(sealed)
            data = self._pending.decrypt(raw[:12], raw[12:], nonce.encode())
            content = json.loads(data)
        except (binascii.Error, ValueError, InvalidTag):
            return None
        return content if isinstance(content, dict) else None
