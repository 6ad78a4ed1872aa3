"""The validated, resolved settings the program is built from: frozen, every default resolved,
shaped by the config's own choices.

What one choice excludes cannot be expressed: node pool settings exist only in nodepool mode
(`NodePool`), ECI settings only in eci mode (`Eci`); the RRSA issuer only with `storage.auth:
rrsa`; a price limit only where it applies; an idle schedule only when the service sleeps. So no
code downstream re-proves with `assert` what config/ validated. Every field names the config key
it comes from; its meaning is that key's docstring in `schema.py` (the one place a key is
described). Derived values (`derived.py`) are computed before a Settings exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from .tracks import Split


@dataclass(frozen=True)
class Canary:
    """`model.canary`."""

    version: int
    """`model.canary.version`."""
    weight: int
    """`model.canary.weight`, percent."""


@dataclass(frozen=True)
class Model:
    """`model`: what TF Serving serves."""

    name: str
    """`model.name`."""
    versions: tuple[int, ...]
    """`model.versions`, as listed."""
    served_version: int
    """`model.serve`, or the highest of `versions`."""
    reload: int
    """`model.reload`."""
    local_dir: Optional[Path]
    """`model.source` when it is a directory to upload; None for an `oss://` source."""
    canary: Optional[Canary] = None
    """`model.canary`; None: every request to the served version."""


@dataclass(frozen=True)
class RamUserAuth:
    """`storage.auth: ramUser`: a least-privilege RAM user whose key the CSI driver reads from a
    Secret."""


@dataclass(frozen=True)
class RrsaAuth:
    """`storage.auth: rrsa`: a RAM role the CSI driver assumes with the cluster's OIDC tokens."""

    provider_arn: str
    """The cluster's RRSA OIDC provider (looked up): the role's trusted principal."""
    issuer_url: str
    """The `iss` of the tokens the cluster signs (looked up)."""


VolumeAuth = Union[RamUserAuth, RrsaAuth]


@dataclass(frozen=True)
class Storage:
    """`storage`: where the model is in OSS, and how the cluster reads it."""

    bucket: str
    """`storage.bucket`, the generated default, or the bucket of an `oss://` source."""
    prefix: str
    """`storage.prefix`, `models/<model.name>`, or the prefix of an `oss://` source."""
    managed: bool
    """True when this stack creates the bucket and uploads the model."""
    noncurrent_version_days: int
    """`storage.noncurrentVersionDays`."""
    tags: Mapping[str, str]
    """The tags the stack's own bucket carries (config/account.py recognises it by them)."""
    lifecycle_rule_id: str
    """The id of the stack's one lifecycle rule on its bucket (config/account.py tells it from
    rules it would remove)."""
    auth: VolumeAuth
    """`storage.auth`."""


@dataclass(frozen=True)
class ImageCache:
    """The stack-owned ECI image cache (`capacity.eciImageCache`), pinned on the ECI pods."""

    name: str
    """Its name: the stack, the serving name and a hash of the images (a new image, a new cache)."""
    images: tuple[str, ...]
    """The serving image. Not the check image: the version checks and the idle schedule's Jobs
    do not tolerate the virtual node, so they run on the cluster's own nodes, never on ECI."""
    size: int
    """`capacity.eciImageCache.size`, GiB."""
    retention_days: Optional[int]
    """`capacity.eciImageCache.retentionDays`; None: never expires."""
    vswitch_id: str
    """`capacity.eciImageCache.vswitchId`, or the cluster's first vSwitch (looked up)."""
    security_group_id: str
    """`capacity.eciImageCache.securityGroupId`, or the cluster's (looked up)."""
    eip_instance_id: Optional[str]
    """`capacity.eciImageCache.eipInstanceId`."""


@dataclass(frozen=True)
class EciOverflow:
    """`capacity.nodePool.eciOverflow: true`: pods go to ECI while the pool's nodes boot."""

    image_cache: ImageCache
    """The cache the ECI pods start from."""
    gpu_driver: Optional[int]
    """The NVIDIA driver branch to ask ECI for; None: ECI's default suffices."""


