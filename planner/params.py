"""Every timing and rate of the simulation: a name, a default, and where the default comes from.

A default with a public source (upstream code, Alibaba Cloud docs) says so in `source`. One without
(how long this image takes to pull, this model to load, a GPU node to join) is `measured=False`:
no public figure exists for this stack's image and model, so the default is an order of magnitude
for the documented example (docs/planner.md) and every plan that uses it lists it under `unmeasured`. Replace those
with `--set NAME=VALUE` or `--calibrate REPORT` (a load-test report from the real cluster).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Optional

from config.hpa import SYNC_SECONDS

K8S_HPA_DOC = "https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#algorithm-details"
ADAPTER_SLS = ("AliyunContainerService/alibaba-cloud-metrics-adapter pkg/metrics/sls/sls.go getSLSParams "
               "and ingress.go getSLSIngressQuery at e891b487")
ECI_IMAGE_CACHE_DOC = "https://www.alibabacloud.com/help/doc-detail/365643.htm"
CA_FAQ = "kubernetes/autoscaler cluster-autoscaler/FAQ.md, table of flags"
ACK_NODE_AUTOSCALING = "https://www.alibabacloud.com/help/en/ack/ack-managed-and-ack-dedicated/user-guide/auto-scaling-of-nodes"
ACK_SCALING_OVERVIEW = "https://help.aliyun.com/zh/ack/ack-managed-and-ack-dedicated/user-guide/overview-of-node-scaling"
ACK_RESOURCE_POLICY = ("https://www.alibabacloud.com/help/en/ack/ack-managed-and-ack-dedicated/user-guide/"
                       "configure-priority-based-resource-scheduling")
TFS_WARMUP_DOC = "https://www.tensorflow.org/tfx/serving/saved_model_warmup"


@dataclass(frozen=True)
class Param:
    """One named value of the simulation."""

    name: str
    default: float
    unit: str
    what: str
    source: str
    measured: bool = True
    """False: no public figure exists for it; the default is an order of magnitude."""


PARAMS: tuple[Param, ...] = (
    Param("hpaSyncPeriod", SYNC_SECONDS, "s", "how often the HPA controller reconciles",
          f"--horizontal-pod-autoscaler-sync-period default, {K8S_HPA_DOC}"),
    Param("tolerance", 0.1, "ratio", "how far the usage ratio may stray from 1 before the HPA acts",
          f"--horizontal-pod-autoscaler-tolerance default, {K8S_HPA_DOC}"),
    Param("metricWindow", 15, "s", "the span of access logs sls_ingress_qps counts (count / span)",
          f"sls.query.interval default and minimum (MIN_INTERVAL), {ADAPTER_SLS}"),
    Param("metricDelay", 10, "s", "how far behind now that span ends (logs still being shipped)",
          f"sls.query.delay default (DelaySeconds: 10), {ADAPTER_SLS}"),
    Param("eciStart", 30, "s", "ECI: from the pod's creation to its containers starting (instance "
          "scheduling, network, volume mounts)", "no public figure for GPU ECI", measured=False),
    Param("imagePull", 300, "s", "pulling the serving image where it is not cached (several GB for "
          "the GPU images)", f"no figure for this image; ECI's docs measure 50 s for a 386 MB image "
          f"from Docker Hub ({ECI_IMAGE_CACHE_DOC}), and the -gpu images are several times larger",
          measured=False),
    Param("imageCacheHit", 5, "s", "ECI: starting from an image cache instead of pulling",
          f"5 s from an image cache against 50 s pulled, {ECI_IMAGE_CACHE_DOC} (\"theoretical\", "
          "for a 386 MB image)"),
    Param("modelLoad", 60, "s", "TF Serving: from start to the model AVAILABLE and the readiness "
          "probe passing (model read through ossfs, session warm-up)", "depends on the model",
          measured=False),
    Param("coldSeconds", 10, "s", "a new pod's first requests: TensorFlow initialises lazily and on a GPU "
          "builds kernels and autotunes, so what a fresh pod serves first waits this long; with a warmup "
          "file the load replays it before the pod is Ready instead", f"the first requests are \"several "
          f"orders of magnitude\" slower ({TFS_WARMUP_DOC}); no figure for this model: measure it with "
          "the load test (report.json `new_pods`)", measured=False),
    Param("nodeProvision", 240, "s", "node pool: from the scale-out request to a GPU node Ready in "
          "the cluster (ECS creation, boot, join)", "no public figure for GPU nodes", measured=False),
    Param("gpuDevicePlugin", 30, "s", "node pool: from node Ready to nvidia.com/gpu allocatable "
          "(device plugin registration)", "no public figure", measured=False),
    Param("autoscalerScan", 60, "s", "node pool: how often the cluster autoscaler looks for pending pods",
          f"ACK's Scan Interval default, {ACK_NODE_AUTOSCALING} (upstream's --scan-interval is 10 s, {CA_FAQ})"),
    Param("instantScalingDelay", 3, "s", "node pool with ECI overflow: how soon node instant scaling, which "
          "ACK requires beside a ResourcePolicy, reacts to a pod it cannot place",
          f"\"弹性灵敏度为 1～3s\" for the event-driven node instant scaling, {ACK_SCALING_OVERVIEW}; \"When "
          f"ResourcePolicy is used with auto-scaling, it must be used with instant elasticity\", "
          f"{ACK_RESOURCE_POLICY}"),
    Param("nodeScaleDownDelay", 600, "s", "node pool: how long an empty node stays before removal",
          f"--scale-down-unneeded-time default, {CA_FAQ}"),
    Param("podCapacityQps", math.nan, "req/s", "what one pod serves before requests queue past their "
          "deadline (NaN: 1.5 x the stack's targetQps)", "depends on the model and GPU: measure it "
          "with the load test", measured=False),
    Param("podStart", math.nan, "s", "if set: from the pod's creation to Ready as one measured "
          "figure, in place of the sum of the parts (what --calibrate fits)",
          "--calibrate REPORT, or none (NaN: the sum of the parts)"),
    Param("spotDiscount", 0.7, "share", "how much cheaper a spot instance is than pay-as-you-go",
          "spot prices float with the market; only the --prices file can say", measured=False),
)

BY_NAME = {p.name: p for p in PARAMS}


@dataclass(frozen=True)
class Values:
    """The values one plan runs with, and which of them were set or calibrated (not defaults)."""

    values: Mapping[str, float]
    origin: Mapping[str, str]
    """name -> "default" | "--set" | "--calibrate"."""

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    def unmeasured(self, used: Iterable[str]) -> list[str]:
        """Of the values this plan used, those still at a default with no public source."""
        return [n for n in used if self.origin[n] == "default" and not BY_NAME[n].measured]

    def with_overrides(self, overrides: Mapping[str, float], origin: str) -> Values:
        return replace(self, values={**self.values, **overrides},
                       origin={**self.origin, **{k: origin for k in overrides}})

    def describe(self) -> dict[str, dict[str, Any]]:
        """For plan.json: each value with its unit, origin and source."""
        return {
            p.name: {"value": None if math.isnan(self.values[p.name]) else self.values[p.name], "unit": p.unit,
                     "origin": self.origin[p.name], "source": p.source, "publicSource": p.measured}
            for p in PARAMS
        }


def defaults() -> Values:
    return Values({p.name: p.default for p in PARAMS}, {p.name: "default" for p in PARAMS})


class ParamError(ValueError):
    """A `--set` that names no value or gives no number."""


def parse_sets(items: Sequence[str]) -> dict[str, float]:
    """`--set NAME=VALUE` items, checked: the name must be one of PARAMS, the value a number >= 0."""
    out: dict[str, float] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep:
            raise ParamError(f"--set {item!r}: write NAME=VALUE")
        if name not in BY_NAME:
            raise ParamError(f"--set {name}: no such value; known: {', '.join(BY_NAME)}")
        try:
            value = float(text)
        except ValueError:
            raise ParamError(f"--set {name}={text!r}: not a number") from None
        if not math.isfinite(value) or value < 0:
            raise ParamError(f"--set {name}={text}: must be a finite number >= 0")
        if name == "tolerance" and value >= 1:
            raise ParamError(f"--set tolerance={text}: must be below 1")
        if name in ("hpaSyncPeriod", "metricWindow", "autoscalerScan", "instantScalingDelay",
                    "podCapacityQps") and value == 0:
            raise ParamError(f"--set {name}=0: must be above 0")
        out[name] = value
    return out


def fit_metric_delay(offered: Sequence[float], observed: Sequence[tuple[int, float]], window: int,
                     candidates: range = range(0, 121)) -> Optional[int]:
    """The delay (s) for which the adapter's windowed count of `offered` best matches what the HPA
    reported (`observed`: (second, total QPS)); None when nothing was observed.

    The model is the adapter's own query: requests in [t - delay - window, t - delay) / window.
    """
    if not observed:
        return None
    prefix = [0.0]
    for rate in offered:
        prefix.append(prefix[-1] + rate)

    def windowed(t: int, delay: int) -> float:
        end = max(0, min(len(offered), t - delay))
        start = max(0, min(len(offered), t - delay - window))
        return (prefix[end] - prefix[start]) / window

    best: Optional[tuple[float, int]] = None
    for delay in candidates:
        error = sum((windowed(t, delay) - total) ** 2 for t, total in observed)
        if best is None or error < best[0]:
            best = (error, delay)
    return None if best is None else best[1]


def fit_pod_start(desired: Sequence[Optional[int]], ready: Sequence[Optional[int]]) -> Optional[float]:
    """The median time (s) from the HPA raising desired replicas to that many pods being ready;
    None when the report has no scale-out that completed."""
    delays: list[float] = []
    for t in range(1, len(desired)):
        before, now = desired[t - 1], desired[t]
        if before is None or now is None or now <= before:
            continue
        for u in range(t, len(ready)):
            count = ready[u]
            if count is not None and count >= now:
                delays.append(float(u - t))
                break
    if not delays:
        return None
    delays.sort()
    middle = len(delays) // 2
    return delays[middle] if len(delays) % 2 else (delays[middle - 1] + delays[middle]) / 2


def calibrate(report: Mapping[str, Any], window: int) -> dict[str, float]:
    """metricDelay and podStart fitted from a load-test report.json (its per-second timeline)."""
    timeline = report.get("timeline") or []
    offered = [float(row.get("scheduled") or 0) for row in timeline]
    observed = [(int(row["t"]), float(row["metric"]) * float(row["current_replicas"]))
                for row in timeline
                if row.get("metric") is not None and row.get("current_replicas")]
    out: dict[str, float] = {}
    delay = fit_metric_delay(offered, observed, window)
    if delay is not None:
        out["metricDelay"] = float(delay)
    start = fit_pod_start([row.get("desired_replicas") for row in timeline],
                          [row.get("ready_pods") for row in timeline])
    if start is not None:
        out["podStart"] = start
    return out
