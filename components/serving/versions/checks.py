"""The version gate's checks, run in a pod as `main(argv)` (components/jobs/pod.py carries this
file and kube_api.py into a stock Python image; standard library only). Two commands:

- `retire` (before the model config and the Deployment change): the version the endpoint serves
  now (the live Ingress's rewrite target) must stay loaded: unloading it while the Ingress routes
  to it would fail every request. With a canary, the served version must not move (the canary's
  pods answer its path; promotion removes the canary). And while the service sleeps (the idle schedule scaled it to
  zero) the endpoint must not move to another version: no server could show it AVAILABLE first.
  Passes when there is no Ingress yet (the first deployment).
- `serve` (before the endpoint switches): every loaded version (the one to serve first) must be
  AVAILABLE on every ready serving pod (the headless Service's DNS name lists them). It stops as
  soon as every server has given a final answer: AVAILABLE, or END with TF Serving's error (a
  failed load is never retried while the version stays listed), or, once the change had time to
  arrive (`settle`), a version the server does not know or has unloaded. Asleep, nothing to check.

What each TF Serving answer means, read from tensorflow/serving at 1.15.0 (the same at 2.19.1):
GET /v1/models/<m>/versions/<v> (http_rest_api_handler.cc ProcessModelStatusRequest) answers
`model_version_status[{version, state, status{error_code, error_message}}]`, state one of START,
LOADING, AVAILABLE, UNLOADING, END (get_model_status_impl.cc ManagerStateToStateProtoEnum); a
version the server's state monitor never saw is HTTP 404 `Could not find version <v> of model
<m>`; the monitor keeps every state for the life of the process (servable_state_monitor.cc
HandleEvent only overwrites), so a failed version stays END with its error and an unloaded one END
with OK. A version whose load failed and that stays listed is not loaded again
(aspired_versions_manager.cc ProcessAspiredVersionsRequest adds only versions not already
aspired; aspired_version_policy.cc loads only kNew harnesses).

Exit status: 0 done, 1 refused or failed (the message on stderr and as the container's
termination message), 2 bad arguments.
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
from dataclasses import dataclass
from typing import Any, Optional

from components.jobs.kube_api import api, asleep, read_ingress, report, scale_path

REWRITE = "nginx.ingress.kubernetes.io/rewrite-target"
RETRY = ("TF Serving does not load a version again after its load failed while it stays listed: fix "
         "its files, then raise model.reload to restart the servers one by one (docs/model-versions.md, "
         "\"Retry a failed load\")")


def served_by(ingress: dict, model: str) -> Optional[int]:
    """The version an Ingress routes the model's predict path to (None: it names none)."""
    target = ((ingress.get("metadata") or {}).get("annotations") or {}).get(REWRITE, "")
    match = re.fullmatch(rf"/v1/models/{re.escape(model)}/versions/(\d+):predict", target)
    return int(match.group(1)) if match else None


CANARY_VERSION = "elastic-inference.io/canary-version"
"""On the canary Ingress: the version its pods serve (components/network/public_endpoint.py writes it)."""


def canary_ingress_name(ingress: str) -> str:
    """The canary Ingress beside the main Ingress `ingress`."""
    return f"{ingress}-canary"


def canary_by(ingress: Optional[dict]) -> Optional[int]:
    """The version a live canary Ingress sends its share to (None: no canary Ingress)."""
    value = (((ingress or {}).get("metadata") or {}).get("annotations") or {}).get(CANARY_VERSION, "")
    return int(value) if value.isdigit() else None


def _wake_hint(deployment: str) -> str:
    """How to wake a sleeping service by hand (components/scaling/idle/schedule.py names the CronJob)."""
    return f"kubectl create job --from=cronjob/{deployment[:45]}-wake {deployment[:40]}-wake-now"


def retire_problem(ingress: Optional[dict], model: str, keep: Sequence[int], serve: Optional[int] = None,
                   sleeping: bool = False, deployment: str = "", canary: Optional[int] = None,
                   canary_ingress: Optional[dict] = None) -> Optional[str]:
    """Why the new config must not be applied yet (None: it may). `canary_ingress`: the live canary
    Ingress, read only while the service sleeps."""
    if ingress is None:
        return None
    served = served_by(ingress, model)
    if served is not None and served not in keep:
        return (f"model.versions drops version {served}, which the endpoint serves now: switch model.serve to "
                f"another loaded version first (pulumi up), then retire {served} in a second update")
    if canary is not None and serve is not None and served is not None and serve != served:
        # The canary's pods answer the served version's path with the canary's files: a switch
        # would move the path before they could answer it (docs/model-versions.md, "Canary").
        return (f"model.serve moves from {served} to {serve} while model.canary (version {canary}) is set: "
                f"promote in one update by setting model.serve to {canary} and removing model.canary, or "
                "remove model.canary first, then switch")
    if sleeping and serve is not None and served is not None and serve != served:
        return (f"the service sleeps (the idle schedule scaled {deployment} to 0), so no server can show version "
                f"{serve} AVAILABLE before the endpoint moves to it: wake it first "
                f"({_wake_hint(deployment)}, or wait for "
                "the schedule's wake), then run pulumi up again; loading versions while asleep is fine")
    live_canary = canary_by(canary_ingress)
    if sleeping and canary is not None and live_canary is not None and live_canary != canary:
        # The canary's pods would roll at zero replicas and first load the new version at the wake,
        # while its Ingress already sends them a share: nothing would have shown it AVAILABLE.
        return (f"the service sleeps (the idle schedule scaled {deployment} to 0), so no server can show canary "
                f"version {canary} AVAILABLE before the canary Ingress sends it model.canary.weight percent: "
                f"wake it first ({_wake_hint(deployment)}), then run pulumi up again")
    return None


