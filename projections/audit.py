"""Audit trail: who changed or revealed which setting, when and why, folded from events.

The event log already is the audit trail (every save is an immutable event), so this module only
reshapes events into one entry per changed field (platform or tenant), one per reveal (D11 in
docs/decisions.md), one per policy adjustment of a tenant write (D22: what was asked, what was
kept, which rule), one per change to the tenant registry, one per API token issued or revoked
(never the token), and one per console sign-out and per failed console sign-in (the sign-in limit
counts these, as the reveal limit counts reveals).
Entries are masked when they are built, not when they are shown: a secret's value — ciphertext
envelope or, from older events, plaintext — never reaches an :class:`AuditEntry`, so no caller
can leak it by forgetting to mask.
"""

from __future__ import annotations

import array
import asyncio
import base64
import binascii
import bisect
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final, Literal, TypedDict, Unpack

import attrs

from eventstore.events import (
    CONFIG_CHANGED,
    CONSOLE_SIGN_IN_FAILED,
    CONSOLE_SIGNED_OUT,
    SECRET_REVEALED,
    TENANT_CHANGED,
    TENANT_OVERRIDE_CHANGED,
    TOKEN_CREATED,
    TOKEN_REVOKED,
    ApiTokenCreated,
    ApiTokenRevoked,
    ChangeEvent,
    ConsoleSignedOut,
    ConsoleSignInFailed,
    SecretRevealed,
    TenantChanged,
    TenantOverrideChanged,
    decode,
)
from eventstore.log import EventLog, RecordedEvent
from eventstore.masking import mask_for_display
from eventstore.tenants import slug_of_stream

EntryKind = Literal["change", "reveal", "adjustment", "tenant", "token", "sign-out", "sign-in"]
#: kinds that produce no version of anything
_UNVERSIONED: Final = ("reveal", "sign-out", "sign-in")
#: why a failed sign-in entry was recorded
_FAILED_SIGN_IN: Final = "console sign-in failed: unknown or revoked token"

_AUDITED: Final = (
    CONFIG_CHANGED,
    SECRET_REVEALED,
    TENANT_OVERRIDE_CHANGED,
    TENANT_CHANGED,
    TOKEN_CREATED,
    TOKEN_REVOKED,
    CONSOLE_SIGNED_OUT,
    CONSOLE_SIGN_IN_FAILED,
)


# --- entries ----------------------------------------------------------------------------------


@attrs.frozen
class AuditEntry:
    """One audited fact: a field that changed, or a secret that was revealed.

    ``position`` and ``index`` (the change's place within its event) order entries and make the
    pagination cursor; ``version``/``semver``/``origin`` describe the configuration version a
    change produced and are ``None`` for reveals, which produce no version.
    """

    kind: EntryKind
    who: str
    when: datetime
    why: str
    path: str
    old: Any
    new: Any
    version: int | None
    semver: str | None
    origin: str | None
    stream: str
    position: int
    index: int = 0

    @property
    def key(self) -> tuple[int, int]:
        return (self.position, self.index)

    @property
    def tenant(self) -> str | None:
        """The tenant whose overrides or record this is about; None for the platform."""
        return self.path if self.kind == "tenant" else slug_of_stream(self.stream)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "who": self.who,
            "when": self.when.isoformat(),
            "why": self.why,
            "path": self.path,
            "old": self.old,
            "new": self.new,
            "version": self.version,
            "semver": self.semver,
            "origin": self.origin,
            "stream": self.stream,
            "tenant": self.tenant,
            "position": self.position,
        }


