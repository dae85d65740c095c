"""API tokens, event-sourced in the configuration log (stream ``auth/tokens``).

Why the log and not a table of its own: every store adapter (SQLite, PostgreSQL, MongoDB) already
has it, it is hash-chained (a token slipped in by editing the database breaks ``verify``), and a
token's creation and revocation are facts with an author and a time, exactly what an event is.
Every process sees a revocation on its next request, because the API's authenticator reloads
when the stream's version moves.

Only a SHA-256 digest of each token is stored. A token is 32 random bytes, so the digest needs no
salt or slow hash (there is nothing to brute-force), and it does not depend on ENCRYPTION_KEY, so
rotating that key does not invalidate every token. The plaintext is shown once, at creation.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import attrs

from eventstore.errors import Issue, ValidationFailed
from eventstore.events import ApiTokenCreated, ApiTokenRevoked, decode, encode
from eventstore.log import EventLog, RecordedEvent
from eventstore.retry import until_appended

TOKEN_STREAM: Final = "auth/tokens"
TOKEN_PREFIX: Final = "pkc_"

READ: Final = "parako:config:read"
WRITE: Final = "parako:config:write"
TENANT_READ: Final = "parako:cross-tenant:read"
TENANT_WRITE: Final = "parako:cross-tenant:write"
#: app processes: the runtime config with secrets in clear, and nothing else
RUNTIME: Final = "parako:config:runtime"
#: issue, list and revoke tokens (the API's /tokens and the console's token page)
TOKENS_ADMIN: Final = "parako:tokens:admin"
SCOPES: Final = (READ, WRITE, TENANT_READ, TENANT_WRITE, RUNTIME, TOKENS_ADMIN)

_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


def new_token() -> str:
    """32 random bytes, URL-safe, with a prefix that secret scanners can recognise."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@attrs.frozen
class ApiToken:
    """A token as the store knows it: never its plaintext."""

    name: str
    scopes: tuple[str, ...]
    digest: str = attrs.field(repr=False)
    created_by: str
    created_at: datetime
    revoked_by: str | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "scopes": list(self.scopes),
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "revoked_by": self.revoked_by,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def fold(
    recorded: Iterable[RecordedEvent], start: Mapping[str, ApiToken] | None = None
) -> dict[str, ApiToken]:
    """Tokens by name; a name revoked and created again holds the newest token. ``start`` is
    what the records before ``recorded`` folded to (a reader that applies records as they come)."""
    tokens: dict[str, ApiToken] = dict(start or {})
    for item in recorded:
        event = decode(item)
        if isinstance(event, ApiTokenCreated):
            tokens[event.name] = ApiToken(
                event.name, event.scopes, event.digest, event.actor, event.at
            )
        elif isinstance(event, ApiTokenRevoked) and event.name in tokens:
            tokens[event.name] = attrs.evolve(
                tokens[event.name], revoked_by=event.actor, revoked_at=event.at
            )
    return tokens


def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(scopes))
    unknown = [s for s in chosen if s not in SCOPES]
    if not chosen or unknown:
        allowed = ", ".join(SCOPES)
        what = f"unknown scope(s) {', '.join(unknown)}" if unknown else "at least one scope"
        raise ValidationFailed([Issue("scope", f"{what}; allowed: {allowed}")])
    return chosen


class ScopeNotHeld(ValidationFailed):
    """A token may only be given scopes its issuer holds (D29 in docs/decisions.md)."""

    def __init__(self, missing: Iterable[str]) -> None:
        self.missing = tuple(missing)
        message = f"you cannot grant a scope your own token lacks: {', '.join(self.missing)}"
        super().__init__([Issue("scopes", message)])


class TokenNameTaken(ValidationFailed):
    """An active token already has this name."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__([Issue("name", "an active token has this name; revoke it first")])


class NoActiveToken(ValidationFailed):
    """No active token has this name (never created, or revoked already)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__([Issue("name", f"no active token named {name!r}")])


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        message = (
            "1-64 characters: letters, digits, '.', '_', '@', '-', starting with a letter or digit"
        )
        raise ValidationFailed([Issue("name", message)])
    return name


class TokenStore:
    """Create, revoke and list tokens (the ``token`` CLI commands)."""

    def __init__(self, log: EventLog, clock: Callable[[], datetime] | None = None) -> None:
        self._log = log
        self._clock = clock or (lambda: datetime.now(UTC))

    async def tokens(self) -> dict[str, ApiToken]:
        return fold(await self._log.read_stream(TOKEN_STREAM))

    async def create(
        self,
        name: str,
        scopes: Iterable[str],
        actor: str,
        *,
        issuer_scopes: Iterable[str] | None = None,
    ) -> tuple[ApiToken, str]:
        """A new token named ``name``; returns it and its plaintext (shown once).

        ``issuer_scopes`` are the scopes of the token that asks (the API, the console): the new
        token gets none beyond them. ``None`` is the operator at the store (the CLI), who
        already holds everything a token could grant.
        """
        check_name(name)
        chosen = check_scopes(scopes)
        if issuer_scopes is not None:
            held = set(issuer_scopes)
            missing = [scope for scope in chosen if scope not in held]
            if missing:
                raise ScopeNotHeld(missing)
        plaintext = new_token()

        def allowed(tokens: Mapping[str, ApiToken]) -> None:
            if name in tokens and tokens[name].active:
                raise TokenNameTaken(name)

        event = ApiTokenCreated(name, chosen, digest_of(plaintext), actor, self._clock())
        await self._append(event, allowed)
        return (await self.tokens())[name], plaintext

    async def revoke(self, name: str, actor: str) -> ApiToken:
        def allowed(tokens: Mapping[str, ApiToken]) -> None:
            if name not in tokens or not tokens[name].active:
                raise NoActiveToken(name)

        await self._append(ApiTokenRevoked(name, actor, self._clock()), allowed)
        return (await self.tokens())[name]

    async def _append(
        self,
        event: ApiTokenCreated | ApiTokenRevoked,
        allowed: Callable[[Mapping[str, ApiToken]], None],
    ) -> None:
        async def attempt() -> None:
            recorded = await self._log.read_stream(TOKEN_STREAM)
            allowed(fold(recorded))
            version = recorded[-1].version if recorded else 0
            await self._log.append(TOKEN_STREAM, version, [encode(event)])

        await until_appended(attempt)
