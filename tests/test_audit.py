"""Audit entries from events: one per change, reveals, masking, filters and cursor pagination."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from eventstore.crypto import FieldCipher, Keyring
from eventstore.events import (
    ConfigChanged,
    FieldChange,
    SecretRevealed,
    canonical_json,
    encode,
)
from eventstore.log import RecordedEvent
from eventstore.masking import mask_for_display
from eventstore.secret import MASK
from eventstore.state import AUDIT_STREAM, PLATFORM_STREAM
from projections.audit import (
    AuditEntry,
    InvalidCursorError,
    audit_entries,
    decode_cursor,
    encode_cursor,
    page,
)

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
JWT = "security.secrets.jwt_secret"
COOKIES = "security.secrets.cookie_secrets"
SMTP = "integrations.email.smtp_password"
CIPHER = FieldCipher(Keyring.from_values("ab" * 32))
OLD_JWT = "old-jwt-plaintext-value"
NEW_JWT = "new-jwt-plaintext-value"


def recorded(
    event: ConfigChanged | SecretRevealed, *, version: int, position: int, stream: str
) -> RecordedEvent:
    new = encode(event)
    return RecordedEvent(stream, version, position, new.type, new.data, T0, b"")


def saved(
    version: int,
    changes: tuple[FieldChange, ...],
    *,
    actor: str = "alice",
    minutes: int = 0,
    origin: str = "save",
) -> ConfigChanged:
    return ConfigChanged(
        changes=changes,
        semver=f"1.0.{version - 1}",
        actor=actor,
        reason=f"change {version}",
        tags=("main", "configuration"),
        environment="production",
        at=T0 + timedelta(minutes=minutes),
        origin=origin,
    )


def seal(value: str, path: str) -> str:
    return CIPHER.encrypt(value, scope="platform", path=path)


def log() -> list[RecordedEvent]:
    """Five events over two streams, in position order."""
    return [
        recorded(
            saved(
                1,
                (
                    FieldChange("branding.companyName", None, "Acme", False),
                    FieldChange("brandingX.colour", None, "red", False),
                ),
                minutes=0,
                origin="initial",
            ),
            version=1,
            position=1,
            stream=PLATFORM_STREAM,
        ),
        recorded(
            saved(
                2,
                (FieldChange("deployment.url", "http://a", "https://a"),),
                actor="bob",
                minutes=10,
            ),
            version=2,
            position=2,
            stream=PLATFORM_STREAM,
        ),
        recorded(
            SecretRevealed(JWT, "carol", "incident 42", T0 + timedelta(minutes=20)),
            version=1,
            position=3,
            stream=AUDIT_STREAM,
        ),
        recorded(
            saved(
                3,
                (
                    FieldChange("branding.companyName", "Acme", "Acme Corp"),
                    FieldChange("branding", None, None),  # a whole-segment exact match
                    FieldChange("security.session.ttl", 3600, 7200),
                ),
                minutes=30,
            ),
            version=3,
            position=4,
            stream=PLATFORM_STREAM,
        ),
    ]


def test_one_entry_per_field_change_with_the_event_metadata() -> None:
    entries = audit_entries(log())

    assert [(e.kind, e.path, e.position, e.index) for e in entries] == [
        ("change", "branding.companyName", 1, 0),
        ("change", "brandingX.colour", 1, 1),
        ("change", "deployment.url", 2, 0),
        ("reveal", JWT, 3, 0),
        ("change", "branding.companyName", 4, 0),
        ("change", "branding", 4, 1),
        ("change", "security.session.ttl", 4, 2),
    ]
    assert entries[2] == AuditEntry(
        kind="change",
        who="bob",
        when=T0 + timedelta(minutes=10),
        why="change 2",
        path="deployment.url",
        old="http://a",
        new="https://a",
        version=2,
        semver="1.0.1",
        origin="save",
        stream=PLATFORM_STREAM,
        position=2,
        index=0,
    )
    assert entries[6].old == 3600
    assert entries[6].new == 7200


def test_reveal_entries_name_the_field_and_never_a_value() -> None:
    reveal = next(e for e in audit_entries(log()) if e.kind == "reveal")

    assert reveal.to_json() == {
        "kind": "reveal",
        "who": "carol",
        "when": "2025-03-01T09:20:00+00:00",
        "why": "incident 42",
        "path": JWT,
        "old": None,
        "new": None,
        "version": None,
        "semver": None,
        "origin": None,
        "stream": AUDIT_STREAM,
        "tenant": None,
        "position": 3,
    }


def test_secret_envelopes_are_masked_and_neither_envelope_nor_plaintext_shows() -> None:
    old_jwt, new_jwt = seal(OLD_JWT, JWT), seal(NEW_JWT, JWT)
    cookies = seal('["cookie-one-plaintext","cookie-two-plaintext"]', COOKIES)
    event = saved(
        2,
        (
            FieldChange(JWT, old_jwt, new_jwt),
            FieldChange(COOKIES, None, cookies),
            FieldChange(SMTP, seal("smtp-plaintext", SMTP), None, removed=True),
        ),
    )

    entries = audit_entries([recorded(event, version=2, position=7, stream=PLATFORM_STREAM)])

    assert [(e.path, e.old, e.new) for e in entries] == [
        (JWT, MASK, MASK),
        (COOKIES, None, MASK),  # "unset" stays visible
        (SMTP, MASK, None),
    ]
    dumped = json.dumps([e.to_json() for e in entries], ensure_ascii=False)
    for leaked in (old_jwt, new_jwt, cookies, "enc:v1:", OLD_JWT, NEW_JWT, "cookie-one", "smtp-"):
        assert leaked not in dumped


def test_plaintext_secrets_from_old_events_are_masked_too() -> None:
    body = {
        "schema": 1,
        "changes": {
            JWT: [None, "first-prototype-plaintext"],
            COOKIES: [["c1-plain", "c2-plain"], ["c3-plain", ""]],
            "notifications.channels.sms.api_key": [123, 456],
        },
        "version": "1.0.3",
        "by": "legacy",
        "at": T0.isoformat(),
    }
    event = RecordedEvent(PLATFORM_STREAM, 4, 4, "ConfigChanged", canonical_json(body), T0, b"")

    entries = audit_entries([event])

    # canonical JSON sorted the paths of the stored body
    assert {e.path: (e.old, e.new) for e in entries} == {
        JWT: (None, MASK),
        COOKIES: ([MASK, MASK], [MASK, ""]),
        "notifications.channels.sms.api_key": (MASK, MASK),  # numbers are hidden as well
    }
    dumped = json.dumps([e.to_json() for e in entries])
    for leaked in ("first-prototype-plaintext", "c1-plain", "c3-plain", "123", "456"):
        assert leaked not in dumped


def test_an_envelope_at_a_path_not_known_as_secret_is_masked() -> None:
    envelope = seal("stray-secret", "integrations.custom.token")
    event = saved(2, (FieldChange("integrations.custom.token", "plain-old", envelope),))

    [entry] = audit_entries([recorded(event, version=2, position=2, stream=PLATFORM_STREAM)])

    assert (entry.old, entry.new) == ("plain-old", MASK)


def test_mask_for_display_masks_secrets_inside_a_whole_section() -> None:
    section = {"secrets": {"jwt_secret": "plain-jwt", "hmac_secret": ""}, "session": {"ttl": 60}}

    assert mask_for_display("security", section) == {
        "secrets": {"jwt_secret": MASK, "hmac_secret": ""},
        "session": {"ttl": 60},
    }
    assert mask_for_display("branding.companyName", "Acme") == "Acme"
    assert mask_for_display("deployment.allowed", ["https://a", seal("x", JWT)]) == [MASK, MASK]


# --- filters ----------------------------------------------------------------------------------


def test_path_prefix_matches_whole_segments_only() -> None:
    paths = [e.path for e in audit_entries(log(), path_prefix="branding")]

    assert paths == ["branding.companyName", "branding.companyName", "branding"]
    assert [e.path for e in audit_entries(log(), path_prefix="brandingX")] == ["brandingX.colour"]
    assert [e.path for e in audit_entries(log(), path_prefix="security.secrets")] == [JWT]
    assert audit_entries(log(), path_prefix="brand") == []


def test_actor_filter_is_exact() -> None:
    assert [e.path for e in audit_entries(log(), actor="bob")] == ["deployment.url"]
    assert [e.kind for e in audit_entries(log(), actor="carol")] == ["reveal"]
    assert audit_entries(log(), actor="Bob") == []


def test_time_range_is_inclusive_since_and_exclusive_until() -> None:
    window = audit_entries(
        log(), since=T0 + timedelta(minutes=10), until=T0 + timedelta(minutes=30)
    )
    assert [(e.path, e.when) for e in window] == [
        ("deployment.url", T0 + timedelta(minutes=10)),
        (JWT, T0 + timedelta(minutes=20)),
    ]
    later = audit_entries(log(), since=T0 + timedelta(minutes=30))
    assert [e.position for e in later] == [4, 4, 4]
    earlier = audit_entries(log(), until=T0 + timedelta(minutes=10))
    assert [e.position for e in earlier] == [1, 1]


def test_filters_combine() -> None:
    entries = audit_entries(
        log(), path_prefix="branding", actor="alice", since=T0 + timedelta(minutes=1)
    )
    assert [(e.path, e.new) for e in entries] == [
        ("branding.companyName", "Acme Corp"),
        ("branding", None),
    ]


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="since must be timezone-aware"):
        audit_entries(log(), since=datetime(2025, 3, 1))
    with pytest.raises(ValueError, match="until must be timezone-aware"):
        audit_entries(log(), until=datetime(2025, 3, 1))


# --- pagination -------------------------------------------------------------------------------


def test_pages_cover_every_entry_once_in_log_order() -> None:
    entries = audit_entries(log())

    first, cursor1 = page(entries, None, 3)
    assert cursor1 is not None
    second, cursor2 = page(entries, cursor1, 3)
    assert cursor2 is not None
    third, cursor3 = page(entries, cursor2, 3)

    assert [e.key for e in first] == [(1, 0), (1, 1), (2, 0)]
    assert [e.key for e in second] == [(3, 0), (4, 0), (4, 1)]
    assert [e.key for e in third] == [(4, 2)]
    assert cursor3 is None
    assert first + second + third == entries


def test_a_page_that_ends_exactly_at_the_end_has_no_next_cursor() -> None:
    entries = audit_entries(log())
    items, cursor = page(entries, None, 7)
    assert len(items) == 7
    assert cursor is None
    assert page(entries, encode_cursor((4, 2)), 5) == ([], None)


def test_entries_appended_between_requests_neither_repeat_nor_are_skipped() -> None:
    events = log()
    first, cursor = page(audit_entries(events), None, 4)
    events.append(
        recorded(
            saved(4, (FieldChange("features.registration", False, True),), minutes=40),
            version=4,
            position=5,
            stream=PLATFORM_STREAM,
        )
    )
    rest, last = page(audit_entries(events), cursor, 10)

    assert [e.key for e in first] == [(1, 0), (1, 1), (2, 0), (3, 0)]
    assert [e.key for e in rest] == [(4, 0), (4, 1), (4, 2), (5, 0)]
    assert last is None


def test_the_cursor_is_base64url_json_of_position_and_change_index() -> None:
    entries = audit_entries(log())
    _, cursor = page(entries, None, 5)
    assert cursor is not None

    assert "=" not in cursor
    assert json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))) == {
        "p": 4,
        "i": 0,
    }
    assert decode_cursor(cursor) == (4, 0)
    assert decode_cursor(encode_cursor((12345, 7))) == (12345, 7)


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b'{"p":1}').decode(),
        base64.urlsafe_b64encode(b'{"p":-1,"i":0}').decode(),
        base64.urlsafe_b64encode(b'{"p":"1","i":0}').decode(),
        base64.urlsafe_b64encode(b'{"p":true,"i":0}').decode(),
        base64.urlsafe_b64encode(b"[1,0]").decode(),
    ],
)
def test_foreign_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursorError, match="invalid cursor"):
        page(audit_entries(log()), cursor, 3)


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="limit must be >= 1"):
        page(audit_entries(log()), None, 0)


async def test_api_tokens_issued_and_revoked_are_audited_without_the_token() -> None:
    from adapters.storage.memory import MemoryEventLog
    from eventstore.hashchain import HashChain
    from eventstore.tokens import TokenStore

    log = MemoryEventLog(HashChain(bytes(32)))
    store = TokenStore(log)
    _, plaintext = await store.create("deploy-bot", ["parako:config:read"], "alice")
    await store.revoke("deploy-bot", "bob")
    entries = audit_entries(log.storage.events)
    assert [(e.kind, e.origin, e.who, e.path) for e in entries] == [
        ("token", "create", "alice", "deploy-bot"),
        ("token", "revoke", "bob", "deploy-bot"),
    ]
    assert entries[0].new == {"scopes": ["parako:config:read"]}
    shown = json.dumps([e.to_json() for e in entries])
    assert plaintext not in shown
    assert "digest" not in shown


async def test_the_audit_trail_folds_only_what_was_appended_since_the_last_query() -> None:
    from adapters.storage.memory import MemoryEventLog
    from eventstore.hashchain import HashChain
    from eventstore.tokens import TokenStore
    from projections.audit import AuditTrail

    log = MemoryEventLog(HashChain(bytes(32)))
    store = TokenStore(log)
    trail = AuditTrail()
    await store.create("one", ["parako:config:read"], "alice")
    assert [e.path for e in await trail.catch_up(log)] == ["one"]
    assert trail.position == 1
    await store.create("two", ["parako:config:read"], "alice")
    read_after: list[int] = []
    original = log.read_all

    async def counting(
        after_position: int = 0, limit: int | None = None
    ) -> Sequence[RecordedEvent]:
        read_after.append(after_position)
        return await original(after_position, limit)

    log.read_all = counting  # type: ignore[method-assign]
    assert [e.path for e in await trail.catch_up(log)] == ["one", "two"]
    assert read_after[0] == 1  # it did not start from the beginning
