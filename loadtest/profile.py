"""The load profile: phases of request rate over time, and the exact send schedule they imply.

Open loop: the schedule is fixed before the first request and does not depend on responses, so
a slow server cannot lower the offered rate and hide its own slowness.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

# The last phase of the standard profile, in which the pods should scale back in (`--cooldown`).
COOL_DOWN = "cool-down"


@dataclass(frozen=True)
class Phase:
    """A stretch of time whose rate goes linearly from `start_rps` to `end_rps`."""

    name: str
    duration: float
    start_rps: float
    end_rps: float

    def count(self) -> int:
        """Requests the phase sends: the integral of its rate (rounded down)."""
        return int(math.floor((self.start_rps + self.end_rps) / 2 * self.duration + 1e-9))

    def offsets(self) -> Iterator[float]:
        """Send offsets within the phase: the k-th request goes when k requests are due."""
        r0, r1, d = self.start_rps, self.end_rps, self.duration
        slope = (r1 - r0) / d if d else 0.0
        for k in range(self.count()):
            if abs(slope) < 1e-12:
                yield k / r0
            else:
                # Solve r0*t + slope*t^2/2 = k for the root in [0, d].
                yield (-r0 + math.sqrt(r0 * r0 + 2 * slope * k)) / slope


@dataclass(frozen=True)
class Profile:
    """Phases in order."""

    phases: tuple[Phase, ...]

    @property
    def duration(self) -> float:
        return sum(p.duration for p in self.phases)

    def boundaries(self) -> list[tuple[str, float, float]]:
        """(name, start, end) of each phase, in seconds from the start."""
        out, t = [], 0.0
        for p in self.phases:
            out.append((p.name, t, t + p.duration))
            t += p.duration
        return out

    def schedule(self) -> list[tuple[float, str]]:
        """Every request's send time (seconds from the start) and phase, in order."""
        out, t0 = [], 0.0
        for p in self.phases:
            out.extend((t0 + offset, p.name) for offset in p.offsets())
            t0 += p.duration
        return out

    def phase_at(self, t: float) -> str:
        for name, start, end in self.boundaries():
            if start <= t < end:
                return name
        return self.phases[-1].name


def standard_profile(
    target_qps: float,
    min_replicas: int,
    *,
    peak_rps: float | None = None,
    warmup: float = 60,
    ramp: float = 60,
    hold: float = 300,
    cooldown: float = 600,
) -> Profile:
    """Warm-up at half the scale-out threshold, ramp to the peak, hold, then cool down.

    The threshold is targetQps x minReplicas: above it the HPA must add pods. The peak defaults
    to three times that. The cool-down phase keeps a trickle (10% of one pod's target) instead of
    zero: with no requests the SLS query returns no data, the metric goes missing and the HPA
    stops scaling altogether (ScalingActive=False) instead of scaling in.
    """
    threshold = target_qps * min_replicas
    peak = 3 * threshold if peak_rps is None else peak_rps
    if peak <= threshold:
        raise ValueError(f"peak {peak} rps must exceed targetQps x minReplicas = {threshold} rps")
    warm = threshold / 2
    trickle = max(0.5, 0.1 * target_qps)
    return Profile(
        (
            Phase("warm-up", warmup, warm, warm),
            Phase("ramp", ramp, warm, peak),
            Phase("hold", hold, peak, peak),
            Phase(COOL_DOWN, cooldown, trickle, trickle),
        )
    )
