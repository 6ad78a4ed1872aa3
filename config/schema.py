"""The stack configuration schema: the public contract of CONFIG.md as typed, frozen models.

Types and field docs only. Every object key's default lives here and only here (scalar keys take
theirs from `Pulumi.yaml`, see `loader.py`). Field names are snake_case in Python and camelCase in
the stack file; validation errors are reported with the camelCase dotted path the user wrote
(`problems.py`).

Pydantic does the per-field work (types, ranges, patterns, unknown keys) because its errors
carry the exact location of each problem. Elsewhere in this package: the name rules
(`patterns.py`), image references (`image_ref.py`), rules that span several keys or touch the disk
(`rules.py`), derived values (`derived.py`) and what the account says (`account.py`).
"""

from __future__ import annotations

import importlib.resources
import ipaddress
import re
import typing
import zoneinfo
from typing import Annotated, Any, Literal, Optional

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic.alias_generators import to_camel

from . import cron
from .image_ref import image_pin_problem
from .patterns import (
    CLUSTER_ID,
    DNS1035_LABEL,
    DNS1123_LABEL,
    DNS1123_SUBDOMAIN,
    DRIVER_VERSION,
    ECS_INSTANCE_TYPE,
    IMAGE,
    INGRESS_HOST,
    INT64_MAX,
    KEY_PAIR,
    LABEL_KEY,
    LABEL_VALUE,
    MODEL_NAME,
    OSS_BUCKET,
    OSS_PREFIX,
    QUANTITY,
    REGISTRY_MIRROR,
    SLS_LOGSTORE,
    SLS_PROJECT,
    VSWITCH_ID,
    pattern,
)
from .table_hints import DerivedDefault, Shown


def _quantity(value: object) -> object:
    """Accept `cpu: 4` as well as `cpu: "4"`: YAML users write both; Kubernetes wants a string."""
    if isinstance(value, bool):
        return value  # left for the str check to reject: `true` is no quantity
    if isinstance(value, (int, float)):
        return format(value, "g")
    return value


def _pinned_image(value: str) -> str:
    problem = image_pin_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _cidr(value: str) -> str:
    """An IPv4 or IPv6 network in CIDR notation, with no host bits set."""
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"must be an address range such as 203.0.113.0/24 ({exc})") from None
    return value


def _cron(value: str) -> str:
    """A CronJob `.spec.schedule` as Kubernetes validates it (pkg/apis/batch/validation
    validateScheduleFormat: robfig/cron v3.0.1 `ParseStandard`, and no `TZ` in it; config/cron.py)."""
    if "TZ" in value:
        raise ValueError("must not name a time zone (TZ= or CRON_TZ=; Kubernetes refuses it beside .spec.timeZone): "
                         "the time zone is autoscaling.idle.timeZone")
    if value.startswith("@every"):
        raise ValueError("must be a time of the week, not an interval: @every counts from when the CronJob "
                         "controller last ran it, so when the service sleeps or wakes could not be known; write five "
                         "fields such as '0 8 * * 1-5'")
    try:
        cron.parse(value)
    except cron.CronError as exc:
        raise ValueError(f"is not a schedule a Kubernetes CronJob takes ({exc}); write five fields, minute hour "
                         "day-of-month month day-of-week, each *, a number, a range a-b (not wrapping: 5-1 is "
                         "refused), a list or a step, days 0-6 with Sunday 0 (no 7, L, W or #), e.g. '0 8 * * 1-5', "
                         f"or one of {', '.join(cron.DESCRIPTORS)}") from None
    return value


# Kubernetes' check of a CronJob's `.spec.timeZone` (pkg/apis/batch/validation validateTimeZone, the
# same before and after 1.33): each '/'-separated part of these characters, not '.', '..' or
# starting with '-'; not `Local`; and a zone Go's time.LoadLocation loads.
_TZ_PART = re.compile(r"[A-Za-z.\-_0-9+]{1,14}")


def zone_folders() -> frozenset[str]:
    """The folders of the IANA database as the tzdata package ships it (Asia, Europe, Etc, ...)."""
    root = importlib.resources.files("tzdata").joinpath("zoneinfo")
    return frozenset(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("_"))


