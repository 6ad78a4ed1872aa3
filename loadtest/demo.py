"""A loopback demonstration: the real load command against the stand-ins, with a simulated HPA
in compressed time. Produces the sample chart of docs/loadtest.md.

    .venv/bin/python -m loadtest.demo                             # writes build/loadtest-demo/
    .venv/bin/python -m loadtest.demo --out docs/loadtest-sample  # the sample the docs show
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

from settings import ScalingBehavior

from . import __main__ as cli
from .__main__ import ROOT
from .standins import BackgroundServer, KubernetesStandIn, SimulatedHpa, TfServingStandIn, hpa_of, target_flags


def build_parser() -> argparse.ArgumentParser:
    """The command line, as `--help` shows it (the docs' commands are checked against it)."""
    parser = argparse.ArgumentParser(prog="python -m loadtest.demo", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "loadtest-demo",
                        help="where report.json and report.png go (the committed sample is docs/loadtest-sample)")
    parser.add_argument("--scale", type=float, default=1.0, help="stretch every phase by this factor")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    serving = TfServingStandIn(latency=0.02)
    # A minute of the HPA in 6 s: up at once, down a pod a minute after two minutes below target.
    behavior = ScalingBehavior(scale_up_stabilization_seconds=0, scale_up_pods_per_minute=4,
                               scale_down_stabilization_seconds=120, scale_down_pods_per_minute=1)
    hpa = SimulatedHpa(qps=lambda: serving.qps(window=5), spec=hpa_of(1, 6, 10, behavior), speed=10)
    kube = KubernetesStandIn(state=hpa.step)
    s = args.scale
    with BackgroundServer(serving.app()) as tf, BackgroundServer(kube.app()) as api:
        return cli.main([
            *target_flags(tf.url, api.url), "--peak-rps", "50",
            "--warmup", str(10 * s), "--ramp", str(10 * s), "--hold", str(30 * s), "--cooldown", str(40 * s),
            "--sample-period", "1", "--scale-out-within", "30", "--out", str(args.out),
        ])


if __name__ == "__main__":
    raise SystemExit(main())
