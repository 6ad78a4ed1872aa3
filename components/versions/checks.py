"""The version gate's checks, run in a pod as `main(argv)` (components/jobs/pod.py carries this
file and kube_api.py into a stock Python image; standard library only). Two commands:

- `retire` (before the model config): the version the endpoint serves now (the live Ingress's
  rewrite target) must stay loaded. Unloading it while the Ingress still routes to it would fail
  every request. Passes when there is no Ingress yet (the first deployment).
- `serve` (before the endpoint switches): every loaded version (the one to serve among them) must
  be AVAILABLE on every ready serving pod (the headless Service's DNS name lists them). TF Serving
  answers GET /v1/models/<m>/versions/<v> with `model_version_status[].state`, and an error
  message when a load failed. Exits non-zero, saying which pod is in which state and why, when not
  AVAILABLE everywhere within the timeout: the Ingress then keeps serving the old version. A
  Deployment scaled to zero by the idle schedule has nothing to check: passes.

Exit status: 0 done, 1 refused or failed (the message on stderr), 2 bad arguments.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any, Optional

from components.jobs.kube_api import api, asleep, read_ingress, report, scale_path

REWRITE = "nginx.ingress.kubernetes.io/rewrite-target"


def served_by(ingress: dict, model: str) -> Optional[int]:
    """The version an Ingress routes the model's predict path to (None: it names none)."""
    target = ((ingress.get("metadata") or {}).get("annotations") or {}).get(REWRITE, "")
    match = re.fullmatch(rf"/v1/models/{re.escape(model)}/versions/(\d+):predict", target)
    return int(match.group(1)) if match else None


def retire_problem(ingress: Optional[dict], model: str, keep: Sequence[int]) -> Optional[str]:
    """Why the new config must not be applied yet (None: it may)."""
    if ingress is None:
        return None
    served = served_by(ingress, model)
    if served is None or served in keep:
        return None
    return (f"model.versions drops version {served}, which the endpoint serves now: switch model.serve to "
            f"another loaded version first (pulumi up), then retire {served} in a second update")


def version_state(get: Callable[[str], tuple[int, Any]], address: str, model: str, version: int) -> str:
    """One server's view of the version: AVAILABLE, LOADING, ..., or what went wrong."""
    try:
        status, body = get(f"http://{address}/v1/models/{model}/versions/{version}")
    except OSError as exc:
        return f"unreachable ({exc})"
    if status != 200:
        message = body.get("error") if isinstance(body, dict) else None
        return f"HTTP {status}" + (f": {message}" if message else " (not in its model config yet)")
    for entry in body.get("model_version_status", []):
        if str(entry.get("version")) == str(version):
            error = (entry.get("status") or {}).get("error_message")
            return entry.get("state", "UNKNOWN") + (f" ({error})" if error else "")
    return "not reported"


def serve_problem(addresses: Callable[[], list[str]], get: Callable[[str], tuple[int, Any]], model: str,
                  versions: Sequence[int], timeout: float, wait: Callable[[float], None] = time.sleep,
                  clock: Callable[[], float] = time.monotonic) -> Optional[str]:
    """Wait until every ready pod has every one of `versions` AVAILABLE; why not, when the time
    is up (each pod and version that is not, in the server's words)."""
    deadline = clock() + timeout
    states: dict[tuple[str, int], str] = {}
    while True:
        found = addresses()
        states = {(address, v): version_state(get, address, model, v) for address in found for v in versions}
        if found and all(state == "AVAILABLE" for state in states.values()):
            return None
        if clock() >= deadline:
            break
        wait(5)
    wanted = ", ".join(str(v) for v in versions)
    if not states:
        return f"no ready serving pod answered for version(s) {wanted} of {model} within {timeout:.0f}s"
    detail = "; ".join(f"{address} version {v}: {state}" for (address, v), state in sorted(states.items())
                       if state != "AVAILABLE")
    return (f"version(s) {wanted} of {model} not AVAILABLE on every ready pod after {timeout:.0f}s ({detail}); "
            "the endpoint keeps serving the version it served before this update")


def resolve(host: str, port: int) -> Callable[[], list[str]]:
    """The ready pods behind a headless Service, as host:port."""

    def addresses() -> list[str]:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror:
            return []
        return sorted({f"{info[4][0]}:{port}" for info in infos})

    return addresses


def http_get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.load(exc)
        except ValueError:
            return exc.code, None


USAGE = "usage: retire NAMESPACE INGRESS MODEL V1,V2 | serve HOST PORT MODEL V1,V2 TIMEOUT NAMESPACE DEPLOYMENT"


def main(argv: Sequence[str]) -> int:
    try:
        check, *rest = argv
        if check == "retire":
            namespace, ingress, model, keep = rest
            problem = retire_problem(read_ingress(namespace, ingress), model, [int(v) for v in keep.split(",")])
        elif check == "serve":
            host, port, model, versions, timeout, namespace, deployment = rest
            if asleep(api(scale_path(namespace, deployment))):
                print("asleep (0 replicas): the versions load when the idle schedule wakes the pods")
                return 0
            problem = serve_problem(resolve(host, int(port)), http_get, model,
                                    [int(v) for v in versions.split(",")], float(timeout))
        else:
            raise ValueError(check)
    except ValueError as exc:
        print(f"{USAGE} ({exc})", file=sys.stderr)
        return 2
    return report(problem)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
