"""Loopback stand-ins for the tests and the demo: a TF Serving REST server and the few
Kubernetes API responses the watcher reads. They listen on 127.0.0.1 only.

`SimulatedHpa` makes the Kubernetes stand-in report what an HPA would on the stand-in server's QPS
(config/hpa.py's controller, in compressed time), so a demo run shows a scale-out and scale-in.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from aiohttp import web

from config.hpa import SYNC_SECONDS, Controller, HpaSpec
from settings import ScalingBehavior


class BackgroundServer:
    """Run an aiohttp app on 127.0.0.1:<free port> in a thread of its own."""

    def __init__(self, app: web.Application):
        self.app = app
        self.address: Optional[tuple[str, int]] = None
        """(host, port) the listening socket is bound to, as the OS reports it."""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._runner: Optional[web.AppRunner] = None

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._runner = web.AppRunner(self.app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
            await site.start()
            server = site._server
            assert isinstance(server, asyncio.Server)
            host, port = server.sockets[0].getsockname()[:2]
            self.address = (host, port)

        self._loop.run_until_complete(start())
        # Ready only once run_forever() runs: a stop scheduled from __exit__ before that would be
        # consumed by run_until_complete and lost, and the loop would then run for ever.
        self._loop.call_soon(self._ready.set)
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())  # type: ignore[union-attr]
        self._loop.close()

    @property
    def url(self) -> str:
        assert self.address is not None, "the server has not started"
        return f"http://{self.address[0]}:{self.address[1]}"

    def __enter__(self) -> BackgroundServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("stand-in server did not start")
        return self

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if self._thread.is_alive():
            raise RuntimeError("stand-in server did not stop within 10 s")


@dataclass
class TfServingStandIn:
    """Answers predict and model status like TF Serving's REST API, for versions that have settled
    (loaded, or never seen); loadtest/tfserving_process.py has the version lifecycle in time. The
    answers' shapes and texts are TF Serving's (tensorflow/serving at 1.15.0:
    http_rest_api_handler.cc ProcessModelStatusRequest, get_model_status_impl.cc L75-107)."""

    model: str = "chnsenticorp"
    latency: float = 0.005
    first_latencies: tuple[float, ...] = ()
    """Its first predictions' latencies, before `latency` (a version loaded without a warmup file
    answers its first requests slowly: TF Serving's SavedModel Warmup guide; docs/warmup.md)."""
    fail_every: int = 0
    """Answer HTTP 500 to every n-th predict (0: never)."""
    requests: int = 0
    arrivals: deque = field(default_factory=lambda: deque(maxlen=200_000))
    loaded: frozenset[int] = frozenset({1})
    """The versions the server has AVAILABLE."""
    served: Callable[[], int] = lambda: 1
    """The version the (stand-in) Ingress routes the public predict path to."""
    answered: Counter = field(default_factory=Counter)
    """Predictions answered, per version."""
    ready: Callable[[], bool] = lambda: True
    """Whether any serving pod is ready; if not, 503 as ingress-nginx answers a Service without
    endpoints."""

    def qps(self, window: float = 10.0) -> float:
        """Predict requests per second over the last `window` seconds."""
        now = time.monotonic()
        return sum(1 for t in list(self.arrivals) if now - t <= window) / window

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(f"/v1/models/{self.model}:predict", self._predict)
        # The path an Ingress rewrites to (http_rest_api_handler.cc at 1.15.0 L56-57, prediction_api_regex_).
        app.router.add_post(f"/v1/models/{self.model}/versions/{{version:\\d+}}:predict", self._predict)
        app.router.add_get(f"/v1/models/{self.model}", self._status)
        app.router.add_get(f"/v1/models/{self.model}/versions/{{version}}", self._status)
        return app

    async def _predict(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests += 1
        self.arrivals.append(time.monotonic())
        number = self.requests
        if not self.ready():
            return web.Response(status=503, text="503 Service Temporarily Unavailable")
        asked = request.match_info.get("version")
        version = int(asked) if asked is not None else self.served()
        await asyncio.sleep(self.first_latencies[number - 1] if number <= len(self.first_latencies) else self.latency)
        if self.fail_every and number % self.fail_every == 0:
            return web.json_response({"error": "stand-in failure"}, status=500)
        if version not in self.loaded:
            # What TF Serving answers for a version it has not loaded.
            return web.json_response({"error": f"Servable not found for request: Specific({self.model}, "
                                               f"{version})"}, status=404)
        self.answered[version] += 1
        rows = len(body.get("instances", [0]))
        return web.json_response({"predictions": [[0.08, 0.92]] * rows})

    async def _status(self, request: web.Request) -> web.Response:
        asked = request.match_info.get("version")
        versions = sorted(self.loaded) if asked is None else [int(asked)]
        if any(v not in self.loaded for v in versions) or not versions:
            text = (f"Could not find any versions of model {self.model}" if asked is None
                    else f"Could not find version {asked} of model {self.model}")
            return web.json_response({"error": text}, status=404)
        return web.json_response({"model_version_status": [
            {"version": str(v), "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
            for v in versions]})


@dataclass
class SimulatedHpa:
    """The HPA the Kubernetes stand-in reports: the controller of config/hpa.py (upstream's
    algorithm, the one the planner and the capacity rule use) on the stand-in server's QPS, its
    clock running `speed` times faster than the wall's (a sync every SYNC_SECONDS / speed). Pods
    are ready the moment the controller writes the count (the stand-in server has no start-up)."""

    qps: Callable[[], float]
    spec: HpaSpec
    speed: float = 1.0
    replicas: int = 0
    _controller: Optional[Controller] = None
    _start: float = 0.0
    _next_sync: float = 0.0

    def __post_init__(self) -> None:
        self.replicas = self.spec.min_replicas
        self._controller = Controller(self.spec)
        self._start = time.monotonic()
        self._next_sync = SYNC_SECONDS  # the first sync after one period, as after the HPA is made

    def step(self) -> tuple[int, int, float]:
        """(current, desired, per-pod metric) now: the HPA's status as the watcher reads it."""
        now = (time.monotonic() - self._start) * self.speed
        total = self.qps()
        assert self._controller is not None
        while now >= self._next_sync:
            self.replicas = self._controller.reconcile(self._next_sync, self.replicas, self.replicas,
                                                       round(total * 1000))
            self._next_sync += SYNC_SECONDS
        return self.replicas, self.replicas, total / max(self.replicas, 1)


def hpa_of(min_replicas: int, max_replicas: int, target_qps: float, behavior: ScalingBehavior) -> HpaSpec:
    """The HPA the program writes for these bounds and behavior (its `spec.behavior` is
    ScalingBehavior.manifest(), as components/scaling/autoscaler.py writes it)."""
    return HpaSpec.of(min_replicas, max_replicas, round(target_qps * 1000), behavior.manifest())


INGRESS_POD = "nginx-ingress-controller-5d9f8b7c6-abcde"
"""The one ingress controller pod the stand-in lists when it serves an access log."""


@dataclass
class KubernetesStandIn:
    """The HPA, Deployment and pod list responses the watcher reads."""

    namespace: str = "inference"
    hpa: str = "bert-tfserving"
    deployment: str = "bert-tfserving"
    state: Callable[[], tuple[int, int, Optional[float]]] = lambda: (1, 1, 0.0)
    """Returns (current replicas, desired replicas, per-pod metric or None)."""
    jobs: Optional[JobsStandIn] = None
    """Also answer an in-cluster run's Job, ConfigMap and log requests."""
    served: Optional[Callable[[], int]] = None
    """The version the Ingress (named like the Deployment) routes to; None: no Ingress."""
    model: str = "chnsenticorp"
    replicas: int = 1
    """The Deployment's scale (its scale subresource reads and patches it)."""
    scale_calls: list = field(default_factory=list)
    """(method, replicas) of every scale request, with the service-account token it carried."""
    scaled_at: float = 0.0
    """time.monotonic() of the last scale patch."""
    nodes_readable: bool = True
    """False: node reads are Forbidden (403), as for a kubeconfig without the cluster-scoped `get
    nodes`."""
    node_reads: list = field(default_factory=list)
    """Names of the nodes read (the watcher reads each once)."""
    ingress_log: Optional[Callable[[], list[str]]] = None
    """The ingress controller's access-log lines (an IngressNginxStandIn's `log`), served as the
    log of one controller pod in `ingress_namespace`; None: no such pod."""
    ingress_namespace: str = "kube-system"
    ingress_labels: str = "app=ingress-nginx"

    def app(self) -> web.Application:
        app = web.Application()
        ns = self.namespace
        app.router.add_get("/version", self._version)
        app.router.add_get(f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/{self.hpa}", self._hpa)
        app.router.add_get(f"/apis/apps/v1/namespaces/{ns}/deployments/{self.deployment}", self._deployment)
        app.router.add_get(f"/api/v1/namespaces/{ns}/pods", self._pods)
        app.router.add_get("/api/v1/nodes/{name}", self._node)
        app.router.add_get(f"/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/{self.deployment}", self._ingress)
        scale = f"/apis/apps/v1/namespaces/{ns}/deployments/{self.deployment}/scale"
        app.router.add_get(scale, self._scale)
        app.router.add_patch(scale, self._scale)
        if self.jobs is not None:
            self.jobs.routes(app)
        if self.ingress_log is not None:
            app.router.add_get(f"/api/v1/namespaces/{self.ingress_namespace}/pods", self._ingress_pods)
            app.router.add_get(f"/api/v1/namespaces/{self.ingress_namespace}/pods/{{name}}/log", self._ingress_pod_log)
        return app

    async def _ingress_pods(self, request: web.Request) -> web.Response:
        wanted = request.query.get("labelSelector", "")
        items = [] if wanted != self.ingress_labels else [{
            "metadata": {"name": INGRESS_POD, "namespace": self.ingress_namespace,
                         "labels": dict([self.ingress_labels.split("=", 1)])},
            "spec": {"containers": [{"name": "nginx-ingress-controller"}]}, "status": {"phase": "Running"}}]
        return web.json_response({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items})

    async def _ingress_pod_log(self, request: web.Request) -> web.Response:
        """The container's log as the kubelet serves it: text, one line per entry (the access log
        goes to the controller's stdout)."""
        name = request.match_info["name"]
        if name != INGRESS_POD:
            return self._status(404, "NotFound", f'pods "{name}" not found')
        assert self.ingress_log is not None
        return web.Response(text="".join(line + "\n" for line in self.ingress_log()), content_type="text/plain")

    async def _version(self, request: web.Request) -> web.Response:
        """GET /version, as the API server's version.Info has it (k8s.io/apimachinery pkg/version)."""
        return web.json_response({"major": "1", "minor": "33", "gitVersion": "v1.33.0", "gitCommit": "standin",
                                  "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24",
                                  "compiler": "gc", "platform": "linux/amd64"})

    async def _hpa(self, request: web.Request) -> web.Response:
        current, desired, metric = self.state()
        metrics = [] if metric is None else [{"type": "External", "external": {
            "metric": {"name": "sls_ingress_qps"},
            "current": {"averageValue": f"{round(metric * 1000)}m"}}}]
        return web.json_response({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": self.hpa, "namespace": self.namespace},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": self.deployment},
                     "minReplicas": 1, "maxReplicas": 10, "metrics": []},
            "status": {"currentReplicas": current, "desiredReplicas": desired, "currentMetrics": metrics,
                       "conditions": [{"type": "ScalingActive", "status": "True" if metric is not None else "False",
                                       "lastTransitionTime": "2026-01-01T00:00:00Z"}]},
        })

    async def _scale(self, request: web.Request) -> web.Response:
        if request.method == "PATCH":
            # The job script sends a merge patch, the Kubernetes client a strategic merge patch.
            if request.content_type not in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
                return web.json_response({"kind": "Status", "code": 415}, status=415)
            self.replicas = int((await request.json())["spec"]["replicas"])
            self.scaled_at = time.monotonic()
        self.scale_calls.append((request.method, self.replicas, request.headers.get("Authorization")))
        return web.json_response({"apiVersion": "autoscaling/v1", "kind": "Scale",
                                  "metadata": {"name": self.deployment, "namespace": self.namespace},
                                  "spec": {"replicas": self.replicas}, "status": {"replicas": self.replicas}})

    async def _ingress(self, request: web.Request) -> web.Response:
        if self.served is None:
            return self._status(404, "NotFound", f'ingresses.networking.k8s.io "{self.deployment}" not found')
        target = f"/v1/models/{self.model}/versions/{self.served()}:predict"
        return web.json_response({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                                  "metadata": {"name": self.deployment, "namespace": self.namespace,
                                               "annotations": {"nginx.ingress.kubernetes.io/rewrite-target": target}},
                                  "spec": {}})

    async def _deployment(self, request: web.Request) -> web.Response:
        return web.json_response({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": self.deployment, "namespace": self.namespace},
            "spec": {"selector": {"matchLabels": {"app.kubernetes.io/instance": self.deployment,
                                                  "app.kubernetes.io/name": "tensorflow-serving"}},
                     "template": {"metadata": {}, "spec": {"containers": []}}},
        })

    @staticmethod
    def _status(code: int, reason: str, message: str) -> web.Response:
        """A failure as the API server writes it (a metav1.Status)."""
        return web.json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                  "message": message, "reason": reason, "code": code}, status=code)

    async def _node(self, request: web.Request) -> web.Response:
        """A pool node as ACK's cloud-controller-manager labels it (loadtest/watcher.py cites the
        lines): pay-as-you-go ECS instances (PostPaid), spot unless NoSpot; gpu-node-2, -6, ...
        are the pool's pay-as-you-go share. `gpu-node-legacy-*` stands for a node labelled by a
        CCM older than v2.10.0 (neither label). Unknown names are 404, as for a deleted node."""
        name = request.match_info["name"]
        self.node_reads.append(name)
        if not self.nodes_readable:
            return self._status(403, "Forbidden", f'nodes "{name}" is forbidden: User "load-tester" cannot get '
                                                  'resource "nodes" in API group "" at the cluster scope')
        labels = {"kubernetes.io/hostname": name, "node.kubernetes.io/instance-type": "ecs.gn6i-c8g1.2xlarge"}
        if name.startswith("gpu-node-") and name.removeprefix("gpu-node-").isdigit():
            index = int(name.removeprefix("gpu-node-"))
            labels.update({"node.alibabacloud.com/instance-charge-type": "PostPaid",
                           "node.alibabacloud.com/spot-strategy": "NoSpot" if index % 4 == 2 else "SpotAsPriceGo"})
        elif not name.startswith("gpu-node-legacy-"):
            return self._status(404, "NotFound", f'nodes "{name}" not found')
        return web.json_response({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels},
                                  "spec": {}, "status": {}})

    async def _pods(self, request: web.Request) -> web.Response:
        current, _, _ = self.state()
        selector = request.query.get("labelSelector", "")
        job_pods = None if self.jobs is None else self.jobs.pod_list(selector)
        if job_pods is not None:
            return web.json_response({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": job_pods})
        items = []
        if "app.kubernetes.io/instance=" + self.deployment in selector:
            for i in range(current):
                # Odd pods on ECI (its instance id written back; every other one asked for spot),
                # even ones on the pool's nodes.
                eci = {"k8s.aliyun.com/eci-instance-id": f"eci-{i:04d}",
                       **({"k8s.aliyun.com/eci-spot-strategy": "SpotAsPriceGo"} if i % 4 == 1 else {})}
                items.append({
                    "metadata": {"name": f"{self.deployment}-{i}", "namespace": self.namespace,
                                 "annotations": eci if i % 2 else {}},
                    "spec": {"nodeName": "virtual-kubelet-cn-beijing-h" if i % 2 else f"gpu-node-{i}",
                             "containers": []},
                    "status": {"conditions": [{"type": "Ready", "status": "True"}]},
                })
        return web.json_response({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items})


@dataclass
class StandInPod:
    """A Job's pod, run as a local process."""

    name: str
    index: int
    process: subprocess.Popen
    log: Path


@dataclass
class JobsStandIn:
    """The Job, ConfigMap, pod and log endpoints an in-cluster load run uses. Each Job index runs
    as a local process on the code the ConfigMap carries (laid out as the Job's volume says),
    with the Job's environment; the container's command (a pip install first) is not run: the
    test's interpreter already has aiohttp. `fail_index` makes that index exit 3 at once."""

    workdir: Path
    namespace: str = "inference"
    fail_index: Optional[int] = None
    config_maps: dict[str, dict] = field(default_factory=dict)
    jobs: dict[str, dict] = field(default_factory=dict)
    pods: dict[str, list[StandInPod]] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)

    def routes(self, app: web.Application) -> None:
        ns = self.namespace
        app.router.add_post(f"/api/v1/namespaces/{ns}/configmaps", self._create_config_map)
        app.router.add_delete(f"/api/v1/namespaces/{ns}/configmaps/{{name}}", self._delete_config_map)
        app.router.add_post(f"/apis/batch/v1/namespaces/{ns}/jobs", self._create_job)
        app.router.add_get(f"/apis/batch/v1/namespaces/{ns}/jobs/{{name}}/status", self._job_status)
        app.router.add_delete(f"/apis/batch/v1/namespaces/{ns}/jobs/{{name}}", self._delete_job)
        app.router.add_get(f"/api/v1/namespaces/{ns}/pods/{{name}}/log", self._log)

    async def _create_config_map(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.config_maps[body["metadata"]["name"]] = body
        return web.json_response(body, status=201)

    async def _delete_config_map(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.config_maps.pop(name)
        self.deleted.append(f"ConfigMap/{name}")
        return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Success"})

    async def _create_job(self, request: web.Request) -> web.Response:
        job = await request.json()
        name, spec = job["metadata"]["name"], job["spec"]
        pod_spec = spec["template"]["spec"]
        volume = next(v for v in pod_spec["volumes"] if "configMap" in v)
        files = self.config_maps[volume["configMap"]["name"]]["data"]
        root = self.workdir / name
        for item in volume["configMap"]["items"]:
            target = root / item["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(files[item["key"]], encoding="utf-8")
        container = pod_spec["containers"][0]
        env = {e["name"]: e["value"] for e in container["env"]}
        env["LOADTEST_PAYLOAD"] = str(root / "payload.json")
        for scratch in ("HOME", "PYTHONUSERBASE"):  # the pod's /tmp volume; here the test's own
            env.pop(scratch)
        pods = []
        for index in range(spec["completions"]):
            log = root / f"pod-{index}.log"
            command = ([sys.executable, "-c", "import sys; print('boom', file=sys.stderr); sys.exit(3)"]
                       if index == self.fail_index else [sys.executable, "-m", "loadtest.pod"])
            with log.open("wb") as out:
                process = subprocess.Popen(command, cwd=root, stdout=out, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL,
                                           env={**os.environ, **env, "JOB_COMPLETION_INDEX": str(index)})
            pods.append(StandInPod(f"{name}-{index}-x{index:03d}", index, process, log))
        self.jobs[name], self.pods[name] = job, pods
        return web.json_response(job, status=201)

    def _counts(self, name: str) -> tuple[int, int, int]:
        codes = [p.process.poll() for p in self.pods[name]]
        return (sum(1 for c in codes if c is None), sum(1 for c in codes if c == 0),
                sum(1 for c in codes if c not in (None, 0)))

    async def _job_status(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        active, succeeded, failed = self._counts(name)
        conditions = [] if active else [{"type": "Complete" if not failed else "Failed", "status": "True"}]
        return web.json_response({**self.jobs[name], "status": {
            "active": active, "succeeded": succeeded, "failed": failed, "conditions": conditions}})

    async def _delete_job(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        for pod in self.pods.pop(name):
            if pod.process.poll() is None:
                pod.process.kill()
            pod.process.wait()
        self.jobs.pop(name)
        self.deleted.append(f"Job/{name}")
        return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Success"})

    def pod_list(self, selector: str) -> Optional[list[dict]]:
        """The pods of `job-name=<job>`, or None when the selector is not a Job's."""
        match = re.search(r"job-name=([a-z0-9-]+)", selector)
        if match is None:
            return None
        items = []
        for pod in self.pods.get(match.group(1), []):
            code = pod.process.poll()
            phase = "Running" if code is None else "Succeeded" if code == 0 else "Failed"
            state = {"running": {}} if code is None else {"terminated": {
                "exitCode": code, "reason": "Completed" if code == 0 else "Error"}}
            items.append({
                "metadata": {"name": pod.name, "namespace": self.namespace, "labels": {"job-name": match.group(1)},
                             "annotations": {"batch.kubernetes.io/job-completion-index": str(pod.index)}},
                "spec": {"containers": [{"name": "driver"}]},
                "status": {"phase": phase, "containerStatuses": [{
                    "name": "driver", "image": "python", "imageID": "", "ready": code is None,
                    "restartCount": 0, "state": state}]},
            })
        return items

    async def _log(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        pod = next(p for pods in self.pods.values() for p in pods if p.name == name)
        return web.Response(text=pod.log.read_text(encoding="utf-8", errors="replace"))


def target_flags(serving_url: str, api_url: str, target_qps: float = 10, min_replicas: int = 1) -> list[str]:
    """The load command's target flags for a run against the stand-ins."""
    return [
        "--predict-url", f"{serving_url}/v1/models/chnsenticorp:predict", "--namespace", "inference",
        "--hpa", "bert-tfserving", "--deployment", "bert-tfserving", "--target-qps", f"{target_qps:g}",
        "--min-replicas", str(min_replicas), "--kube-api-url", api_url,
    ]
