"""What every benchmark shares: result rows, the table they print, and the replay measurement
(the same on every adapter, so their numbers compare)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Final

import attrs

from eventstore.events import ConfigChanged, FieldChange, decode, encode
from eventstore.hashchain import GENESIS, HashChain
from eventstore.integrity import VerifiedLog
from eventstore.log import EventLog, NewEvent

Row = tuple[str, str, str, str]  # benchmark, measurement, value, target/status
REPLAY_BATCH: Final = 1000
REPLAY_PAGE: Final = 10_000


def status(ok: bool, target: str) -> str:
    return f"{'PASS' if ok else 'MISS'} ({target})"


def table(rows: list[Row]) -> str:
    header: Row = ("benchmark", "measurement", "value", "target")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(header, widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def change_event(i: int) -> NewEvent:
    """A realistic one-field ConfigChanged, numbered so no two are alike."""
    return encode(
        ConfigChanged(
            changes=(FieldChange("branding.companyName", f"Acme {i}", f"Acme {i + 1}"),),
            semver=f"1.0.{i}",
            actor="bench",
            reason="",
            tags=("main",),
            environment="development",
            at=datetime(2024, 1, 1, tzinfo=UTC),
        )
    )


@attrs.frozen
class Replay:
    """Events/s of verified read_all pages + decode, and of each step on its own."""

    rate: float
    build_seconds: float
    read_rate: float
    decode_rate: float
    verify_rate: float


async def replay(log: EventLog, chain: HashChain, n: int) -> Replay:
    """Append ``n`` events in batches, then read them all back in pages the way every process
    does — through :class:`VerifiedLog`, each link checked — and decode each."""
    start = time.perf_counter()
    for base in range(0, n, REPLAY_BATCH):
        batch = [change_event(i) for i in range(base, min(base + REPLAY_BATCH, n))]
        await log.append("bench", base, batch)
    build = time.perf_counter() - start
    verified = VerifiedLog(log, chain)
    position = count = 0
    reading = decoding = 0.0
    while True:
        start = time.perf_counter()
        page = await verified.read_all(position, REPLAY_PAGE)
        reading += time.perf_counter() - start
        if not page:
            break
        start = time.perf_counter()
        for recorded in page:
            decode(recorded)
        decoding += time.perf_counter() - start
        count += len(page)
        position = page[-1].position
    assert count == n, count
    checking = await _verification_alone(log, chain)
    return Replay(
        count / (reading + decoding), build, count / reading, count / decoding, count / checking
    )


async def _verification_alone(log: EventLog, chain: HashChain) -> float:
    """Seconds spent on the link checks alone, over the same pages."""
    position, link, seconds = 0, GENESIS, 0.0
    while page := await log.read_all(position, REPLAY_PAGE):
        start = time.perf_counter()
        assert chain.first_mismatch(link, page) is None
        seconds += time.perf_counter() - start
        position, link = page[-1].position, page[-1].link
    return seconds


def replay_rows(name: str, result: Replay, target: float | None = None) -> list[Row]:
    verdict = status(result.rate >= target, f">= {target:,.0f}/s") if target else ""
    return [
        (name, f"build ({REPLAY_BATCH}/append)", f"{result.build_seconds:.1f} s", ""),
        (name, "  of which verified read_all", f"{result.read_rate:,.0f} ev/s", ""),
        (name, "    of which link checks", f"{result.verify_rate:,.0f} ev/s", ""),
        (name, "  of which decode alone", f"{result.decode_rate:,.0f} ev/s", ""),
        (name, f"verified pages of {REPLAY_PAGE:,} + decode", f"{result.rate:,.0f} ev/s", verdict),
    ]
