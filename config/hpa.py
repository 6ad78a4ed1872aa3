"""The HPA controller, step by step, as upstream Kubernetes computes it for our HPA.

Our HPA has one External metric with an AverageValue target and a `behavior` (components/
autoscaler.py), so one reconcile of kube-controller-manager's HPA controller is:

1. `reconcileAutoscaler` (pkg/controller/podautoscaler/horizontal.go): scaling is off while the
   target has 0 replicas and minReplicas is not 0; a replica count above maxReplicas or below
   minReplicas is brought back to the bound at once (no behavior applied); otherwise the metric
   proposes a count, and `normalizeDesiredReplicasWithBehaviors` stabilizes and rate-limits it.
2. `GetExternalPerPodMetricReplicas` (replica_calculator.go): usage is the metric's value in
   milli-units, the ratio is usage / (target x statusReplicas), where statusReplicas is the
   Deployment's `status.replicas` (every pod it has, ready or not: `computeReplicasForMetrics`
   passes `scale.Status.Replicas`); within the tolerance the count stays, otherwise it is
   ceil(usage / target).
3. `stabilizeRecommendationWithBehaviors`: the lowest recommendation of the scale-up window and
   the highest of the scale-down window bound the current count.
4. `convertDesiredReplicasWithBehaviorRate` with `calculateScaleUpLimitWithScalingRules` and
   `calculateScaleDownLimitWithBehaviors`: per policy, the replicas at the start of its period
   (current minus what was added plus what was removed in it) plus Pods or times Percent;
   selectPolicy picks among the policies; then maxReplicas/minReplicas.
5. `storeScaleEvent`: every rescale is remembered for the rate limits.

Read at kubernetes/kubernetes master (pkg/controller/podautoscaler/horizontal.go and
replica_calculator.go with per-direction `Tolerances`, 1.33+; the arithmetic is the same since
autoscaling/v2 behaviors arrived in 1.18). Time is in whole seconds; "after the cutoff" keeps
upstream's strict `time.After`. tests/test_planner.py replays upstream's own cases.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass(frozen=True)
class Policy:
    """One HPAScalingPolicy: `Pods` or `Percent`, `value` per `period` seconds."""

    type: str
    value: int
    period: int


@dataclass(frozen=True)
class Rules:
    """One direction's HPAScalingRules, defaults filled in as the API server does."""

    stabilization: int
    select: str
    policies: tuple[Policy, ...]


# The API server's defaults for an HPA with a behavior (pkg/apis/autoscaling/v2/defaults.go:
# scale up 0 s window, Max of 4 Pods and 100 Percent per 15 s; scale down Max of 100 Percent per
# 15 s, its window from the controller's --horizontal-pod-autoscaler-downscale-stabilization,
# 300 s by default).
DEFAULT_UP = Rules(0, "Max", (Policy("Pods", 4, 15), Policy("Percent", 100, 15)))
DEFAULT_DOWN = Rules(300, "Max", (Policy("Percent", 100, 15),))


def rules_from_spec(spec: Optional[Mapping[str, Any]], default: Rules) -> Rules:
    """HPAScalingRules as written in a manifest, unset fields from the defaults."""
    if not spec:
        return default
    policies = spec.get("policies")
    return Rules(
        stabilization=int(spec.get("stabilizationWindowSeconds", default.stabilization)),
        select=str(spec.get("selectPolicy", default.select)),
        policies=default.policies if policies is None else tuple(
            Policy(str(p["type"]), int(p["value"]), int(p["periodSeconds"])) for p in policies),
    )


@dataclass(frozen=True)
class HpaSpec:
    """What the controller needs of our HPA manifest."""

    min_replicas: int
    max_replicas: int
    target_milli: int
    """The AverageValue target per pod, in milli-units."""
    up: Rules
    down: Rules

    @classmethod
    def from_manifest(cls, spec: Mapping[str, Any]) -> HpaSpec:
        """From the `spec` that components/scaling/autoscaler.py `hpa_manifest` builds."""
        target = spec["metrics"][0]["external"]["target"]["averageValue"]
        return cls.of(int(spec.get("minReplicas", 1)), int(spec["maxReplicas"]), milli(target), spec.get("behavior"))

    @classmethod
    def of(cls, min_replicas: int, max_replicas: int, target_milli: int,
           behavior: Optional[Mapping[str, Any]]) -> HpaSpec:
        """From the bounds and a `spec.behavior` (settings.ScalingBehavior.manifest())."""
        behavior = behavior or {}
        return cls(min_replicas=min_replicas, max_replicas=max_replicas, target_milli=target_milli,
                   up=rules_from_spec(behavior.get("scaleUp"), DEFAULT_UP),
                   down=rules_from_spec(behavior.get("scaleDown"), DEFAULT_DOWN))


