"""How long the planner takes for a day-long trace (86,400 s) of three stacks side by side.

    .venv/bin/python -m benchmarks.planner_day [--repeat 3]

The stacks: dev (ECI), prod (spot node pool) and prod's config moved to ECI (a stack file written
to a temporary directory). Prints the wall time of the whole command (config read under the mock
engine, simulation, plan.json), without and with plan.png; the figures go in docs/planner.md.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from planner.__main__ import main as run_planner
from tools.offline import stack_file_config

TRACE = "diurnal:20:180:86400"


def eci_variant(directory: Path) -> Path:
    """prod's config with its burst capacity from ECI instead of the node pool."""
    config = stack_file_config("prod")
    config["elastic-inference:capacity"] = {
        "mode": "eci", "instanceTypes": ["ecs.gn6i-c8g1.2xlarge"], "eci": {"imageCache": True}}
    path = directory / "Pulumi.prod-eci.yaml"
    path.write_text(yaml.safe_dump({"config": config}), encoding="utf-8")
    return path


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = run_planner(argv)
    if code != 0:
        raise SystemExit(f"planner exited {code}")
    return time.perf_counter() - start


def build_parser() -> argparse.ArgumentParser:
    """The command line, as `--help` shows it (the docs' commands are checked against it)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    return parser


def main() -> int:
    args = build_parser().parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        variant = eci_variant(Path(tmp))
        base = ["--stack", "dev", "--compare", "prod", str(variant), "--trace", TRACE, "--duration", "86400",
                "--out", str(Path(tmp) / "plan")]
        for label, extra in (("plan.json only", ["--no-chart"]), ("plan.json and plan.png", [])):
            runs = [timed(base + extra) for _ in range(args.repeat)]
            print(f"{label:24} median {statistics.median(runs):5.2f} s  (runs: {', '.join(f'{r:.2f}' for r in runs)})")
        size = (Path(tmp) / "plan" / "plan.json").stat().st_size
        print(f"plan.json: {size / 1e6:.1f} MB for 3 x 86,400 seconds")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
