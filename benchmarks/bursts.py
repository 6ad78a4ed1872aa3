"""How long the shipped stacks' first burst waits, by the planner, against the same stack with
pods that start instantly (issue #24's measure).

    .venv/bin/python -m benchmarks.bursts [--write]

Each row is one stack replayed through the planner with its documented defaults, from a weekday
morning (dev awake): prod against a 10x step (`step:10:100:300`), dev against a 4x step
(`step:10:40:300`, what its `maxReplicas: 4` can hold). "Instant pods" sets every start-up value
to 0 (the ECI instance, the image, the cache hit, the model, the node, the device plugin): what
is left is the metric path and the HPA's scale-up policy. The variants beside each shipped stack
are what the previous release did (prod: the pool alone, +4 pods a minute; dev: ECI's automatic
cache, which the first pod of an image builds while it pulls the image whole) and dev with no
cache at all (`capacity.eci.imageCache: false`).

Prints the table; `--write` puts it in docs/capacity.md between its markers (a test keeps the
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
STARTUP = ("eciStart", "imagePull", "imageCacheHit", "modelLoad", "nodeProvision", "gpuDevicePlugin")
DOC = ROOT / "docs" / "capacity.md"
BEGIN, END = "<!-- bursts:begin -->", "<!-- bursts:end -->"


@dataclass(frozen=True)
class Row:
    label: str
    trace: str
    wait: Optional[int]
    """Seconds the first burst waits with the default start-up values (None: never caught up)."""
    instant: Optional[int]
    """The same with every start-up value 0."""


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


def first_wait(stack: StackPlan, trace: str, values: params.Values) -> Optional[int]:
    result = plan([stack], load(trace, DURATION), values, None, START)
    bursts = result["stacks"][stack.name]["summary"]["bursts"]
    return bursts[0]["seconds_to_capacity"] if bursts else 0


def rows() -> list[Row]:
    values = params.defaults()
    instant = values.with_overrides({name: 0.0 for name in STARTUP}, "--set")
    prod_trace, dev_trace = "step:10:100:300", "step:10:40:300"
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        dev = plan_of("dev")
        stacks = [
            ("prod as shipped: the pool, ECI while its nodes boot, +10 pods a minute", prod_trace, plan_of("prod")),
            ("prod, the pool alone, +4 pods a minute (the previous release)", prod_trace,
             plan_of(str(variant(directory, "prod", "prod-pool-alone", previous_prod)))),
            ("dev as shipped: ECI from the stack's image cache", dev_trace, dev),
            ("dev, ECI's automatic cache (the previous release)", dev_trace,
             replace(dev, capacity=replace(dev.capacity, image_cache="auto"))),
            ("dev, no image cache", dev_trace, plan_of(str(variant(directory, "dev", "dev-no-cache", no_cache)))),
        ]
        return [Row(label, trace, first_wait(stack, trace, values), first_wait(stack, trace, instant))
                for label, trace, stack in stacks]


def seconds(value: Optional[int]) -> str:
    return "never" if value is None else f"{value} s"


def table(found: list[Row]) -> str:
    lines = ["| stack | trace | first burst waits | with instant pods | ratio |", "| --- | --- | --- | --- | --- |"]
    for r in found:
        ratio = f"{r.wait / r.instant:.1f}x" if r.wait is not None and r.instant else "-"
        lines.append(f"| {r.label} | `{r.trace}` | {seconds(r.wait)} | {seconds(r.instant)} | {ratio} |")
    return "\n".join(lines)


def write(text: str, page: Path = DOC) -> None:
    """Replace the table between the page's markers."""
    content = page.read_text(encoding="utf-8")
    head, rest = content.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    page.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}", encoding="utf-8")


def build_parser() -> argparse.ArgumentParser:
    """The command line, as `--help` shows it (the docs' commands are checked against it)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bursts", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"write the table into {DOC.relative_to(ROOT)}")
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    text = table(rows())
    print(text)
    if args.write:
        write(text)
        print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