def _time_zone(value: str) -> str:
    """An IANA time zone, as a CronJob's `.spec.timeZone` takes it."""
    parts_ok = all(_TZ_PART.fullmatch(p) and p not in (".", "..") and not p.startswith("-") for p in value.split("/"))
    if value.lower() == "local":
        raise ValueError("must name a zone, not the machine's: Local is whatever zone the controller runs in "
                         "(Kubernetes refuses it); write one such as Asia/Shanghai or UTC")
    try:
        zoneinfo.ZoneInfo(value) if parts_ok else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: the name of a folder of zones (Asia, Etc), which the file system refuses to read as one.
        parts_ok = False
    if not parts_ok:
        hint = f" ({value!r} is a folder of zones: name one in it, such as Asia/Shanghai)" if value in zone_folders() \
            else ""
        raise ValueError(f"must be an IANA time zone such as Asia/Shanghai or UTC{hint}")
    return value


def _unique(values: Optional[list]) -> Optional[list]:
    seen = set()
    for v in values or ():
        if v in seen:
            raise ValueError(f"lists {v!r} twice")
        seen.add(v)
    return values


Quantity = Annotated[str, BeforeValidator(_quantity), pattern(QUANTITY), Shown("quantity")]
Dns1123Label = Annotated[str, pattern(DNS1123_LABEL), Shown("DNS-1123 label")]
Dns1035Label = Annotated[str, pattern(DNS1035_LABEL), Shown("DNS-1035 label")]
Dns1123Subdomain = Annotated[str, pattern(DNS1123_SUBDOMAIN), Shown("DNS-1123 subdomain")]
InstanceType = Annotated[str, pattern(ECS_INSTANCE_TYPE), Shown("instance type")]
Cidr = Annotated[str, AfterValidator(_cidr), Shown("CIDR")]
VswitchId = Annotated[str, pattern(VSWITCH_ID), Shown("vSwitch id")]
ModelVersion = Annotated[int, Field(ge=0, le=INT64_MAX), Shown("integer")]
LabelKey = Annotated[
    str,
    pattern(
        LABEL_KEY,
        what="a Kubernetes label key: an optional DNS prefix and '/', then at most 63 letters, "
        "digits, '-', '_' or '.', starting and ending with a letter or digit",
    ),
]
LabelValue = Annotated[
    str,
    pattern(
        LABEL_VALUE,
        what="a Kubernetes label value: at most 63 letters, digits, '-', '_' or '.', starting "
        "and ending with a letter or digit",
    ),
]
LabelMap = Annotated[dict[LabelKey, LabelValue], Field(min_length=1), Shown("label map")]


_INT_TEXT = re.compile(r"^-?[0-9]+$")
_FLOAT_TEXT = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


class _Section(BaseModel):
    """Common behaviour: immutable, camelCase keys, unknown keys rejected, no silent coercion.

    Each field's docstring is its description in the README's configuration table
    (`use_attribute_docstrings`), so a key is described in exactly one place.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        strict=True,
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
        # Python's re: the name rules need look-aheads, which the default Rust engine lacks.
        regex_engine="python-re",
    )

    @model_validator(mode="before")
    @classmethod
    def _as_written(cls, data: Any) -> Any:
        """Two readings of the text a stack file holds, before the fields' types see it.

        `pulumi config set --path autoscaling.targetQps 2.5` stores the string "2.5": the CLI keeps
        only integers and booleans typed. A string that is exactly a number is taken for a numeric
        key (an integer for an integer key); anything else stays as written and is rejected by the
        field's type, so no other coercion creeps in.

        No key of the stack takes a line break or another control character, and a YAML block
        scalar (`|`) keeps the one at its end, where a `$` in a rule would let it through: such a
        value (or list item, or map value) is held as `ControlText`, which no field's type accepts,
        so it is refused at its key, in words (config/problems.py), whatever the field."""
        if not isinstance(data, dict):
            return data
        converted = dict(data)
        for name, field in cls.model_fields.items():
            key = field.alias if field.alias in converted else name
            if key not in converted:
                continue
            value = converted[key]
            if not isinstance(value, str):
                converted[key] = ControlText.held(value, nested=not _is_section(field.annotation))
                continue
            kinds = set(typing.get_args(field.annotation)) | {field.annotation}
            if int in kinds and _INT_TEXT.fullmatch(value):
                converted[key] = int(value)
            elif float in kinds and _FLOAT_TEXT.fullmatch(value):
                converted[key] = float(value)
            else:
                converted[key] = ControlText.held(value, nested=False)
        return converted


def _is_section(annotation: Any) -> bool:
    """A field that holds a section (or an optional one): its own validator reads its values."""
    kinds = set(typing.get_args(annotation)) | {annotation}
    return any(isinstance(k, type) and issubclass(k, _Section) for k in kinds)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ControlText:
    """A string with a line break or another control character in it, as the schema holds it: not a
    `str`, so every field's type refuses it, and config/problems.py says what is in it."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return repr(self.text)

    @classmethod
    def held(cls, value: Any, nested: bool) -> Any:
        """`value` with each string that holds a control character wrapped; inside lists and maps
        too when `nested` (not a section's mapping: that section's own validator does it)."""
        if isinstance(value, str):
            return cls(value) if _CONTROL.search(value) else value
        if nested and isinstance(value, list):
            return [cls.held(v, nested) for v in value]
        if nested and isinstance(value, dict):
            return {k: cls.held(v, nested) for k, v in value.items()}
        return value