def milli(quantity: Any) -> int:
    """A Kubernetes quantity as our HPA writes it (`10`, `2500m`) in milli-units."""
    text = str(quantity)
    if text.endswith("m"):
        return int(text[:-1])
    return round(float(text) * 1000)


@dataclass(frozen=True)
class Tolerances:
    """Scale-down and scale-up tolerance (`--horizontal-pod-autoscaler-tolerance`, 0.1 both)."""

    down: float = 0.1
    up: float = 0.1

    def within(self, ratio: float) -> bool:
        """Upstream `Tolerances.isWithin`; NaN (0/0) is within nothing."""
        return (1.0 - self.down) <= ratio <= (1.0 + self.up)


def external_per_pod_replicas(status_replicas: int, target_milli: int, usage_milli: int,
                              tolerances: Tolerances) -> int:
    """`GetExternalPerPodMetricReplicas`: the count the metric proposes."""
    replicas = status_replicas
    denominator = float(target_milli) * float(status_replicas)
    # Go's float division: 0/0 is NaN, x/0 is +Inf.
    ratio = float(usage_milli) / denominator if denominator else (math.nan if usage_milli == 0 else math.inf)
    if not tolerances.within(ratio):
        replicas = min(math.ceil(usage_milli / target_milli), 2**31 - 1)
    return replicas


@dataclass
class Event:
    """A timestampedScaleEvent: `change` replicas (absolute) at second `t`."""

    change: int
    t: float


def change_in_period(period: int, events: Sequence[Event], now: float) -> int:
    """`getReplicasChangePerPeriod`: the replicas added (or removed) after now - period."""
    cutoff = now - period
    return sum(e.change for e in events if e.t > cutoff)


def scale_up_limit(current: int, ups: Sequence[Event], downs: Sequence[Event], rules: Rules, now: float) -> int:
    """`calculateScaleUpLimitWithScalingRules`."""
    if rules.select == "Disabled":
        return current
    pick, result = (min, 2**31 - 1) if rules.select == "Min" else (max, -(2**31))
    for policy in rules.policies:
        start = current - change_in_period(policy.period, ups, now) + change_in_period(policy.period, downs, now)
        # Percent rounds up: a small percentage of a few pods must still add one.
        proposed = start + policy.value if policy.type == "Pods" else math.ceil(start * (1 + policy.value / 100))
        result = pick(result, proposed)
    return result


def scale_down_limit(current: int, ups: Sequence[Event], downs: Sequence[Event], rules: Rules, now: float) -> int:
    """`calculateScaleDownLimitWithBehaviors`."""
    if rules.select == "Disabled":
        return current
    pick, result = (max, -(2**31)) if rules.select == "Min" else (min, 2**31 - 1)
    for policy in rules.policies:
        start = current - change_in_period(policy.period, ups, now) + change_in_period(policy.period, downs, now)
        # Percent truncates toward zero, as Go's int32() does.
        proposed = start - policy.value if policy.type == "Pods" else int(start * (1 - policy.value / 100))
        result = pick(result, proposed)
    return result


def rate_limited(desired: int, current: int, spec: HpaSpec, ups: Sequence[Event], downs: Sequence[Event],
                 now: float) -> tuple[int, str]:
    """`convertDesiredReplicasWithBehaviorRate`: (replicas, condition reason)."""
    if desired > current:
        limit = max(scale_up_limit(current, ups, downs, spec.up, now), current)
        if spec.max_replicas > limit:
            allowed, reason = limit, "ScaleUpLimit"
        else:
            allowed, reason = spec.max_replicas, "TooManyReplicas"
        if desired > allowed:
            return allowed, reason
    elif desired < current:
        limit = min(scale_down_limit(current, ups, downs, spec.down, now), current)
        if spec.min_replicas < limit:
            allowed, reason = limit, "ScaleDownLimit"
        else:
            allowed, reason = spec.min_replicas, "TooFewReplicas"
        if desired < allowed:
            return allowed, reason
    return desired, "DesiredWithinRange"


