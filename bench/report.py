"""What every benchmark shares: result rows, the table they print, and the replay measurement
(the same on every adapter, so their numbers compare)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Final

import attrs

from eventstore.events import ConfigChanged, FieldChange, decode, encode
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
    """Events/s of read_all pages + decode, and of each step on its own."""

    rate: float
    build_seconds: float
    read_rate: float
    decode_rate: float


async def replay(log: EventLog, n: int) -> Replay:
    """Append ``n`` events in batches, then read them all back in pages and decode each."""
    start = time.perf_counter()
    for base in range(0, n, REPLAY_BATCH):
        batch = [change_event(i) for i in range(base, min(base + REPLAY_BATCH, n))]
        await log.append("bench", base, batch)
    build = time.perf_counter() - start
    position = count = 0
    reading = decoding = 0.0
    while True:
        start = time.perf_counter()
        page = await log.read_all(position, REPLAY_PAGE)
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
    return Replay(count / (reading + decoding), build, count / reading, count / decoding)


def replay_rows(name: str, result: Replay, target: float | None = None) -> list[Row]:
    verdict = status(result.rate >= target, f">= {target:,.0f}/s") if target else ""
    return [
        (name, f"build ({REPLAY_BATCH}/append)", f"{result.build_seconds:.1f} s", ""),
        (name, "  of which read_all alone", f"{result.read_rate:,.0f} ev/s", ""),
        (name, "  of which decode alone", f"{result.decode_rate:,.0f} ev/s", ""),
        (name, f"read_all pages of {REPLAY_PAGE:,} + decode", f"{result.rate:,.0f} ev/s", verdict),
    ]