@dataclass(frozen=True)
class NodePool:
    """`capacity.mode: nodepool`: an auto-scaling pool of preemptible GPU instances."""

    instance_types: tuple[str, ...]
    """`capacity.instanceTypes`."""
    name: str
    """The pool's name, derived from `serving.name`."""
    vswitch_ids: tuple[str, ...]
    """`capacity.nodePool.vswitchIds`, or the cluster's worker vSwitches (looked up)."""
    key_name: str
    """`capacity.nodePool.keyName`."""
    min_size: int
    """`capacity.nodePool.minSize`."""
    max_size: int
    """`capacity.nodePool.maxSize`."""
    spot_price_limit: Optional[float]
    """`capacity.nodePool.spotPriceLimit` with `SpotWithPriceLimit`; None: `SpotAsPriceGo`."""
    on_demand_percentage: int
    """`capacity.nodePool.onDemandPercentage`."""
    compensate_with_on_demand: bool
    """`capacity.nodePool.compensateWithOnDemand`."""
    labels: Mapping[str, str]
    """`capacity.nodePool.labels`."""
    tags: Mapping[str, str]
    """The tag the stack's pool carries (config/account.py finds it by it, even renamed)."""
    system_disk_size: int
    """`capacity.nodePool.systemDiskSize`."""
    gpu_driver_version: Optional[str]
    """`capacity.nodePool.gpuDriverVersion`; None: ACK's default."""
    eci_overflow: Optional[EciOverflow]
    """`capacity.nodePool.eciOverflow`; None: the pool alone."""

    @property
    def spot_strategy(self) -> str:
        """`capacity.nodePool.spotStrategy`, as ACK names it."""
        return "SpotAsPriceGo" if self.spot_price_limit is None else "SpotWithPriceLimit"


@dataclass(frozen=True)
class EciSpot:
    """`capacity.eci.spot: true`: preemptible instances."""

    price_limit: Optional[float]
    """`capacity.eci.spotPriceLimit`; None: the market price."""
    fallback: bool
    """`capacity.eci.spotFallback`."""


@dataclass(frozen=True)
class Eci:
    """`capacity.mode: eci`: GPU pods on Elastic Container Instances through the virtual node."""

    instance_types: tuple[str, ...]
    """`capacity.instanceTypes`."""
    spot: Optional[EciSpot]
    """With `capacity.eci.spot: true`; None: pay-as-you-go."""
    image_cache: Optional[ImageCache]
    """With `capacity.eci.imageCache: true`; None: no cache (ECI's automatic one off too)."""
    burst_node_labels: Optional[Mapping[str, str]]
    """`capacity.eci.ecsNodeLabels` with `scheduling: burst`; None: `scheduling: only`."""
    gpu_driver: Optional[int]
    """The NVIDIA driver branch to ask ECI for (config/images.py); None: ECI's default suffices."""

    @property
    def scheduling(self) -> str:
        """`capacity.eci.scheduling`."""
        return "only" if self.burst_node_labels is None else "burst"


Capacity = Union[NodePool, Eci]


@dataclass(frozen=True)
class Serving:
    """`serving`: the TensorFlow Serving workload."""

    namespace: str
    """`serving.namespace`."""
    name: str
    """`serving.name`."""
    image: str
    """`serving.image`, pulled through `registry.mirror` when it names a Docker Hub image."""
    image_version: str
    """The image's tag or digest, for the `app.kubernetes.io/version` label."""
    gpus: int
    """`serving.gpus`."""
    cpu: str
    """`serving.cpu`."""
    memory: str
    """`serving.memory`."""
    check_image: str
    """`serving.checkImage`, through `registry.mirror` likewise."""
    file_system_poll_seconds: int
    """`serving.fileSystemPollSeconds`."""
    jit_compile: bool
    """Some listed GPU runs the image only through PTX compiled at start-up (config/images.py)."""
    in_place: bool
    """A version change reloads the running servers in place (nodes refresh a mounted ConfigMap,
    and TF Serving lists the model directory); False on ECI, or with `fileSystemPollSeconds: 0`:
    it rolls the pods (derived.py `versions_in_place`)."""
    rest_port: int
    """TF Serving's REST port (`--rest_api_port`)."""
    grpc_port: int
    """TF Serving's gRPC port (`--port`)."""
    batching: Optional[str] = None
    """`serving.batching` as the text-format BatchingParameters file TF Serving reads; None: off."""


