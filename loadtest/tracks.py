"""Which track answered: the predict response does not name the version, the ingress access log
does. Every request of a run carries one X-Request-ID (the run's id), which ingress-nginx logs as
`$req_id` (nginx.tmpl L390-397 at dbb11b92: the client's header when it sends one), and a request
the canary answered has the canary's upstream in `$proxy_alternative_upstream_name` (balancer.lua
get_balancer L295-299); the main track's leave it empty. After the run the load test reads the
ingress controller pods' logs through the Kubernetes API and counts, per track, the run's requests
and their status codes.

The line format is ACK's: the keys and the regex of the AliyunLogConfig ACK documents for its
Ingress controller's access log, which SLS parses into the fields the HPA's metric and the
dashboard query (AlibabaCloudDocs/sls at 070060e8, "cn.zh-CN/应用中心（App）/Kubernetes
Ingress日志中心/配置Ingress日志中心.md" L56-84; the log-format-upstream it recommends L25-27, whose
regex also takes a trailing `[$proxy_alternative_upstream_name]`, its 21st key).
"""

from __future__ import annotations

import re
import time as clock
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Optional

# processor_regex `Keys` and `Regex`, verbatim.
ACK_KEYS = ("client_ip", "x_forward_for", "remote_user", "time", "method", "url", "version", "status",
            "body_bytes_sent", "http_referer", "http_user_agent", "request_length", "request_time",
            "proxy_upstream_name", "upstream_addr", "upstream_response_length", "upstream_response_time",
            "upstream_status", "req_id", "host", "proxy_alternative_upstream_name")
ACK_REGEX = re.compile(
    r'^(\S+)\s-\s\[([^]]+)]\s-\s(\S+)\s\[(\S+)\s\S+\s"(\w+)\s(\S+)\s([^"]+)"\s(\d+)\s(\d+)\s"([^"]*)"\s"([^"]*)"'
    r'\s(\S+)\s(\S+)+\s\[([^]]*)]\s(\S+)\s(\S+)\s(\S+)\s(\S+)\s(\S+)\s*(\S*)\s*\[*([^]]*)\]*.*')
# log-format-upstream, with the alternative upstream the regex reads last.
LOG_FORMAT = ('$the_real_ip - [$the_real_ip] - $remote_user [$time_local] "$request" $status $body_bytes_sent '
              '"$http_referer" "$http_user_agent" $request_length $request_time [$proxy_upstream_name] '
              '$upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id $host '
              '[$proxy_alternative_upstream_name]')


def log_line(*, remote_addr: str, time: float, method: str, url: str, status: int, body_bytes_sent: int,
             request_time: float, request_length: int, host: str, req_id: str, proxy_upstream_name: str,
             proxy_alternative_upstream_name: str, upstream_addr: str, upstream_response_time: str,
             upstream_status: str, user_agent: str) -> str:
    """One access-log line in LOG_FORMAT (nginx writes `-` for an empty variable but for the
    bracketed upstream names, which are set to "" by the controller's Lua)."""
    values = {
        "the_real_ip": remote_addr, "remote_user": "-",
        "time_local": clock.strftime("%d/%b/%Y:%H:%M:%S +0000", clock.gmtime(time)),
        "request": f"{method} {url} HTTP/1.1", "status": str(status), "body_bytes_sent": str(body_bytes_sent),
        "http_referer": "-", "http_user_agent": user_agent, "request_length": str(request_length),
        "request_time": f"{request_time:.3f}", "proxy_upstream_name": proxy_upstream_name,
        "upstream_addr": upstream_addr or "-",
        "upstream_response_length": str(body_bytes_sent) if upstream_addr else "-",
        "upstream_response_time": upstream_response_time or "-", "upstream_status": upstream_status or "-",
        "req_id": req_id, "host": host, "proxy_alternative_upstream_name": proxy_alternative_upstream_name}
    return re.sub(r"\$([a-z_]+)", lambda m: values[m.group(1)], LOG_FORMAT)


def parse(line: str) -> Optional[dict[str, str]]:
    """A line as SLS's processor_regex splits it (None: no match, which SLS drops)."""
    match = ACK_REGEX.match(line)
    return None if match is None else dict(zip(ACK_KEYS, match.groups(), strict=True))


@dataclass
class TrackCounts:
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)

    def as_json(self, total: int) -> dict[str, Any]:
        return {"requests": self.requests, "share": round(self.requests / total, 4) if total else None,
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())}}


def tally(lines: Iterable[str], run_id: str) -> dict[str, TrackCounts]:
    """The run's requests per track ("main", "canary") from access-log lines."""
    tracks = {"main": TrackCounts(), "canary": TrackCounts()}
    for line in lines:
        record = parse(line)
        if record is None or record["req_id"] != run_id:
            continue
        track = tracks["canary" if record["proxy_alternative_upstream_name"] else "main"]
        track.requests += 1
        track.statuses[int(record["status"])] += 1
    return tracks


