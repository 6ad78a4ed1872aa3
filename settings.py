"""The values the program is built from: what config/ resolves a stack file into and what the
components take, declared once here, where both import them (components import nothing from
config/).

Frozen, every default resolved, shaped by the config's own choices: what one choice excludes
cannot be expressed (node pool settings exist only in nodepool mode, ECI settings only in eci mode;
the RRSA issuer only with `storage.auth: rrsa`; an idle schedule only when the service sleeps), so
no code downstream re-proves with `assert` what config/ validated. A field named like a key is
that key, described once, in config/schema.py; only what is derived says here where it comes from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

# Names the stack derives from `serving.name`, which config/rules checks fit where they go.
CANARY_SUFFIX = "-canary"
"""The canary track's objects: `<serving.name>-canary`."""
LONGEST_SERVICE_SUFFIX = CANARY_SUFFIX + "-pods"
"""The longest Service name a serving name is part of: the canary pods' headless Service."""
SHORTEST_NAME_CUT = 45
"""The shortest cut of a name derived from a track's: the idle schedule's CronJobs, `<name[:45]>-wake`
(a CronJob's name is at most 52); a canary's `<name>-canary` cut there must still differ."""


@dataclass(frozen=True)
class Canary:
    """`model.canary`."""

    version: int
    weight: int
    """Percent."""


LOAD_TEST_PAYLOAD = Path(__file__).resolve().parent / "loadtest" / "payloads" / "chnsenticorp.json"
"""The load test's default request, and the warmup's (`model.warmup.request` unset)."""
WARMUP_FILE = "assets.extra/tf_serving_warmup_requests"
"""Where in a version's directory TF Serving looks for its warmup file (config/warmup.py)."""


@dataclass(frozen=True)
class Warmup:
    """The versions that replay a warmup file while they load (config/warmup.py)."""

    files: Mapping[int, bytes]
    """The file the stack uploads with each version, by version."""
    shipped: tuple[int, ...] = ()
    """Versions whose SavedModel holds its own (uploaded as it is)."""

    def warm(self, version: int) -> bool:
        return version in self.files or version in self.shipped


NO_WARMUP = Warmup(files={})


@dataclass(frozen=True)
class Model:
    """`model`: what TF Serving serves."""

    name: str
    versions: tuple[int, ...]
    served_version: int
    """`model.serve`, or the highest of `versions`."""
    reload: int
    local_dir: Optional[Path]
    """`model.source` when it is a directory to upload; None for an `oss://` source."""
    canary: Optional[Canary] = None
    warmup: Warmup = NO_WARMUP


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
    tags: Mapping[str, str]
    """The tags the stack's own bucket carries (config/account.py recognises it by them)."""
    lifecycle_rule_id: str
    """The id of the stack's one lifecycle rule on its bucket (config/account.py tells it from rules
    it would remove)."""
    auth: VolumeAuth


@dataclass(frozen=True)
class ImageCache:
    """The stack-owned ECI image cache (`capacity.eciImageCache`), pinned on the ECI pods."""

    name: str
    """The stack, the serving name and a hash of what it is built from (a new image, a new cache)."""
    images: tuple[str, ...]
    """The serving image as the pods run it. Not the check image: the version checks and the idle
    schedule's Jobs do not tolerate the virtual node, so they run on the cluster's own nodes."""
    size: int
    """GiB."""
    retention_days: Optional[int]
    """None: never expires."""
    vswitch_id: str
    """Configured, or the cluster's first vSwitch (looked up)."""
    security_group_id: str
    """Configured, or the cluster's (looked up)."""
    eip_instance_id: Optional[str]


@dataclass(frozen=True)
class EciOverflow:
    """`capacity.nodePool.eciOverflow: true`: pods go to ECI while the pool's nodes boot."""

    image_cache: ImageCache
    gpu_driver: Optional[int]
    """The NVIDIA driver branch to ask ECI for; None: ECI's default suffices."""


