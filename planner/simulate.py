"""One stack under one trace, second by second: metric, HPA, Deployment, capacity, requests.

The loop, each second t:
1. the access logs of second t reach SLS (every request reaches the ingress, served or not);
2. at each HPA sync the metrics adapter counts the logs of [t - delay - window, t - delay) and
   reports count / window as a whole number (`resource.NewQuantity(int64(val))` in ingress.go),
   and the HPA controller (config/hpa.py) sets the Deployment's replicas;
3. the Deployment creates pods at once, or deletes them the way a ReplicaSet picks (pods not
   scheduled, then not ready, then the newest ready ones: `controller.ActivePods` ranking);
4. the capacity mode brings pods to Ready: ECI (instance start, image from the cache or pulled,
   model load) or the node pool (the cluster autoscaler's scan, a new node, its device plugin,
   the image pulled once per node, model load; empty nodes leave after the unneeded time);
5. the ready pods serve `podCapacityQps` each; what arrives above that is over capacity.

It starts in steady state: the first second's rate has been offered for long enough that the HPA
settled and its pods (and nodes) are Ready.
"""

from __future__ import annotations

import datetime
import math
import zoneinfo
from dataclasses import dataclass, field
from typing import Optional

from config import cron
from config.hpa import Controller, HpaSpec, Tolerances
from settings import IdleHours

from .params import Values


@dataclass(frozen=True)
class CapacityModel:
    """Where the GPUs come from, for one stack."""

    mode: str
    """`eci` or `nodepool`."""
    instance_type: str
    """The type the pods (ECI) or nodes (pool) get: the first listed."""
    pod_gpus: int
    node_gpus: int
    pods_per_node: int
    """Pool only: serving pods one node holds."""
    image_cache: str = "none"
    """ECI pods' image: `stack` (a cache made before any pod: every pod hits it), `auto` (ECI's
    automatic cache: built from the first pod of a new image, which pulls it whole; pods created
    after that pull hit it), `none` (every pod pulls)."""
    spot_share: float = 0.0
    """Share of the GPU hours billed at the spot price."""
    pool_min: int = 0
    pool_max: int = 0
    eci_overflow: bool = False
    """Pool only: a pod that finds no room waits `overflow_wait` on the pool, then starts on ECI
    (from the image cache); ECI pods go first on scale-in."""
    overflow_wait: float = 0.0
    warmup: bool = False
    """The served version carries a warmup file: each new pod replays it while it loads (Ready
    `coldSeconds` later) and serves warm from its first request; without one, what a new pod serves
    in its first `coldSeconds` is slow."""


@dataclass(eq=False)
class Node:
    requested: float
    ready_at: float
    image_at: Optional[float] = None
    """When its copy of the image is pulled (None: no pod has asked for it yet)."""
    pods: int = 0
    empty_since: Optional[float] = None


@dataclass(eq=False)
class Pod:
    created: float
    ready_at: Optional[float] = None
    """When it is (or will be) Ready; None while it waits for a node."""
    node: Optional[Node] = None
    billed_from: float = 0.0
    on_eci: bool = False
    """Pool with overflow: the pod started on ECI."""


@dataclass
class Timeline:
    """The per-second series of plan.json, as columns."""

    offered_qps: list[float] = field(default_factory=list)
    metric_qps: list[float] = field(default_factory=list)
    desired_replicas: list[int] = field(default_factory=list)
    ready_replicas: list[int] = field(default_factory=list)
    capacity_qps: list[float] = field(default_factory=list)
    over_capacity_qps: list[float] = field(default_factory=list)
    cold_served_qps: list[float] = field(default_factory=list)
    """Requests served by pods in their first `coldSeconds` (no warmup file): slow ones."""
    nodes: list[int] = field(default_factory=list)
    overflow_pods: list[int] = field(default_factory=list)
    """Pool with ECI overflow: its pods on ECI (0 elsewhere)."""

    def columns(self) -> dict[str, list]:
        """plan.json's `timeline`: one list per series, index = second (`t` is 0, 1, 2...);
        columns rather than one object per second keep a day's plan a few MB."""
        out: dict[str, list] = {"t": list(range(len(self.offered_qps)))}
        for key in ("offered_qps", "metric_qps", "desired_replicas", "ready_replicas", "capacity_qps",
                    "over_capacity_qps", "cold_served_qps", "overflow_pods"):
            series = getattr(self, key)
            out[key] = [round(v, 3) for v in series] if series and isinstance(series[0], float) else list(series)
        return out