class CanarySettings(_Section):
    """`model.canary`: a share of the public predict requests to another loaded version."""

    version: ModelVersion
    """The canary's version: one of `model.versions`, not `model.serve`."""
    weight: Annotated[int, Field(ge=0, le=100)]
    """Percent of the public predict requests it answers, each request drawn at random (0: none,
    its pods kept warm)."""


class WarmupSettings(_Section):
    """`model.warmup`: requests TF Serving replays while it loads a version, before it is AVAILABLE."""

    enabled: bool = True
    """Upload a warmup file (`assets.extra/tf_serving_warmup_requests`) with each version the stack
    uploads that has none of its own, so a new pod answers its first request warm (docs/warmup.md)."""
    request: Annotated[
        Optional[Annotated[str, StringConstraints(min_length=1), Shown("path")]],
        DerivedDefault("the load test's payload, `loadtest/payloads/chnsenticorp.json`"),
    ] = None
    """A REST predict body (`{"instances": ...}` or `{"inputs": ...}`), relative to the project
    directory, checked against each version's signature: one that does not fit is refused. The
    default that does not fit is said, and no warmup file is uploaded."""


class ModelSettings(_Section):
    """`model`: what TensorFlow Serving serves."""

    name: Annotated[str, pattern(MODEL_NAME), Shown("model name")]
    """TF Serving model name (the URL path `/v1/models/<name>`): lowercase letters, digits, `-`
    and `_`."""
    source: Annotated[str, StringConstraints(min_length=1), Shown("path or oss:// URI")]
    """SavedModel base directory (`<source>/<version>/saved_model.pb`), relative to the project
    directory, or `oss://bucket/prefix` for a model already in OSS (then nothing is uploaded and
    the bucket is not managed here)."""
    versions: Annotated[list[ModelVersion], Field(min_length=1), AfterValidator(_unique)]
    """Loaded versions: each an integer directory of `source` holding `saved_model.pb` or
    `saved_model.pbtxt`. On a node pool alone, adding or removing one reloads the running servers
    in place; where pods run on ECI (eci mode, `eciOverflow`) or with
    `serving.fileSystemPollSeconds: 0` it rolls the pods (docs/model-versions.md)."""
    serve: Annotated[Optional[ModelVersion], DerivedDefault("the highest of `versions`")] = None
    """The version the public endpoint serves; one of `versions`. Switching it moves the traffic
    once that version is AVAILABLE on every ready pod."""
    reload: Annotated[int, Field(ge=0, le=INT64_MAX)] = 0
    """Raise it to restart every serving pod, one at a time: each loads every listed version
    afresh. The retry of a version that failed to load (TF Serving never retries one while it stays
    listed, nor notices files replaced under a loaded version)."""
    canary: Annotated[Optional[CanarySettings], DerivedDefault("(none: every request to `serve`)")] = None
    """A canary track: pods serving `version` alone answer `weight` percent of the public predict
    requests (docs/model-versions.md, "Canary"). Promote with `serve` set to its version and
    `canary` removed; roll back with weight 0 or `canary` removed."""
    warmup: WarmupSettings = WarmupSettings()
    """What a new server replays before it serves (docs/warmup.md)."""