@dataclass(frozen=True)
class NodePool:
    """`capacity.mode: nodepool`: an auto-scaling pool of preemptible GPU instances."""

    instance_types: tuple[str, ...]
    name: str
    """Derived from `serving.name`."""
    vswitch_ids: tuple[str, ...]
    """Configured, or the cluster's worker vSwitches (looked up)."""
    key_name: str
    min_size: int
    max_size: int
    spot_price_limit: Optional[float]
    """With `SpotWithPriceLimit`; None: `SpotAsPriceGo`."""
    on_demand_percentage: int
    compensate_with_on_demand: bool
    labels: Mapping[str, str]
    tags: Mapping[str, str]
    """The tag the stack's pool carries (config/account.py finds it by it, even renamed)."""
    system_disk_size: int
    gpu_driver_version: Optional[str]
    """None: ACK's default."""
    eci_overflow: Optional[EciOverflow]
    """None: the pool alone."""

    @property
    def spot_strategy(self) -> str:
        """`capacity.nodePool.spotStrategy`, as ACK names it."""
        return "SpotAsPriceGo" if self.spot_price_limit is None else "SpotWithPriceLimit"


@dataclass(frozen=True)
class EciSpot:
    """`capacity.eci.spot: true`: preemptible instances."""

    price_limit: Optional[float]
    """None: the market price."""
    fallback: bool


@dataclass(frozen=True)
class Eci:
    """`capacity.mode: eci`: GPU pods on Elastic Container Instances through the virtual node."""

    instance_types: tuple[str, ...]
    spot: Optional[EciSpot]
    """None: pay-as-you-go."""
    image_cache: Optional[ImageCache]
    """None: no cache (ECI's automatic one off too)."""
    burst_node_labels: Optional[Mapping[str, str]]
    """`capacity.eci.ecsNodeLabels` with `scheduling: burst`; None: `scheduling: only`."""
    gpu_driver: Optional[int]
    """The NVIDIA driver branch to ask ECI for (config/images.py); None: ECI's default suffices."""

    @property
    def scheduling(self) -> str:
        """`capacity.eci.scheduling`."""
        return "only" if self.burst_node_labels is None else "burst"


Capacity = Union[NodePool, Eci]
"""`capacity`, shaped by its mode."""


@dataclass(frozen=True)
class Serving:
    """`serving`: the TensorFlow Serving workload."""

    namespace: str
    name: str
    image: str
    """Pulled through `registry.mirror` when it names a Docker Hub image, fully qualified."""
    image_version: str
    """The image's tag or digest, for the `app.kubernetes.io/version` label."""
    gpus: int
    cpu: str
    memory: str
    check_image: str
    """Through `registry.mirror` likewise."""
    file_system_poll_seconds: int
    jit_compile: bool
    """Some listed GPU runs the image only through PTX compiled at start-up (config/images.py)."""
    in_place: bool
    """A version change reloads the running servers in place (nodes refresh a mounted ConfigMap, and
    TF Serving lists the model directory); False on ECI, or with `fileSystemPollSeconds: 0`: it rolls
    the pods (config/derived.py `versions_in_place`)."""
    rest_port: int
    """TF Serving's REST port (`--rest_api_port`)."""
    grpc_port: int
    """TF Serving's gRPC port (`--port`)."""
    batching: Optional[str] = None
    """`serving.batching` as the text-format BatchingParameters file TF Serving reads; None: off."""


@dataclass(frozen=True)
class IdleHours:
    """`autoscaling.idle.mode: schedule`: zero pods from `sleep` to `wake`."""

    time_zone: str
    wake: str
    sleep: str
    awake_hours: float
    """Hours the service is awake in the coming week (config/derived.py `awake_week`)."""
    awake: str
    """Those hours day by day, e.g. `Mon-Fri 08:00-20:00`."""


WEEK_HOURS = 168


def awake_text(idle: Optional[IdleHours]) -> str:
    """The `awakeHours` output: when the service runs GPUs in a week."""
    if idle is None:
        return f"always on: {WEEK_HOURS} of {WEEK_HOURS} hours a week"
    return f"awake {idle.awake_hours:g} of {WEEK_HOURS} hours a week ({idle.time_zone}): {idle.awake}"