def entries_of(recorded: RecordedEvent) -> list[AuditEntry]:
    """The audit entries one recorded event yields; events of other types yield none."""
    if recorded.type not in _AUDITED:
        return []
    event = decode(recorded)
    if isinstance(event, ChangeEvent):
        return _change_entries(recorded, event)
    if isinstance(event, TenantChanged):
        return [_tenant_entry(recorded, event)]
    if isinstance(event, ApiTokenCreated | ApiTokenRevoked):
        return [_token_entry(recorded, event)]
    if isinstance(event, SecretRevealed):
        return [
            _entry(recorded, "reveal", event.actor, event.at, event.reason, event.path, None, None)
        ]
    if isinstance(event, ConsoleSignedOut):
        why = "signed out of the admin console"
        return [_entry(recorded, "sign-out", event.actor, event.at, why, event.actor, None, None)]
    if isinstance(event, ConsoleSignInFailed):
        # who tried (the client address) and with what (a tag of the token's first characters)
        client, why, tag = event.client, _FAILED_SIGN_IN, event.token
        return [_entry(recorded, "sign-in", client, event.at, why, tag, None, None)]
    return []


def _entry(
    recorded: RecordedEvent,
    kind: EntryKind,
    who: str,
    when: datetime,
    why: str,
    path: str,
    new: Any,
    origin: str | None,
) -> AuditEntry:
    """An entry of a registry, token, reveal or console event: no old value and no config
    version."""
    return AuditEntry(
        kind=kind,
        who=who,
        when=when,
        why=why,
        path=path,
        old=None,
        new=new,
        version=None if kind in _UNVERSIONED else recorded.version,
        semver=None,
        origin=origin,
        stream=recorded.stream,
        position=recorded.position,
    )


def _tenant_entry(recorded: RecordedEvent, event: TenantChanged) -> AuditEntry:
    record = {"display_name": event.display_name, "domain": event.domain, "status": event.status}
    why = event.reason or ("created" if event.created else "updated")
    origin = "create" if event.created else "update"
    return _entry(recorded, "tenant", event.actor, event.at, why, event.slug, record, origin)


def _token_entry(recorded: RecordedEvent, event: ApiTokenCreated | ApiTokenRevoked) -> AuditEntry:
    if isinstance(event, ApiTokenCreated):
        new: Any = {"scopes": list(event.scopes)}
        why, origin = "API token created", "create"
    else:
        new, why, origin = None, "API token revoked", "revoke"
    return _entry(recorded, "token", event.actor, event.at, why, event.name, new, origin)


def _change_entries(recorded: RecordedEvent, event: ChangeEvent) -> list[AuditEntry]:
    entries = [
        AuditEntry(
            kind="change",
            who=event.actor,
            when=event.at,
            why=event.reason,
            path=change.path,
            old=mask_for_display(change.path, change.old),
            new=mask_for_display(change.path, change.new),
            version=recorded.version,
            semver=event.semver,
            origin=event.origin,
            stream=recorded.stream,
            position=recorded.position,
            index=index,
        )
        for index, change in enumerate(event.changes)
    ]
    if isinstance(event, TenantOverrideChanged):
        entries += [
            AuditEntry(
                kind="adjustment",
                who=event.actor,
                when=event.at,
                why=str(adjustment["reason"]),
                path=str(adjustment["path"]),
                old=mask_for_display(str(adjustment["path"]), adjustment["original"]),
                new=mask_for_display(str(adjustment["path"]), adjustment["adjusted"]),
                version=recorded.version,
                semver=event.semver,
                origin=event.origin,
                stream=recorded.stream,
                position=recorded.position,
                index=len(event.changes) + offset,
            )
            for offset, adjustment in enumerate(event.adjustments)
        ]
    return entries


def _check_aware(name: str, moment: datetime | None) -> None:
    if moment is not None and moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware: event times are")


def path_matches(path: str, prefix: str) -> bool:
    """Prefix match on whole segments: ``branding`` covers ``branding.x``, not ``brandingX``."""
    return path == prefix or path.startswith(prefix + ".")


class AuditFilters(TypedDict, total=False):
    """What an audit query can narrow by; see :func:`filter_entries`."""

    path_prefix: str | None
    actor: str | None
    since: datetime | None
    until: datetime | None
    tenant: str | None


def audit_entries(
    recorded_events: Iterable[RecordedEvent], **filters: Unpack[AuditFilters]
) -> list[AuditEntry]:
    """Audit entries of ``recorded_events`` in log order (oldest first), filtered."""
    entries = (entry for recorded in recorded_events for entry in entries_of(recorded))
    return filter_entries(entries, **filters)