class StorageSettings(_Section):
    """`storage`: where the model lives in OSS and how the cluster reads it."""

    bucket: Annotated[
        Optional[Annotated[str, pattern(OSS_BUCKET), Shown("bucket name")]],
        DerivedDefault("`ei-<stack>-<model>-<hash>`"),
    ] = None
    """OSS bucket of the model. The default is deterministic, derived from the account, project,
    stack and model, never the cluster (`config.derived.default_bucket_name`)."""
    prefix: Annotated[
        Optional[Annotated[str, pattern(OSS_PREFIX, max_length=512), Shown("key prefix")]],
        DerivedDefault("`models/<model.name>`"),
    ] = None
    """Object key prefix of the model's base directory."""
    auth: Literal["ramUser", "rrsa"] = "ramUser"
    """How the OSS volume authenticates: a least-privilege RAM user whose key the CSI driver
    reads from a Secret, or RRSA (an OIDC role, no key)."""
    noncurrent_version_days: Annotated[int, Field(ge=1, le=3650)] = 30
    """Days an overwritten or deleted model object stays recoverable as an old version before it
    expires (the bucket is versioned; without expiry re-uploads accumulate cost)."""


class EciSettings(_Section):
    """`capacity.eci`: Elastic Container Instances through the ACK virtual node."""

    scheduling: Literal["only", "burst"] = "only"
    """`only`: every serving pod on ECI; `burst`: ECS nodes first, ECI when they are full."""
    spot: bool = False
    """Run the ECI pods as preemptible instances."""
    spot_fallback: bool = True
    """With `spot`: create a pay-as-you-go instance when spot stock runs out, as the node pool
    mode does (false: the pod stays Pending)."""
    spot_price_limit: Annotated[
        Optional[Annotated[float, Field(gt=0, le=1000)]], DerivedDefault("(none: the market price)"),
    ] = None
    """With `spot`: the highest hourly price per instance (at most 3 decimals)."""
    image_cache: bool = True
    """A stack-owned ECI image cache of the serving image, Ready before the first pod, which every
    pod starts from: a burst never pulls the multi-GB image, the first one included
    (`capacity.eciImageCache`; false: no cache at all, ECI's automatic one off too)."""
    ecs_node_labels: Annotated[
        Optional[LabelMap],
        DerivedDefault("(required with `burst`)"),
    ] = None
    """With `burst`: labels of the cluster's GPU ECS nodes that are filled first."""


class EciImageCacheSettings(_Section):
    """`capacity.eciImageCache`: the stack-owned ECI image cache."""

    size: Annotated[int, Field(ge=20, le=32768)] = 20
    """GiB of the cache (ECI's default and minimum; the image must fit, or the build fails). Every
    ECI pod made from it is billed a disk of this size."""
    retention_days: Annotated[
        Optional[Annotated[int, Field(ge=1, le=65536)]], DerivedDefault("(never expires)"),
    ] = None
    """Days until ECI deletes the cache (its snapshot is billed while it lives); the pods then match
    it by image rather than pin it, so once it is gone ECI pulls instead of failing them."""
    vswitch_id: Annotated[Optional[VswitchId], DerivedDefault("the cluster's first vSwitch")] = None
    """vSwitch of the instance that builds the cache: it must reach the image's registry (a NAT
    gateway, or `eipInstanceId`)."""
    security_group_id: Annotated[
        Optional[Annotated[str, pattern(r"^sg-[a-z0-9]+$", what="a security group id such as sg-2ze01234abcd"),
                           Shown("security group id")]],
        DerivedDefault("the cluster's security group"),
    ] = None
    """Security group of the instance that builds the cache."""
    eip_instance_id: Annotated[
        Optional[Annotated[str, pattern(r"^eip-[a-z0-9]+$", what="an EIP id such as eip-2ze01234abcd"),
                           Shown("EIP id")]],
        DerivedDefault("(none: a NAT gateway)"),
    ] = None
    """An EIP for the build, where the vSwitch has no NAT gateway to the registry."""


