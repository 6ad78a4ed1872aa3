"""The scaling watch: sample the HPA and the serving pods from the Kubernetes API while load runs.

Uses the official Kubernetes Python client; `ClusterReader` takes an ApiClient, so the tests
point it at a loopback stand-in of the API server and a real run at the cluster's kubeconfig.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Optional

from kubernetes import client, config, utils

# Written by ECI on every pod it runs ("Annotations that you can add after the system schedules
# resources and creates pods", ECI's pod annotation reference): the instance's id.
ECI_INSTANCE_ANNOTATION = "k8s.aliyun.com/eci-instance-id"
# Asked for by the pod (components/capacity/eci.py). ECI writes back no "ran as spot" mark, and with
# `eci-spot-fallback` a pod may run pay-as-you-go: so it reads "spot asked", not "spot".
ECI_SPOT_ANNOTATION = "k8s.aliyun.com/eci-spot-strategy"
# Set on every ECS node by ACK's cloud-controller-manager from DescribeInstances (CCM v2.10.0+):
# kubernetes/cloud-provider-alibaba-cloud at eeb0ddc6, pkg/controller/node/manager.go L51-53 (the
# names) and L293-319 (ins.InstanceChargeType: PostPaid | PrePaid; ins.SpotStrategy: NoSpot |
# SpotAsPriceGo | SpotWithPriceLimit, as its pkg/provider/vmock/ecs.go L32-33 mocks them). An older
# CCM sets neither: such a node's billing reads as unknown.
NODE_CHARGE_LABEL = "node.alibabacloud.com/instance-charge-type"
NODE_SPOT_LABEL = "node.alibabacloud.com/spot-strategy"

# Where a ready pod ran and how it is billed, as the report and the chart name it.
NODE_SPOT, NODE_PAYG, NODE_UNKNOWN = "node, spot", "node, pay-as-you-go", "node, billing not labelled"
ECI_SPOT, ECI_PAYG = "ECI, spot asked", "ECI, pay-as-you-go"
PLACES = (NODE_SPOT, NODE_PAYG, NODE_UNKNOWN, ECI_SPOT, ECI_PAYG)


def place_of(pod_annotations: dict[str, str], node_labels: Optional[dict[str, str]]) -> str:
    """One of PLACES: ECI by its instance annotation (spot as the pod asked), an ECS node by the
    CCM's labels (spot unless NoSpot; a node without them, or unreadable, unknown)."""
    if ECI_INSTANCE_ANNOTATION in pod_annotations:
        return ECI_SPOT if pod_annotations.get(ECI_SPOT_ANNOTATION, "NoSpot") != "NoSpot" else ECI_PAYG
    spot = (node_labels or {}).get(NODE_SPOT_LABEL)
    if spot is None:
        return NODE_UNKNOWN
    return NODE_PAYG if spot == "NoSpot" else NODE_SPOT


class KubeconfigError(Exception):
    """No usable kubeconfig: the run cannot watch the scaling, so it does not start."""


# How to get one for an ACK cluster: the stack itself fetches its credential from ACK at every run
# and keeps none on disk (docs/loadtest.md, "Kubeconfig").
KUBECONFIG_HELP = (
    "the load test reads the HPA and the pods through the Kubernetes API and needs a kubeconfig "
    "for the cluster: download it from the ACK console (the cluster's Connection Information tab) "
    "or with `aliyun cs GET /k8s/<clusterId>/user_config | jq -r .config > ~/.kube/config` "
    "(the DescribeClusterUserKubeconfig API), then pass --kube-context if it is not the current "
    "context; or run `kubectl proxy` and pass --kube-api-url http://127.0.0.1:8001")


def api_client(api_url: Optional[str] = None, context: Optional[str] = None) -> client.ApiClient:
    """A client for the cluster: the kubeconfig's `context` (default: current), or `api_url`
    without auth (a `kubectl proxy`, or a loopback stand-in in the tests). Raises
    `KubeconfigError` saying what is missing and how to get it."""
    if api_url:
        configuration = client.Configuration()
        configuration.host = api_url
        return client.ApiClient(configuration)
    try:
        return config.new_client_from_config(context=context)
    except (config.ConfigException, OSError) as exc:
        raise KubeconfigError(f"no usable kubeconfig ({exc}); {KUBECONFIG_HELP}") from None


def reachable(api: client.ApiClient, timeout: float = 10.0) -> None:
    """One call to the API server (its version) before a run; raises `KubeconfigError` saying which
    server did not answer, and why. Any HTTP answer counts: the server is there (what it refuses,
    the run's reads report)."""
    try:
        client.VersionApi(api).get_code(_request_timeout=timeout)
    except client.ApiException:
        return
    except Exception as exc:  # noqa: BLE001 - urllib3 connection and TLS errors alike: no server to read
        host = api.configuration.host
        raise KubeconfigError(f"the Kubernetes API at {host} did not answer ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0][:200] if str(exc) else 'no detail'}); the load test "
                              "needs to watch the HPA and the pods: check the kubeconfig's cluster, or run "
                              "`kubectl proxy` and pass --kube-api-url http://127.0.0.1:8001") from None


def parse_quantity(text: Optional[str]) -> Optional[float]:
    """'12500m' -> 12.5 (the HPA reports averageValue as a Kubernetes quantity); None if absent
    or unreadable."""
    if text is None:
        return None
    try:
        return float(utils.parse_quantity(text))
    except ValueError:
        return None