@dataclass
class Controller:
    """One HPA's state in kube-controller-manager: its recommendations and scale events."""

    spec: HpaSpec
    tolerances: Tolerances = field(default_factory=Tolerances)
    recommendations: list[tuple[float, int]] = field(default_factory=list)
    ups: list[Event] = field(default_factory=list)
    downs: list[Event] = field(default_factory=list)

    def stabilized(self, desired: int, current: int, now: float) -> int:
        """`stabilizeRecommendationWithBehaviors` (and it records `desired`)."""
        up_cutoff = now - self.spec.up.stabilization
        down_cutoff = now - self.spec.down.stabilization
        up_rec = down_rec = desired
        for t, rec in self.recommendations:
            if t > up_cutoff:
                up_rec = min(rec, up_rec)
            if t > down_cutoff:
                down_rec = max(rec, down_rec)
        recommendation = max(current, up_rec)
        recommendation = min(recommendation, down_rec)
        # Upstream reuses one slot older than both windows; what it keeps inside the windows is
        # the same as dropping everything older than both.
        oldest = min(up_cutoff, down_cutoff)
        self.recommendations = [(t, r) for t, r in self.recommendations if t >= oldest]
        self.recommendations.append((now, desired))
        return recommendation

    def _remember(self, previous: int, new: int, now: float) -> None:
        """`storeScaleEvent`, keeping only what the longest policy period can still see."""
        rules, events = (self.spec.up, self.ups) if new > previous else (self.spec.down, self.downs)
        longest = max((p.period for p in rules.policies), default=0)
        events[:] = [e for e in events if e.t >= now - longest]
        events.append(Event(abs(new - previous), now))

    def reconcile(self, now: float, current: int, status_replicas: int, usage_milli: Optional[int]) -> int:
        """One sync: the replica count the controller writes to the Deployment's scale.

        `current` is `scale.spec.replicas`, `status_replicas` `scale.status.replicas`,
        `usage_milli` the metric's value (None: the metric could not be read, no change).
        """
        if not self.recommendations:
            self.recommendations.append((now, current))  # recordInitialRecommendation
        spec = self.spec
        if current == 0 and spec.min_replicas != 0:
            return current  # "scaling is disabled since the replica count of the target is zero"
        if current > spec.max_replicas:
            desired = spec.max_replicas
        elif current < spec.min_replicas:
            desired = spec.min_replicas
        elif usage_milli is None:
            return current
        else:
            proposed = external_per_pod_replicas(status_replicas, spec.target_milli, usage_milli, self.tolerances)
            desired = self.stabilized(proposed, current, now)
            desired, _ = rate_limited(desired, current, spec, self.ups, self.downs, now)
        if desired != current:
            self._remember(current, desired, now)
        return desired


# kube-controller-manager's --horizontal-pod-autoscaler-sync-period, "the default interval is 15
# seconds" (https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#how-does-a-horizontalpodautoscaler-work).
SYNC_SECONDS = 15


def scale_up_steps(spec: HpaSpec) -> int:
    """How many times the controller raises the replicas from `min_replicas` to `max_replicas` under
    a metric no count below them satisfies, one sync every SYNC_SECONDS: the scale-up policy's
    periods a burst waits through."""
    controller, current, steps, now = Controller(spec), spec.min_replicas, 0, 0
    usage = 2 * spec.max_replicas * spec.target_milli  # outside the tolerance at every count
    while current < spec.max_replicas:
        raised = controller.reconcile(now, current, current, usage)
        if raised > current:
            steps, current = steps + 1, raised
        now += SYNC_SECONDS
        if now > 3600 * 24:
            raise ValueError(f"no scale-up in a day under {spec.up}")  # a policy that adds nothing
    return steps