class NodePoolSettings(_Section):
    """`capacity.nodePool`: an auto-scaling pool of preemptible GPU ECS instances."""

    vswitch_ids: Annotated[
        Optional[Annotated[list[VswitchId], Field(min_length=1), AfterValidator(_unique)]],
        DerivedDefault("the cluster's worker vSwitches"),
    ] = None
    """vSwitches (zones) of the pool, in order of preference."""
    min_size: Annotated[int, Field(ge=0, le=1000)] = 0
    """Fewest nodes the scaler keeps (0: no GPU node while idle)."""
    max_size: Annotated[int, Field(ge=1, le=1000)] = 10
    """Most nodes the scaler may add."""
    spot_strategy: Literal["SpotAsPriceGo", "SpotWithPriceLimit"] = "SpotAsPriceGo"
    """How spot instances are bid for: at the market price, or up to `spotPriceLimit`."""
    on_demand_percentage: Annotated[int, Field(ge=0, le=100)] = 30
    """Pay-as-you-go share (percent) of the capacity above the base."""
    compensate_with_on_demand: bool = True
    """Add pay-as-you-go instances when spot stock runs out."""
    eci_overflow: bool = False
    """While the pool's new nodes boot, pods start on ECI (from the stack's image cache) after a short
    wait on the pool, and ECI pods are the first to go on scale-in (ACK's priority-based scheduling:
    an ACK managed Pro cluster)."""
    spot_price_limit: Annotated[
        Optional[Annotated[float, Field(gt=0, le=1000)]],
        DerivedDefault("(none; required with `SpotWithPriceLimit`)"),
    ] = None
    """Highest hourly price per instance."""
    labels: LabelMap = {
        "inference": "tensorflow"
    }
    """Node labels of the pool; the serving pods select them."""
    key_name: Annotated[
        Optional[Annotated[str, pattern(KEY_PAIR), Shown("key pair name")]],
        DerivedDefault("(required in nodepool mode)"),
    ] = None
    """ECS key pair of the nodes (ACK requires one on managed pools)."""
    system_disk_size: Annotated[int, Field(ge=40, le=2048)] = 120
    """GiB of the encrypted ESSD system disk: the serving image alone is several GB."""
    gpu_driver_version: Annotated[
        Optional[Annotated[str, pattern(DRIVER_VERSION), Shown("driver version")]],
        DerivedDefault("(ACK's default for the cluster version)"),
    ] = None
    """NVIDIA driver of the pool's new nodes (the node pool label
    `ack.aliyun.com/nvidia-driver-version`); ACK's default changes with the cluster version."""


class CapacitySettings(_Section):
    """`capacity`: where the burst GPU capacity comes from."""

    mode: Literal["eci", "nodepool"]
    """Where burst GPU capacity comes from: ECI through the virtual node, or a spot GPU node
    pool."""
    instance_types: Annotated[
        list[InstanceType], Field(min_length=1, max_length=5), AfterValidator(_unique)
    ]
    """GPU instance types, most preferred first (ECI tries at most 5)."""
    eci: EciSettings = EciSettings()
    """Used when mode is eci."""
    node_pool: NodePoolSettings = NodePoolSettings()
    """Used when mode is nodepool."""
    eci_image_cache: EciImageCacheSettings = EciImageCacheSettings()
    """The stack-owned ECI image cache, where one is made (`eci.imageCache` in eci mode,
    `nodePool.eciOverflow` in nodepool mode)."""


class ImageBuildSettings(_Section):
    """`serving.imageBuild`: the CUDA build of a serving image that config/images.py does not know."""

    cuda: Annotated[str, pattern(r"^[0-9]{1,2}\.[0-9]{1,2}$", what="a CUDA release such as 12.2"),
                    Shown("CUDA release")]
    """CUDA release the image was built with (its base image's, e.g. `nvidia/cuda:12.2.0-...` is 12.2)."""
    kernels: Annotated[
        list[Annotated[str, pattern(r"^(sm|compute)_[0-9]{2}$", what="sm_XY or compute_XY, such as sm_75"),
                       Shown("kernel target")]],
        Field(min_length=1), AfterValidator(_unique),
    ]
    """Kernel targets it was compiled for: `sm_XY` machine code, `compute_XY` PTX (its
    TF_CUDA_COMPUTE_CAPABILITIES)."""


# Docker Hub's official Python 3.12 on Debian bookworm: the in-cluster scripts need only its
# standard library (components/jobs/); the load test's driver pods use the same image.
DEFAULT_CHECK_IMAGE = "python:3.12-slim-bookworm"