@dataclass
class Run:
    """What one simulation produced."""

    timeline: Timeline
    gpu_seconds: float
    instance_seconds: float
    spot_instance_seconds: float
    used: tuple[str, ...]
    """The named values this mode's simulation read."""


class Fleet:
    """The serving pods of one capacity mode and what they are billed; subclasses say how a pod
    gets its GPU and how long it takes to become Ready."""

    used: tuple[str, ...] = ()

    def __init__(self, capacity: CapacityModel, steady: int):
        self.capacity = capacity
        self.pods = [Pod(created=-math.inf, ready_at=-math.inf) for _ in range(steady)]
        self.gpu_seconds = self.instance_seconds = self.spot_seconds = 0.0

    def bill(self, seconds: float, gpus: int, spot: bool = True) -> None:
        """`spot`: at the capacity's spot share (False: pay-as-you-go, an overflow ECI)."""
        seconds = max(0.0, seconds)
        self.gpu_seconds += seconds * gpus
        self.instance_seconds += seconds
        self.spot_seconds += seconds * self.capacity.spot_share if spot else 0.0

    def scale(self, replicas: int, t: int) -> bool:
        """The Deployment: create pods, or delete the ones a ReplicaSet deletes first (not
        scheduled, then not ready, then the newest); True when the pod set changed."""
        if replicas > len(self.pods):
            for _ in range(replicas - len(self.pods)):
                self.pods.append(self.created(t))
        elif replicas < len(self.pods):
            # Not scheduled first, then (a ResourcePolicy's reverse order) ECI before pool nodes,
            # then not ready, then the newest (a ReplicaSet's `controller.ActivePods` ranking).
            self.pods.sort(key=lambda p: (p.node is not None or p.on_eci or self.capacity.mode == "eci",
                                          not p.on_eci, p.ready_at is not None and p.ready_at <= t, -p.created))
            for pod in self.pods[: len(self.pods) - replicas]:
                self.deleted(pod, t)
            del self.pods[: len(self.pods) - replicas]
        else:
            return False
        return True

    def created(self, t: int) -> Pod:
        raise NotImplementedError

    def deleted(self, pod: Pod, t: int) -> None:
        raise NotImplementedError

    def advance(self, t: int) -> bool:
        """The capacity's own moves this second; True when a pod's start-up may have changed."""
        return False

    def close(self, end: float) -> None:
        """Bill what still runs at the end of the trace."""
        raise NotImplementedError

    def nodes(self) -> int:
        return 0

    def overflow_pods(self) -> int:
        """Pods a pool sent to ECI (0 without a pool)."""
        return 0


class EciStarts:
    """How long an ECI pod takes to be Ready, by the image cache it has: the instance starts, the
    image comes from the cache or is pulled, the model loads. ECI's automatic cache is built from
    the first pod of an image, which pulls it whole ("Images are pulled when the system creates the
    instance", ECI's "Overview of image caches"): pods created once that pull is done hit it."""

    def __init__(self, mode: str, values: Values):
        self.mode = mode
        self.hit = values["eciStart"] + values["imageCacheHit"] + values["modelLoad"]
        self.miss = values["eciStart"] + values["imagePull"] + values["modelLoad"]
        self.pulled: Optional[float] = None
        """auto: when the first pod's pull of the image is done (the cache then exists)."""
        self.billing_delay = values["eciStart"]
        if not math.isnan(values["podStart"]):
            self.hit = self.miss = values["podStart"]
        self.used = {"stack": ("eciStart", "imageCacheHit", "modelLoad"),
                     "none": ("eciStart", "imagePull", "modelLoad"),
                     "auto": ("eciStart", "imagePull", "imageCacheHit", "modelLoad")}[mode]
        self.pull_time = values["eciStart"] + values["imagePull"]

    def start(self, t: float) -> float:
        """Seconds from creation at `t` to Ready."""
        if self.mode == "stack" or (self.mode == "auto" and self.pulled is not None and t >= self.pulled):
            return self.hit
        if self.mode == "auto" and self.pulled is None:
            self.pulled = t + self.pull_time
        return self.miss


class EciFleet(Fleet):
    """One ECI per pod: Ready after the instance starts, the image comes (cache or pull) and the
    model loads; billed from the image pull on (ECI billing starts when the image is pulled)."""

    def __init__(self, capacity: CapacityModel, steady: int, values: Values):
        super().__init__(capacity, steady)
        self.starts = EciStarts(capacity.image_cache, values)
        self.used = self.starts.used
        for pod in self.pods:
            pod.billed_from = 0.0

    def created(self, t: int) -> Pod:
        start = self.starts.start(t)
        return Pod(created=t, ready_at=t + start, billed_from=t + min(self.starts.billing_delay, start))

    def deleted(self, pod: Pod, t: int) -> None:
        self.bill(t - pod.billed_from, self.capacity.pod_gpus)

    def close(self, end: float) -> None:
        for pod in self.pods:
            self.bill(end - pod.billed_from, self.capacity.pod_gpus)


