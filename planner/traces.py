"""Traffic traces: the offered requests per second, one value per second of the plan.

A trace is a built-in shape, a CSV of `seconds,qps` points (linear between them), or a load-test
`report.json` (the rate it offered, second by second).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Optional

SHAPES = ("step:BASE:PEAK:AT", "ramp:BASE:PEAK:FROM:TO", "diurnal:LOW:HIGH:PERIOD")


class TraceError(ValueError):
    """A trace that cannot be read; the message names the trace and what is allowed."""


def _numbers(spec: str, count: int) -> list[float]:
    parts = spec.split(":")[1:]
    shape = next(s for s in SHAPES if s.startswith(spec.split(":")[0] + ":"))
    if len(parts) != count:
        raise TraceError(f"trace {spec!r}: write {shape}")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise TraceError(f"trace {spec!r}: {shape} takes numbers") from None
    if any(not math.isfinite(v) or v < 0 for v in values):
        raise TraceError(f"trace {spec!r}: every number must be finite and >= 0")
    return values


def step(base: float, peak: float, at: int, duration: int) -> list[float]:
    return [base if t < at else peak for t in range(duration)]


def ramp(base: float, peak: float, start: int, end: int, duration: int) -> list[float]:
    def at(t: int) -> float:
        if t <= start:
            return base
        if t >= end:
            return peak
        return base + (peak - base) * (t - start) / (end - start)

    return [at(t) for t in range(duration)]


def diurnal(low: float, high: float, period: int, duration: int) -> list[float]:
    """A cosine day: `low` at t = 0, `high` half a period later."""
    mid, amplitude = (high + low) / 2, (high - low) / 2
    return [mid - amplitude * math.cos(2 * math.pi * t / period) for t in range(duration)]


def from_points(points: list[tuple[float, float]], name: str) -> list[float]:
    """Per-second rates, linear between (seconds, qps) points from 0 to the last point."""
    if len(points) < 2:
        raise TraceError(f"{name}: needs at least two points (seconds,qps)")
    for (t0, _), (t1, _) in zip(points, points[1:], strict=False):
        if t1 <= t0:
            raise TraceError(f"{name}: seconds must increase (got {t0:g} then {t1:g})")
    if points[0][0] != 0:
        raise TraceError(f"{name}: the first point must be at 0 seconds (got {points[0][0]:g})")
    out, i = [], 0
    for t in range(int(points[-1][0])):
        while points[i + 1][0] < t:
            i += 1
        (t0, q0), (t1, q1) = points[i], points[i + 1]
        out.append(q0 + (q1 - q0) * (t - t0) / (t1 - t0))
    return out


def read_csv(path: Path) -> list[float]:
    points: list[tuple[float, float]] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for line_no, row in enumerate(csv.reader(handle), start=1):
            if not row or row[0].strip().startswith("#"):
                continue
            if len(row) != 2:
                raise TraceError(f"{path}:{line_no}: write seconds,qps (got {','.join(row)!r})")
            try:
                t, qps = float(row[0]), float(row[1])
            except ValueError:
                if line_no == 1:
                    continue  # a header
                raise TraceError(f"{path}:{line_no}: seconds and qps must be numbers") from None
            if not (math.isfinite(t) and math.isfinite(qps)) or qps < 0 or t < 0:
                raise TraceError(f"{path}:{line_no}: seconds and qps must be finite and >= 0")
            points.append((t, qps))
    return from_points(points, str(path))


def read_report(path: Path) -> list[float]:
    """The offered rate of a load-test report, second by second (`timeline[].scheduled`)."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        rows = report["timeline"]
        return [float(row["scheduled"]) for row in rows]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise TraceError(f"{path}: not a load-test report.json with a timeline of scheduled requests ({exc})") from None


def load(spec: str, duration: Optional[int] = None) -> list[float]:
    """A trace from its command-line form. `duration` (s) lengthens or cuts a built-in shape:
    by default a step runs to AT + 1800, a ramp to TO + 1800, a diurnal shape two periods."""
    kind = spec.split(":", 1)[0]
    if kind == "step" and ":" in spec:
        base, peak, at = _numbers(spec, 3)
        return step(base, peak, int(at), duration or int(at) + 1800)
    if kind == "ramp" and ":" in spec:
        base, peak, start, end = _numbers(spec, 4)
        if end <= start:
            raise TraceError(f"trace {spec!r}: TO must be after FROM")
        return ramp(base, peak, int(start), int(end), duration or int(end) + 1800)
    if kind == "diurnal" and ":" in spec:
        low, high, period = _numbers(spec, 3)
        if period < 2:
            raise TraceError(f"trace {spec!r}: PERIOD must be at least 2 seconds")
        return diurnal(low, high, int(period), duration or 2 * int(period))
    path = Path(spec)
    if not path.is_file():
        raise TraceError(f"trace {spec!r}: not a file, nor one of {', '.join(SHAPES)}")
    rates = read_report(path) if path.suffix == ".json" else read_csv(path)
    return rates[:duration] if duration else rates
