"""plan.png: the plan's series for a person, one column per compared stack."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .simulate import Timeline


def write(path: Path, runs: Sequence[tuple[str, Timeline]], title: str) -> None:
    """Three panels per stack (requests, replicas, metric), stacks side by side, shared axes."""
    # Imported here: the headless backend must be chosen before pyplot loads, and only a run
    # that writes a chart pays for matplotlib.
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    columns = len(runs)
    fig, axes = plt.subplots(3, columns, figsize=(6.5 * columns + 2, 10), sharex=True, sharey="row",
                             squeeze=False, gridspec_kw={"height_ratios": [3, 2, 2]})
    for column, (name, tl) in enumerate(runs):
        # Long traces are drawn every n-th second: a day is 86,400 points per series.
        step = max(1, len(tl.offered_qps) // 4000)
        t = list(range(0, len(tl.offered_qps), step))

        def every(series: Sequence[float], step: int = step) -> list[float]:
            return list(series[::step])

        rates, pods, metric = axes[0][column], axes[1][column], axes[2][column]
        rates.plot(t, every(tl.offered_qps), color="tab:blue", linewidth=4, alpha=0.35, label="offered")
        rates.plot(t, every(tl.capacity_qps), color="tab:green", linewidth=1.3, linestyle="--", label="ready capacity")
        rates.fill_between(t, 0, every(tl.over_capacity_qps), color="tab:red", alpha=0.4, linewidth=0,
                           label="above capacity")
        if any(tl.cold_served_qps):
            rates.fill_between(t, 0, every(tl.cold_served_qps), color="tab:cyan", alpha=0.5, linewidth=0,
                               label="served by cold pods")
        rates.set_title(name, fontsize=12)
        pods.step(t, every(tl.desired_replicas), where="post", color="tab:purple", linewidth=1.2, linestyle=":",
                  label="desired replicas")
        pods.step(t, every(tl.ready_replicas), where="post", color="tab:brown", linewidth=2, label="ready replicas")
        if any(tl.nodes):
            pods.step(t, every(tl.nodes), where="post", color="0.4", linewidth=1, label="GPU nodes")
        if any(tl.overflow_pods):
            pods.step(t, every(tl.overflow_pods), where="post", color="tab:orange", linewidth=1.2, linestyle="--",
                      label="pods on ECI (overflow)")
        pods.yaxis.get_major_locator().set_params(integer=True)
        metric.plot(t, every(tl.metric_qps), color="tab:gray", linewidth=1.2, label="sls_ingress_qps (HPA's read)")
        metric.set_xlabel("seconds")
        for axis in (rates, pods, metric):
            axis.grid(True, color="0.9")
        if column == 0:
            rates.set_ylabel("requests / s")
            pods.set_ylabel("pods / nodes")
            metric.set_ylabel("requests / s")
    for axis in axes[:, -1]:
        axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=10, frameon=False)
    fig.suptitle(title, fontsize=13)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