class NodeFleet(Fleet):
    """A spot GPU node pool: pods wait for room on a Ready node; the scaler adds nodes for waiting
    pods when it looks (the cluster autoscaler every `autoscalerScan`; with ECI overflow, node
    instant scaling within `instantScalingDelay`) and removes nodes empty for the unneeded time;
    the image is pulled once per node. Nodes are billed from the request to their removal. With
    ECI overflow (components/capacity/node_pool.py), a pod still waiting `overflow_wait` after its
    creation starts on ECI instead (the nodes asked for it keep booting), billed as an ECI; a pod
    that left for ECI is no longer pending, so a look in that second does not count it."""

    used = ("imagePull", "modelLoad", "nodeProvision", "gpuDevicePlugin", "nodeScaleDownDelay")

    def __init__(self, capacity: CapacityModel, steady: int, values: Values):
        super().__init__(capacity, steady)
        self.per_node = capacity.pods_per_node
        self.image, self.load = values["imagePull"], values["modelLoad"]
        self.boot = values["nodeProvision"] + values["gpuDevicePlugin"]
        if not math.isnan(values["podStart"]):
            # A calibrated start is the whole cold path: a pod that needs a new node is Ready that
            # long after the node is asked for.
            self.boot = max(0.0, values["podStart"] - self.image - self.load)
        scanner = "instantScalingDelay" if capacity.eci_overflow else "autoscalerScan"
        self.scan = max(1, round(values[scanner]))
        self.unneeded = values["nodeScaleDownDelay"]
        self.eci = EciStarts(capacity.image_cache, values) if capacity.eci_overflow else None
        self.used = (*self.used, scanner)
        if self.eci is not None:
            self.used = tuple(dict.fromkeys((*self.used, *self.eci.used)))
        count = max(capacity.pool_min, math.ceil(steady / self.per_node))
        self.fleet = [Node(requested=0.0, ready_at=-math.inf, image_at=-math.inf) for _ in range(count)]
        for i, pod in enumerate(self.pods):
            pod.node = self.fleet[i // self.per_node]
            pod.node.pods += 1
        for node in self.fleet:
            node.empty_since = None if node.pods else 0.0
        self.waiting: list[Pod] = []

    def created(self, t: int) -> Pod:
        pod = Pod(created=t)
        self.waiting.append(pod)
        return pod

    def deleted(self, pod: Pod, t: int) -> None:
        if pod.on_eci:
            self.bill(t - pod.billed_from, self.capacity.pod_gpus, spot=False)
            return
        if pod.node is None:
            self.waiting.remove(pod)
            return
        pod.node.pods -= 1
        if pod.node.pods == 0:
            pod.node.empty_since = t

    def advance(self, t: int) -> bool:
        placed = False
        if self.waiting:
            # Onto Ready nodes with room, a node that has the image first.
            for node in sorted((n for n in self.fleet if n.ready_at <= t and n.pods < self.per_node),
                               key=lambda n: n.image_at is None):
                while self.waiting and node.pods < self.per_node:
                    pod = self.waiting.pop(0)
                    pod.node, node.empty_since = node, None
                    node.pods += 1
                    if node.image_at is None:
                        node.image_at = t + self.image
                    pod.ready_at = max(t, node.image_at) + self.load
                    placed = True
        if self.eci is not None:
            for pod in [p for p in self.waiting if t - p.created >= self.capacity.overflow_wait]:
                self.waiting.remove(pod)
                start = self.eci.start(t)
                pod.on_eci, pod.ready_at = True, t + start
                pod.billed_from = t + min(self.eci.billing_delay, start)
                placed = True
        if t % self.scan == 0:
            coming = sum(self.per_node - n.pods for n in self.fleet if n.ready_at > t)
            need = math.ceil(max(0, len(self.waiting) - coming) / self.per_node)
            for _ in range(min(need, self.capacity.pool_max - len(self.fleet))):
                self.fleet.append(Node(requested=t, ready_at=t + self.boot, empty_since=t + self.boot))
            idle = [n for n in self.fleet if n.pods == 0 and n.empty_since is not None
                    and n.ready_at <= t and t - n.empty_since >= self.unneeded]
            for node in idle[: max(0, len(self.fleet) - self.capacity.pool_min)]:
                self.bill(t - node.requested, self.capacity.node_gpus)
                self.fleet.remove(node)
        return placed

    def close(self, end: float) -> None:
        for node in self.fleet:
            self.bill(end - node.requested, self.capacity.node_gpus)
        for pod in self.pods:
            if pod.on_eci:
                self.bill(end - pod.billed_from, self.capacity.pod_gpus, spot=False)

    def nodes(self) -> int:
        return len(self.fleet)

    def overflow_pods(self) -> int:
        return sum(1 for p in self.pods if p.on_eci)


def pod_capacity(values: Values, target_qps: float) -> float:
    cap = values["podCapacityQps"]
    return 1.5 * target_qps if math.isnan(cap) else cap


@dataclass(frozen=True)
class IdleTimeline:
    """The idle schedule's effect on a trace: asleep at the start or not, and the seconds at which
    the sleep or wake CronJob sets the replicas (components/scaling/idle/schedule.py)."""

    asleep_at_start: bool = False
    events: tuple[tuple[int, int], ...] = ()
    """(second, replicas) in time order."""


def schedule_of(idle: Optional[IdleHours], min_replicas: int, start: datetime.datetime,
                seconds: int) -> IdleTimeline:
    """Where the stack's sleep and wake fall in a trace that starts at `start` (None: always on)."""
    if idle is None:
        return IdleTimeline()
    begin = start.astimezone(zoneinfo.ZoneInfo(idle.time_zone))
    events: list[tuple[int, int]] = []
    last: dict[int, Optional[datetime.datetime]] = {}
    for schedule, replicas in ((idle.sleep, 0), (idle.wake, min_replicas)):
        parsed = cron.parse(schedule)
        last[replicas] = parsed.last_before(begin + datetime.timedelta(minutes=1), idle.time_zone)
        end = begin + datetime.timedelta(seconds=seconds)
        events += [(int((at - begin).total_seconds()), replicas)
                   for at in parsed.firings(begin, end, idle.time_zone)]
    slept, woke = last[0], last[min_replicas]
    asleep = slept is not None and (woke is None or slept > woke)  # the latest firing before the start was a sleep
    return IdleTimeline(asleep, tuple(sorted(events)))


def wake_waits(timeline: Timeline, schedule: IdleTimeline) -> list[Optional[int]]:
    """For each wake: seconds until the first pod is ready (what the first caller waits; None:
    not within the trace). Requests before the wake got the ingress's 503: nobody served them."""
    out: list[Optional[int]] = []
    for t, replicas in schedule.events:
        if replicas == 0:
            continue
        ready = next((u for u in range(t, len(timeline.ready_replicas)) if timeline.ready_replicas[u] > 0), None)
        out.append(None if ready is None else ready - t)
    return out


def simulate(offered: list[float], hpa: HpaSpec, capacity: CapacityModel, values: Values, target_qps: float,
             schedule: IdleTimeline = IdleTimeline()) -> Run:
    """Run the loop over `offered` (requests per second, one per second)."""
    sync = max(1, round(values["hpaSyncPeriod"]))
    window = max(1, round(values["metricWindow"]))
    delay = round(values["metricDelay"])
    per_pod = pod_capacity(values, target_qps)
    controller = Controller(hpa, Tolerances(values["tolerance"], values["tolerance"]))
    cold = values["coldSeconds"]
    if capacity.warmup and math.isnan(values["podStart"]):
        # The replay is part of the load: the version is AVAILABLE (and the pod Ready) after it
        # (saved_model_warmup_util.cc runs before the loader reports the version loaded).
        values = values.with_overrides({"modelLoad": values["modelLoad"] + cold}, values.origin["modelLoad"])

    # Prefix sums of the logs, with the first second's rate extended into the past.
    first = offered[0] if offered else 0.0
    prefix = [0.0]
    for rate in offered:
        prefix.append(prefix[-1] + rate)

    def metric(t: int) -> float:
        """sls_ingress_qps at t: the logs of [t - delay - window, t - delay), per second, whole."""
        start, end = t - delay - window, t - delay
        before = max(0, min(0, end) - start)  # seconds before t = 0
        s, e = max(0, start), max(0, min(len(offered), end))
        count = first * before + (prefix[e] - prefix[s] if e > s else 0.0)
        return float(int(count / window))

    steady = min(hpa.max_replicas, max(hpa.min_replicas, math.ceil(first / target_qps) if first else 0))
    if schedule.asleep_at_start:
        steady = 0
    scheduled = dict(schedule.events)
    fleet: Fleet = EciFleet(capacity, steady, values) if capacity.mode == "eci" else NodeFleet(capacity, steady, values)
    used = ["hpaSyncPeriod", "tolerance", "metricWindow", "metricDelay", "podCapacityQps", "coldSeconds", *fleet.used]
    if not math.isnan(values["podStart"]):
        used.append("podStart")

    timeline = Timeline()
    replicas, reading = steady, metric(0)
    changed, next_ready, ready, warming = True, -math.inf, 0, 0
    # A pod is cold from Ready for `cold` seconds unless it replayed a warmup file while it loaded.
    cold_for = 0.0 if capacity.warmup else cold
    for t in range(len(offered)):
        if t in scheduled:
            replicas = scheduled[t]  # the sleep or wake CronJob patches the scale
        if t % sync == 0:
            reading = metric(t)
            replicas = controller.reconcile(t, replicas, len(fleet.pods), round(reading * 1000))
        changed = fleet.scale(replicas, t) or changed
        changed = fleet.advance(t) or changed
        # Count the ready pods only when that can have changed: pods created, deleted or placed,
        # or the next start-up finishing (a day of seconds, most of them quiet).
        if changed or t >= next_ready:
            started = [p.ready_at for p in fleet.pods if p.ready_at is not None]
            ready = sum(1 for r in started if r <= t)
            warming = sum(1 for r in started if r <= t < r + cold_for)
            next_ready = min([r for r in started if r > t] + [r + cold_for for r in started if r <= t < r + cold_for],
                             default=math.inf)
            changed = False
        serving = ready * per_pod
        served = min(offered[t], serving)
        timeline.offered_qps.append(offered[t])
        timeline.metric_qps.append(reading)
        timeline.desired_replicas.append(replicas)
        timeline.ready_replicas.append(ready)
        timeline.capacity_qps.append(serving)
        timeline.over_capacity_qps.append(max(0.0, offered[t] - serving))
        # The ingress spreads requests over the ready pods alike: the cold ones' share.
        timeline.cold_served_qps.append(served * warming / ready if ready else 0.0)
        timeline.nodes.append(fleet.nodes())
        timeline.overflow_pods.append(fleet.overflow_pods())
    fleet.close(float(len(offered)))
    return Run(timeline, fleet.gpu_seconds, fleet.instance_seconds, fleet.spot_seconds, tuple(dict.fromkeys(used)))


@dataclass(frozen=True)
class Burst:
    """A stretch where requests arrived above the ready capacity."""

    start: int
    seconds_to_capacity: Optional[int]
    """Until capacity met the offered rate again (None: not by the end of the trace)."""
    requests_above_capacity: float


def bursts(timeline: Timeline) -> list[Burst]:
    out, start, above = [], None, 0.0
    for t, over in enumerate(timeline.over_capacity_qps):
        if over > 0:
            if start is None:
                start, above = t, 0.0
            above += over
        elif start is not None:
            out.append(Burst(start, t - start, round(above, 1)))
            start = None
    if start is not None:
        out.append(Burst(start, None, round(above, 1)))
    return out


def summary(run: Run, price_per_hour: Optional[float], spot_discount: float,
            schedule: IdleTimeline = IdleTimeline()) -> dict:
    """The plan's `summary` for one stack."""
    tl = run.timeline
    offered = sum(tl.offered_qps)
    over = sum(tl.over_capacity_qps)
    cold = sum(tl.cold_served_qps)
    n = max(1, len(tl.offered_qps))
    cost = None
    if price_per_hour is not None:
        on_demand = run.instance_seconds - run.spot_instance_seconds
        cost = round(price_per_hour / 3600 * (on_demand + run.spot_instance_seconds * (1 - spot_discount)), 2)
    return {
        "bursts": [vars(b) for b in bursts(tl)],
        "requests_offered": round(offered),
        "requests_above_capacity": round(over),
        "share_above_capacity": round(over / offered, 5) if offered else 0.0,
        "requests_served_cold": round(cold),
        "share_served_cold": round(cold / offered, 5) if offered else 0.0,
        "peak_desired_replicas": max(tl.desired_replicas, default=0),
        "peak_ready_replicas": max(tl.ready_replicas, default=0),
        "mean_ready_replicas": round(sum(tl.ready_replicas) / n, 3),
        "peak_nodes": max(tl.nodes, default=0),
        "peak_overflow_pods": max(tl.overflow_pods, default=0),
        "wake_to_ready_seconds": wake_waits(tl, schedule),
        "gpu_hours": round(run.gpu_seconds / 3600, 3),
        "instance_hours": round(run.instance_seconds / 3600, 3),
        "cost": cost,
    }
