"""One schedule, many drivers: split it into shares, carry each share's outcomes home, merge.

Share i of n takes requests i, i + n, i + 2n... of the schedule: each share is itself an even,
open-loop schedule at 1/n of the rate, and merging puts every outcome back at its own index, so
the merged run is the single-driver run's schedule exactly. Percentiles are then computed from
the merged raw samples by report.py, never averaged across drivers.

A share's outcomes travel as text lines (the in-cluster drivers print them to their logs):
zlib-compressed JSON, base64, in numbered chunks, and a closing line with the counts, so a
missing chunk or a driver that never finished is noticed and reported, never dropped.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Optional, TypeVar

from .driver import Outcome

T = TypeVar("T")

SAMPLES = "LOADTEST-SAMPLES "
DONE = "LOADTEST-DONE "
CHUNK = 20_000
"""Outcomes per line: about 100 KB of base64 for typical samples."""


def split(schedule: Sequence[T], n: int) -> list[list[T]]:
    """n shares, round robin."""
    if n < 1:
        raise ValueError("the number of shares must be at least 1")
    return [list(schedule[i::n]) for i in range(n)]


def merge(shares: Sequence[Sequence[T]]) -> list[T]:
    """The inverse of `split`: item k of the result is item k // n of share k % n."""
    n = len(shares)
    total = sum(len(s) for s in shares)
    return [shares[k % n][k // n] for k in range(total)]


def _row(o: Outcome) -> list:
    """One outcome, relative to its scheduled time, in microseconds (compact and exact enough)."""
    sent = None if o.sent is None else round((o.sent - o.scheduled) * 1e6)
    latency = None if o.latency is None else round(o.latency * 1e6)
    return [sent, latency, o.status, o.error]


def encode(share: int, outcomes: Sequence[Outcome]) -> Iterator[str]:
    """The lines that carry one share's outcomes (in share order) and its closing line."""
    chunks = 0
    for chunks, start in enumerate(range(0, len(outcomes), CHUNK), start=1):
        rows = [_row(o) for o in outcomes[start:start + CHUNK]]
        data = base64.b64encode(zlib.compress(json.dumps(rows, separators=(",", ":")).encode(), 6)).decode()
        yield SAMPLES + json.dumps({"share": share, "chunk": chunks - 1, "first": start, "data": data})
    yield DONE + json.dumps({"share": share, "chunks": chunks, "outcomes": len(outcomes)})


@dataclass
class Received:
    """What the lines of one share said."""

    rows: dict[int, list] = field(default_factory=dict)
    """index within the share -> row."""
    done: Optional[dict] = None
    chunks: set[int] = field(default_factory=set)

    def problem(self) -> Optional[str]:
        """Why the share is incomplete, or None."""
        if self.done is None:
            return "never finished (no closing line in its log)"
        missing = sorted(set(range(self.done["chunks"])) - self.chunks)
        if missing:
            return f"lost {len(missing)} of {self.done['chunks']} sample chunks (its log was cut)"
        return None


def decode(lines: Iterable[str]) -> dict[int, Received]:
    """Per share, the rows and closing line found in some log lines (other lines are ignored)."""
    out: dict[int, Received] = {}
    for line in lines:
        line = line.strip()
        if line.startswith(SAMPLES):
            msg = json.loads(line[len(SAMPLES):])
            got = out.setdefault(msg["share"], Received())
            rows = json.loads(zlib.decompress(base64.b64decode(msg["data"])))
            for offset, row in enumerate(rows):
                got.rows[msg["first"] + offset] = row
            got.chunks.add(msg["chunk"])
        elif line.startswith(DONE):
            msg = json.loads(line[len(DONE):])
            out.setdefault(msg["share"], Received()).done = msg
    return out


def outcomes_of(schedule: Sequence[tuple[float, str]], received: Optional[Received], lost: str) -> list[Outcome]:
    """A share's outcomes rebuilt on its schedule. A request whose sample did not come home is a
    failure with the cause `lost` (the driver died, or its log lost it): counted, not dropped."""
    out = []
    for index, (t, phase) in enumerate(schedule):
        row = None if received is None else received.rows.get(index)
        if row is None:
            out.append(Outcome(scheduled=t, phase=phase, error=lost))
            continue
        sent, latency, status, error = row
        out.append(Outcome(scheduled=t, phase=phase, sent=None if sent is None else t + sent / 1e6,
                           latency=None if latency is None else latency / 1e6, status=status, error=error))
    return out
