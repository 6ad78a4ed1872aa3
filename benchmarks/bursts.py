"""How long the shipped stacks' first burst waits, by the planner, against the same stack with
pods that start instantly (issue #24's measure).

    .venv/bin/python -m benchmarks.bursts [--write]

Each row is one stack replayed through the planner with its documented defaults, from a weekday
morning (dev awake): prod against a 10x step (`step:10:100:300`), dev against a 4x step
(`step:10:40:300`, what its `maxReplicas: 4` can hold). "Instant pods" sets every start-up value
to 0 (the ECI instance, the image, the cache hit, the model, the node, the device plugin): what
is left is the metric path and the HPA's scale-up policy. The variants beside each shipped stack
are what the previous release did (prod: the pool alone, +4 pods a minute; dev: ECI's automatic
cache, which the first pod of an image builds while it pulls the image whole; neither with a
warmup file) and dev with no
cache at all (`capacity.eci.imageCache: false`), and each shipped stack without its warmup file
(`model.warmup.enabled: false`): Ready `coldSeconds` sooner, its first requests served cold.

A second table replays prod at several values of the ResourcePolicy's wait on the pool
(components/capacity/node_pool.py OVERFLOW_WAIT_SECONDS): what the first 10x burst waits, and the
ECI pod-hours and node-hours of a ramp and a short diurnal trace, where the pool's growth is what
the wait buys.

Prints the tables; `--write` puts them in docs/capacity.md between their markers (a test keeps the
page equal to a fresh run).
"""

from __future__ import annotations

import argparse
import datetime
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

import yaml

from planner import params
from planner.__main__ import plan
from planner.stack import StackPlan, plan_of
from planner.traces import load
from tools.offline import ROOT, stack_file_config

# A Monday, 10:00 in the stacks' time zone: dev is awake (its schedule wakes it at 08:00).
START = datetime.datetime(2026, 11, 23, 10, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
DURATION = 2400
# Everything between a pod's creation and Ready, and a node's request and room for it.
STARTUP = ("eciStart", "imagePull", "imageCacheHit", "modelLoad", "coldSeconds", "nodeProvision", "gpuDevicePlugin")
DOC = ROOT / "docs" / "capacity.md"
BEGIN, END = "<!-- bursts:begin -->", "<!-- bursts:end -->"
WAIT_BEGIN, WAIT_END = "<!-- overflow-wait:begin -->", "<!-- overflow-wait:end -->"
PROD_TRACE, DEV_TRACE = "step:10:100:300", "step:10:40:300"
# Where the wait decides how much of the load the pool takes: a 20-minute ramp, and two periods of
# a 2-hour diurnal shape (traffic that rises over a whole day adds a pod an hour or so: each lands
# on ECI and the node booted for it leaves empty, whatever the wait).
RAMP_TRACE, DIURNAL_TRACE, DIURNAL_SECONDS = "ramp:10:100:300:1500", "diurnal:20:100:7200", 14400
OVERFLOW_WAITS = (0, 5, 10, 20, 30, 60)


@dataclass(frozen=True)
class Row:
    label: str
    trace: str
    wait: Optional[int]
    """Seconds the first burst waits with the default start-up values (None: never caught up)."""
    instant: Optional[int]
    """The same with every start-up value 0."""
    cold: int
    """Requests served by pods in their first `coldSeconds` (no warmup file), default values."""


@dataclass(frozen=True)
class WaitRow:
    """Prod with the pool's wait at `seconds`."""

    seconds: int
    wait: Optional[int]
    """The first 10x burst's wait."""
    ramp_eci_hours: float
    ramp_node_hours: float
    diurnal_eci_hours: float
    diurnal_node_hours: float
    autoscaler_eci_hours: float
    """The diurnal trace's ECI pod-hours with the cluster autoscaler growing the pool (ACK's 60 s
    scan) instead of node instant scaling, which ACK requires beside a ResourcePolicy."""


def variant(directory: Path, stack: str, name: str, change: Callable[[dict], None]) -> Path:
    """`Pulumi.<name>.yaml`: a shipped stack's config with `change` applied."""
    config = stack_file_config(stack)
    change(config)
    path = directory / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump({"config": config}), encoding="utf-8")
    return path


def previous_prod(config: dict) -> None:
    config["elastic-inference:capacity"]["nodePool"]["eciOverflow"] = False
    config["elastic-inference:autoscaling"]["scaleUpPodsPerMinute"] = 4


def no_cache(config: dict) -> None:
    config["elastic-inference:capacity"].setdefault("eci", {})["imageCache"] = False


def first_burst(stack: StackPlan, trace: str, values: params.Values) -> tuple[Optional[int], int]:
    """The first burst's wait (None: never caught up) and the requests served cold."""
    summary = plan([stack], load(trace, DURATION), values, None, START)["stacks"][stack.name]["summary"]
    bursts = summary["bursts"]
    return (bursts[0]["seconds_to_capacity"] if bursts else 0), summary["requests_served_cold"]


