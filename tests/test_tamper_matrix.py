"""The tamper matrix: every attack on the stored log, on every backend, against every detector.

An attacker with write access to the database but without the chain key edits the store
directly (``support.raw_store``): one byte of an event's data, one byte of an event's link, a
deleted middle event, the newest events deleted, two events' data swapped, a forged
``ApiTokenCreated`` appended with a made-up link (the digest of a token the attacker chose), a
snapshot whose document now holds a plaintext ``jwt_secret``, and the newest event deleted with
the head checkpoint rolled back to match. Each (backend, attack) store is built and attacked
once (:class:`Scenarios`); the tests below then judge one detector each, so a detector that
misses an attack shows as one cell of the matrix (``xfail(strict=True)`` in :data:`GAPS`).

What each detector must do:

* ``verify`` (the CLI, in a subprocess) exits 1 and names the first bad position, or the
  checkpoint or snapshot problem.
* A **starting** service refuses (``open_service`` raises :class:`LogIntegrityError`; the CLI
  prints one ``error:`` line and exits 1) when the attack touches what a start reads: the
  platform stream (folded from its first event while there is no snapshot), the newest events
  and the head checkpoint, the token stream, a forged event at the end. Two attacks are not
  fatal at start, on purpose:

  - a tampered **snapshot** is ignored: the start folds the events instead, so its config comes
    from the events (not the planted secret), and ``integrity_failure`` is set, so the process
    refuses writes;
  - an edit of an **old event** that lies before the newest snapshot is not read by a start
    (it begins at the snapshot), so the service may open; the full check a serving process
    runs, ``verify_in_background()``, must then find it and set ``integrity_failure``.

* A **running** service (opened before the attack) finds the attack on ``check_integrity()`` /
  ``catch_up()``; once tampering is found (by those, or by the background verification a
  serving process runs), it keeps serving the config it last verified and refuses every write,
  appending nothing.
* Through the served HTTP API a forged token never authenticates (401 or 503); once the
  tampering is found, a write with a real token gets 503 ``log_integrity_failed``, health
  answers 503 naming the position, and the metrics gauge ``…log_integrity_failed`` is 1.
* ``verify --expect-head`` with the head line an auditor kept exits 0 on the intact log and 1
  once the newest events were deleted with the checkpoint rolled back to match, and again once
  that tail was rewritten by a later write.

Where the code does less than this, the cell is a strict xfail whose reason says what happens
instead (:data:`GAPS`); a fix turns it into an XPASS, which fails the run until the entry is
removed. The test of a running service's writes counts the background verification as a
detection (it is what finds an edit of events the service already applied), and records how the
detection happened separately from it.

The same attacks on the in-memory log are in ``tests/test_integrity.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import attrs
import httpx
import pytest
from support.raw_store import RawLog, RawStore, raw_store
from support.storages import STORAGES, env_lines

from adapters.service import ConfigService
from adapters.wiring import open_service
from eventstore import events
from eventstore.commands import SNAPSHOT_EVERY, Author
from eventstore.integrity import LogIntegrityError
from eventstore.state import PLATFORM_STREAM
from eventstore.tokens import READ, SCOPES, TOKEN_STREAM, WRITE, TokenStore, digest_of
from projections.verification import VerifyReport

CLI: Final = Path(sys.executable).with_name("parako-config")
KEY: Final = "00112233445566778899aabbccddeeff" * 2
BASE_ENV: Final = {"USE_FILE_CONFIG": "false", "ENCRYPTION_KEY": KEY}
AUTHOR: Final = Author("tests", "tamper matrix")

#: the token the forger chose; its digest goes into the forged ApiTokenCreated
FORGED_TOKEN: Final = "pkc_chosen-by-someone-without-the-chain-key"
#: the link the forger made up (without the key nobody can compute the right one)
FORGED_LINK: Final = hashlib.sha256(b"a link made up without the chain key").digest()
#: what the snapshot attack plants as the JWT secret, in plaintext
PLANTED_SECRET: Final = "planted-jwt-secret-known-to-the-attacker-0123456789"


# --- the stores -------------------------------------------------------------------------------
#
# Small store (no snapshot)            Snapshot store (the platform stream reaches version 50)
#   1      config/platform v1 initial    1       config/platform v1 initial
#   2, 3   v2, v3 "Acme 1", "Acme 2"     2..50   v2..v50 "Acme 1".."Acme 49" (snapshot at v50)
#   4      auth/tokens v1 (a token)      51      auth/tokens v1 (a token)
#   5, 6   v4, v5 "Acme 3", "Acme 4"     52, 53  v51, v52 "Acme 50", "Acme 51"


@attrs.frozen
class Layout:
    saves_before_token: int

    @property
    def newest(self) -> int:
        return self.saves_before_token + 4

    @property
    def final_name(self) -> str:
        return f"Acme {self.saves_before_token + 2}"


SMALL: Final = Layout(2)
WITH_SNAPSHOT: Final = Layout(SNAPSHOT_EVERY - 1)


# --- the attacks ------------------------------------------------------------------------------


def forge_token(raw: RawStore) -> None:
    created = events.ApiTokenCreated(
        "evil", tuple(SCOPES), digest_of(FORGED_TOKEN), "attacker", datetime.now(UTC)
    )
    encoded = events.encode(created)
    raw.forge_event(TOKEN_STREAM, encoded.type, encoded.data, FORGED_LINK)


def plant_jwt_secret(raw: RawStore) -> None:
    def plant(document: dict[str, Any]) -> None:
        document["security"]["secrets"]["jwt_secret"] = PLANTED_SECRET

    raw.edit_snapshot_document(PLATFORM_STREAM, SNAPSHOT_EVERY, plant)


def at_position(position: int) -> str:
    return f"verification FAILED at position {position} "


@attrs.frozen
class Attack:
    make: Callable[[RawStore], object]
    #: a line ``verify`` prints for it (the first bad position, or the named problem)
    verify_says: str
    layout: Layout = SMALL


ATTACKS: Final[Mapping[str, Attack]] = {
    # a platform event a start folds (there is no snapshot): "Acme 3" becomes "Acmf 3"
    "edit-data": Attack(
        lambda raw: raw.edit_data_byte(5, b'"Acme 3"', b'"Acmf 3"'), at_position(5)
    ),
    # an event before the newest snapshot, which a start does not read
    "edit-old-data": Attack(
        lambda raw: raw.edit_data_byte(2, b'"Acme 1"', b'"Acmf 1"'),
        at_position(2),
        WITH_SNAPSHOT,
    ),
    "edit-link": Attack(lambda raw: raw.edit_link_byte(3), at_position(3)),
    "delete-middle": Attack(lambda raw: raw.delete_events(3), at_position(3)),
    "delete-newest": Attack(
        lambda raw: raw.delete_newest(2),
        "verification FAILED: the newest events were deleted: "
        "the checkpoint is at 6, the log ends at 4",
    ),
    "swap-data": Attack(lambda raw: raw.swap_data(2, 3), at_position(2)),
    "forge-token": Attack(forge_token, at_position(7)),
    "edit-snapshot": Attack(
        plant_jwt_secret,
        f"verification FAILED: the snapshot of {PLATFORM_STREAM} at version {SNAPSHOT_EVERY} "
        "is not trustworthy: its seal does not match",
        WITH_SNAPSHOT,
    ),
    "roll-back": Attack(lambda raw: raw.roll_back(1), "verification FAILED"),
}
#: attacks a start does not read, by design (see the module docstring)
NOT_FATAL_AT_START: Final = frozenset({"edit-snapshot", "edit-old-data"})
FATAL_AT_START: Final = tuple(name for name in ATTACKS if name not in NOT_FATAL_AT_START)
#: attacks the stored log shows by itself (a rolled-back tail needs the auditor's head line)
DETECTABLE_BY_VERIFY: Final = tuple(name for name in ATTACKS if name != "roll-back")

# --- where a detector does not do what the module docstring says (strict xfails) -------------

_ROLLED_BACK: Final = (
    "by design (README, Integrity): the newest event deleted and the checkpoint moved back "
    "onto the new newest one leave a valid, shorter chain with a matching checkpoint; nothing "
    "in the store shows it, only a process that saw the longer log or an auditor's kept head "
    "line (verify --expect-head, tested below)"
)
#: (attack, detector) → why that detector misses it
GAPS: Final[Mapping[tuple[str, str], str]] = {
    ("roll-back", "verify"): _ROLLED_BACK,
    ("roll-back", "verify-names"): _ROLLED_BACK,
    ("roll-back", "start"): "a new process has no memory of the head: " + _ROLLED_BACK,
    ("edit-old-data", "running-check"): (
        "by design: a running check re-reads what follows the newest snapshot; an edit of older "
        "history is found by verify_in_background (a serving process runs it at start and every "
        "five minutes) and by verify"
    ),
}


def cases(detector: str, attacks: tuple[str, ...] = tuple(ATTACKS)) -> list[Any]:
    """(backend, attack) for every backend; a cell listed in :data:`GAPS` is a strict xfail
    (for an assertion only: a store that cannot be built must not pass for the gap)."""
    out = []
    for backend in STORAGES:
        for attack in attacks:
            gap = GAPS.get((attack, detector))
            marks = (
                []
                if gap is None
                else [pytest.mark.xfail(raises=AssertionError, strict=True, reason=gap)]
            )
            out.append(pytest.param(backend, attack, marks=marks, id=f"{backend}-{attack}"))
    return out


# --- running one scenario ---------------------------------------------------------------------


def cli_env() -> dict[str, str]:
    """The CLI with only the variables a test sets (the store's are in runtime/.env)."""
    return {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}


def run_cli(root: Path, *commands: tuple[str, ...]) -> list[subprocess.CompletedProcess[str]]:
    """Run the commands side by side (two cores: the module's wall time is mostly these)."""
    started = [
        subprocess.Popen(
            [str(CLI), *args],
            cwd=root,
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    done = []
    try:
        for process, args in zip(started, commands, strict=True):
            stdout, stderr = process.communicate(timeout=60)
            done.append(subprocess.CompletedProcess(args, process.returncode, stdout, stderr))
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait()
    return done


@attrs.frozen
class Seen:
    """What a service showed: the config values an attack could change."""

    company_name: str
    jwt_secret: str

    @classmethod
    def of(cls, service: ConfigService) -> Seen:
        secret = service.config.security.secrets.jwt_secret
        assert secret is not None
        return cls(service.config.branding.company_name, secret.reveal())


@attrs.define
class Outcome:
    """Everything the detectors saw in one (backend, attack) scenario."""

    before: Seen
    # the running service, opened before the attack
    found_by_check: LogIntegrityError | None = None
    found_in_background: LogIntegrityError | None = None
    running_after: Seen | None = None
    refused_write: BaseException | None = None
    log_before_write: RawLog | None = None
    log_after_write: RawLog | None = None
    # a service started after the attack
    start_error: BaseException | None = None
    failure_at_start: LogIntegrityError | None = None
    started_seen: Seen | None = None
    background_report: VerifyReport | None = None
    failure_after_background: LogIntegrityError | None = None
    # the CLI
    verify: subprocess.CompletedProcess[str] | None = None
    show: subprocess.CompletedProcess[str] | None = None
    # verify --expect-head HEAD, HEAD kept before the attack: on the intact log, right after
    # the attack, and after a later write on top of the attacked log
    head_line: str = ""
    expect_head_intact: subprocess.CompletedProcess[str] | None = None
    expect_head_attacked: subprocess.CompletedProcess[str] | None = None
    expect_head_rewritten: subprocess.CompletedProcess[str] | None = None


async def build(service: ConfigService, layout: Layout) -> None:
    """The layout's saves and its token, through the service (as an operator would)."""
    names = (f"Acme {n}" for n in range(1, layout.saves_before_token + 3))
    for _ in range(layout.saves_before_token):
        await service.save({"branding": {"companyName": next(names)}}, AUTHOR)
    await TokenStore(service.event_log).create("ops", [READ, WRITE], "tests")
    for name in names:
        await service.save({"branding": {"companyName": name}}, AUTHOR)


async def play(root: Path, environ: Mapping[str, str], attack_name: str) -> Outcome:
    """Build, attack, then ask each detector in turn. A start comes first: it must be the first
    to read the attacked store (a service that loads around a broken snapshot leaves a good,
    newer one behind, which later loads would use instead)."""
    attack = ATTACKS[attack_name]
    raw = raw_store(root, environ)
    running = await open_service(root, environ)
    try:
        await build(running, attack.layout)
        assert raw.positions()[-1] == attack.layout.newest
        outcome = Outcome(Seen.of(running))
        assert outcome.before.company_name == attack.layout.final_name
        if attack_name == "roll-back":
            outcome.head_line = (await running.verify()).head_line
            [outcome.expect_head_intact] = run_cli(
                root, ("verify", "--expect-head", outcome.head_line)
            )

        attack.make(raw)

        await observe_start(root, environ, outcome)
        commands = [("verify",), ("show", "application.title")]
        if outcome.head_line:
            commands.append(("verify", "--expect-head", outcome.head_line))
        outcome.verify, outcome.show, *rest = run_cli(root, *commands)
        await observe_running(running, raw, outcome)
    finally:
        await running.close()
    if outcome.head_line:
        [outcome.expect_head_attacked] = rest
        await write_on_top(root, environ)
        [outcome.expect_head_rewritten] = run_cli(
            root, ("verify", "--expect-head", outcome.head_line)
        )
    return outcome


async def observe_running(running: ConfigService, raw: RawStore, outcome: Outcome) -> None:
    """check_integrity and catch_up, then the full check a serving process runs; then a save."""
    with contextlib.suppress(LogIntegrityError):
        await running.check_integrity()
    with contextlib.suppress(LogIntegrityError):
        await running.catch_up()
    outcome.found_by_check = running.integrity_failure
    await running.verify_in_background()
    outcome.found_in_background = running.integrity_failure
    outcome.log_before_write = raw.log()
    try:
        await running.save({"branding": {"companyName": "After the attack"}}, AUTHOR)
    except Exception as exc:
        outcome.refused_write = exc
    outcome.log_after_write = raw.log()
    outcome.running_after = Seen.of(running)


async def observe_start(root: Path, environ: Mapping[str, str], outcome: Outcome) -> None:
    try:
        started = await open_service(root, environ)
    except Exception as exc:
        outcome.start_error = exc
        return
    try:
        outcome.failure_at_start = started.integrity_failure
        outcome.started_seen = Seen.of(started)
        outcome.background_report = await started.verify_in_background()
        outcome.failure_after_background = started.integrity_failure
    finally:
        await started.close()


async def write_on_top(root: Path, environ: Mapping[str, str]) -> None:
    """A legitimate write by a process that opens the attacked log (nothing stops it)."""
    service = await open_service(root, environ)
    try:
        await service.save({"branding": {"companyName": "Written on top"}}, AUTHOR)
    finally:
        await service.close()


class Scenarios:
    """Each (backend, attack) is built, attacked and observed once, on first use, whichever
    test asks first; the stores live until the module is done."""

    def __init__(self, base: Path, stack: contextlib.ExitStack) -> None:
        self._base = base
        self._stack = stack
        self._done: dict[tuple[str, str], Outcome] = {}

    def outcome(self, backend: str, attack: str) -> Outcome:
        key = (backend, attack)
        if key not in self._done:
            storage = self._stack.enter_context(STORAGES[backend]())
            root = self._base / f"{backend}-{attack}"
            (root / "runtime").mkdir(parents=True)
            environ = {**storage, **BASE_ENV}
            (root / "runtime" / ".env").write_text(env_lines(environ), encoding="utf-8")
            self._done[key] = asyncio.run(play(root, environ, attack))
        return self._done[key]


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenarios]:
    with contextlib.ExitStack() as stack:
        yield Scenarios(tmp_path_factory.mktemp("tamper"), stack)


# --- verify -----------------------------------------------------------------------------------


def verify_failures(outcome: Outcome) -> list[str]:
    done = outcome.verify
    assert done is not None
    return [line for line in done.stdout.splitlines() if line.startswith("verification FAILED")]


@pytest.mark.parametrize(("backend", "attack"), cases("verify"))
def test_verify_exits_1(scenarios: Scenarios, backend: str, attack: str) -> None:
    done = scenarios.outcome(backend, attack).verify
    assert done is not None
    assert done.returncode == 1, done.stdout + done.stderr


@pytest.mark.parametrize(("backend", "attack"), cases("verify-names"))
def test_verify_names_the_first_bad_position_or_the_problem(
    scenarios: Scenarios, backend: str, attack: str
) -> None:
    failures = verify_failures(scenarios.outcome(backend, attack))
    assert failures, "verify reported no failure"
    assert failures[0].startswith(ATTACKS[attack].verify_says), failures


@pytest.mark.parametrize(("backend", "attack"), cases("verify-only", DETECTABLE_BY_VERIFY))
def test_verify_claims_nothing_else(scenarios: Scenarios, backend: str, attack: str) -> None:
    """One failure line, the attack's: an operator acts on every line verify prints."""
    failures = verify_failures(scenarios.outcome(backend, attack))
    assert len(failures) == 1, failures
    assert failures[0].startswith(ATTACKS[attack].verify_says), failures


# --- a starting service ------------------------------------------------------------------------


@pytest.mark.parametrize(("backend", "attack"), cases("start", FATAL_AT_START))
def test_a_start_refuses_a_log_it_reads_tampered(
    scenarios: Scenarios, backend: str, attack: str
) -> None:
    outcome = scenarios.outcome(backend, attack)
    assert isinstance(outcome.start_error, LogIntegrityError), outcome.start_error
    show = outcome.show
    assert show is not None
    assert show.returncode == 1, show.stdout
    assert show.stdout == ""
    [line] = show.stderr.splitlines()
    assert line == f"error: {outcome.start_error}"


@pytest.mark.parametrize(("backend", "attack"), cases("start", ("edit-snapshot",)))
def test_a_start_ignores_a_tampered_snapshot_and_folds_the_events(
    scenarios: Scenarios, backend: str, attack: str
) -> None:
    outcome = scenarios.outcome(backend, attack)
    assert outcome.start_error is None
    failure = outcome.failure_at_start
    assert failure is not None
    assert f"snapshot of {PLATFORM_STREAM} at version {SNAPSHOT_EVERY}" in failure.reason
    assert outcome.started_seen == outcome.before  # from the events: not the planted secret
    assert outcome.before.jwt_secret != PLANTED_SECRET
    show = outcome.show
    assert show is not None
    assert (show.returncode, show.stdout.strip()) == (0, "Parako.ID"), show.stderr


@pytest.mark.parametrize(("backend", "attack"), cases("start", ("edit-old-data",)))
def test_a_start_may_open_over_an_old_edit_and_the_background_check_finds_it(
    scenarios: Scenarios, backend: str, attack: str
) -> None:
    outcome = scenarios.outcome(backend, attack)
    if outcome.start_error is not None:  # allowed: a start that reads more than it must
        assert isinstance(outcome.start_error, LogIntegrityError)
        return
    assert outcome.failure_at_start is None
    report = outcome.background_report
    assert report is not None
    assert not report.ok
    assert report.chain.first_break is not None
    assert report.chain.first_break.position == 2
    failure = outcome.failure_after_background
    assert failure is not None
    assert failure.position == 2


# --- a running service ------------------------------------------------------------------------


@pytest.mark.parametrize(("backend", "attack"), cases("running-check"))
def test_a_running_service_finds_it_on_check_integrity_or_catch_up(
    scenarios: Scenarios, backend: str, attack: str
) -> None:
    assert scenarios.outcome(backend, attack).found_by_check is not None


@pytest.mark.parametrize(("backend", "attack"), cases("running-writes"))
def test_a_running_service_keeps_its_verified_config_and_refuses_writes(
    scenarios: Scenarios, backend: str, attack: str
) -> None:
    """Once found (check_integrity, catch_up, or the background verification a serving process
    runs): the config from before the attack, every write refused, nothing appended."""
    outcome = scenarios.outcome(backend, attack)
    assert outcome.found_in_background is not None
    assert outcome.running_after == outcome.before
    assert isinstance(outcome.refused_write, LogIntegrityError), outcome.refused_write
    assert outcome.log_after_write == outcome.log_before_write


# --- verify --expect-head ---------------------------------------------------------------------


@pytest.mark.parametrize(("backend", "attack"), cases("expect-head", ("roll-back",)))
def test_an_auditors_head_line_catches_a_rolled_back_and_rewritten_tail(
    scenarios: Scenarios, backend: str, attack: str
) -> None:
    outcome = scenarios.outcome(backend, attack)
    newest = ATTACKS[attack].layout.newest
    intact = outcome.expect_head_intact
    assert intact is not None
    assert intact.returncode == 0, intact.stdout
    assert f"head: {outcome.head_line}" in intact.stdout.splitlines()

    attacked = outcome.expect_head_attacked
    assert attacked is not None
    assert attacked.returncode == 1, attacked.stdout
    assert f"verification FAILED: the log no longer reaches position {newest}" in (
        attacked.stdout.splitlines()
    )

    rewritten = outcome.expect_head_rewritten
    assert rewritten is not None
    assert rewritten.returncode == 1, rewritten.stdout
    assert f"verification FAILED: the history up to position {newest} was rewritten" in (
        rewritten.stdout.splitlines()
    )


# --- the HTTP API -----------------------------------------------------------------------------


@pytest.mark.parametrize("backend", list(STORAGES))
def test_a_forged_token_never_authenticates_and_the_api_reports_the_tampering(
    tmp_path: Path, backend: str
) -> None:
    from support.api_support import serving

    async def enable_metrics(service: ConfigService) -> None:
        await service.save({"features": {"metrics": {"enabled": True}}}, AUTHOR)

    with STORAGES[backend]() as storage, serving(tmp_path, storage, prepare=enable_metrics) as api:
        raw = raw_store(tmp_path, api.environ)
        real = api.client(api.token("ops", READ, WRITE))
        forged = api.client(FORGED_TOKEN)
        scraper = httpx.Client(base_url=api.base_url, timeout=30)
        try:
            assert real.get("/config").status_code == 200
            assert forged.get("/config").status_code == 401
            assert "parako_log_integrity_failed 0.0" in scraper.get("/metrics").text

            forge_token(raw)
            position = raw.positions()[-1]

            for response in (
                forged.get("/config"),
                forged.patch("/config", json={"branding": {"companyName": "Evil"}}),
            ):
                assert response.status_code in (401, 503), response.text
            before = raw.log()
            write = real.patch("/config", json={"branding": {"companyName": "Real"}})
            assert write.status_code == 503, write.text
            assert write.json()["error"]["code"] == "log_integrity_failed"
            assert raw.log() == before

            health = real.get("/health")
            assert health.status_code == 503
            chain = health.json()["checks"]["hash_chain"]
            assert (chain["error"], chain["first_bad_position"]) == (
                "log_integrity_failed",
                position,
            )
            assert "parako_log_integrity_failed 1.0" in scraper.get("/metrics").text
        finally:
            scraper.close()
