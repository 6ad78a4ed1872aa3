"""How well the open-loop driver holds a rate on this machine, with one or several processes.

    .venv/bin/python -m benchmarks.loadtest_rate [--rates 200 500 1000] [--seconds 5] [--processes 1 2]

The stand-in TF Serving server runs in its own process (so it does not share the drivers' CPU
time in one interpreter). Prints, per process count and offered rate: requests, achieved rate
(sent requests over the span of their send times), its error against the offer, lateness
p50/p95/p99 (sent minus scheduled) and the share of requests sent more than 10 ms late. Figures
belong in docs/loadtest.md, not in a test.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time

from loadtest.__main__ import DEFAULT_PAYLOAD
from loadtest.driver import run
from loadtest.processes import run_processes
from loadtest.profile import Phase, Profile
from loadtest.report import percentile
from loadtest.standins import BackgroundServer, TfServingStandIn


def serve(latency: float, ready, port) -> None:
    """The stand-in server, in a process of its own, until terminated."""
    with BackgroundServer(TfServingStandIn(latency=latency).app()) as server:
        port.value = int(server.url.rsplit(":", 1)[1])
        ready.set()
        while True:
            time.sleep(3600)


def build_parser() -> argparse.ArgumentParser:
    """The command line, as `--help` shows it (the docs' commands are checked against it)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", type=float, nargs="+", default=[200, 500, 1000])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--processes", type=int, nargs="+", default=[1])
    parser.add_argument("--latency", type=float, default=0.02, help="stand-in server latency (s)")
    return parser


def main() -> int:
    args = build_parser().parse_args()
    payload = DEFAULT_PAYLOAD.read_bytes()
    context = multiprocessing.get_context("spawn")
    ready, port = context.Event(), context.Value("i", 0)
    server = context.Process(target=serve, args=(args.latency, ready, port), daemon=True)
    server.start()
    ready.wait(30)
    url = f"http://127.0.0.1:{port.value}/v1/models/chnsenticorp:predict"
    columns = [("procs", 5), ("offered", 8), ("requests", 8), ("achieved", 9), ("error", 7), ("late p50", 9),
               ("late p95", 9), ("late p99", 9), (">10ms", 6)]
    print(" ".join(f"{name:>{width}}" for name, width in columns))
    try:
        for processes in args.processes:
            for rate in args.rates:
                schedule = Profile((Phase("hold", args.seconds, rate, rate),)).schedule()
                if processes == 1:
                    outcomes = run(url, payload, schedule)
                else:
                    outcomes = run_processes(url, payload, schedule, processes, start_wall=time.time() + 3)
                sent = sorted(o.sent for o in outcomes if o.sent is not None)
                late = [(o.sent - o.scheduled) * 1000 for o in outcomes if o.sent is not None]
                achieved = (len(sent) - 1) / (sent[-1] - sent[0])
                over = sum(1 for x in late if x > 10) / len(late)
                print(f"{processes:5d} {rate:8.0f} {len(outcomes):8d} {achieved:9.1f} {achieved / rate - 1:+7.2%} "
                      f"{percentile(late, 50):8.1f}ms {percentile(late, 95):8.1f}ms {percentile(late, 99):8.1f}ms "
                      f"{over:6.1%}", flush=True)
    finally:
        server.terminate()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
