"""A stand-in of the metrics adapter's `sls_ingress_qps`, transcribed from
AliyunContainerService/alibaba-cloud-metrics-adapter at 93cf5f14: pkg/metrics/sls/ingress.go L31-65
runs `* and proxy_upstream_name: <route> | SELECT count(1) / <interval> ... WHERE __time__ >=
now - delay - interval and __time__ < now - delay`, whatever the lines' status or upstream;
sls.go `getSLSParams` defaults the interval to 15 s (also its minimum) and the delay to 10 s
(L108, L111); the value is truncated to an integer (ingress.go L123). An aggregate over no line
is one row of 0 in SQL; the adapter's branch for an answer with no rows (L91-93) is not modelled.

SLS matches `proxy_upstream_name: <route>` by token, on its default delimiters, which a route's
`<namespace>-<service>-<port>` does not contain: a line whose route is `-` never matches.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Iterable

from .tracks import parse

INTERVAL = 15
DELAY = 10


def line_time(record: dict[str, str]) -> float:
    """A log line's time (`06/Dec/2026:20:00:00`: ACK's regex keeps `$time_local` without its
    zone, which the stand-ins write as +0000) as seconds since the epoch."""
    return calendar.timegm(time.strptime(record["time"], "%d/%b/%Y:%H:%M:%S"))


def sls_ingress_qps(lines: Iterable[str], route: str, now: float, interval: int = INTERVAL,
                    delay: int = DELAY) -> int:
    """The metric at `now` from access-log lines in ACK's format (a line SLS's regex cannot parse
    is dropped, as SLS drops it)."""
    begin, end = int(now) - delay - interval, int(now) - delay
    count = 0
    for line in lines:
        record = parse(line)
        if record is not None and record["proxy_upstream_name"] == route and begin <= line_time(record) < end:
            count += 1
    return int(count / interval)
