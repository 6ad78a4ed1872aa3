"""How well the open-loop driver holds a rate on this machine (loopback stand-in server).

    .venv/bin/python -m benchmarks.loadtest_rate [--rates 200 500 1000] [--seconds 5]

Prints, per offered rate: requests, achieved rate, lateness p50/p95/p99 (sent minus scheduled)
and the share of requests sent more than 10 ms late. Figures belong in the README, not in a test.
"""

from __future__ import annotations

import argparse

from loadtest.__main__ import DEFAULT_PAYLOAD
from loadtest.driver import run
from loadtest.profile import Phase, Profile
from loadtest.report import percentile
from loadtest.standins import BackgroundServer, TfServingStandIn


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", type=float, nargs="+", default=[200, 500, 1000])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--latency", type=float, default=0.02, help="stand-in server latency (s)")
    args = parser.parse_args()
    payload = DEFAULT_PAYLOAD.read_bytes()
    columns = [("offered", 8), ("requests", 8), ("achieved", 9), ("late p50", 9), ("late p95", 9),
               ("late p99", 9), (">10ms", 6)]
    print(" ".join(f"{name:>{width}}" for name, width in columns))
    for rate in args.rates:
        serving = TfServingStandIn(latency=args.latency)
        with BackgroundServer(serving.app()) as server:
            outcomes = run(f"{server.url}/v1/models/chnsenticorp:predict", payload,
                           Profile((Phase("hold", args.seconds, rate, rate),)).schedule())
        sent = sorted(o.sent for o in outcomes if o.sent is not None)
        late = [(o.sent - o.scheduled) * 1000 for o in outcomes if o.sent is not None]
        achieved = (len(sent) - 1) / (sent[-1] - sent[0])
        over = sum(1 for x in late if x > 10) / len(late)
        print(f"{rate:8.0f} {len(outcomes):8d} {achieved:9.1f} {percentile(late, 50):8.1f}ms "
              f"{percentile(late, 95):8.1f}ms {percentile(late, 99):8.1f}ms {over:6.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