@dataclass
class Sample:
    """What the HPA and the pods looked like at one moment."""

    t: float
    current_replicas: Optional[int]
    desired_replicas: Optional[int]
    metric: Optional[float]
    """The HPA's current sls_ingress_qps per pod (averageValue), when reported."""
    scaling_active: Optional[bool]
    ready_pods: int
    pods: int
    placements: dict[str, int] = field(default_factory=dict)
    """Ready pods per node (or per ECI instance for pods on the virtual node)."""
    places: dict[str, int] = field(default_factory=dict)
    """Ready pods per place and billing (PLACES), only those with pods."""
    error: Optional[str] = None
    served_version: Optional[int] = None
    """The model version the endpoint routed to (the Ingress's rewrite target), when read."""

    def to_json(self) -> dict:
        return asdict(self)


def cluster_text(samples: Sequence[Sample]) -> str:
    """What the progress line says of the cluster: the HPA's replicas, the ready pods, the metric
    and the version served, as last read ("replicas ?" before the first read)."""
    sample = samples[-1] if samples else None
    if sample is None:
        return "replicas ?"
    return (f"replicas {sample.current_replicas}/{sample.desired_replicas} ready {sample.ready_pods} "
            f"metric {sample.metric if sample.metric is not None else '-'}"
            + (f" serving v{sample.served_version}" if sample.served_version is not None else ""))


class ClusterReader:
    """Reads one HPA, its Deployment's selector and the matching pods."""

    def __init__(self, api: client.ApiClient, namespace: str, hpa: str, deployment: str,
                 ingress: Optional[str] = None, model: Optional[str] = None):
        self.autoscaling = client.AutoscalingV2Api(api)
        self.apps = client.AppsV1Api(api)
        self.core = client.CoreV1Api(api)
        self.networking = client.NetworkingV1Api(api)
        self.namespace, self.hpa, self.deployment = namespace, hpa, deployment
        self.ingress, self.model = ingress, model
        self._selector: Optional[str] = None
        self._nodes: dict[str, Optional[dict[str, str]]] = {}

    def node_labels(self, name: str) -> Optional[dict[str, str]]:
        """A node's labels, read once (its billing does not change while it lives); None when it
        cannot be read (gone, or the kubeconfig may not read nodes: the billing reads unknown)."""
        if name not in self._nodes:
            try:
                node = self.core.read_node(name)
                self._nodes[name] = dict((node.metadata.labels if node.metadata else None) or {})
            except client.ApiException:
                self._nodes[name] = None
        return self._nodes[name]
    def served_version(self) -> Optional[int]:
        """Which version the endpoint routes to now: the Ingress's rewrite target, parsed the way
        the stack's retire check parses it (components/serving/versions/checks.py served_by, standard library only)."""
        if self.ingress is None or self.model is None:
            return None
        # Imported here: the rest of the watcher needs nothing of the program.
        from components.serving.versions.checks import served_by  # noqa: PLC0415

        try:
            ingress = self.networking.read_namespaced_ingress(self.ingress, self.namespace)
        except client.ApiException:
            return None  # not a stack's Ingress (or not readable): the run goes on without it
        annotations = (ingress.metadata.annotations if ingress.metadata else None) or {}
        return served_by({"metadata": {"annotations": annotations}}, self.model)

    def selector(self) -> str:
        if self._selector is None:
            deployment = self.apps.read_namespaced_deployment(self.deployment, self.namespace)
            labels = deployment.spec.selector.match_labels or {}
            self._selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        return self._selector

    def sample(self, t: float) -> Sample:
        hpa = self.autoscaling.read_namespaced_horizontal_pod_autoscaler(self.hpa, self.namespace)
        status = hpa.status
        if status is None:
            raise ValueError(f"HPA {self.namespace}/{self.hpa} has no status yet")
        metric = None
        for current in status.current_metrics or []:
            if current.type == "External" and current.external is not None and current.external.current:
                metric = parse_quantity(current.external.current.average_value)
        active = None
        for condition in status.conditions or []:
            if condition.type == "ScalingActive":
                active = condition.status == "True"
        pods = self.core.list_namespaced_pod(self.namespace, label_selector=self.selector()).items
        ready, placements, places = 0, {}, {}
        for pod in pods:
            conditions = (pod.status.conditions if pod.status else None) or []
            if any(c.type == "Ready" and c.status == "True" for c in conditions):
                ready += 1
                annotations = (pod.metadata.annotations if pod.metadata else None) or {}
                node = pod.spec.node_name if pod.spec else None
                where = annotations.get(ECI_INSTANCE_ANNOTATION) or node or "?"
                placements[where] = placements.get(where, 0) + 1
                eci = ECI_INSTANCE_ANNOTATION in annotations
                place = place_of(annotations, None if eci or node is None else self.node_labels(node))
                places[place] = places.get(place, 0) + 1
        return Sample(
            t=t,
            current_replicas=status.current_replicas,
            desired_replicas=status.desired_replicas,
            metric=metric,
            scaling_active=active,
            ready_pods=ready,
            pods=len(pods),
            placements=placements,
            places=places,
            served_version=self.served_version(),
        )


async def watch(reader: ClusterReader, origin: float, done: asyncio.Event, period: float = 5.0,
                samples: Optional[list[Sample]] = None) -> list[Sample]:
    """Sample every `period` seconds until `done` is set (and once more after)."""
    samples = [] if samples is None else samples
    while True:
        t = time.monotonic() - origin
        try:
            samples.append(await asyncio.to_thread(reader.sample, t))
        except Exception as exc:  # noqa: BLE001 - one failed read must not end the run
            samples.append(Sample(t, None, None, None, None, 0, 0, error=f"{type(exc).__name__}: {exc}"[:200]))
        if done.is_set():
            return samples
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=period)
