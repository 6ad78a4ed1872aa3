"""The script of the stack's Jobs, run as `python -c <this file> <command> ...` in a stock Python
image (standard library only). Three commands:

- `retire` (the version gate, before the model config): the version the endpoint serves now (the
  live Ingress's rewrite target) must stay loaded. Unloading it while the Ingress still routes to
  it would fail every request. Passes when there is no Ingress yet (the first deployment).
- `serve` (the version gate, before the endpoint switches): every loaded version (the one to serve
  among them) must be AVAILABLE on every ready serving pod (the headless Service's DNS name lists
  them). TF Serving answers GET /v1/models/<m>/versions/<v> with `model_version_status[].state`,
  and an error message when a load failed. Exits non-zero, saying which pod is in which state and
  why, when not AVAILABLE everywhere within the timeout: the Ingress then keeps serving the old
  version. A Deployment scaled to zero by the idle schedule has nothing to check: passes.
- `scale` (the idle schedule's CronJobs): sets the Deployment's replicas through its scale
  subresource; at zero the HPA stands aside until the wake sets them back.

Exit status: 0 done, 1 refused or failed (the message on stderr), 2 bad arguments.
"""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any, Optional

REWRITE = "nginx.ingress.kubernetes.io/rewrite-target"
# In a pod: the API server and the service account's token and CA. The two variables are the
# tests' way to point the real script at a stand-in API (an http:// URL uses no TLS).
ACCOUNT = os.environ.get("JOB_SCRIPT_ACCOUNT", "/var/run/secrets/kubernetes.io/serviceaccount")
API = os.environ.get("JOB_SCRIPT_API", "https://kubernetes.default.svc")


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


def api(path: str, method: str = "GET", body: Optional[dict] = None,
        content_type: str = "application/json") -> Optional[dict]:
    """A call to the Kubernetes API with the pod's service account (None: 404 Not Found)."""
    with open(f"{ACCOUNT}/token", encoding="utf-8") as handle:
        token = handle.read().strip()
    context = ssl.create_default_context(cafile=f"{ACCOUNT}/ca.crt") if API.startswith("https://") else None
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{API}{path}", data=data, method=method,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def read_ingress(namespace: str, name: str) -> Optional[dict]:
    """The live Ingress (None: not found)."""
    return api(f"/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses/{name}")


def scale_path(namespace: str, deployment: str) -> str:
    return f"/apis/apps/v1/namespaces/{namespace}/deployments/{deployment}/scale"


def asleep(scale: Optional[dict]) -> bool:
    """A Deployment the idle schedule scaled to zero (its scale subresource says 0 replicas)."""
    return scale is not None and (scale.get("spec") or {}).get("replicas") == 0


def set_replicas(namespace: str, deployment: str, replicas: int) -> Optional[str]:
    """Scale the Deployment (a merge patch of its scale subresource); why not, or None."""
    done = api(scale_path(namespace, deployment), "PATCH", {"spec": {"replicas": replicas}},
               "application/merge-patch+json")
    return f"deployment {namespace}/{deployment} not found" if done is None else None


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
        elif check == "scale":
            namespace, deployment, replicas = rest
            problem = set_replicas(namespace, deployment, int(replicas))
        else:
            raise ValueError(check)
    except ValueError as exc:
        print("usage: retire NAMESPACE INGRESS MODEL V1,V2 | serve HOST PORT MODEL V1,V2 TIMEOUT NAMESPACE DEPLOYMENT"
              f" | scale NAMESPACE DEPLOYMENT REPLICAS ({exc})",
              file=sys.stderr)
        return 2
    if problem is not None:
        print(problem, file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