class BatchingSettings(_Section):
    """`serving.batching`: TF Serving's server-side batching (`--enable_batching`), its
    BatchingParameters (session_bundle_config.proto at the image's tag; docs/batching.md). A value
    left out is TensorFlow's scheduler default."""

    max_batch_size: Annotated[int, Field(ge=1, le=1_000_000)]
    """Largest batch of instances one model run takes (`max_batch_size`)."""
    batch_timeout_micros: Annotated[Optional[int], Field(ge=0, le=10_000_000), DerivedDefault("(0: none)")] = None
    """Microseconds a request may wait for others before an underfull batch runs."""
    num_batch_threads: Annotated[Optional[int], Field(ge=1, le=1024),
                                 DerivedDefault("(the CPUs the server may use)")] = None
    """Batches run at once (the guide: the pod's CPU count)."""
    max_enqueued_batches: Annotated[Optional[int], Field(ge=1, le=1_000_000), DerivedDefault("(10)")] = None
    """Batches waiting at most; past it requests are refused (UNAVAILABLE: HTTP 503)."""
    allowed_batch_sizes: Annotated[Optional[list[Annotated[int, Field(ge=1)]]], Field(min_length=1),
                                   AfterValidator(_unique), DerivedDefault("(any size)")] = None
    """Sizes a batch is padded up to, increasing; the last one is `maxBatchSize`."""
    pad_variable_length_inputs: Annotated[Optional[bool], DerivedDefault("(false)")] = None
    """Pad inputs of different lengths to the longest in the batch."""
    enable_large_batch_splitting: Annotated[Optional[bool], DerivedDefault("(false)")] = None
    """Split a request larger than `maxExecutionBatchSize` over several batches (TF Serving 2.4.0+)."""
    max_execution_batch_size: Annotated[Optional[int], Field(ge=1, le=1_000_000),
                                        DerivedDefault("(`maxBatchSize`)")] = None
    """Largest batch one model run takes when splitting (TF Serving 2.4.0+); at most `maxBatchSize`."""
    serving_version: Annotated[
        Optional[Annotated[str, pattern(r"^[0-9]+\.[0-9]+\.[0-9]+$", what="a TF Serving release such as 2.19.1"),
                           Shown("TF Serving release")]],
        DerivedDefault("the image's tag"),
    ] = None
    """The TF Serving release the image runs, where its tag does not say (a mirror, your own build):
    which BatchingParameters fields it reads."""


class ServingSettings(_Section):
    """`serving`: the TensorFlow Serving workload."""

    namespace: Dns1123Label = "inference"
    """Kubernetes namespace of every object of the stack."""
    name: Dns1035Label = "bert-tfserving"
    """Deployment and Service name; keep it stable, the HPA's route label is derived from it."""
    image: Annotated[
        str, pattern(IMAGE, max_length=255), AfterValidator(_pinned_image), Shown("image reference")
    ] = "tensorflow/serving:1.15.0-gpu"
    """Serving image, pinned to a tag or digest (`latest` is rejected)."""
    image_build: Annotated[
        Optional[ImageBuildSettings],
        DerivedDefault("known for the tensorflow/serving GPU tags in config/images.py"),
    ] = None
    """CUDA release and kernel targets of a GPU image that is not a known tensorflow/serving tag
    (a registry mirror, your own build); each listed instance type's GPU is checked against it."""
    gpus: Annotated[int, Field(ge=0, le=8)] = 1
    """`nvidia.com/gpu` per pod (a `-gpu` image needs at least 1)."""
    cpu: Quantity = "4"
    """CPU request and limit per pod."""
    memory: Quantity = "12Gi"
    """Memory request and limit per pod."""
    check_image: Annotated[
        str, pattern(IMAGE, max_length=255), AfterValidator(_pinned_image), Shown("image reference")
    ] = DEFAULT_CHECK_IMAGE
    """Image of the stack's in-cluster scripts (standard-library Python 3): the version checks, the
    idle schedule's CronJobs, and the load test's driver pods (`registry.mirror` copies it too)."""
    file_system_poll_seconds: Annotated[int, Field(ge=0, le=3600)] = 60
    """How often TF Serving lists the model directory, an OSS LIST each through ossfs: a version
    added in place loads only at the next listing (0: once at start, so every version change
    rolls the pods)."""
    batching: Annotated[Optional[BatchingSettings], DerivedDefault("(off)")] = None
    """Server-side batching (docs/batching.md): on a GPU with concurrent callers it can raise a
    pod's throughput; measure `podCapacityQps` again with it."""