# A pod joined during the run when the run's first request it answered came this long after the run's
# first logged answer: every pod that was Ready at the start answers within the first seconds (the
# run starts at targetQps x minReplicas, spread over them by the ingress's round robin).
JOINED_AFTER = 30
# A joined pod's first requests, against its steady latency: the median of its answers from the
# STEADY_FROM-th on (at least STEADY_FROM of them, else no steady figure).
FIRST, STEADY_FROM = 5, 20


def _log_seconds(value: str) -> float:
    """`$time_local` as SLS's regex keeps it (`%d/%b/%Y:%H:%M:%S`, the zone left out: the
    controllers' lines share one), in seconds."""
    return datetime.strptime(value, "%d/%b/%Y:%H:%M:%S").replace(tzinfo=UTC).timestamp()


def new_pods(lines: Iterable[str], run_id: str, joined_after: float = JOINED_AFTER) -> list[dict[str, Any]]:
    """Each pod (upstream address) that joined during the run: when (seconds after the run's first
    logged answer), its first FIRST answers' `$upstream_response_time` and its steady median, in
    ms. nginx logs a request when it ends (`$time_local`, whole seconds), in that order."""
    answers: dict[str, list[tuple[float, float]]] = {}
    for line in lines:
        record = parse(line)
        if record is None or record["req_id"] != run_id:
            continue
        address, took = record["upstream_addr"], record["upstream_response_time"]
        if address == "-" or took == "-" or not record["upstream_status"].startswith("2"):
            continue
        answers.setdefault(address, []).append((_log_seconds(record["time"]), float(took) * 1000))
    if not answers:
        return []
    start = min(t for found in answers.values() for t, _ in found)
    out = []
    for address, found in answers.items():
        found.sort(key=lambda answer: answer[0])  # stable: the log's order within a second
        joined = found[0][0] - start
        if joined < joined_after:
            continue
        first = [round(ms, 1) for _, ms in found[:FIRST]]
        rest = sorted(ms for _, ms in found[STEADY_FROM:])
        steady = round(rest[len(rest) // 2], 1) if len(rest) >= STEADY_FROM else None
        out.append({"upstream": address, "joined_after_s": round(joined), "answers": len(found),
                    "first_ms": first, "steady_p50_ms": steady,
                    "first_over_steady": round(max(first) / steady, 1) if steady else None})
    return sorted(out, key=lambda pod: (pod["joined_after_s"], pod["upstream"]))


def new_pods_text(pods: list[dict[str, Any]], problem: Optional[str]) -> str:
    """The console line: how much slower the pods that joined answered first."""
    if problem:
        return f"new pods: not measured ({problem})"
    if not pods:
        return f"new pods: none joined {JOINED_AFTER} s or more into the run"
    rated = [p for p in pods if p["first_over_steady"] is not None]
    worst = max(rated, key=lambda p: p["first_over_steady"]) if rated else None
    told = (f"; the slowest first answers {max(worst['first_ms']):g} ms against {worst['steady_p50_ms']:g} ms "
            f"steady ({worst['first_over_steady']:g}x, {worst['upstream']})" if worst else "")
    return f"new pods: {len(pods)} joined{told}"


def read_logs(api, namespace: str, selector: str, since_seconds: int) -> tuple[list[str], Optional[str]]:
    """The ingress controller pods' log lines of the last `since_seconds`, and why none could be
    read (None: read). The kubelet serves only the container's current log file: lines rotated
    away during a long run are missing, which the report shows as fewer requests found than sent."""
    from kubernetes import client  # noqa: PLC0415 - the load test's own requirement
    from kubernetes.client import ApiException  # noqa: PLC0415

    core = client.CoreV1Api(api)
    try:
        pods = core.list_namespaced_pod(namespace, label_selector=selector).items
        if not pods:
            return [], f"no pod in {namespace} matches {selector} (set --ingress-namespace, --ingress-selector)"
        lines: list[str] = []
        for name in (p.metadata.name for p in pods if p.metadata is not None and p.metadata.name):
            log = core.read_namespaced_pod_log(name, namespace, since_seconds=max(1, since_seconds))
            lines.extend(str(log).splitlines())
    except ApiException as exc:
        return [], f"the ingress controller's logs could not be read: HTTP {exc.status} {exc.reason}"
    return lines, None


def summary(tracks: dict[str, TrackCounts], sent: int, problem: Optional[str]) -> dict[str, Any]:
    """report.json's `tracks`: each track's requests, share and status codes, found of sent."""
    found = sum(t.requests for t in tracks.values())
    return {"sent": sent, "found": found, "problem": problem,
            **{name: t.as_json(found) for name, t in tracks.items()}}


def text(summary: dict[str, Any]) -> str:
    """The console line: each track's share and status codes."""
    if summary["problem"]:
        return f"tracks: not counted ({summary['problem']})"
    parts = [f"{name} {summary[name]['requests']} ({100 * (summary[name]['share'] or 0):.1f}%: "
             + ", ".join(f"{code} x{n}" for code, n in summary[name]["statuses"].items()) + ")"
             for name in ("main", "canary")]
    return f"tracks: {'; '.join(parts)}; {summary['found']} of {summary['sent']} requests found in the ingress log"