def row(label: str, trace: str, stack: StackPlan, values: params.Values) -> Row:
    wait, cold = first_burst(stack, trace, values)
    instant = values.with_overrides({name: 0.0 for name in STARTUP}, "--set")
    return Row(label, trace, wait, first_burst(stack, trace, instant)[0], cold)


def cold(stack: StackPlan) -> StackPlan:
    """The stack without a warmup file (`model.warmup.enabled: false`)."""
    return replace(stack, capacity=replace(stack.capacity, warmup=False))


def rows() -> list[Row]:
    values = params.defaults()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        prod, dev = plan_of("prod"), plan_of("dev")
        assert prod.capacity.warmup and dev.capacity.warmup, "the shipped stacks write a warmup file"
        stacks = [
            ("prod as shipped: the pool, ECI while its nodes boot, +10 pods a minute", PROD_TRACE, prod),
            ("prod without a warmup file", PROD_TRACE, cold(prod)),
            ("prod, the pool alone, +4 pods a minute, no warmup file (the previous release)", PROD_TRACE,
             cold(plan_of(str(variant(directory, "prod", "prod-pool-alone", previous_prod))))),
            ("dev as shipped: ECI from the stack's image cache", DEV_TRACE, dev),
            ("dev without a warmup file", DEV_TRACE, cold(dev)),
            ("dev, ECI's automatic cache, no warmup file (the previous release)", DEV_TRACE,
             cold(replace(dev, capacity=replace(dev.capacity, image_cache="auto")))),
            ("dev, no image cache", DEV_TRACE, plan_of(str(variant(directory, "dev", "dev-no-cache", no_cache)))),
        ]
        return [row(label, trace, stack, values) for label, trace, stack in stacks]


def pod_hours(stack: StackPlan, trace: str, seconds: int, values: params.Values) -> tuple[float, float]:
    """ECI pod-hours and pool node-hours over the trace (a node holds one GPU pod in prod)."""
    run = plan([stack], load(trace, seconds), values, None, START)["stacks"][stack.name]["_run"]
    node_seconds = sum(run.timeline.nodes)
    return round((run.instance_seconds - node_seconds) / 3600, 1), round(node_seconds / 3600, 1)


def wait_rows() -> list[WaitRow]:
    values, prod = params.defaults(), plan_of("prod")
    out = []
    for seconds in OVERFLOW_WAITS:
        stack = replace(prod, capacity=replace(prod.capacity, overflow_wait=seconds))
        ramp = pod_hours(stack, RAMP_TRACE, DURATION, values)
        diurnal = pod_hours(stack, DIURNAL_TRACE, DIURNAL_SECONDS, values)
        scanning = values.with_overrides({"instantScalingDelay": values["autoscalerScan"]}, "--set")
        autoscaler = pod_hours(stack, DIURNAL_TRACE, DIURNAL_SECONDS, scanning)[0]
        out.append(WaitRow(seconds, first_burst(stack, PROD_TRACE, values)[0], *ramp, *diurnal, autoscaler))
    return out


def seconds(value: Optional[int]) -> str:
    return "never" if value is None else f"{value} s"


def table(found: list[Row]) -> str:
    lines = ["| stack | trace | first burst waits | with instant pods | ratio | requests served cold |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in found:
        ratio = f"{r.wait / r.instant:.1f}x" if r.wait is not None and r.instant else "-"
        lines.append(f"| {r.label} | `{r.trace}` | {seconds(r.wait)} | {seconds(r.instant)} | {ratio} | {r.cold:,} |")
    return "\n".join(lines)


def wait_table(found: list[WaitRow]) -> str:
    lines = [f"| wait on the pool | first burst waits (`{PROD_TRACE}`) | ECI pod-hours, ramp | node-hours, ramp "
             f"| ECI pod-hours, diurnal | node-hours, diurnal | ECI pod-hours, diurnal, cluster autoscaler |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in found:
        lines.append(f"| {r.seconds} s | {seconds(r.wait)} | {r.ramp_eci_hours} | {r.ramp_node_hours} "
                     f"| {r.diurnal_eci_hours} | {r.diurnal_node_hours} | {r.autoscaler_eci_hours} |")
    return "\n".join(lines)


def write(text: str, page: Path = DOC, markers: tuple[str, str] = (BEGIN, END)) -> None:
    """Replace the table between the page's markers."""
    begin, end = markers
    content = page.read_text(encoding="utf-8")
    head, rest = content.split(begin, 1)
    _, tail = rest.split(end, 1)
    page.write_text(f"{head}{begin}\n{text}\n{end}{tail}", encoding="utf-8")


def build_parser() -> argparse.ArgumentParser:
    """The command line, as `--help` shows it (the docs' commands are checked against it)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bursts", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"write the tables into {DOC.relative_to(ROOT)}")
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    text, waits = table(rows()), wait_table(wait_rows())
    print(f"{text}\n\n{waits}")
    if args.write:
        write(text)
        write(waits, markers=(WAIT_BEGIN, WAIT_END))
        print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