class IdleSettings(_Section):
    """`autoscaling.idle`: whether the service sleeps at zero pods outside working hours."""

    mode: Literal["always-on", "schedule"] = "always-on"
    """`always-on`: never fewer than `minReplicas` pods; `schedule`: zero pods (and GPUs) from
    `sleep` to `wake` (docs/idle.md)."""
    time_zone: Annotated[str, AfterValidator(_time_zone), Shown("IANA time zone")] = "Asia/Shanghai"
    """Time zone of `wake` and `sleep`."""
    wake: Annotated[Optional[Annotated[str, AfterValidator(_cron), Shown("cron schedule")]],
                    DerivedDefault("(required with `schedule`)")] = None
    """When the service wakes to `minReplicas` pods (cron, e.g. `0 8 * * 1-5`)."""
    sleep: Annotated[Optional[Annotated[str, AfterValidator(_cron), Shown("cron schedule")]],
                     DerivedDefault("(required with `schedule`)")] = None
    """When the service goes to zero pods (cron, e.g. `0 20 * * 1-5`)."""


class AutoscalingSettings(_Section):
    """`autoscaling`: the HPA on ingress QPS."""

    min_replicas: Annotated[int, Field(ge=1, le=1000)] = 1
    """Fewest pods (0 would need the HPAScaleToZero feature gate, which ACK does not enable)."""
    max_replicas: Annotated[int, Field(ge=1, le=1000)] = 10
    """Most pods."""
    target_qps: Annotated[float, Field(gt=0, le=100000)] = 10.0
    """Requests per second per pod: the HPA scales out above it and in below it."""
    sls_project: Annotated[
        Optional[Annotated[
            str, pattern(SLS_PROJECT, what="an SLS project name: 3-63 lowercase letters, digits and '-'"),
            Shown("SLS project"),
        ]],
        DerivedDefault("`k8s-log-<clusterId>`"),
    ] = None
    """SLS project of the ingress access logs."""
    sls_logstore: Annotated[str, pattern(SLS_LOGSTORE), Shown("SLS logstore")] = "nginx-ingress"
    """SLS logstore of the ingress access logs."""
    scale_up_stabilization_seconds: Annotated[int, Field(ge=0, le=3600)] = 0
    """Seconds of high readings before scaling out (0: the first one; the metric is already
    10-25 s old)."""
    scale_up_pods_per_minute: Annotated[int, Field(ge=1, le=1000)] = 4
    """Pods added per minute at most (or +100%, whichever is more)."""
    scale_down_stabilization_seconds: Annotated[int, Field(ge=0, le=3600)] = 300
    """Seconds the QPS must stay low before scaling in: a GPU pod is slow to bring back."""
    scale_down_pods_per_minute: Annotated[int, Field(ge=1, le=1000)] = 1
    """Pods removed per minute at most."""
    idle: IdleSettings = IdleSettings()
    """Sleeping at zero pods outside working hours."""
    refused_requests: Literal["counted", "excluded"] = "counted"
    """Requests the Ingress refuses (the allow-list's 403, the rate limit's 503) and the HPA:
    `counted`, as ingress-nginx logs them under the route, so a flood the Ingress refuses still adds
    pods up to maxReplicas (the dashboard and the at-capacity alert say so); `excluded`, where the
    cluster's ingress-nginx logs them under the route `-` (a one-time change of its ConfigMap,
    docs/deploying.md, "Refused requests"), checked in the cluster before the HPA is made."""


class IngressSettings(_Section):
    """`ingress`: the Internet-facing endpoint."""

    host: Annotated[str, pattern(INGRESS_HOST), Shown("host name")]
    """Host name the Ingress answers for."""
    class_name: Dns1123Subdomain = "nginx"
    """IngressClass of the controller that publishes the endpoint."""
    tls_secret_name: Annotated[Optional[Dns1123Subdomain], DerivedDefault("(none)")] = None
    """Secret with the TLS certificate, in the namespace; TLS is on when set."""
    allow_source_cidrs: Annotated[
        Optional[Annotated[list[Cidr], Field(min_length=1, max_length=100), AfterValidator(_unique)]],
        DerivedDefault("(any address)"),
    ] = None
    """Client address ranges the endpoint answers; others get 403 (ingress-nginx
    `whitelist-source-range`)."""
    rate_limit_rps: Annotated[
        Optional[Annotated[int, Field(ge=1, le=100000)]], DerivedDefault("(no limit)"),
    ] = None
    """Requests per second one client address may send, per controller replica, with bursts of 5x;
    more get 503 (ingress-nginx `limit-rps`)."""


