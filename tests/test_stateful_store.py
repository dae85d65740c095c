"""The store as a state machine: random writes, restores, imports, restarts, tokens and tenants
through the Python API, on the in-memory log, SQLite and PostgreSQL.

Hypothesis drives a :class:`RuleBasedStateMachine` whose model keeps what every acknowledged
write returned — its version and the plaintext document ``plaintext_at`` gave right after it —
and checks, after every step and after every restart:

* every acknowledged version replays to exactly the acknowledged document after the service is
  closed and opened again (a process restart; ``reopen`` steps, and once more at the end of
  every run for all of them), across snapshot boundaries, and so do tenant overrides and tokens;
* a refused write (``ValidationFailed``, ``VersionConflict``, ``TenantNotFound`` for a tenant the
  model does not know) appended nothing, anywhere in the log (after every step);
* ``verify()`` is ok (after every restart);
* no other exception escapes: anything else fails the run and Hypothesis shrinks the sequence.

The bugs it found (a save putting a non-object where the environment sets a value, tenant
overrides nested ~1,000 deep, a secret holding a lone surrogate: a TypeError, a RecursionError
and a UnicodeEncodeError instead of ValidationFailed) are the plain regression tests at the end;
commit 2acbd4e fixed them.

Beyond "replays as acknowledged" the model knows what a save, a restore and an import must
produce (merge semantics, bootstrap-only paths stripped, masked secrets kept on import), which
writes must be refused (stale expected versions, versions that do not exist, token names in use)
and that an export never shows a secret.

Budget: the ``default`` hypothesis profile (tests/conftest.py) runs a few runs per backend within
the time of ``make test``; ``HYPOTHESIS_PROFILE=fuzz`` (``make fuzz``) runs many more.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Final, TypeVar
from unittest import mock

import attrs
import pytest
from hypothesis import HealthCheck, event, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from support.storages import STORAGES

from adapters import key_store
from adapters.service import ConfigService
from adapters.sources.layers import Sources
from adapters.storage.memory import MemoryEventLog, MemoryStorage
from adapters.tenant_service import TenantService
from adapters.wiring import open_service
from eventstore.commands import EXPORT_METADATA_KEYS, SNAPSHOT_EVERY, Author, SaveResult
from eventstore.errors import ValidationFailed, VersionConflict
from eventstore.hashchain import HashChain
from eventstore.log import EventLog
from eventstore.schema.kinds import (
    Boolean,
    Choice,
    Integer,
    ListOf,
    MapOf,
    Sensitive,
    Text,
)
from eventstore.schema.paths import (
    ALLOWED_TENANT_FIELDS,
    BOOTSTRAP_ONLY_FIELDS,
    RUNTIME_ONLY_SECTIONS,
    SECRET_FIELDS,
    SECTIONS,
    TENANT_ENCRYPTED_FIELDS,
    TENANT_SECTIONS,
    walk,
)
from eventstore.secret import MASK
from eventstore.state import PLATFORM_STREAM
from eventstore.tenant_commands import TenantSaveResult
from eventstore.tenants import TenantNotFound
from eventstore.tokens import SCOPES, TokenStore, digest_of

T = TypeVar("T")

KEY: Final = "3c" * 32
ENVIRON: Final = {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": KEY}
ALICE: Final = Author("alice", "stateful test")
#: the errors a write may be refused with (eventstore/errors.py); nothing else may escape
REFUSALS: Final = (ValidationFailed, VersionConflict)
#: steps per run, and a cap on the versions cheap saves make (snapshots come every 50)
STEPS: Final = 30
MAX_VERSIONS: Final = 160

# --- what to write: paths and values drawn from the schema ---------------------------------------

#: every declared setting, with its kind (bootstrap-only, runtime-only, secrets, free-form maps)
LEAVES: Final = {path: d.info.kind for path, d in walk() if d.info.nested is None}
MAP_PATHS: Final = tuple(p for p, kind in LEAVES.items() if isinstance(kind, MapOf))
UNKNOWN_PATHS: Final = (
    "branding.noSuchSetting",
    "nosuchsection",
    "nosuchsection.x",
    "security.secrets.not_a_secret",
    "oidc.discovery.extra",
)
SECRET_PATHS: Final = frozenset(SECRET_FIELDS) | frozenset(TENANT_ENCRYPTED_FIELDS)

#: values that broke or could break a JSON store: out-of-range numbers, NUL, lone surrogates,
#: the mask itself, very long text
AWKWARD_SCALARS: Final[tuple[Any, ...]] = (
    10**400,
    -(2**63) - 1,
    2**64,
    float("inf"),
    float("nan"),
    1e308,
    "\x00",
    "a\x00b",
    "\ud800",
    "x" * 20_000,
    MASK,
    "",
    " ",
)
AWKWARD_KEYS: Final = ("__proto__", "", "a.b", ".", "\x00", "constructor", "\ud800", "a" * 300)

# (big sampled_from strategies are wrapped in ``deferred`` to keep their reprs, which hypothesis
# prints in its statistics, short)
keys = st.text(max_size=6) | st.deferred(lambda: st.sampled_from(AWKWARD_KEYS))
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.deferred(lambda: st.sampled_from(AWKWARD_SCALARS))
)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=3)


#: JSON-ish values up to three levels deep (``deep_values`` goes further)
json_values = scalars | _containers(scalars | _containers(scalars))


def nested(depth: int, as_list: bool) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value] if as_list else {"a": value}
    return value


deep_values = st.builds(nested, st.sampled_from((50, 500, 1000, 3000)), st.booleans())
#: printable text that is not blank (a blank title or company name is rightly refused)
simple_text = st.from_regex(r"[A-Za-z0-9][ -~]{0,19}", fullmatch=True)


def plausible(kind: Any) -> st.SearchStrategy[Any]:
    """Values of the right shape for ``kind`` (often valid, sometimes not)."""
    if isinstance(kind, Boolean):
        return st.booleans()
    if isinstance(kind, Integer):
        return st.sampled_from([0, 1, 8, 60, 300, 3600, 86400]) | st.integers(-10, 10**7)
    if isinstance(kind, Choice):
        return st.sampled_from(kind.values)
    if isinstance(kind, Sensitive):
        return st.none() | st.text(min_size=32, max_size=40) | plausible(kind.inner)
    if isinstance(kind, ListOf):
        return st.lists(plausible(kind.item), max_size=3)
    if isinstance(kind, MapOf):
        return st.dictionaries(keys, plausible(kind.value), max_size=3)
    if isinstance(kind, Text):
        if kind.url:
            return st.sampled_from(["https://example.com", "http://a.test/x", "nope"])
        return simple_text | st.text(max_size=10)
    return st.sampled_from(["", "https://example.com/a.png", "/images/a.png", "a@b.test", "x"])


def value_for(path: str) -> st.SearchStrategy[Any]:
    kind = LEAVES.get(path)
    shaped = plausible(kind) if kind is not None else st.nothing()
    return st.one_of(shaped, shaped, shaped, json_values, deep_values)


def _entry(paths: st.SearchStrategy[str]) -> st.SearchStrategy[tuple[str, Any]]:
    return paths.flatmap(lambda path: st.tuples(st.just(path), value_for(path)))


def build_partial(entries: list[tuple[str, Any]]) -> dict[str, Any]:
    """A document with each value at its dotted path; a later path replaces what is in its way."""
    doc: dict[str, Any] = {}
    for path, value in entries:
        node = doc
        *parents, last = path.split(".")
        for segment in parents:
            child = node.get(segment)
            if not isinstance(child, dict):
                child = node[segment] = {}
            node = child
        node[last] = value
    return doc


platform_paths = st.deferred(
    lambda: st.one_of(
        st.sampled_from(sorted(LEAVES)),
        st.sampled_from(SECRET_FIELDS),
        st.sampled_from(BOOTSTRAP_ONLY_FIELDS),
        st.sampled_from(MAP_PATHS),
        st.sampled_from(UNKNOWN_PATHS),
        st.sampled_from(SECTIONS),  # a whole section replaced by one value
        st.builds("{}.{}".format, st.sampled_from(MAP_PATHS), st.text(max_size=4)),
    )
)


partials = st.lists(_entry(platform_paths), min_size=1, max_size=4).map(build_partial)
#: settings that take these values whatever the rest of the config holds
GOOD_EDITS: Final = {
    "branding.companyName": simple_text,
    "application.title": simple_text,
    "application.description": simple_text,
    "features.oidc.claims": st.dictionaries(
        st.text("abcxyz_", min_size=1, max_size=5), st.lists(simple_text, max_size=2), max_size=3
    ),
}
good_partials = st.lists(
    st.sampled_from(sorted(GOOD_EDITS)).flatmap(lambda p: st.tuples(st.just(p), GOOD_EDITS[p])),
    min_size=1,
    max_size=3,
).map(build_partial)

#: overrides a tenant may always make (the policy may clamp the TTL: an adjustment, not a refusal)
GOOD_TENANT_EDITS: Final = {
    "branding.companyName": simple_text,
    "application.title": simple_text,
    "oidc.token_ttl.access_token": st.integers(60, 10**6),
    "integrations.email.smtp_password": simple_text,
}
good_tenant_partials = st.lists(
    st.sampled_from(sorted(GOOD_TENANT_EDITS)).flatmap(
        lambda p: st.tuples(st.just(p), GOOD_TENANT_EDITS[p])
    ),
    min_size=1,
    max_size=3,
).map(build_partial)
tenant_paths = st.deferred(
    lambda: st.one_of(
        st.sampled_from(ALLOWED_TENANT_FIELDS),
        st.sampled_from(ALLOWED_TENANT_FIELDS),
        st.sampled_from(sorted(p for p in LEAVES if p.split(".")[0] in TENANT_SECTIONS)),
        st.sampled_from(TENANT_SECTIONS),
        st.sampled_from(UNKNOWN_PATHS),
    )
)
tenant_partials = st.lists(
    tenant_paths.flatmap(
        lambda path: st.tuples(st.just(path), st.just("") | value_for(path) | value_for(path))
    ),
    min_size=1,
    max_size=4,
).map(build_partial)

#: how far from the current version a write's expected version is (None: no check)
expected_offsets = st.none() | st.just(0) | st.sampled_from([-2, -1, 1, 5])
MISSING_VERSIONS: Final = ("", "1.0", "1.0.x", "2.0.0", "1.0.-1", "1.0.0.0", "\x00", "1.0.1e3")
reasons = st.just("stateful test") | st.text(max_size=12)
TOKEN_NAMES: Final = ("ci", "ops", "deploy.bot")
BAD_TOKEN_NAMES: Final = ("", "-lead", "has space", "x65" * 22, "ümlaut")
SLUGS: Final = ("acme", "globex", "initech")
BAD_SLUGS: Final = ("api", "-acme", "ac_me", "a", "x64" * 22)

# --- the model's view of documents ---------------------------------------------------------------

_MISSING: Final = object()


def merged(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Objects merge key by key, anything else replaces (the documented save semantics)."""
    out = dict(base)
    for key, value in override.items():
        current = out.get(key, _MISSING)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            out[key] = merged(current, value)
        else:
            out[key] = value
    return out


