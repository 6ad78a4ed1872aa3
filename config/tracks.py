"""How the pods and the traffic split between the main track and a canary (`model.canary`).

ingress-nginx routes `canary-weight` percent of the predict requests, each drawn at random, to the
canary Ingress's Service (rootfs/etc/nginx/lua/balancer.lua route_to_alternative_balancer at
dbb11b92: `math.random(weightTotal) <= weight`, weightTotal 100). Every one of them, canary or not,
is logged under the main upstream's name (`$proxy_upstream_name`; the canary's only in
`$proxy_alternative_upstream_name`: balancer.lua get_balancer), which is the only field the metrics
adapter filters `sls_ingress_qps` on (alibaba-cloud-metrics-adapter pkg/metrics/sls/ingress.go at
93cf5f14). So both tracks' HPAs read the main route's whole rate, each with a per-pod target scaled
by its share: ceil(rate x share / targetQps) pods, the same count a route of its own would give.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from .schema import AutoscalingSettings, CanarySettings


@dataclass(frozen=True)
class TrackScaling:
    """One track's HPA bounds and per-pod target on the main route's rate."""

    min_replicas: int
    max_replicas: int
    target_qps: float
    """Per pod, against the whole route's rate: targetQps / share (share 0: as if 1%)."""


@dataclass(frozen=True)
class Split:
    main: TrackScaling
    canary: Optional[TrackScaling]

    @property
    def max_pods(self) -> int:
        """Pods both tracks may run at once: what the capacity must hold."""
        return self.main.max_replicas + (self.canary.max_replicas if self.canary else 0)


def _target(target_qps: float, share_percent: int) -> float:
    return target_qps * 100 / max(share_percent, 1)


def split(min_replicas: int, max_replicas: int, target_qps: float, weight: Optional[int]) -> Split:
    """`weight` None: no canary, the main track as configured. Otherwise the canary gets its share of
    `maxReplicas` (at least one pod, kept warm at weight 0 so raising it needs no cold start) and the
    main track the rest, never below `minReplicas` (a rollback lands on warm pods). A track with no
    share is held at its minimum."""
    if weight is None:
        return Split(TrackScaling(min_replicas, max_replicas, target_qps), None)
    canary_max = 1 if weight == 0 else max(1, math.ceil(max_replicas * weight / 100))
    main_max = max_replicas - canary_max if weight < 100 else min_replicas
    main_max = max(min_replicas, main_max)
    canary = TrackScaling(1, canary_max, _target(target_qps, weight))
    main = TrackScaling(min_replicas, main_max, _target(target_qps, 100 - weight))
    return Split(main, canary)


def stack_split(autoscaling: AutoscalingSettings, canary: Optional[CanarySettings]) -> Split:
    """The stack's own split: `autoscaling` and `model.canary.weight`."""
    a = autoscaling
    return split(a.min_replicas, a.max_replicas, a.target_qps, canary.weight if canary else None)
