"""The edge-log check runs this in a pod as `main(argv)` (components/jobs/pod.py carries it and
kube_api.py into a stock Python image; standard library only): `check NAMESPACE CONFIGMAP` reads
the ingress controller's ConfigMap and passes only when its access log names refused requests'
route `-` (components/scaling/edge/log.py says why and how): the http-snippet's map, and the log format
writing the map's variable where ACK's writes `$proxy_upstream_name`.

Exit status: 0 it does, 1 it does not (the reason on stderr and as the termination message),
2 bad arguments.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Optional

from components.jobs.kube_api import api, report

USAGE = "usage: check NAMESPACE CONFIGMAP"
# Kept equal to components/scaling/edge/log.py by tests/test_edge.py (this file runs alone in the pod).
VARIABLE = "$hpa_upstream_name"
REFUSAL_KEYS = ('"~^403:[^:]*:$"', '"~^\\d+:REJECTED:"')
HOW = "docs/deploying.md, \"Refused requests\""


def problem_of(data: Optional[dict], where: str) -> Optional[str]:
    """Why this ConfigMap's data does not log refused requests under `-`, or None."""
    if data is None:
        return (f"{where} not found: autoscaling.refusedRequests excluded needs the ingress controller's "
                f"ConfigMap (network.ingressNamespace, network.ingressConfigMap); {HOW}")
    snippet, log_format = data.get("http-snippet", ""), data.get("log-format-upstream", "")
    missing = [key for key in REFUSAL_KEYS if key not in snippet]
    if f"map \"$status:$limit_req_status:$upstream_addr\" {VARIABLE}" not in snippet or missing:
        return (f"{where} http-snippet has no map of refused requests to {VARIABLE} (the allow-list's 403 and "
                f"the rate limit's rejections to '-'): refused requests would still scale the fleet; {HOW}")
    if f"[{VARIABLE}]" not in log_format or "[$proxy_upstream_name]" in log_format:
        return (f"{where} log-format-upstream does not write [{VARIABLE}] where [$proxy_upstream_name] was: "
                f"the access log (and the HPA's metric) still names refused requests' route; {HOW}")
    return None


def main(argv: Sequence[str]) -> int:
    try:
        command, namespace, name = argv
        if command != "check":
            raise ValueError(command)
    except ValueError as exc:
        print(f"{USAGE} ({exc})", file=sys.stderr)
        return 2
    found = api(f"/api/v1/namespaces/{namespace}/configmaps/{name}")
    return report(problem_of(None if found is None else found.get("data") or {}, f"ConfigMap {namespace}/{name}"))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
