"""The load test as a Kubernetes Job in the target cluster: `--in-cluster --parallel N`.

Kubernetes is the distributed engine: an Indexed Job of N pods, each the project's own driver
(loadtest/pod.py) on share `JOB_COMPLETION_INDEX` of the schedule, all starting at one agreed
wall-clock instant; no coordinator beyond the Job, its pods and that instant. The code and the
payload travel in a ConfigMap; the image is a stock Python image that installs the pinned aiohttp
at start (docs/loadtest.md, "Load from many machines", says why). Each pod prints its outcomes to its log
(shares.py lines); the runner reads the logs back, merges them into the one schedule, and deletes
the Job and the ConfigMap. A share that did not come home (a pod that failed, never ran, or whose
log lost lines) is reported, and its requests count as failed with that cause.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

from .driver import Outcome
from .profile import Profile
from .shares import decode, merge, outcomes_of, split

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
# The modules a driver pod runs: the standard library, aiohttp, and these.
POD_MODULES = ("__init__.py", "driver.py", "profile.py", "shares.py", "pod.py")
# A stock image (Docker Hub's official Python, a tag of the Python line this project runs on; the
# same as the stack's version checks, config `serving.checkImage`); the pod installs the pinned
# aiohttp at start. --image replaces it (a mirror, your own build).
DEFAULT_IMAGE = "python:3.12-slim-bookworm"
INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
# Kubelet rotates a container log at 10 MiB by default (containerLogMaxSize); a share's samples
# must fit well inside one file to come home whole (about 5 bytes a request compressed).
MAX_SHARE = 1_000_000


def aiohttp_pin() -> str:
    """The aiohttp requirement the project pins (requirements-loadtest.txt), for the pods."""
    for line in (ROOT / "requirements-loadtest.txt").read_text(encoding="utf-8").splitlines():
        if re.match(r"^aiohttp==\S+$", line.strip()):
            return line.strip()
    raise RuntimeError("requirements-loadtest.txt pins no aiohttp version")


@dataclass(frozen=True)
class JobPlan:
    """What the Job needs to know."""

    name: str
    namespace: str
    url: str
    profile: Profile
    parallel: int
    start_at: float
    """Wall-clock instant (time.time()) every pod starts its share at."""
    image: str = DEFAULT_IMAGE
    timeout: float = 10.0
    max_in_flight: int = 2000
    host_header: Optional[str] = None
    request_id: Optional[str] = None
    """X-Request-ID on every request (the run's id, which the ingress log records)."""
    pip_index_url: Optional[str] = None
    cpu: str = "1"
    memory: str = "1Gi"

    @property
    def labels(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": "loadtest", "app.kubernetes.io/instance": self.name,
                "app.kubernetes.io/managed-by": "elastic-inference-loadtest"}

    def deadline(self, now: float) -> float:
        """Seconds the Job may live: until the start, the run, the last timeout and slack."""
        return max(0.0, self.start_at - now) + self.profile.duration + self.timeout + 300


def new_name() -> str:
    return f"loadtest-{secrets.token_hex(4)}"


def config_map_manifest(plan: JobPlan, payload: bytes) -> dict:
    """The driver's code and the request body. ConfigMap keys cannot hold '/', so the Job maps
    each key to its path in the volume."""
    data = {name: (PACKAGE / name).read_text(encoding="utf-8") for name in POD_MODULES}
    data["payload.json"] = payload.decode("utf-8")
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": plan.name, "namespace": plan.namespace, "labels": plan.labels}, "data": data}


def job_manifest(plan: JobPlan, now: float) -> dict:
    """An Indexed Job: pod i drives share i, once; removed after an hour if the runner could not
    delete it."""
    phases = [asdict(p) for p in plan.profile.phases]
    env = {"LOADTEST_URL": plan.url, "LOADTEST_PHASES": json.dumps(phases), "LOADTEST_SHARES": str(plan.parallel),
           "LOADTEST_START_AT": f"{plan.start_at:.3f}", "LOADTEST_TIMEOUT": f"{plan.timeout:g}",
           "LOADTEST_MAX_IN_FLIGHT": str(plan.max_in_flight), "LOADTEST_PAYLOAD": "/app/payload.json",
           "HOME": "/tmp", "PYTHONUSERBASE": "/tmp/pip", "PYTHONDONTWRITEBYTECODE": "1"}
    if plan.host_header:
        env["LOADTEST_HOST_HEADER"] = plan.host_header
    if plan.request_id:
        env["LOADTEST_REQUEST_ID"] = plan.request_id
    index = f" --index-url {plan.pip_index_url}" if plan.pip_index_url else ""
    install = f"pip install --quiet --no-cache-dir --user --disable-pip-version-check{index} '{aiohttp_pin()}'"
    items = [{"key": name, "path": f"loadtest/{name}"} for name in POD_MODULES]
    items.append({"key": "payload.json", "path": "payload.json"})
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": plan.name, "namespace": plan.namespace, "labels": plan.labels},
        "spec": {
            "completionMode": "Indexed",
            "completions": plan.parallel,
            "parallelism": plan.parallel,
            # Per index, not for the Job: a failed driver is neither retried (it would run its
            # share late, twice) nor allowed to stop the others (backoffLimit would fail the Job).
            "backoffLimitPerIndex": 0,
            "activeDeadlineSeconds": int(plan.deadline(now)),
            "ttlSecondsAfterFinished": 3600,
            "template": {
                "metadata": {"labels": plan.labels},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    # One driver per node where possible: each brings its own CPU and NIC.
                    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                                   "whenUnsatisfiable": "ScheduleAnyway",
                                                   "labelSelector": {"matchLabels": plan.labels}}],
                    "containers": [{
                        "name": "driver",
                        "image": plan.image,
                        "command": ["sh", "-c", f"{install} && exec python -m loadtest.pod"],
                        "workingDir": "/app",
                        "env": [{"name": k, "value": v} for k, v in env.items()],
                        "resources": {"requests": {"cpu": plan.cpu, "memory": plan.memory},
                                      "limits": {"cpu": plan.cpu, "memory": plan.memory}},
                        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}},
                        "volumeMounts": [{"name": "code", "mountPath": "/app", "readOnly": True},
                                         {"name": "tmp", "mountPath": "/tmp"}],
                    }],
                    "volumes": [{"name": "code", "configMap": {"name": plan.name, "items": items}},
                                {"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }


@dataclass(frozen=True)
class DriverReport:
    """How one share fared."""

    index: int
    pod: Optional[str]
    problem: Optional[str]
    """None: every sample came home."""


def collect(schedule: Sequence[tuple[float, str]], parallel: int, logs: dict[int, tuple[Optional[str], str, str]]
            ) -> tuple[list[Outcome], list[DriverReport]]:
    """Merge the shares from each index's (pod name, pod state, log text). A share without a
    complete log is reported and its missing requests count as failed."""
    shares = split(list(schedule), parallel)
    outcomes, reports = [], []
    for index, share in enumerate(shares):
        pod, state, text = logs.get(index, (None, "no pod ran", ""))
        received = decode(text.splitlines()).get(index)
        problem = received.problem() if received is not None else None
        if received is None:
            problem = "no samples in its log"
        if problem is not None and state not in ("Succeeded", ""):
            problem = f"{state}; {problem}"
        reports.append(DriverReport(index, pod, problem))
        outcomes.append(outcomes_of(share, received, f"driver {index} lost"))
    return merge(outcomes), reports


def _state(pod: Any) -> str:
    """A pod's end, in words: Succeeded, or why it did not."""
    status = pod.status
    for container in status.container_statuses or []:
        ended = container.state.terminated if container.state else None
        if ended is not None and ended.exit_code:
            return f"pod {pod.metadata.name} failed: {ended.reason or 'Error'}, exit code {ended.exit_code}"
    return status.phase or "Unknown"


def run(api: Any, plan: JobPlan, payload: bytes, *, wait: Callable[[float], None] = time.sleep,
        on_status: Optional[Callable[[str], None]] = None) -> tuple[list[Outcome], list[DriverReport]]:
    """Create the ConfigMap and the Job, wait for the Job to end, read the logs, delete both."""
    # Imported here: only an in-cluster run needs the Kubernetes client's models.
    from kubernetes import client  # noqa: PLC0415

    # Typed as Any: the client takes manifests as plain dicts, and its models mark every field
    # Optional where the API server always fills them in (a Job's status, a pod's metadata).
    core: Any = client.CoreV1Api(api)
    batch: Any = client.BatchV1Api(api)
    schedule = plan.profile.schedule()
    say = on_status or (lambda message: None)
    core.create_namespaced_config_map(plan.namespace, config_map_manifest(plan, payload))
    try:
        batch.create_namespaced_job(plan.namespace, job_manifest(plan, time.time()))
        give_up = time.time() + plan.deadline(time.time()) + 60
        last = ""
        while True:
            status = batch.read_namespaced_job_status(plan.name, plan.namespace).status
            done = (status.succeeded or 0) + (status.failed or 0)
            ended = any(c.type in ("Complete", "Failed") and c.status == "True" for c in status.conditions or [])
            message = (f"job {plan.name}: {status.active or 0} running, {status.succeeded or 0} done, "
                       f"{status.failed or 0} failed of {plan.parallel}")
            if message != last:
                say(message)
                last = message
            if done >= plan.parallel or ended or time.time() > give_up:
                break
            wait(2.0)
        pods = core.list_namespaced_pod(plan.namespace, label_selector=f"job-name={plan.name}").items
        logs: dict[int, tuple[Optional[str], str, str]] = {}
        for pod in pods:
            index = int((pod.metadata.annotations or {}).get(INDEX_ANNOTATION, -1))
            try:
                text = core.read_namespaced_pod_log(pod.metadata.name, plan.namespace, container="driver")
            except client.ApiException as exc:
                text = ""
                say(f"pod {pod.metadata.name}: its log could not be read ({exc.status} {exc.reason})")
            logs[index] = (pod.metadata.name, _state(pod), text)
        return collect(schedule, plan.parallel, logs)
    finally:
        # Foreground: the pods go with the Job; the TTL is only the backstop.
        for delete in (lambda: batch.delete_namespaced_job(plan.name, plan.namespace,
                                                           propagation_policy="Foreground"),
                       lambda: core.delete_namespaced_config_map(plan.name, plan.namespace)):
            try:
                delete()
            except client.ApiException as exc:
                if exc.status != 404:
                    say(f"cleanup: {exc.status} {exc.reason} (the Job's TTL removes it within an hour)")