def filter_entries(
    entries: Iterable[AuditEntry],
    *,
    path_prefix: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    tenant: str | None = None,
) -> list[AuditEntry]:
    """The entries that match every given filter, in their order.

    ``tenant`` keeps one tenant's entries: its overrides and its registry record. ``since`` is
    inclusive and ``until`` exclusive, so consecutive windows neither overlap nor leave a gap.
    Both must be timezone-aware, as comparing with a naive time would be ambiguous.
    """
    _check_aware("since", since)
    _check_aware("until", until)

    def keep(entry: AuditEntry) -> bool:
        return (
            (path_prefix is None or path_matches(entry.path, path_prefix))
            and (actor is None or entry.who == actor)
            and (since is None or entry.when >= since)
            and (until is None or entry.when < until)
            and (tenant is None or entry.tenant == tenant)
        )

    return [entry for entry in entries if keep(entry)]


#: entries per block of the trail's time index (see AuditTrail.select)
_BLOCK: Final = 256


class AuditTrail:
    """Every audit entry of a log, folded incrementally, and indexed.

    A long-running process (the API, the console) asks for the audit trail on every request;
    refolding the whole log each time would make a query cost as much as a replay. This keeps
    the entries and the position they reach, and each catch-up reads only what came after.

    Queries read an index rather than every entry: the entries of each actor, of each tenant
    (and of the platform), and under each top-level path are listed apart, a query walks the
    shortest list that applies, from its cursor on, and stops when its page is full; without
    such a filter, a time window skips every block of entries that lies outside it.
    """

    def __init__(self, page_size: int = 1000, block: int = _BLOCK) -> None:
        self._page_size = page_size
        self._block = block
        self._entries: list[AuditEntry] = []
        self._by_actor: dict[str, array.array[int]] = {}
        self._by_tenant: dict[str | None, array.array[int]] = {}
        self._by_section: dict[str, array.array[int]] = {}
        #: per block of _BLOCK entries: the earliest and the latest time in it
        self._earliest: list[datetime] = []
        self._latest: list[datetime] = []
        self._lock = asyncio.Lock()
        self.position = 0

    def __len__(self) -> int:
        return len(self._entries)

    async def refresh(self, log: EventLog) -> None:
        """Fold what was appended since the last call."""
        async with self._lock:
            while batch := await log.read_all(self.position, self._page_size):
                for recorded in batch:
                    for entry in entries_of(recorded):
                        self._add(entry)
                self.position = batch[-1].position

    async def catch_up(self, log: EventLog) -> Sequence[AuditEntry]:
        """Fold what was appended since the last call; returns every entry, oldest first."""
        await self.refresh(log)
        return tuple(self._entries)

    def _add(self, entry: AuditEntry) -> None:
        index = len(self._entries)
        self._entries.append(entry)
        _post(self._by_actor, entry.who, index)
        _post(self._by_tenant, entry.tenant, index)
        _post(self._by_section, entry.path.partition(".")[0], index)
        if index % self._block == 0:
            self._earliest.append(entry.when)
            self._latest.append(entry.when)
        else:
            block = index // self._block
            self._earliest[block] = min(self._earliest[block], entry.when)
            self._latest[block] = max(self._latest[block], entry.when)

    def select(
        self,
        *,
        path_prefix: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        tenant: str | None = None,
        platform_only: bool = False,
        after: tuple[int, int] | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """The entries :func:`filter_entries` keeps (``platform_only``: and only the
        platform's), in log order or newest first, from after the entry ``after`` names, at
        most ``limit`` of them."""
        _check_aware("since", since)
        _check_aware("until", until)
        entries = self._entries
        lists: list[Sequence[int]] = []
        if actor is not None:
            lists.append(self._by_actor.get(actor, ()))
        if tenant is not None:
            lists.append(self._by_tenant.get(tenant, ()))
        if platform_only:
            lists.append(self._by_tenant.get(None, ()))
        if path_prefix is not None:
            lists.append(self._by_section.get(path_prefix.partition(".")[0], ()))
        candidates: Sequence[int] = min(lists, key=len) if lists else range(len(entries))
        timed = not lists and (since is not None or until is not None)

        def key(index: int) -> tuple[int, int]:
            return entries[index].key

        if newest_first:
            at = (
                len(candidates) if after is None else bisect.bisect_left(candidates, after, key=key)
            )
            at, step = at - 1, -1
        else:
            at = 0 if after is None else bisect.bisect_right(candidates, after, key=key)
            step = 1
        found: list[AuditEntry] = []
        checked_block = -1
        while 0 <= at < len(candidates):
            index = candidates[at]
            if timed and index // self._block != checked_block:
                # the whole range: position and index are one, and a block outside the time
                # window is passed over at once
                block = checked_block = index // self._block
                if (since is not None and self._latest[block] < since) or (
                    until is not None and self._earliest[block] >= until
                ):
                    at = block * self._block - 1 if newest_first else (block + 1) * self._block
                    continue
            entry = entries[index]
            if (
                (path_prefix is None or path_matches(entry.path, path_prefix))
                and (actor is None or entry.who == actor)
                and (since is None or entry.when >= since)
                and (until is None or entry.when < until)
                and (tenant is None or entry.tenant == tenant)
                and (not platform_only or entry.tenant is None)
            ):
                found.append(entry)
                if limit is not None and len(found) >= limit:
                    break
            at += step
        return found

    def page(
        self,
        cursor: str | None,
        limit: int,
        *,
        newest_first: bool = False,
        platform_only: bool = False,
        **filters: Unpack[AuditFilters],
    ) -> tuple[list[AuditEntry], str | None]:
        """:func:`page` of the entries :meth:`select` finds, read from the index: the cost
        grows with the page, not with the trail."""
        if limit < 1:
            raise ValueError("limit must be >= 1")
        after = decode_cursor(cursor) if cursor is not None else None
        found = self.select(
            **filters,
            platform_only=platform_only,
            after=after,
            newest_first=newest_first,
            limit=limit + 1,
        )
        items = found[:limit]
        return items, encode_cursor(items[-1].key) if len(found) > limit else None


def _post(postings: dict[Any, array.array[int]], key: Any, index: int) -> None:
    found = postings.get(key)
    if found is None:
        found = postings[key] = array.array("q")
    found.append(index)


# --- pagination -------------------------------------------------------------------------------


class InvalidCursorError(ValueError):
    """A cursor this module did not make (or that was altered); the client should restart."""


def encode_cursor(key: tuple[int, int]) -> str:
    """Opaque to clients, so the ordering key can change without breaking the API's shape."""
    raw = json.dumps({"p": key[0], "i": key[1]}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = json.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidCursorError("invalid cursor") from None
    if not isinstance(body, dict) or set(body) != {"p", "i"}:
        raise InvalidCursorError("invalid cursor")
    position, index = body["p"], body["i"]
    for part in (position, index):
        if isinstance(part, bool) or not isinstance(part, int) or part < 0:
            raise InvalidCursorError("invalid cursor")
    return (position, index)


def page(
    entries: Sequence[AuditEntry],
    cursor: str | None,
    limit: int,
    *,
    newest_first: bool = False,
) -> tuple[list[AuditEntry], str | None]:
    """One page of ``entries`` in log order (``newest_first``: the reverse), starting after
    ``cursor``.

    The cursor names the last entry returned rather than an offset, so entries appended between
    two requests neither repeat nor push an entry out of the next page (newest first, they are
    on the first page again). ``next_cursor`` is ``None`` on the last page.
    """
    if limit < 1:
        raise ValueError("limit must be >= 1")
    ordered = sorted(entries, key=lambda entry: entry.key, reverse=newest_first)
    after = decode_cursor(cursor) if cursor is not None else None
    if after is None:
        remaining = ordered
    elif newest_first:
        remaining = [e for e in ordered if e.key < after]
    else:
        remaining = [e for e in ordered if e.key > after]
    items = remaining[:limit]
    next_cursor = encode_cursor(items[-1].key) if len(remaining) > limit else None
    return items, next_cursor