class NetworkSettings(_Section):
    """`network`: which pods in the cluster may connect to the serving pods (a NetworkPolicy)."""

    policy: bool = True
    """Admit only the peers below (needs a network plugin that enforces NetworkPolicy: docs/security.md)."""
    ingress_namespace: Dns1123Label = "kube-system"
    """Namespace of the ingress controller, admitted to the REST port."""
    ingress_config_map: Dns1123Subdomain = "nginx-configuration"
    """The ingress controller's ConfigMap in `ingressNamespace` (ACK's name), read by the check of
    `autoscaling.refusedRequests: excluded`."""
    ingress_pod_labels: Annotated[
        Optional[LabelMap],
        DerivedDefault("(every pod of `ingressNamespace`)"),
    ] = None
    """Labels of the ingress controller's pods, to admit only them."""
    grpc_client_namespaces: Annotated[list[Dns1123Label], AfterValidator(_unique)] = []
    """Namespaces whose pods may call the gRPC port (the `grpcAddress` output)."""
    metrics_namespaces: Annotated[list[Dns1123Label], AfterValidator(_unique)] = []
    """Namespaces of the metrics scrapers, admitted to the REST port that serves the metrics path."""


class AlertsSettings(_Section):
    """`alerts`: SLS alerts on the ingress log of the stack's route (docs/alerts.md)."""

    error_rate_percent: Annotated[float, Field(gt=0, le=100)] = 5
    """Share of the route's requests answered 5xx, over `windowMinutes`, that fires the error alert."""
    latency_p99_ms: Annotated[int, Field(gt=0, le=600_000)] = 1000
    """99th percentile of the request time (ms), over `windowMinutes`, that fires the latency alert."""
    window_minutes: Annotated[int, Field(ge=1, le=60)] = 5
    """The window the error and latency alerts look back over, evaluated every minute."""
    at_capacity_minutes: Annotated[int, Field(ge=1, le=60)] = 5
    """How long the route's rate must stay at or above `maxReplicas` x `targetQps` to fire the
    at-capacity alert."""
    min_requests: Annotated[int, Field(ge=1, le=100_000)] = 20
    """Requests a window needs before the error and latency alerts judge it (a handful of requests
    is no rate)."""
    action_policy_id: Annotated[str, pattern(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
                                             what="an SLS action policy id such as sls.builtin"),
                                Shown("action policy id")] = "sls.builtin"
    """The SLS action policy that notifies (who and how: set in the SLS console); `sls.builtin`
    is the built-in one Alibaba's own alert rules use."""


class RegistrySettings(_Section):
    """`registry`: where the stack's images are pulled from."""

    mirror: Annotated[
        Optional[Annotated[str, pattern(REGISTRY_MIRROR, max_length=200), Shown("registry namespace")]],
        DerivedDefault("(none: each image from where its reference says)"),
    ] = None
    """A registry namespace (`<host>/<namespace>`, such as an ACR instance in the cluster's region,
    `registry-vpc.cn-beijing.aliyuncs.com/acme`) holding a copy of every Docker Hub image the stack
    runs: the serving image, the check image (the version checks, the idle schedule, the load test's
    driver pods) and the ECI image cache's build all pull `<mirror>/<the image name's last
    part>:<tag>` instead (docs/gpu-and-image.md, "Pulling the image", says how to copy them)."""


class StackConfig(_Section):
    """Everything under `elastic-inference:` in a stack file, validated field by field."""

    cluster_id: Annotated[str, pattern(CLUSTER_ID), Shown("cluster id")]
    """Existing ACK cluster to deploy into: `c` followed by 32 hex digits."""
    protect: bool
    """Protect the model bucket and objects from `pulumi destroy` (true in prod)."""
    model: ModelSettings
    storage: StorageSettings = StorageSettings()
    capacity: CapacitySettings
    serving: ServingSettings = ServingSettings()
    autoscaling: AutoscalingSettings = AutoscalingSettings()
    ingress: IngressSettings
    network: NetworkSettings = NetworkSettings()
    registry: RegistrySettings = RegistrySettings()
    alerts: Annotated[Optional[AlertsSettings], DerivedDefault("(none)")] = None
    """SLS alerts on the stack's route: errors, latency, at the autoscaler's ceiling
    (docs/alerts.md); a stack in the policy's `alwaysOnStacks` must have them."""