@dataclass(frozen=True, kw_only=True)
class ScalingBehavior:
    """How fast the HPA moves (`autoscaling.scale*`). GPU pods start slowly and cost a lot idle: up
    fast, down slowly."""

    scale_up_stabilization_seconds: int
    scale_up_pods_per_minute: int
    """Or +100%, whichever is more."""
    scale_down_stabilization_seconds: int
    scale_down_pods_per_minute: int

    def manifest(self) -> dict:
        """The HPA's `spec.behavior`: what the Autoscaler writes and config/hpa.py replays."""
        return {
            "scaleUp": {
                "stabilizationWindowSeconds": self.scale_up_stabilization_seconds,
                "selectPolicy": "Max",
                "policies": [
                    {"type": "Pods", "value": self.scale_up_pods_per_minute, "periodSeconds": 60},
                    {"type": "Percent", "value": 100, "periodSeconds": 60},
                ],
            },
            "scaleDown": {
                "stabilizationWindowSeconds": self.scale_down_stabilization_seconds,
                "selectPolicy": "Min",
                "policies": [{"type": "Pods", "value": self.scale_down_pods_per_minute, "periodSeconds": 60}],
            },
        }


@dataclass(frozen=True)
class HpaBounds:
    """An HPA's bounds and per-pod target: the service's as configured (`Autoscaling.bounds`), or one
    track's share of them (config/derived.py `split`)."""

    min_replicas: int
    max_replicas: int
    target_qps: float
    """Per pod, against the whole route's rate: a track's is targetQps / share (share 0: as if 1%)."""


@dataclass(frozen=True)
class QpsMetric:
    """`sls_ingress_qps` of one route: what the HPA scales on and the dashboard and alerts read."""

    sls_project: str
    """Configured, or ACK's default `k8s-log-<clusterId>`."""
    sls_logstore: str
    route: str
    """The `sls.ingress.route` the HPA measures: the ingress-nginx upstream of the Service."""


@dataclass(frozen=True)
class Split:
    """The main track's HPA and, with `model.canary`, the canary's."""

    main: HpaBounds
    canary: Optional[HpaBounds]

    @property
    def max_pods(self) -> int:
        """Pods both tracks may run at once: what the capacity must hold."""
        return self.main.max_replicas + (self.canary.max_replicas if self.canary else 0)


@dataclass(frozen=True)
class EdgeLog:
    """Where the cluster's ingress-nginx configuration lives, which must log refused requests under
    the route `-` (`autoscaling.refusedRequests: excluded`)."""

    namespace: str
    config_map: str


@dataclass(frozen=True)
class Autoscaling:
    """`autoscaling`: the HPA on ingress QPS."""

    bounds: HpaBounds
    """The whole service's, as configured (each track's: `tracks`)."""
    metric: QpsMetric
    behavior: ScalingBehavior
    idle: Optional[IdleHours]
    """None: always on."""
    tracks: Split
    edge_log: Optional[EdgeLog] = None
    """`autoscaling.refusedRequests: excluded`; None: counted."""


@dataclass(frozen=True)
class Ingress:
    """`ingress`: the Internet-facing endpoint."""

    host: str
    class_name: str
    tls_secret_name: Optional[str]
    """None: no TLS."""
    allow_source_cidrs: Optional[tuple[str, ...]]
    """None: any address."""
    rate_limit_rps: Optional[int]
    """None: no limit."""


@dataclass(frozen=True)
class Network:
    """`network` with `policy: true`: who may connect to the serving pods."""

    ingress_namespace: str
    ingress_pod_labels: Optional[Mapping[str, str]]
    """None: every pod of the namespace."""
    grpc_client_namespaces: tuple[str, ...]
    metrics_namespaces: tuple[str, ...]


@dataclass(frozen=True)
class Alerts:
    """`alerts`: what fires, and who hears it."""

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
    stack: str
    region: str
    """`alicloud:region` (or `ALICLOUD_REGION`)."""
    account_id: str
    """The account (UID) the stack deploys into (looked up)."""
    cluster_id: str
    protect: bool
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
