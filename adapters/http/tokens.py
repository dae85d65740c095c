"""Authenticating Management API requests against the tokens of :mod:`eventstore.tokens`."""

from __future__ import annotations

import hmac

from eventstore.log import EventLog
from eventstore.tokens import TOKEN_STREAM, ApiToken, digest_of, fold


class TokenAuthenticator:
    """Finds the active token a request presents; reloads when the token stream moves.

    The presented token's digest is compared with every active token's digest in constant time,
    and the loop does not stop at a match, so timing reveals neither which token nor how much of
    one matched.
    """

    def __init__(self, log: EventLog | None) -> None:
        """``log`` is None in file mode: there is no store, so no token is ever valid."""
        self._log = log
        self._version = -1
        self._active: dict[str, ApiToken] = {}

    async def refresh(self) -> None:
        if self._log is None:
            return
        version = await self._log.stream_version(TOKEN_STREAM)
        if version != self._version:
            tokens = fold(await self._log.read_stream(TOKEN_STREAM))
            self._active = {name: t for name, t in tokens.items() if t.active}
            self._version = version

    async def authenticate(self, presented: str) -> ApiToken | None:
        await self.refresh()
        digest = digest_of(presented).encode("ascii")
        found: ApiToken | None = None
        for token in self._active.values():
            if hmac.compare_digest(digest, token.digest.encode("ascii")):
                found = token
        return found

    async def active(self, name: str) -> ApiToken | None:
        """The active token called ``name`` as it is now (sessions that name a token use it)."""
        await self.refresh()
        return self._active.get(name)