@dataclass(frozen=True)
class State:
    """One server's answer for one version."""

    kind: str
    """AVAILABLE, LOADING, START, UNLOADING, END, UNKNOWN, HTTP <code>, unreachable, not reported."""
    detail: str = ""
    """TF Serving's error message, or what went wrong reaching it."""

    def final(self, settled: bool) -> bool:
        """Whether waiting longer can change it: AVAILABLE and a failed load never change; a version
        the server does not know (404) or has unloaded (END without error) is an answer once the
        change had time to arrive."""
        if self.kind == "AVAILABLE" or (self.kind == "END" and self.detail):
            return True
        return settled and (self.kind in ("END", "HTTP 404"))

    def __str__(self) -> str:
        if self.kind == "HTTP 404":
            return f"HTTP 404: {self.detail}" if self.detail else "HTTP 404 (not in its model config yet)"
        return self.kind + (f" ({self.detail})" if self.detail else "")


def version_state(get: Callable[[str], tuple[int, Any]], address: str, model: str, version: int) -> State:
    """One server's view of the version."""
    try:
        status, body = get(f"http://{address}/v1/models/{model}/versions/{version}")
    except OSError as exc:
        return State("unreachable", str(exc))
    if status != 200:
        message = body.get("error") if isinstance(body, dict) else None
        return State(f"HTTP {status}", message or "")
    for entry in body.get("model_version_status", []):
        if str(entry.get("version")) == str(version):
            status = entry.get("status") or {}
            error, code = status.get("error_message") or "", status.get("error_code")
            # The message alone does not say the code (util/status_util.cc ToStatusProto at 2.19.1).
            if error and code not in (None, "OK"):
                error = f"{code}: {error}"
            return State(entry.get("state", "UNKNOWN"), error)
    return State("not reported")


def serve_problem(addresses: Callable[[], list[str]], get: Callable[[str], tuple[int, Any]], model: str,
                  versions: Sequence[int], timeout: float, settle: float = 0.0,
                  wait: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic
                  ) -> Optional[str]:
    """Wait until every ready pod has every one of `versions` AVAILABLE; why not, once every answer
    is final (`State.final`) or the time is up: each pod and version that is not, in the server's
    words."""
    start = clock()
    states: dict[tuple[str, int], State] = {}
    while True:
        found = addresses()
        states = {(address, v): version_state(get, address, model, v) for address in found for v in versions}
        if found and all(state.kind == "AVAILABLE" for state in states.values()):
            return None
        elapsed = clock() - start
        if (found and all(state.final(elapsed >= settle) for state in states.values())) or elapsed >= timeout:
            break
        wait(5)
    wanted = ", ".join(str(v) for v in versions)
    if not states:
        return f"no ready serving pod answered for version(s) {wanted} of {model} within {timeout:.0f}s"
    failing = {key: state for key, state in sorted(states.items()) if state.kind != "AVAILABLE"}
    detail = "; ".join(f"{address} version {v}: {state}" for (address, v), state in failing.items())
    when = f"after {clock() - start:.0f}s" if clock() - start < timeout else f"within {timeout:.0f}s"
    hint = f"; {RETRY}" if any(state.kind == "END" and state.detail for state in failing.values()) else ""
    return (f"version(s) {wanted} of {model} not AVAILABLE on every ready pod {when} ({detail}){hint}; "
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


USAGE = ("usage: retire NAMESPACE INGRESS MODEL V1,V2 SERVE DEPLOYMENT CANARY|- | "
         "serve HOST PORT MODEL V1,V2 TIMEOUT SETTLE NAMESPACE DEPLOYMENT")


def main(argv: Sequence[str]) -> int:
    try:
        check, *rest = argv
        if check == "retire":
            namespace, ingress, model, keep, serve, deployment, canary = rest
            ingress_now = read_ingress(namespace, ingress)
            sleeping = ingress_now is not None and asleep(api(scale_path(namespace, deployment)))
            wanted = None if canary == "-" else int(canary)
            live_canary = (read_ingress(namespace, canary_ingress_name(ingress)) if sleeping and wanted is not None
                           else None)
            problem = retire_problem(ingress_now, model, [int(v) for v in keep.split(",")], int(serve), sleeping,
                                     deployment, wanted, live_canary)
        elif check == "serve":
            host, port, model, versions, timeout, settle, namespace, deployment = rest
            if asleep(api(scale_path(namespace, deployment))):
                print("asleep (0 replicas): the versions load when the idle schedule wakes the pods")
                return 0
            problem = serve_problem(resolve(host, int(port)), http_get, model,
                                    [int(v) for v in versions.split(",")], float(timeout), float(settle))
        else:
            raise ValueError(check)
    except ValueError as exc:
        print(f"{USAGE} ({exc})", file=sys.stderr)
        return 2
    return report(problem)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
