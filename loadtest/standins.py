"""Loopback stand-ins for the tests and the demo: a TF Serving REST server and the few
Kubernetes API responses the watcher reads. They listen on 127.0.0.1 only.

`SimulatedHpa` makes the Kubernetes stand-in behave like an HPA on the stand-in server's QPS
(desired = ceil(qps / target), a scale-up lag, a scale-down stabilization window), so a demo run
shows a real-looking scale-out and scale-in.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional

from aiohttp import web


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
            self._ready.set()

        self._loop.run_until_complete(start())
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


@dataclass
class TfServingStandIn:
    """Answers predict and model status like TF Serving's REST API."""

    model: str = "chnsenticorp"
    latency: float = 0.005
    fail_every: int = 0
    """Answer HTTP 500 to every n-th predict (0: never)."""
    requests: int = 0
    arrivals: deque = field(default_factory=lambda: deque(maxlen=200_000))

    def qps(self, window: float = 10.0) -> float:
        """Predict requests per second over the last `window` seconds."""
        now = time.monotonic()
        return sum(1 for t in list(self.arrivals) if now - t <= window) / window

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(f"/v1/models/{self.model}:predict", self._predict)
        app.router.add_get(f"/v1/models/{self.model}", self._status)
        return app

    async def _predict(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests += 1
        self.arrivals.append(time.monotonic())
        number = self.requests
        await asyncio.sleep(self.latency)
        if self.fail_every and number % self.fail_every == 0:
            return web.json_response({"error": "stand-in failure"}, status=500)
        rows = len(body.get("instances", [0]))
        return web.json_response({"predictions": [[0.08, 0.92]] * rows})

    async def _status(self, request: web.Request) -> web.Response:
        return web.json_response({"model_version_status": [
            {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]})


@dataclass
class SimulatedHpa:
    """Replicas that follow a QPS source the way an HPA would, in compressed time."""

    qps: Callable[[], float]
    target_qps: float
    min_replicas: int
    max_replicas: int
    scale_up_lag: float = 5.0
    scale_down_window: float = 10.0
    replicas: int = 0
    _high_since: Optional[float] = None
    _low_since: Optional[float] = None

    def __post_init__(self) -> None:
        self.replicas = self.min_replicas

    def step(self) -> tuple[int, int, float]:
        """(current, desired, per-pod metric) now."""
        now = time.monotonic()
        total = self.qps()
        desired = min(self.max_replicas, max(self.min_replicas, math.ceil(total / self.target_qps)))
        if desired > self.replicas:
            self._low_since = None
            self._high_since = self._high_since or now
            if now - self._high_since >= self.scale_up_lag:
                self.replicas, self._high_since = desired, None
        elif desired < self.replicas:
            self._high_since = None
            self._low_since = self._low_since or now
            if now - self._low_since >= self.scale_down_window:
                self.replicas, self._low_since = desired, None
        else:
            self._high_since = self._low_since = None
        return self.replicas, desired, total / max(self.replicas, 1)


@dataclass
class KubernetesStandIn:
    """The HPA, Deployment and pod list responses the watcher reads."""

    namespace: str = "inference"
    hpa: str = "bert-tfserving"
    deployment: str = "bert-tfserving"
    state: Callable[[], tuple[int, int, Optional[float]]] = lambda: (1, 1, 0.0)
    """Returns (current replicas, desired replicas, per-pod metric or None)."""

    def app(self) -> web.Application:
        app = web.Application()
        ns = self.namespace
        app.router.add_get(f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/{self.hpa}", self._hpa)
        app.router.add_get(f"/apis/apps/v1/namespaces/{ns}/deployments/{self.deployment}", self._deployment)
        app.router.add_get(f"/api/v1/namespaces/{ns}/pods", self._pods)
        return app

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

    async def _deployment(self, request: web.Request) -> web.Response:
        return web.json_response({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": self.deployment, "namespace": self.namespace},
            "spec": {"selector": {"matchLabels": {"app.kubernetes.io/instance": self.deployment,
                                                  "app.kubernetes.io/name": "tensorflow-serving"}},
                     "template": {"metadata": {}, "spec": {"containers": []}}},
        })

    async def _pods(self, request: web.Request) -> web.Response:
        current, _, _ = self.state()
        selector = request.query.get("labelSelector", "")
        items = []
        if "app.kubernetes.io/instance=" + self.deployment in selector:
            for i in range(current):
                items.append({
                    "metadata": {"name": f"{self.deployment}-{i}", "namespace": self.namespace,
                                 "annotations": {"k8s.aliyun.com/eci-instance-id": f"eci-{i:04d}"} if i % 2 else {}},
                    "spec": {"nodeName": "virtual-kubelet-cn-beijing-h" if i % 2 else f"gpu-node-{i}",
                             "containers": []},
                    "status": {"conditions": [{"type": "Ready", "status": "True"}]},
                })
        return web.json_response({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items})


def target_flags(serving_url: str, api_url: str, target_qps: float = 10, min_replicas: int = 1) -> list[str]:
    """The load command's target flags for a run against the stand-ins."""
    return [
        "--predict-url", f"{serving_url}/v1/models/chnsenticorp:predict", "--namespace", "inference",
        "--hpa", "bert-tfserving", "--deployment", "bert-tfserving", "--target-qps", f"{target_qps:g}",
        "--min-replicas", str(min_replicas), "--kube-api-url", api_url,
    ]
