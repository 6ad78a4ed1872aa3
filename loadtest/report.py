"""Timeline, verdict, JSON report and PNG chart of a load run."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from .driver import Outcome
from .profile import COOL_DOWN, Profile
from .watcher import ECI_PAYG, ECI_SPOT, NODE_PAYG, NODE_SPOT, NODE_UNKNOWN, PLACES, Sample

# Spot in greens, pay-as-you-go in oranges, unknown in grey: the share set beside onDemandPercentage
# reads at a glance.
PLACE_COLORS = {NODE_SPOT: "tab:green", NODE_PAYG: "tab:orange", NODE_UNKNOWN: "0.6",
                ECI_SPOT: "yellowgreen", ECI_PAYG: "gold"}


def percentile(values: Sequence[float], q: float) -> Optional[float]:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def cause(outcome: Outcome) -> str:
    """Why a request failed, in the words of the report: timeout, connection, HTTP <status>,
    dropped (the client's in-flight cap), or `driver <i> lost` (the driver that had it never
    brought its sample home)."""
    error = outcome.error or (f"HTTP {outcome.status}" if outcome.status is not None else "no answer")
    if error == "timeout" or error.startswith(("HTTP ", "driver ")):
        return error
    if error.startswith("dropped"):
        return "dropped"
    return "connection"


def causes(outcomes: Sequence[Outcome]) -> dict[str, int]:
    """Failed requests by cause, most frequent first."""
    return dict(Counter(cause(o) for o in outcomes if not o.ok).most_common())


@dataclass
class Second:
    """One second of the run."""

    t: int
    phase: str
    scheduled: int
    sent: int
    ok: int
    errors: int
    errors_by_cause: dict[str, int]
    p50_ms: Optional[float]
    p95_ms: Optional[float]
    p99_ms: Optional[float]
    current_replicas: Optional[int]
    desired_replicas: Optional[int]
    ready_pods: Optional[int]
    metric: Optional[float]
    served_version: Optional[int] = None
    """The model version the endpoint routed to (from the last read of the Ingress)."""
    places: dict[str, int] = field(default_factory=dict)
    """Ready pods by where they ran and how they are billed (loadtest/watcher.py PLACES)."""


def timeline(outcomes: Sequence[Outcome], samples: Sequence[Sample], profile: Profile) -> list[Second]:
    """Per-second rows; requests are binned by scheduled second, samples carried forward."""
    seconds = max(1, math.ceil(profile.duration))
    buckets: list[list[Outcome]] = [[] for _ in range(seconds)]
    for outcome in outcomes:
        buckets[min(int(outcome.scheduled), seconds - 1)].append(outcome)
    ordered = sorted(samples, key=lambda s: s.t)
    rows, cursor, last = [], 0, None
    for t in range(seconds):
        while cursor < len(ordered) and ordered[cursor].t <= t + 1:
            if ordered[cursor].error is None:
                last = ordered[cursor]
            cursor += 1
        bucket = buckets[t]
        latencies = [o.latency * 1000 for o in bucket if o.ok and o.latency is not None]
        rows.append(
            Second(
                t=t,
                phase=profile.phase_at(t),
                scheduled=len(bucket),
                sent=sum(1 for o in bucket if o.sent is not None),
                ok=sum(1 for o in bucket if o.ok),
                errors=sum(1 for o in bucket if not o.ok),
                errors_by_cause=causes(bucket),
                p50_ms=percentile(latencies, 50),
                p95_ms=percentile(latencies, 95),
                p99_ms=percentile(latencies, 99),
                current_replicas=last.current_replicas if last else None,
                desired_replicas=last.desired_replicas if last else None,
                ready_pods=last.ready_pods if last else None,
                metric=last.metric if last else None,
                served_version=last.served_version if last else None,
                places=dict(last.places) if last else {},
            )
        )
    return rows


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


@dataclass
class Verdict:
    passed: bool
    checks: list[Check]


def verdict(
    outcomes: Sequence[Outcome],
    samples: Sequence[Sample],
    profile: Profile,
    *,
    target_qps: float,
    min_replicas: int,
    scale_out_within: float,
    max_error_rate: float,
    lost_drivers: Optional[Sequence[str]] = None,
    wake_within: Optional[float] = None,
) -> Verdict:
    """Pass when the pods scaled out soon enough after QPS crossed the threshold, the load was
    served within the error budget, and the pods scaled back in during the cool-down phase.

    `wake_within` (a run that starts from zero pods, `--from-zero`): the first answer must come
    within that many seconds of the wake; the requests before it are the wake's cost, reported by
    the `woke` check and left out of the error rate."""
    woke_at: Optional[float] = None
    waiting: list[Outcome] = []
    if wake_within is not None:
        answered = [o.sent + o.latency for o in outcomes if o.ok and o.sent is not None and o.latency is not None]
        woke_at = min(answered, default=None)
        waiting = [o for o in outcomes if woke_at is None or o.scheduled < woke_at]
        outcomes = [o for o in outcomes if woke_at is not None and o.scheduled >= woke_at]
    threshold = target_qps * min_replicas
    checks: list[Check] = []
    good = [s for s in sorted(samples, key=lambda s: s.t) if s.error is None]
    unread = [s for s in samples if s.error is not None]
    # A read that failed is not a measured zero: say how many failed, and never conclude from none.
    observed = Check("cluster-observed", bool(good) and len(unread) <= len(samples) // 2,
                     f"{len(good)} of {len(samples)} reads of the HPA and pods succeeded"
                     + (f"; the first failure: {unread[0].error}" if unread else ""))
    checks.append(observed)

    # When did the sent rate first exceed the threshold? (whole-second buckets of actual sends)
    per_second: dict[int, int] = {}
    for o in outcomes:
        if o.sent is not None:
            per_second[int(o.sent)] = per_second.get(int(o.sent), 0) + 1
    crossed = next((t for t in sorted(per_second) if per_second[t] > threshold), None)
    not_measured = f"not measured: no read of the Kubernetes API succeeded ({len(unread)} failed)"
    if crossed is None:
        checks.append(Check("scaled-out", False, f"the sent rate never exceeded {threshold:g} rps "
                                                 "(targetQps x minReplicas): raise the peak"))
    elif not good:
        checks.append(Check("scaled-out", False, not_measured))
    else:
        rose = next((s.t for s in good if s.t >= crossed and (s.current_replicas or 0) > min_replicas), None)
        if rose is None:
            missed = sum(1 for s in unread if s.t >= crossed)
            checks.append(Check("scaled-out", False, f"QPS exceeded {threshold:g} at {crossed}s but replicas "
                                                     f"never rose above {min_replicas} in the reads that "
                                                     f"succeeded ({missed} after that failed)"))
        else:
            delay = rose - crossed
            checks.append(Check("scaled-out", delay <= scale_out_within,
                                f"replicas rose {delay:.0f}s after QPS exceeded {threshold:g} rps "
                                f"(allowed {scale_out_within:g}s)"))

    total = len(outcomes)
    failed = sum(1 for o in outcomes if not o.ok)
    rate = failed / total if total else 1.0
    by_cause = ", ".join(f"{name} {count}" for name, count in causes(outcomes).items())
    checks.append(Check("error-rate", total > 0 and rate <= max_error_rate,
                        f"{failed} of {total} requests failed ({rate:.2%}, allowed {max_error_rate:.2%})"
                        + (f": {by_cause}" if by_cause else "")))

    cooldown_start = next(start for name, start, _ in profile.boundaries() if name == COOL_DOWN) \
        if any(p.name == COOL_DOWN for p in profile.phases) else profile.duration
    peak = max((s.current_replicas or 0 for s in good), default=0)
    back = next((s.t for s in good if s.t >= cooldown_start and s.current_replicas is not None
                 and s.current_replicas <= min_replicas), None)
    if not good:
        checks.append(Check("scaled-in", False, not_measured))
    elif peak <= min_replicas:
        checks.append(Check("scaled-in", False, "never scaled out, so nothing to scale in"))
    elif back is None:
        checks.append(Check("scaled-in", False,
                            f"replicas still above {min_replicas} at the end of the cool-down phase"))
    else:
        checks.append(Check("scaled-in", True, f"back to {min_replicas} replica(s) {back - cooldown_start:.0f}s "
                                               "into the cool-down phase"))
    if wake_within is not None:
        if woke_at is None:
            checks.append(Check("woke", False, f"no request was answered after the wake ({len(waiting)} sent)"))
        else:
            checks.append(Check("woke", woke_at <= wake_within,
                                f"the first answer came {woke_at:.0f}s after the wake from zero pods (allowed "
                                f"{wake_within:g}s); {len(waiting)} requests before it got "
                                + (", ".join(f"{n} {c}" for n, c in causes(waiting).items()) or "no answer")))
    if lost_drivers is not None:
        # Several drivers: each must have brought its samples home (the lost ones are counted as
        # failed requests above; this says which driver and why).
        checks.append(Check("drivers-complete", not lost_drivers,
                            "; ".join(lost_drivers) if lost_drivers else "every driver's samples came home"))
    return Verdict(all(c.passed for c in checks), checks)


def write_json(path: Path, meta: dict, rows: Sequence[Second], samples: Sequence[Sample], result: Verdict) -> None:
    path.write_text(json.dumps({
        "meta": meta,
        "verdict": asdict(result),
        "errors_by_cause": dict(sum((Counter(r.errors_by_cause) for r in rows), Counter()).most_common()),
        "timeline": [asdict(r) for r in rows],
        "samples": [s.to_json() for s in samples],
    }, indent=1) + "\n", encoding="utf-8")


def write_chart(path: Path, rows: Sequence[Second], profile: Profile, threshold: float, title: str,
                result: Optional[Verdict] = None, new_pods: Sequence[dict] = ()) -> None:
    """Five panels sharing time: request rates, latency, pods, where the ready pods ran (node or
    ECI, spot or pay-as-you-go), and the HPA's metric per pod.

    Laid out so every series reads at a glance: each panel has one unit, legends sit outside the
    plots, phase names above the top panel (never on a curve), and the pod counts that often
    coincide (HPA current replicas, ready pods) differ in width, style and markers.
    """
    # Imported here: the headless backend must be chosen before pyplot loads, and only a run
    # that writes a chart pays for matplotlib.
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    t = [r.t for r in rows]
    fig, (rates, latency, pods, where, metric) = plt.subplots(
        5, 1, figsize=(13, 14), sharex=True, gridspec_kw={"height_ratios": [3, 2, 3, 2, 2]})
    # A wide band under the answered line: with no failures the two coincide and both stay visible.
    rates.plot(t, [r.sent for r in rows], label="sent", color="tab:blue", linewidth=5, alpha=0.35)
    rates.plot(t, [r.ok for r in rows], label="answered OK", color="tab:green", linewidth=1.2, linestyle="--")
    rates.plot(t, [r.errors for r in rows], label="failed", color="tab:red", linewidth=1.2)
    rates.axhline(threshold, color="0.35", linewidth=1, linestyle=":",
                  label=f"scale-out threshold\n(targetQps x minReplicas = {threshold:g})")
    rates.set_ylabel("requests / s")
    # Widest first: equal percentiles (a steady server) stay visible as nested lines.
    for key, color, width in (("p50_ms", "tab:green", 5), ("p95_ms", "tab:orange", 3), ("p99_ms", "tab:red", 1.2)):
        latency.plot(t, [getattr(r, key) for r in rows], label=key.replace("_ms", ""), color=color, linewidth=width,
                     alpha=0.6 if width > 2 else 1.0)
    # Each pod that joined: its slowest first answer where it joined, its steady median beside it
    # (from the ingress log; times counted from the run's first logged answer, near enough to the
    # run's start).
    if new_pods:
        at = [p["joined_after_s"] for p in new_pods]
        latency.scatter(at, [max(p["first_ms"]) for p in new_pods], marker="v", color="tab:purple", zorder=5,
                        label="a new pod's slowest\nfirst answer")
        steady = [p for p in new_pods if p["steady_p50_ms"] is not None]
        if steady:
            latency.scatter([p["joined_after_s"] for p in steady], [p["steady_p50_ms"] for p in steady], marker="_",
                            s=120, color="tab:purple", zorder=5, label="its steady median")
    latency.set_ylabel("latency (ms)")
    pods.step(t, [r.current_replicas for r in rows], where="post", label="HPA current replicas",
              color="tab:purple", linewidth=5, alpha=0.35)
    pods.step(t, [r.desired_replicas for r in rows], where="post", label="HPA desired replicas",
              color="tab:purple", linewidth=1.2, linestyle=":")
    pods.step(t, [r.ready_pods for r in rows], where="post", label="ready pods", color="tab:brown",
              linewidth=1.5, linestyle="--", marker="o", markersize=3, markevery=max(1, len(rows) // 60))
    pods.set_ylabel("pods")
    pods.yaxis.get_major_locator().set_params(integer=True)
    # Where the ready pods ran, stacked (the places seen in the run, in PLACES order).
    seen = [p for p in PLACES if any(r.places.get(p) for r in rows)]
    if seen:
        where.stackplot(t, *[[r.places.get(p, 0) for r in rows] for p in seen], labels=seen, step="post",
                        colors=[PLACE_COLORS[p] for p in seen], alpha=0.8)
    where.set_ylabel("ready pods")
    where.yaxis.get_major_locator().set_params(integer=True)
    metric.plot(t, [r.metric for r in rows], color="tab:gray", linewidth=1.2, label="sls_ingress_qps per pod")
    metric.set_ylabel("QPS per pod")
    metric.set_xlabel("seconds since start")
    for axis in (rates, latency, pods, where, metric):
        axis.grid(True, color="0.9")
        if axis.get_legend_handles_labels()[0]:
            axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=10, frameon=False)
        for index, (_, start, end) in enumerate(profile.boundaries()):
            if index % 2:
                axis.axvspan(start, end, color="0.95", zorder=0)
    for name, start, end in profile.boundaries():
        rates.text((start + end) / 2, 1.02, name, transform=rates.get_xaxis_transform(), fontsize=10,
                   ha="center", va="bottom")
    heading = title if result is None else f"{title} - {'PASS' if result.passed else 'FAIL'}"
    fig.suptitle(heading, fontsize=13)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