@dataclass(frozen=True)
class IdleSchedule:
    """`autoscaling.idle.mode: schedule`: zero pods from `sleep` to `wake`."""

    time_zone: str
    """`autoscaling.idle.timeZone`."""
    wake: str
    """`autoscaling.idle.wake`."""
    sleep: str
    """`autoscaling.idle.sleep`."""
    awake_hours: float
    """Hours the service is awake in the coming week (derived.py `awake_week`)."""
    awake: str
    """Those hours day by day, e.g. `Mon-Fri 08:00-20:00`."""


@dataclass(frozen=True)
class ScalingBehavior:
    """How fast the HPA moves (`autoscaling.scale*`)."""

    scale_up_stabilization_seconds: int
    """`autoscaling.scaleUpStabilizationSeconds`."""
    scale_up_pods_per_minute: int
    """`autoscaling.scaleUpPodsPerMinute`."""
    scale_down_stabilization_seconds: int
    """`autoscaling.scaleDownStabilizationSeconds`."""
    scale_down_pods_per_minute: int
    """`autoscaling.scaleDownPodsPerMinute`."""


@dataclass(frozen=True)
class EdgeLog:
    """Where the cluster's ingress-nginx configuration lives, which must log refused requests under
    the route `-` (`autoscaling.refusedRequests: excluded`)."""

    namespace: str
    """`network.ingressNamespace`."""
    config_map: str
    """`network.ingressConfigMap`."""


@dataclass(frozen=True)
class Autoscaling:
    """`autoscaling`: the HPA on ingress QPS."""

    min_replicas: int
    """`autoscaling.minReplicas`."""
    max_replicas: int
    """`autoscaling.maxReplicas`."""
    target_qps: float
    """`autoscaling.targetQps`."""
    sls_project: str
    """`autoscaling.slsProject`, or ACK's default `k8s-log-<clusterId>`."""
    sls_logstore: str
    """`autoscaling.slsLogstore`."""
    route: str
    """The `sls.ingress.route` the HPA measures: the ingress-nginx upstream of the Service."""
    behavior: ScalingBehavior
    """The scale-up and scale-down knobs."""
    idle: Optional[IdleSchedule]
    """`autoscaling.idle` with `mode: schedule`; None: always on."""
    tracks: Split
    """The HPA bounds and targets of the main track and of a canary (config/tracks.py)."""
    edge_log: Optional[EdgeLog] = None
    """`autoscaling.refusedRequests: excluded`: the controller's ConfigMap to check; None: counted."""


@dataclass(frozen=True)
class Ingress:
    """`ingress`: the Internet-facing endpoint."""

    host: str
    """`ingress.host`."""
    class_name: str
    """`ingress.className`."""
    tls_secret_name: Optional[str]
    """`ingress.tlsSecretName`; None: no TLS."""
    allow_source_cidrs: Optional[tuple[str, ...]]
    """`ingress.allowSourceCidrs`; None: any address."""
    rate_limit_rps: Optional[int]
    """`ingress.rateLimitRps`; None: no limit."""


@dataclass(frozen=True)
class Network:
    """`network` with `policy: true`: who may connect to the serving pods."""

    ingress_namespace: str
    """`network.ingressNamespace`."""
    ingress_pod_labels: Optional[Mapping[str, str]]
    """`network.ingressPodLabels`; None: every pod of the namespace."""
    grpc_client_namespaces: tuple[str, ...]
    """`network.grpcClientNamespaces`."""
    metrics_namespaces: tuple[str, ...]
    """`network.metricsNamespaces`."""


@dataclass(frozen=True)
class Alerts:
    """`alerts`."""

    error_rate_percent: float
    latency_p99_ms: int
    window_minutes: int
    at_capacity_minutes: int
    min_requests: int
    action_policy_id: str


@dataclass(frozen=True)
class Settings:
    """One stack's configuration, validated and resolved once by `config.load_settings`."""

    project: str
    """Pulumi project name."""
    stack: str
    """Pulumi stack name."""
    region: str
    """`alicloud:region` (or `ALICLOUD_REGION`)."""
    account_id: str
    """The account (UID) the stack deploys into (looked up)."""
    cluster_id: str
    """`clusterId`."""
    protect: bool
    """`protect`."""
    model: Model
    storage: Storage
    capacity: Capacity
    serving: Serving
    autoscaling: Autoscaling
    ingress: Ingress
    network: Optional[Network]
    """None with `network.policy: false`."""
    alerts: Optional[Alerts] = None
    """None without an `alerts` section."""