def _delete(doc: Mapping[str, Any], segments: list[str]) -> dict[str, Any] | None:
    head, rest = segments[0], segments[1:]
    if head not in doc:
        return None
    out = dict(doc)
    if not rest:
        del out[head]
        return out
    child = doc[head]
    if not isinstance(child, Mapping):
        return None
    inner = _delete(child, rest)
    if inner is None:
        return None
    if inner:
        out[head] = inner
    else:
        del out[head]
    return out


def _lookup(doc: Any, segments: list[str]) -> Any:
    for segment in segments:
        if not isinstance(doc, Mapping) or segment not in doc:
            return _MISSING
        doc = doc[segment]
    return doc


def unpersisted_removed(doc: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``doc`` without runtime-only sections and bootstrap-only paths, and the latter's names."""
    out = {k: v for k, v in doc.items() if k not in RUNTIME_ONLY_SECTIONS}
    found = [p for p in BOOTSTRAP_ONLY_FIELDS if _lookup(doc, p.split(".")) is not _MISSING]
    for path in found:
        out = _delete(out, path.split(".")) or out
    return out, found


def flatten(doc: Any, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    if isinstance(doc, Mapping) and doc:
        out: dict[tuple[str, ...], Any] = {}
        for key, value in doc.items():
            out.update(flatten(value, (*prefix, key)))
        return out
    return {prefix: doc}


def canon(value: Any) -> str:
    """JSON text, so that ``True``, ``1`` and ``1.0`` (and NaN) compare as JSON would."""
    if value is _MISSING:
        return "<missing>"
    return json.dumps(value, sort_keys=True, ensure_ascii=True)


def _is_unset(value: Any) -> bool:
    return value is _MISSING or value is None or value == "" or value == []


def _touches_secret(path: tuple[str, ...]) -> bool:
    dotted = ".".join(path)
    return any(
        dotted == secret or dotted.startswith(secret + ".") or secret.startswith(dotted + ".")
        for secret in SECRET_PATHS
    )


def differences(
    actual: Mapping[str, Any],
    expected: Mapping[str, Any],
    *,
    any_secret: bool = False,
    exact: bool = False,
) -> list[str]:
    """Where ``actual`` is not ``expected``; a secret left unset may have been generated (D7)
    unless ``exact``, and with ``any_secret`` every secret path is left to the caller."""
    got, want = flatten(actual), flatten(expected)
    out = []
    for path in sorted(got.keys() | want.keys(), key=repr):
        a, e = got.get(path, _MISSING), want.get(path, _MISSING)
        if canon(a) == canon(e):
            continue
        if not exact and _touches_secret(path) and (any_secret or _is_unset(e)):
            continue
        out.append(f"{'.'.join(path)}: stored {canon(a)[:80]}, expected {canon(e)[:80]}")
    return out


def masked_ok(value: Any) -> bool:
    if isinstance(value, list):
        return all(masked_ok(item) for item in value)
    return value is None or value == "" or value == MASK


def within_allowed(path: tuple[str, ...]) -> bool:
    dotted = ".".join(path)
    return any(dotted == a or dotted.startswith(a + ".") for a in ALLOWED_TENANT_FIELDS)


# --- the machine -------------------------------------------------------------------------------


async def open_store(
    root: Path, environ: Mapping[str, str], memory: MemoryStorage | None
) -> ConfigService:
    """``open_service``; with ``memory``, the same wiring over an in-memory log, where a new
    handle on the same storage is what a restarted process sees (as a new connection to the
    same database would)."""
    if memory is None:
        return await open_service(root, environ)

    async def memory_log(_sources: Sources, chain: HashChain) -> EventLog:
        return MemoryEventLog(chain, storage=memory)

    with mock.patch.object(key_store, "open_log", memory_log):
        return await open_service(root, environ)


@attrs.define
class TenantModel:
    version: int = 0
    acked: dict[str, dict[str, Any]] = attrs.field(factory=dict)


class StoreMachine(RuleBasedStateMachine):
    """One store, written by one process that restarts now and then.

    Every rule runs its checks inside the coroutine it hands to :meth:`run`, which notes a
    failure, so that teardown knows whether the final restart-and-replay check is due.
    """

    backend: ClassVar[str]

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.resources = contextlib.ExitStack()
        self.root = Path(tempfile.mkdtemp(prefix="parako-stateful-"))
        self.resources.callback(shutil.rmtree, self.root, True)
        self.environ = dict(ENVIRON)
        self.memory = MemoryStorage() if self.backend == "memory" else None
        self.multi_tenant = self.backend == "postgresql"
        self.failed = False
        try:
            if self.backend != "memory":  # a fresh database (or directory) per run
                self.environ.update(self.resources.enter_context(STORAGES[self.backend]()))
            if self.multi_tenant:
                self.environ.update(
                    MULTI_TENANCY_ENABLED="true", DEPLOYMENT_URL="https://parako.id"
                )
            self.service: ConfigService = self.run(open_store(self.root, self.environ, self.memory))
        except BaseException:
            self.loop.close()
            self.resources.close()
            raise
        #: semver -> the plaintext document acknowledged for it
        self.acked: dict[str, dict[str, Any]] = {"1.0.0": self.run(self.service.plaintext_at())}
        #: acknowledged versions not yet read back after a restart
        self.unchecked: set[str] = {"1.0.0"}
        self.version = 1
        self.tokens: dict[str, bool] = {}  # name -> active
        self.tenants: dict[str, TenantModel] = {}
        self.counter = 0

    # --- plumbing ----------------------------------------------------------------------------

    def run(self, work: Awaitable[T]) -> T:
        try:
            return self.loop.run_until_complete(work)
        except BaseException:
            self.failed = True
            raise

    def teardown(self) -> None:
        try:
            if not self.failed:  # every acknowledged version, read back after a restart
                self.run(self._reopen(everything=True))
        finally:
            try:
                self.loop.run_until_complete(self.service.close())
            finally:
                self.loop.close()
                self.resources.close()

    async def attempt(
        self, write: Awaitable[T], refusals: tuple[type[BaseException], ...] = REFUSALS
    ) -> T | BaseException:
        """The write's result, or the refusal it raised after checking it appended nothing;
        any exception but ``refusals`` propagates and fails the run."""
        what = getattr(write, "__qualname__", "write")
        head = await self.service.head_position()
        try:
            done = await write
        except refusals as refused:
            event(f"{what}: refused ({type(refused).__name__})")
            note(f"refused: {type(refused).__name__}: {str(refused)[:300]}")
            assert await self.service.head_position() == head, "a refused write appended"
            assert self.service.version == self.version
            return refused
        event(f"{what}: done")
        return done

    def expected_version(self, offset: int | None) -> int | None:
        return None if offset is None else self.version + offset

    async def acknowledge(self, result: SaveResult) -> dict[str, Any]:
        """Record what a write that returned ``result`` left, and check it is the next version
        (or, for a write that changed nothing, the current one)."""
        event("changed nothing" if not result.appended else "appended")
        if not result.appended:
            assert result.version == self.version
            assert not result.changes
            return self.acked[result.semver]
        assert result.version == self.version + 1, (result.version, self.version)
        assert result.changes
        assert self.service.version == result.version
        assert await self.service.event_log.stream_version(PLATFORM_STREAM) == result.version
        self.version = result.version
        if result.version % SNAPSHOT_EVERY == 0:
            event("wrote a snapshot version")
        document = await self.service.plaintext_at(result.semver)
        self.acked[result.semver] = document
        self.unchecked.add(result.semver)
        return document

    @property
    def current(self) -> dict[str, Any]:
        return self.acked[f"1.0.{self.version - 1}"]

    # --- platform writes ---------------------------------------------------------------------

    @rule(partial=partials, offset=expected_offsets, reason=reasons)
    def save(self, partial: dict[str, Any], offset: int | None, reason: str) -> None:
        self.run(self._save(partial, offset, reason))

    @rule(partial=good_partials, offset=expected_offsets)
    def save_valid(self, partial: dict[str, Any], offset: int | None) -> None:
        self.run(self._save(partial, offset, "valid", must_succeed=True))

    async def _save(
        self, partial: dict[str, Any], offset: int | None, reason: str, must_succeed: bool = False
    ) -> None:
        before = self.current
        expected = self.expected_version(offset)
        outcome = await self.attempt(self.service.save(partial, Author("alice", reason), expected))
        if expected is not None and expected != self.version:
            # a valid change is refused for its stale version; an invalid one may be refused
            # for its shape first (that check comes before any read of the store)
            refusals = (VersionConflict,) if must_succeed else REFUSALS
            assert isinstance(outcome, refusals), f"stale version {expected}: {outcome!r}"
            return
        if isinstance(outcome, BaseException):
            assert not must_succeed, f"a valid change was refused: {outcome}"
            return
        change, bootstrap_only = unpersisted_removed(partial)
        assert sorted(outcome.stripped) == sorted(bootstrap_only)
        document = await self.acknowledge(outcome)
        want, _ = unpersisted_removed(merged(before, change))
        wrong = differences(document, want)
        assert not wrong, "the saved document is not the merge:\n" + "\n".join(wrong)

    @precondition(lambda self: self.version < MAX_VERSIONS)
    @rule(count=st.integers(1, 60))
    def many_saves(self, count: int) -> None:
        """Cheap saves in a row, to cross snapshot boundaries (every 50 versions)."""
        self.run(self._many_saves(count))

    async def _many_saves(self, count: int) -> None:
        for _ in range(count):
            self.counter += 1
            name = f"Cheap {self.counter}"
            result = await self.service.save({"branding": {"companyName": name}}, ALICE)
            document = await self.acknowledge(result)
            assert document["branding"]["companyName"] == name

    @rule(data=st.data(), offset=expected_offsets)
    def restore_existing(self, data: st.DataObject, offset: int | None) -> None:
        target = data.draw(st.sampled_from(sorted(self.acked)), label="target")
        self.run(self._restore(target, offset, exists=True))

    @rule(
        semver=st.sampled_from(MISSING_VERSIONS) | st.integers(0, 10**25).map("1.0.{}".format),
        offset=expected_offsets,
    )
    def restore_missing(self, semver: str, offset: int | None) -> None:
        self.run(self._restore(semver, offset, exists=semver in self.acked))

    async def _restore(self, target: str, offset: int | None, *, exists: bool) -> None:
        expected = self.expected_version(offset)
        outcome = await self.attempt(self.service.restore(target, ALICE, expected))
        if not exists:
            assert isinstance(outcome, ValidationFailed), f"restored {target!r}: {outcome!r}"
            return
        if expected is not None and expected != self.version:
            assert isinstance(outcome, VersionConflict), f"stale version {expected}: {outcome!r}"
            return
        assert not isinstance(outcome, BaseException), f"restore of {target} refused: {outcome}"
        assert outcome.appended == (canon(self.acked[target]) != canon(self.current))
        document = await self.acknowledge(outcome)
        wrong = differences(document, self.acked[target])
        assert not wrong, f"restore of {target} differs:\n" + "\n".join(wrong)

    @rule(data=st.data(), edit=st.none() | partials)
    def import_export(self, data: st.DataObject, edit: dict[str, Any] | None) -> None:
        """Export an acknowledged version (secrets masked) and import it, maybe edited."""
        source = data.draw(st.sampled_from(sorted(self.acked)), label="exported")
        self.run(self._import(source, edit))

    async def _import(self, source: str, edit: dict[str, Any] | None) -> None:
        exported = await self.service.export(source)
        meta = exported["_export_metadata"]
        assert (meta["version"], meta["_version"]) == (source, int(source.split(".")[2]) + 1)
        for secret in SECRET_FIELDS:
            shown = _lookup(exported, secret.split("."))
            assert shown is _MISSING or masked_ok(shown), f"export shows {secret}"
        body = {k: v for k, v in exported.items() if k not in EXPORT_METADATA_KEYS}
        assert not differences(body, self.acked[source], any_secret=True)
        document = merged(exported, edit) if edit else exported
        before = self.current
        outcome = await self.attempt(self.service.import_document(document, ALICE))
        if isinstance(outcome, BaseException):
            assert edit is not None, f"importing the export of {source} was refused: {outcome}"
            return
        stored = await self.acknowledge(outcome)
        change, _ = unpersisted_removed(
            {k: v for k, v in document.items() if k not in EXPORT_METADATA_KEYS}
        )
        want, _ = unpersisted_removed(merged(before, change))
        wrong = differences(stored, want, any_secret=True)
        assert not wrong, f"import of {source} differs:\n" + "\n".join(wrong)
        for secret in SECRET_FIELDS:  # a mask sent back keeps the secret it stands for
            segments = secret.split(".")
            sent, kept = _lookup(change, segments), _lookup(before, segments)
            if sent == MASK and isinstance(kept, str) and kept:
                assert _lookup(stored, segments) == kept, f"import changed {secret}"

    # --- restarts ----------------------------------------------------------------------------

    @rule()
    def reopen(self) -> None:
        """Close the service and open it again, as a restarted process would."""
        self.run(self._reopen())

    async def _reopen(self, *, everything: bool = False) -> None:
        await self.service.close()
        self.service = await open_store(self.root, self.environ, self.memory)
        if self.version > SNAPSHOT_EVERY:
            event("reopened beyond a snapshot")
        service = self.service
        assert service.version == self.version
        for semver in sorted(self.acked) if everything else sorted(self.unchecked):
            replayed = await service.plaintext_at(semver)
            wrong = differences(replayed, self.acked[semver], exact=True)
            assert not wrong, f"{semver} replays differently:\n" + "\n".join(wrong)
        self.unchecked.clear()
        report = await service.verify()
        assert report.ok, report
        tokens = await TokenStore(service.event_log).tokens()
        assert {name: token.active for name, token in tokens.items()} == self.tokens
        if self.multi_tenant:
            assert service.tenants is not None
            registry = await service.tenants.registry()
            assert sorted(registry.tenants) == sorted(self.tenants)
            for slug, model in self.tenants.items():
                for semver, overrides in model.acked.items():
                    stored = await service.tenants.overrides(slug, semver)
                    plain = service.tenants.commands.plaintext(slug, stored)
                    wrong = differences(plain, overrides, exact=True)
                    assert not wrong, f"{slug} {semver} replays differently:\n" + "\n".join(wrong)

    @invariant()
    def consistent(self) -> None:
        self.run(self._consistent())

    async def _consistent(self) -> None:
        assert self.service.version == self.version
        assert await self.service.event_log.stream_version(PLATFORM_STREAM) == self.version

    # --- API tokens --------------------------------------------------------------------------

    @rule(
        name=st.sampled_from(TOKEN_NAMES) | st.sampled_from(BAD_TOKEN_NAMES),
        scopes=st.lists(st.sampled_from((*SCOPES, "parako:everything")), max_size=3),
    )
    def create_token(self, name: str, scopes: list[str]) -> None:
        self.run(self._create_token(name, scopes))

    async def _create_token(self, name: str, scopes: list[str]) -> None:
        valid = (
            name in TOKEN_NAMES
            and bool(scopes)
            and set(scopes) <= set(SCOPES)
            and not self.tokens.get(name, False)
        )
        store = TokenStore(self.service.event_log)
        outcome = await self.attempt(store.create(name, scopes, "tests"))
        if not valid:
            assert isinstance(outcome, ValidationFailed), f"token {name!r}: {outcome!r}"
            return
        assert not isinstance(outcome, BaseException), f"token {name!r} refused: {outcome}"
        token, plaintext = outcome
        assert (token.name, token.active, token.digest) == (name, True, digest_of(plaintext))
        assert token.scopes == tuple(dict.fromkeys(scopes))
        self.tokens[name] = True

    @rule(name=st.sampled_from(TOKEN_NAMES))
    def revoke_token(self, name: str) -> None:
        self.run(self._revoke_token(name))

    async def _revoke_token(self, name: str) -> None:
        outcome = await self.attempt(TokenStore(self.service.event_log).revoke(name, "tests"))
        if not self.tokens.get(name, False):
            assert isinstance(outcome, ValidationFailed), f"revoked {name!r}: {outcome!r}"
            return
        assert not isinstance(outcome, BaseException), f"revoke {name!r} refused: {outcome}"
        assert not outcome.active
        self.tokens[name] = False


class MemoryMachine(StoreMachine):
    backend = "memory"


class SqliteMachine(StoreMachine):
    backend = "sqlite"


class PostgresMachine(StoreMachine):
    """The same, with multi-tenancy on (it needs PostgreSQL or MongoDB) and tenant writes."""

    backend = "postgresql"

    @property
    def tenant_service(self) -> TenantService:
        assert self.service.tenants is not None
        return self.service.tenants

    @initialize()
    def create_first_tenant(self) -> None:
        """Most runs write to a tenant that exists; ``create_tenant`` adds (or fails) more."""
        self.run(self._create_tenant(SLUGS[0]))

    @rule(slug=st.sampled_from(SLUGS) | st.sampled_from(BAD_SLUGS))
    def create_tenant(self, slug: str) -> None:
        self.run(self._create_tenant(slug))

    async def _create_tenant(self, slug: str) -> None:
        outcome = await self.attempt(self.tenant_service.create(slug, ALICE))
        if slug not in SLUGS or slug in self.tenants:
            assert isinstance(outcome, ValidationFailed), f"tenant {slug!r}: {outcome!r}"
            return
        assert not isinstance(outcome, BaseException), f"tenant {slug!r} refused: {outcome}"
        self.tenants[slug] = TenantModel()

    @rule(
        slug=st.sampled_from(SLUGS),
        partial=tenant_partials,
        offset=expected_offsets,
        replace=st.booleans(),
    )
    def save_tenant(
        self, slug: str, partial: dict[str, Any], offset: int | None, replace: bool
    ) -> None:
        expected = self._tenant_expected(slug, offset)
        write = self.tenant_service.save(slug, partial, ALICE, expected, replace_sections=replace)
        self.run(self._tenant_write(slug, write, expected))

    @rule(slug=st.sampled_from(SLUGS), partial=good_tenant_partials, offset=st.none() | st.just(0))
    def save_tenant_valid(self, slug: str, partial: dict[str, Any], offset: int | None) -> None:
        expected = self._tenant_expected(slug, offset)
        write = self.tenant_service.save(slug, partial, ALICE, expected)
        self.run(self._tenant_write(slug, write, expected, must_succeed=True))

    @rule(
        slug=st.sampled_from(SLUGS),
        section=st.sampled_from(TENANT_SECTIONS) | st.sampled_from(("storage", "nope", "")),
        offset=expected_offsets,
    )
    def reset_tenant_section(self, slug: str, section: str, offset: int | None) -> None:
        expected = self._tenant_expected(slug, offset)
        write = self.tenant_service.reset_section(slug, section, ALICE, expected)
        self.run(self._tenant_write(slug, write, expected, reset=section))

    @rule(slug=st.sampled_from(SLUGS), data=st.data(), offset=expected_offsets)
    def rollback_tenant(self, slug: str, data: st.DataObject, offset: int | None) -> None:
        known = sorted(self.tenants[slug].acked) if slug in self.tenants else []
        target = data.draw(st.sampled_from([*known, "1.0.77", "x"]), label="tenant version")
        expected = self._tenant_expected(slug, offset)
        write = self.tenant_service.restore(slug, target, ALICE, expected)
        self.run(self._tenant_write(slug, write, expected, known=target in known))

    def _tenant_expected(self, slug: str, offset: int | None) -> int | None:
        model = self.tenants.get(slug)
        return None if offset is None else (model.version if model else 0) + offset

    async def _tenant_write(
        self,
        slug: str,
        write: Awaitable[TenantSaveResult],
        expected: int | None,
        *,
        reset: str | None = None,
        known: bool = True,
        must_succeed: bool = False,
    ) -> None:
        """A tenant write's outcome against the model: an unknown tenant, a stale version, an
        invalid section to reset or a version the tenant never had is refused; what is
        written holds only the paths tenants may set, and the tenant's config still builds."""
        model = self.tenants.get(slug)
        refusals = REFUSALS if model else (*REFUSALS, TenantNotFound)
        outcome = await self.attempt(write, refusals)
        must_refuse = (
            model is None
            or (expected is not None and expected != model.version)
            or (reset is not None and reset not in TENANT_SECTIONS)
            or not known
        )
        if must_refuse:
            assert isinstance(outcome, BaseException), f"written to {slug}: {outcome!r}"
            return
        assert model is not None
        if isinstance(outcome, BaseException):
            assert not must_succeed, f"valid overrides for {slug} were refused: {outcome}"
            return  # invalid overrides, or nothing a tenant may set
        if not outcome.appended:
            assert outcome.version == model.version
            return
        assert outcome.version == model.version + 1
        tenants = self.tenant_service
        model.version = outcome.version
        plain = tenants.commands.plaintext(slug, await tenants.overrides(slug, outcome.semver))
        model.acked[outcome.semver] = plain
        outside = [".".join(p) for p in flatten(plain) if p and not within_allowed(p)]
        assert not outside, f"a tenant stored paths it may not set: {outside}"
        if reset is not None:
            assert reset not in plain, f"reset {reset} left {plain[reset]}"
        await tenants.effective(slug)  # builds: the write validated exactly this config


# --- one test per backend ------------------------------------------------------------------------


def stateful_settings() -> settings:
    """A sixteenth of the active profile's examples (each is a whole sequence of writes)."""
    profile = settings.default
    assert profile is not None
    return settings(
        profile,
        max_examples=max(4, profile.max_examples // 16),
        stateful_step_count=STEPS,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


def _as_hypothesis_test(test: Callable[[], None]) -> Callable[[], None]:
    """Mark a test that runs a state machine the way ``Machine.TestCase`` is marked, so the
    hypothesis pytest plugin reports its statistics and ``-m hypothesis`` selects it."""
    test.is_hypothesis_test = True  # type: ignore[attr-defined]
    return test


#: hypothesis warns when it builds the repr of a big strategy (the schema's paths) for its
#: statistics; harmless
quiet_reprs = pytest.mark.filterwarnings("ignore:Generating overly large repr")


@quiet_reprs
@_as_hypothesis_test
def test_the_store_on_the_in_memory_log() -> None:
    run_state_machine_as_test(MemoryMachine, settings=stateful_settings())


@quiet_reprs
@_as_hypothesis_test
def test_the_store_on_sqlite() -> None:
    run_state_machine_as_test(SqliteMachine, settings=stateful_settings())


@quiet_reprs
@_as_hypothesis_test
def test_the_store_on_postgresql_with_tenants() -> None:
    from support.pg_server import require_server

    require_server()  # skips without a server, fails under CI=true
    run_state_machine_as_test(PostgresMachine, settings=stateful_settings())


# --- what the machine found, as plain examples (fixed in 2acbd4e) ---------------------------------


@pytest.mark.parametrize(
    ("environ", "partial"),
    [
        ({}, {"features": 5}),
        ({}, {"features": []}),
        ({}, {"features": None}),
        ({}, {"features": {"multi_tenancy": "x"}}),
        ({"DEPLOYMENT_URL": "https://parako.id"}, {"deployment": 5}),
        ({"DEPLOYMENT_URL": "https://parako.id"}, {"deployment": None}),
    ],
)
async def test_a_section_that_is_not_an_object_is_refused_as_invalid(
    tmp_path: Path, environ: dict[str, str], partial: dict[str, Any]
) -> None:
    """Was a TypeError from set_path in layered_document, where the environment (or
    BOOTSTRAP_WINS) sets a value below the non-object."""
    service = await open_store(tmp_path, {**ENVIRON, **environ}, MemoryStorage())
    try:
        with pytest.raises(ValidationFailed):
            await service.save(partial, ALICE)
        assert await service.event_log.stream_version(PLATFORM_STREAM) == 1
    finally:
        await service.close()


async def test_deeply_nested_tenant_overrides_are_refused_as_invalid(tmp_path: Path) -> None:
    """Was a RecursionError from the tenant override filter (_without_inherits)."""
    from support.pg_server import fresh_database  # skips (or fails under CI) without a server

    deep = nested(1000, as_list=False)
    with fresh_database() as url:
        environ = {
            **ENVIRON,
            "STORAGE_ADAPTER": "postgresql",
            "STORAGE_POSTGRESQL_URL": url,
            "MULTI_TENANCY_ENABLED": "true",
        }
        service = await open_service(tmp_path, environ)
        try:
            assert service.tenants is not None
            await service.tenants.create("acme", ALICE)
            with pytest.raises(ValidationFailed):
                await service.save({"application": {"title": deep}}, ALICE)
            head = await service.head_position()
            with pytest.raises(ValidationFailed):
                await service.tenants.save("acme", {"application": {"title": deep}}, ALICE)
            assert await service.head_position() == head
        finally:
            await service.close()


@pytest.mark.parametrize(
    "partial",
    [
        {"integrations": {"ipinfo": {"api_token": "\ud800"}}},
        {"security": {"secrets": {"jwt_secret": "\udfff" * 40}}},
    ],
)
async def test_a_secret_that_is_not_valid_unicode_is_refused_as_invalid(
    tmp_path: Path, partial: dict[str, Any]
) -> None:
    """Was a UnicodeEncodeError from FieldCipher.encrypt, before the replay check."""
    service = await open_store(tmp_path, ENVIRON, MemoryStorage())
    try:
        with pytest.raises(ValidationFailed):
            await service.save(partial, ALICE)
        assert await service.event_log.stream_version(PLATFORM_STREAM) == 1
    finally:
        await service.close()
