"""Rules that span several keys or look at the disk.

All functions are pure (the disk checks only read), return problems as `(dotted key, message)`
pairs instead of raising, so the loader can report every problem at once. The values derived
from config are in `derived.py`.
"""

from __future__ import annotations

import datetime
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from google.protobuf import text_format
from pydantic.alias_generators import to_camel

from . import batching_proto, images
from .errors import Problem
from .image_ref import image_reference, is_gpu_image
from .instance_types import (
    CATALOG,
    ECI_GPU_DOC,
    ECI_GPU_FAMILIES,
    FAMILIES,
    InstanceType,
    family,
    gpu_of,
    node_allocatable,
)
from .patterns import OSS_BUCKET, OSS_PREFIX
from .schema import IdleSettings, StackConfig
from .tracks import stack_split

SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


@dataclass(frozen=True)
class ModelSource:
    """Where the SavedModel comes from: a local directory to upload, or an OSS location."""

    local_dir: Optional[Path] = None
    """Local base directory (holding `<version>/saved_model.pb`); None for an oss:// source."""
    oss: Optional[tuple[str, str]] = None
    """Bucket and key prefix of an oss:// source; None for a local one."""

    @property
    def managed(self) -> bool:
        """True when this stack uploads the model (and so owns the bucket)."""
        return self.local_dir is not None

    @property
    def oss_location(self) -> tuple[str, str]:
        """(bucket, prefix) of an oss:// source."""
        if self.oss is None:
            raise ValueError("a local model source has no OSS location")
        return self.oss


_OSS_URI = re.compile(r"^oss://(?P<bucket>[^/]+)(/(?P<prefix>.*?))?/?$")


def parse_model_source(source: str) -> tuple[Optional[ModelSource], list[Problem]]:
    """Split `model.source` into a local directory or an OSS bucket and prefix."""
    if not source.startswith("oss://"):
        return ModelSource(local_dir=Path(source)), []
    match = _OSS_URI.match(source)
    bucket = match.group("bucket") if match else ""
    prefix = (match.group("prefix") or "") if match else ""
    problems: list[Problem] = []
    if not re.match(OSS_BUCKET, bucket):
        problems.append(
            (
                "model.source",
                f"{source!r} names bucket {bucket!r}, which is not a valid OSS bucket name "
                "(3-63 lowercase letters, digits and '-', no '-' at either end)",
            )
        )
    if not prefix or not re.match(OSS_PREFIX, prefix):
        problems.append(
            (
                "model.source",
                f"{source!r} needs a key prefix after the bucket, made of path segments of "
                "letters, digits, '.', '_' and '-' (e.g. oss://my-bucket/models/bert)",
            )
        )
    if problems:
        return None, problems
    return ModelSource(oss=(bucket, prefix)), []


def check_model_dir(source: ModelSource, versions: list[int]) -> list[Problem]:
    """Each served version must be an integer directory holding a SavedModel graph."""
    if source.local_dir is None:
        return []
    base = source.local_dir
    if not base.is_dir():
        return [
            (
                "model.source",
                f"directory {str(base)!r} does not exist (relative paths are read from the "
                f"project directory {str(Path.cwd())!r}); export the SavedModel there, or use "
                "oss://bucket/prefix for a model already in OSS",
            )
        ]
    problems: list[Problem] = []
    for index, version in enumerate(versions):
        vdir = base / str(version)
        if not vdir.is_dir():
            present = sorted(p.name for p in base.iterdir() if p.is_dir() and p.name.isdigit())
            problems.append(
                (
                    f"model.versions[{index}]",
                    f"version {version} has no directory {str(vdir)!r} "
                    f"(integer version directories present: {present or 'none'})",
                )
            )
        elif not any((vdir / name).is_file() for name in SAVED_MODEL_FILES):
            problems.append(
                (
                    f"model.versions[{index}]",
                    f"{str(vdir)!r} holds neither saved_model.pb nor saved_model.pbtxt; "
                    "it is not a SavedModel version directory",
                )
            )
    return problems


def next_firing(schedule: str, time_zone: str, after: datetime.datetime) -> Optional[datetime.datetime]:
    """When a cron schedule next fires after `after`, within a year (None: not within a year)."""
    # Imported here: only a stack with an idle schedule needs the cron parser.
    from croniter import CroniterBadDateError, croniter  # noqa: PLC0415

    zone = zoneinfo.ZoneInfo(time_zone)
    try:
        return croniter(schedule, after.astimezone(zone), max_years_between_matches=1).get_next(datetime.datetime)
    except CroniterBadDateError:
        return None


def idle_problems(idle: IdleSettings, now: Optional[datetime.datetime] = None) -> list[Problem]:
    """A schedule needs both times, each firing within a year, and two different times."""
    if idle.mode != "schedule":
        return []
    if idle.wake is None or idle.sleep is None:
        return [(f"autoscaling.idle.{key}", "is required with autoscaling.idle.mode schedule")
                for key in ("wake", "sleep") if getattr(idle, key) is None]
    problems: list[Problem] = []
    now = now or datetime.datetime.now(datetime.UTC)
    for key, schedule in (("wake", idle.wake), ("sleep", idle.sleep)):
        if next_firing(schedule, idle.time_zone, now) is None:
            what = "never wakes: the service would stay at zero" if key == "wake" else \
                "never sleeps: use autoscaling.idle.mode always-on"
            problems.append((f"autoscaling.idle.{key}", f"{schedule!r} does not fire within a year, so the "
                                                       f"schedule {what}"))
    if idle.wake == idle.sleep:
        problems.append(("autoscaling.idle.sleep", f"is the same as autoscaling.idle.wake ({idle.wake!r})"))
    return problems


def serve_is_loaded(cfg: StackConfig, source: Optional[ModelSource]) -> list[Problem]:
    if cfg.model.serve is None or cfg.model.serve in cfg.model.versions:
        return []
    loaded = ", ".join(str(v) for v in cfg.model.versions)
    return [("model.serve", f"{cfg.model.serve} is not one of model.versions ({loaded}): a version "
                            "is served only once it is loaded; add it to model.versions first")]


def canary_version(cfg: StackConfig, source: Optional[ModelSource]) -> list[Problem]:
    """The canary is another loaded version, and its files are the stack's to upload (its pods
    read them under the served version's number: docs/model-versions.md, "Canary")."""
    canary = cfg.model.canary
    if canary is None:
        return []
    versions = cfg.model.versions
    served = cfg.model.serve if cfg.model.serve is not None else max(versions)
    problems: list[Problem] = []
    if canary.version not in versions:
        loaded = ", ".join(str(v) for v in versions)
        problems.append(("model.canary.version", f"{canary.version} is not one of model.versions ({loaded}): "
                                                 "add it to model.versions first"))
    elif canary.version == served:
        how = "" if cfg.model.serve is not None else (
            f" (model.serve is unset, so the highest version, {served}, is served: set model.serve to the "
            "version serving now)")
        problems.append(("model.canary.version", f"{canary.version} is the served version{how}; a canary is "
                                                 "another version: to promote it, set model.serve to it and "
                                                 "remove model.canary"))
    if source is not None and source.oss is not None:
        problems.append(("model.canary", "needs model.source to be a local directory: the stack uploads the "
                                         "canary's files a second time, under the served version's number, for "
                                         "its pods (an oss:// model is not the stack's to write to)"))
    return problems


# The longest Service name a serving name is part of: the headless Service of the canary's pods.
CANARY_SUFFIX = "-canary"
LONGEST_SERVICE_SUFFIX = CANARY_SUFFIX + "-pods"


# The shortest cut of a name derived from a track's name: the idle schedule's CronJobs,
# `<name[:45]>-wake` (components/idle/schedule.py; a CronJob's name is at most 52). A canary's
# `<name>-canary` cut there must still differ from the main track's name.
SHORTEST_NAME_CUT = 45


def service_names_fit(cfg: StackConfig, source: Optional[ModelSource]) -> list[Problem]:
    """Every Service the stack names after serving.name is a DNS-1035 label (63 at most), and with
    a canary no name derived from its track's name meets the main track's where names are cut."""
    name = cfg.serving.name
    if cfg.model.canary is not None and len(name) >= SHORTEST_NAME_CUT:
        return [("serving.name", f"is {len(name)} characters; at most {SHORTEST_NAME_CUT - 1} with model.canary: "
                                 f"names cut at {SHORTEST_NAME_CUT} characters (the idle schedule's CronJobs) would "
                                 "be the same for both tracks")]
    suffix = LONGEST_SERVICE_SUFFIX if cfg.model.canary is not None else "-pods"
    room = 63 - len(suffix)
    if len(name) <= room:
        return []
    return [("serving.name", f"is {len(name)} characters; at most {room}: the Service "
                             f"'{name[:20]}...{suffix}' must be a DNS-1035 label of at most 63")]


def replica_bounds(cfg: StackConfig, source: Optional[ModelSource]) -> list[Problem]:
    a = cfg.autoscaling
    if a.min_replicas <= a.max_replicas:
        return []
    return [("autoscaling.minReplicas",
             f"must not exceed autoscaling.maxReplicas ({a.min_replicas} > {a.max_replicas})")]


def idle_schedule(cfg: StackConfig, source: Optional[ModelSource]) -> list[Problem]:
    return idle_problems(cfg.autoscaling.idle)


def pool_bounds(cfg: StackConfig, source: Optional[ModelSource]) -> list[Problem]:
    pool = cfg.capacity.node_pool
    if pool.min_size <= pool.max_size:
        return []
    return [("capacity.nodePool.minSize",
             f"must not exceed capacity.nodePool.maxSize ({pool.min_size} > {pool.max_size})")]


def pool_spot(cfg: StackConfig, source: Optional[ModelSource]) -> list[Problem]:
    """A price limit goes with SpotWithPriceLimit, and only with it."""
    pool = cfg.capacity.node_pool
    if pool.spot_strategy == "SpotWithPriceLimit" and pool.spot_price_limit is None:
        return [("capacity.nodePool.spotPriceLimit",
                 "is required when capacity.nodePool.spotStrategy is SpotWithPriceLimit "
                 "(the highest hourly price to pay per instance)")]
    if pool.spot_strategy == "SpotAsPriceGo" and pool.spot_price_limit is not None:
        return [("capacity.nodePool.spotPriceLimit",
                 "has no effect with capacity.nodePool.spotStrategy SpotAsPriceGo (spot instances are bid "
                 "for at the market price): set spotStrategy SpotWithPriceLimit to cap the price, or remove it")]
    return []


def pool_key_pair(cfg: StackConfig, source: Optional[ModelSource]) -> list[Problem]:
    if cfg.capacity.mode != "nodepool" or cfg.capacity.node_pool.key_name is not None:
        return []
    return [("capacity.nodePool.keyName",
             "is required in nodepool mode: ACK managed node pools need an ECS key pair (create one in the "
             "ECS console; nobody has to log in, auto repair replaces broken nodes)")]


def gpu_image_needs_gpus(cfg: StackConfig, source: Optional[ModelSource]) -> list[Problem]:
    if not is_gpu_image(cfg.serving.image) or cfg.serving.gpus >= 1:
        return []
    return [("serving.gpus", f"must be at least 1 for the GPU image {cfg.serving.image!r} "
                             "(use a CPU image such as tensorflow/serving:2.19.0 to serve without a GPU)")]


def runs_on_eci(cfg: StackConfig) -> Optional[str]:
    """What puts serving pods on ECI, as a user would name it; None where none run there."""
    if cfg.capacity.mode == "eci":
        return "capacity.mode eci"
    if cfg.capacity.node_pool.eci_overflow:
        return "capacity.nodePool.eciOverflow true"
    return None


def rrsa_on_eci(cfg: StackConfig, source: Optional[ModelSource]) -> list[Problem]:
    eci = runs_on_eci(cfg)
    if cfg.storage.auth != "rrsa" or eci is None:
        return []
    other = "capacity.mode nodepool" if cfg.capacity.mode == "eci" else "capacity.nodePool.eciOverflow false"
    return [("storage.auth", (
        f"rrsa cannot be used with {eci}: on the virtual node ECI mounts the OSS "
        "volume inside the instance, not through the cluster's ack-csi-fuse/csi-fuse-ossfs pods "
        "that the role trusts, and no Alibaba Cloud document says virtual nodes support RRSA "
        "volumes; use storage.auth ramUser (a least-privilege RAM user whose key stays in a "
        f"Secret), or {other}"))]


def eci_families(cfg: StackConfig, source: Optional[ModelSource]) -> list[Problem]:
    """Pods on ECI get the listed types (at most five: the schema holds ECI's limit for
    `eci-use-specs`), and ECI offers only some GPU families (config/instance_types.py)."""
    eci = runs_on_eci(cfg)
    if eci is None:
        return []
    problems: list[Problem] = []
    for index, name in enumerate(cfg.capacity.instance_types):
        if family(name) not in ECI_GPU_FAMILIES:
            problems.append((f"capacity.instanceTypes[{index}]", (
                f"{name!r} is of family {family(name)!r}, which ECI does not offer (with {eci} pods run on ECI); "
                f"ECI's GPU families: {', '.join(sorted(ECI_GPU_FAMILIES))} ({ECI_GPU_DOC})")))
    return problems


def oss_source_is_the_storage(cfg: StackConfig, source: Optional[ModelSource]) -> list[Problem]:
    """The model is already in OSS: the storage location is the source, not a second place."""
    if source is None or source.oss is None:
        return []
    oss_bucket, oss_prefix = source.oss
    problems: list[Problem] = []
    if cfg.storage.bucket is not None and cfg.storage.bucket != oss_bucket:
        problems.append(("storage.bucket", f"is {cfg.storage.bucket!r} but model.source is in bucket "
                                           f"{oss_bucket!r}; leave storage.bucket unset for an oss:// source"))
    if cfg.storage.prefix is not None and cfg.storage.prefix != oss_prefix:
        problems.append(("storage.prefix", f"is {cfg.storage.prefix!r} but model.source has prefix "
                                           f"{oss_prefix!r}; leave storage.prefix unset for an oss:// source"))
    return problems


def capacity_fits(cfg: StackConfig, source: Optional[ModelSource]) -> list[Problem]:
    return check_capacity(cfg)


def eci_keys(cfg: StackConfig, source: Optional[ModelSource]) -> list[Problem]:
    return check_eci(cfg)


_UNITS = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def parse_quantity(text: str) -> float:
    """A Kubernetes quantity (as the schema accepts it) as a number of base units."""
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)([a-zA-Z]*)", text)
    assert match and match.group(2) in _UNITS, text
    return float(match.group(1)) * _UNITS[match.group(2)]


def pods_per_node(spec: InstanceType, cpu: float, memory_gib: float, gpus: int) -> int:
    """How many serving pods (`cpu` vCPU, `memory_gib` GiB, `gpus` GPUs each) one node of this
    type holds once the kubelet reservation is taken (0: none)."""
    alloc_cpu, alloc_mem = node_allocatable(spec)
    return min(
        spec.gpus // gpus if gpus else 10**6,
        int(alloc_cpu // cpu) if cpu else 10**6,
        int(alloc_mem // memory_gib) if memory_gib else 10**6,
    )


def check_capacity(cfg: StackConfig) -> list[Problem]:
    """The pods must fit the listed instance types, and maxReplicas must fit the pool."""
    problems: list[Problem] = []
    cpu = parse_quantity(cfg.serving.cpu)
    memory_gib = parse_quantity(cfg.serving.memory) / 2**30
    gpus = cfg.serving.gpus
    pod = f"a pod ({cfg.serving.cpu} CPU, {cfg.serving.memory}, {gpus} GPU)"
    per_node: list[int] = []
    for index, name in enumerate(cfg.capacity.instance_types):
        key = f"capacity.instanceTypes[{index}]"
        spec, gpu = CATALOG.get(name), gpu_of(name)
        if spec is None:
            problems.append((key, f"{name!r} is not a GPU instance type whose size this project knows; "
                             "known: " + ", ".join(sorted(CATALOG)) +
                             " (add it, with its vCPUs, memory, GPUs and source, to config/instance_types.py)"))
            continue
        size = f"{name} ({spec.vcpus} vCPU, {spec.memory_gib:g} GiB, {spec.gpus} {gpu.model if gpu else '?'} GPU)"
        if cfg.capacity.mode == "eci":
            # ECI runs the pod on exactly this spec: the requests must fit inside it.
            if cpu > spec.vcpus or memory_gib > spec.memory_gib or gpus > spec.gpus:
                problems.append((key, f"{pod} does not fit the ECI spec {size}; "
                                 "lower serving.cpu/memory/gpus or choose a larger type"))
            continue
        fits = pods_per_node(spec, cpu, memory_gib, gpus)
        if fits < 1:
            alloc_cpu, alloc_mem = node_allocatable(spec)
            problems.append((key, f"{pod} does not fit on {size} once the kubelet reservation "
                             f"(~{spec.vcpus - alloc_cpu:.1f} vCPU, ~{spec.memory_gib - alloc_mem:.1f} GiB) "
                             "is taken; lower serving.cpu/memory or choose a larger type"))
        per_node.append(fits)
    if cfg.capacity.mode == "nodepool" and per_node and min(per_node) >= 1:
        pool = cfg.capacity.node_pool
        room = min(per_node) * pool.max_size
        canary = cfg.model.canary
        tracks = stack_split(cfg)
        if tracks.max_pods > room:
            pods = f"{tracks.max_pods} pods" if tracks.canary is None else (
                f"{tracks.max_pods} pods (the main track's {tracks.main.max_replicas}, at least minReplicas, and "
                f"the canary's {tracks.canary.max_replicas} at model.canary.weight {canary.weight if canary else 0})")
            problems.append(("autoscaling.maxReplicas", (
                f"{pods} do not fit in capacity.nodePool.maxSize "
                f"{pool.max_size} nodes of the smallest listed type ({min(per_node)} pod(s) per "
                f"node, {room} in all); raise capacity.nodePool.maxSize or lower "
                "autoscaling.maxReplicas" + ("" if tracks.canary is None else " or model.canary.weight"))))
    return problems


def check_eci(cfg: StackConfig) -> list[Problem]:
    """Keys of capacity.eci that only mean something together."""
    eci, problems = cfg.capacity.eci, []
    if cfg.capacity.mode != "eci":
        return problems
    if eci.scheduling == "burst" and eci.ecs_node_labels is None:
        problems.append(("capacity.eci.ecsNodeLabels", (
            "is required with capacity.eci.scheduling burst: the labels of the cluster's GPU ECS "
            "nodes that are filled before ECI (without them the ECS unit would take any node, and "
            "a GPU pod would wait for one that has no GPU)")))
    if not eci.spot and (eci.spot_price_limit is not None or not eci.spot_fallback):
        key = "spotPriceLimit" if eci.spot_price_limit is not None else "spotFallback"
        problems.append((f"capacity.eci.{key}", "only applies with capacity.eci.spot true"))
    if eci.spot_price_limit is not None and round(eci.spot_price_limit, 3) != eci.spot_price_limit:
        problems.append(("capacity.eci.spotPriceLimit",
                         f"takes at most 3 decimals (got {eci.spot_price_limit})"))
    return problems


def check_gpu_image(cfg: StackConfig) -> tuple[list[Problem], Optional[images.GpuRuntime]]:
    """Every listed instance type's GPU must be one the serving image can drive, and the driver
    the image needs must be one the capacity provides. Returns the problems and, when there are
    none, what the image needs (JIT, driver branch)."""
    s = cfg.serving
    if s.gpus < 1:
        return [], None
    known = images.known_build(s.image)
    if known is not None and s.image_build is not None:
        return [("serving.imageBuild", (
            f"must not be set for {s.image!r}, whose build is known ({known.source}: CUDA "
            f"{known.cuda_text}, {', '.join(known.kernels)})"))], None
    if s.image_build is not None:
        major, minor = (int(x) for x in s.image_build.cuda.split("."))
        build = images.ImageBuild((major, minor), tuple(s.image_build.kernels), "serving.imageBuild")
    elif known is not None:
        build = known
    else:
        return [("serving.imageBuild", (
            f"is required for {s.image!r}: this project knows the CUDA build only of the "
            "tensorflow/serving GPU tags " + ", ".join(sorted(images.SERVING_IMAGES)) + "; state "
            "the image's CUDA release and kernel targets (for a registry copy of one of those "
            "tags, copy its row from config/images.py)"))], None
    problems: list[Problem] = []
    jit = False
    for index, name in enumerate(cfg.capacity.instance_types):
        key = f"capacity.instanceTypes[{index}]"
        gpu = gpu_of(name)
        if gpu is None:
            problems.append((key, f"{name!r} is of family {family(name)!r}, whose GPU this project does "
                             f"not know (known: {', '.join(sorted(FAMILIES))}); add the family, its GPU "
                             "and a source to config/instance_types.py"))
            continue
        fit = images.fit(gpu, build)
        if isinstance(fit, str):
            drivable = [f"{g.model} ({fam})" for fam, (g, _) in FAMILIES.items()
                        if not isinstance(images.fit(g, build), str)]
            problems.append((key, (
                f"{name} has an NVIDIA {gpu.model} (compute capability {gpu.cc}), which {s.image} "
                f"cannot drive: {fit}. GPUs it can drive: {', '.join(drivable) or 'none'}; or use an "
                "image built for this GPU")))
            continue
        jit = jit or fit.kind == "jit"
    if problems:
        return problems, None
    driver = images.min_driver(build, jit)
    if driver is None:
        return [("serving.image", f"{s.image} needs a newer NVIDIA driver than any this project knows "
                 f"(CUDA {build.cuda_text}{' with JIT' if jit else ''})")], None
    if cfg.capacity.mode == "eci" and driver > max(images.ECI_DRIVERS):
        problems.append(("serving.image", f"{s.image} needs NVIDIA driver branch {driver}; ECI offers "
                         f"{', '.join(map(str, images.ECI_DRIVERS))} for these families"))
    pinned = cfg.capacity.node_pool.gpu_driver_version
    if cfg.capacity.mode == "nodepool" and pinned is not None and int(pinned.split(".")[0]) < driver:
        problems.append(("capacity.nodePool.gpuDriverVersion", (
            f"{pinned} is too old for {s.image}: CUDA {build.cuda_text}"
            f"{' compiling PTX at start-up' if jit else ''} needs driver branch {driver} or newer")))
    return problems, images.GpuRuntime(build=build, jit=jit, min_driver=driver)


def driver_warning(cfg: StackConfig, runtime: Optional[images.GpuRuntime]) -> Optional[str]:
    """A node pool that leaves the driver to ACK's default, for an image that needs more than the
    oldest driver ACK has offered: it may work, but this run cannot know."""
    if (runtime is None or cfg.capacity.mode != "nodepool" or cfg.capacity.node_pool.gpu_driver_version
            or runtime.min_driver <= images.ACK_OLDEST_DRIVER):
        return None
    return (f"capacity.nodePool.gpuDriverVersion is unset: the pool's nodes get ACK's default NVIDIA "
            f"driver for the cluster version, and {cfg.serving.image} needs branch {runtime.min_driver} "
            "or newer; pin one from ACK's list (docs/gpu-and-image.md, \"The driver\")")


def jit_warning(cfg: StackConfig, runtime: Optional[images.GpuRuntime]) -> Optional[str]:
    """A listed GPU that runs the image only through PTX: every new pod there compiles first."""
    if runtime is None or not runtime.jit:
        return None
    return (f"{cfg.serving.image} has no machine code for the GPU of some listed instance type: every new "
            "pod there compiles its kernels at start-up (up to 30 minutes, budgeted in the startup "
            "probe); list types whose GPU it has kernels for to avoid it (docs/gpu-and-image.md, \"The driver\")")


def ineffective_warnings(cfg: StackConfig) -> list[str]:
    """Settings written in the stack file that do nothing in the chosen mode: said, not refused, so
    a section kept for switching back does not stop the run (a contradiction inside the chosen
    mode is refused instead: pool_spot, eci_labels_need_burst)."""
    found: list[str] = []
    capacity = cfg.capacity
    if capacity.mode == "eci" and "node_pool" in capacity.model_fields_set:
        found.append("capacity.nodePool has no effect with capacity.mode eci: it is read only in nodepool mode")
    if capacity.mode == "nodepool" and "eci" in capacity.model_fields_set:
        found.append("capacity.eci has no effect with capacity.mode nodepool: it is read only in eci mode")
    idle = cfg.autoscaling.idle
    unused = [k for k, name in (("wake", "wake"), ("sleep", "sleep"), ("timeZone", "time_zone"))
              if name in idle.model_fields_set]
    if idle.mode == "always-on" and unused:
        found.append(f"autoscaling.idle.{', autoscaling.idle.'.join(unused)} ha{'s' if len(unused) == 1 else 've'} "
                     "no effect with autoscaling.idle.mode always-on: the service never sleeps")
    network = cfg.network
    peers = [k for k, name in (("ingressNamespace", "ingress_namespace"), ("ingressPodLabels", "ingress_pod_labels"),
                               ("grpcClientNamespaces", "grpc_client_namespaces"),
                               ("metricsNamespaces", "metrics_namespaces")) if name in network.model_fields_set]
    if not network.policy and peers:
        found.append(f"network.{', network.'.join(peers)} ha{'s' if len(peers) == 1 else 've'} no effect with "
                     "network.policy false: without a NetworkPolicy every pod in the cluster may connect")
    if cfg.serving.gpus == 0 and cfg.serving.image_build is not None:
        found.append("serving.imageBuild has no effect with serving.gpus 0: it describes a GPU build")
    return found


def scale_up_minutes(low: int, high: int, pods_per_minute: int) -> int:
    """Policy periods the HPA takes from `low` to `high` replicas under components/autoscaler.py's
    scale-up policies (+`pods_per_minute` pods or +100% a minute, the larger: selectPolicy Max)."""
    minutes, replicas = 0, low
    while replicas < high:
        replicas = min(high, replicas + max(pods_per_minute, replicas))
        minutes += 1
    return minutes


def burst_policy_warning(cfg: StackConfig) -> Optional[str]:
    """Where ECI takes the burst (eci mode, or a pool's ECI overflow) every pod can start at once,
    so a scale-up policy that needs more than one minute to reach maxReplicas only makes the
    burst wait (issue #24: a 10x step waited two policy periods on warm capacity)."""
    a, c = cfg.autoscaling, cfg.capacity
    if not (c.mode == "eci" or c.node_pool.eci_overflow):
        return None
    minutes = scale_up_minutes(a.min_replicas, a.max_replicas, a.scale_up_pods_per_minute)
    if minutes <= 1:
        return None
    return (f"autoscaling.scaleUpPodsPerMinute {a.scale_up_pods_per_minute} takes {minutes} minutes from minReplicas "
            f"{a.min_replicas} to maxReplicas {a.max_replicas}, though ECI can start every pod at once: set it to "
            f"{a.max_replicas - a.min_replicas} for the whole burst in one step (docs/capacity.md)")


def warnings(cfg: StackConfig, runtime: Optional[images.GpuRuntime]) -> list[str]:
    """What a valid config should be told, and goes on."""
    return [w for w in (jit_warning(cfg, runtime), driver_warning(cfg, runtime), burst_policy_warning(cfg))
            if w is not None] + ineffective_warnings(cfg)


# A unit a reader can mean for a GPU server's memory or CPU, and what a bare number most likely meant.
_MEMORY_FLOOR_GIB = 1.0
_CPU_FLOOR = 0.5


def serving_quantities(cfg: StackConfig, source: Optional[ModelSource]) -> list[Problem]:
    """A quantity no one can mean for a GPU server: memory below 1Gi (a bare number is bytes in
    Kubernetes: `memory: 12` asks for twelve bytes), memory in milli-bytes (`m`), CPU below half a
    core (`4m` is four thousandths) or in a byte unit; each says which unit was probably meant."""
    problems: list[Problem] = []
    memory, cpu = cfg.serving.memory, cfg.serving.cpu
    number, unit = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", memory).groups()  # type: ignore[union-attr]
    if unit == "m":
        problems.append(("serving.memory", f"{memory!r} is in thousandths of a byte ('m'); did you mean {number}Mi?"))
    elif parse_quantity(memory) < _MEMORY_FLOOR_GIB * 2**30:
        guess = f"; did you mean {number}Gi?" if not unit else ""
        what = "bytes (a number without a unit counts bytes)" if not unit else f"{parse_quantity(memory) / 2**20:g} MiB"
        problems.append(("serving.memory", f"{memory!r} is {what}: a GPU server needs at least 1Gi{guess}"))
    number, unit = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", cpu).groups()  # type: ignore[union-attr]
    if unit not in ("", "m"):
        problems.append(("serving.cpu", f"{cpu!r} has a byte unit ({unit}); CPU is counted in cores or "
                                        f"thousandths of one ('m'): did you mean {number}?"))
    elif parse_quantity(cpu) < _CPU_FLOOR:
        problems.append(("serving.cpu", f"{cpu!r} is {parse_quantity(cpu):g} of a core: a GPU server needs at least "
                                        f"half a core" + (f"; did you mean {number}?" if unit == "m" else "")))
    return problems


# The batching keys with their proto field names (BatchingSettings' names are the proto's).
_BATCHING_NOT_A_FIELD = ("serving_version",)
_BATCHING_FIRST = {"enable_large_batch_splitting": "2.4.0", "max_execution_batch_size": "2.4.0"}


def batching_fields(cfg: StackConfig) -> list[tuple[str, object]]:
    """`serving.batching` as BatchingParameters fields, in the schema's order (none: off)."""
    b = cfg.serving.batching
    if b is None:
        return []
    return [(name, value) for name, value in b.model_dump().items()
            if value is not None and name not in _BATCHING_NOT_A_FIELD]


def batching_version(cfg: StackConfig) -> Optional[str]:
    """The TF Serving release whose BatchingParameters apply: `servingVersion`, else the image's
    tag when it reads as one (`2.19.1-gpu`); None: neither says."""
    b = cfg.serving.batching
    if b is not None and b.serving_version:
        return b.serving_version
    _, tag = image_reference(cfg.serving.image)
    if tag is None:
        return None
    try:
        batching_proto.parse_version(tag)
    except ValueError:
        return None
    return tag


def batching_parameters(cfg: StackConfig, source: Optional[ModelSource]) -> list[Problem]:
    """`serving.batching` parses, as the file TF Serving reads at start (a whole-message text-format
    parse: model_servers/server.cc ParseProtoTextFile, 1.15.0 L58-71, 2.19.1 util/proto_util.h
    L26-40; an unknown field stops the server), into the message of the image's release
    (config/batching_proto), and holds what TF Serving checks when it loads a model:
    `allowed_batch_sizes`' last entry is `max_batch_size` (servables/tensorflow/
    bundle_factory_util.cc at 1.15.0 L89-101, at 2.19.1 L113-126), increasing (the proto's comment;
    checked with splitting: batching_session.cc at 2.19.1 L1012-1039)."""
    b = cfg.serving.batching
    if b is None:
        return []
    version = batching_version(cfg)
    if version is None:
        return [("serving.batching.servingVersion", f"is required: the image's tag ({cfg.serving.image!r}) does not "
                                                    "say which TF Serving release it runs, and the batching fields "
                                                    "it reads depend on it (such as 2.19.1)")]
    try:
        schema = batching_proto.message_class(version)
    except ValueError as exc:
        return [("serving.batching.servingVersion" if b.serving_version else "serving.image", str(exc))]
    fields = batching_fields(cfg)
    known = schema.DESCRIPTOR.fields_by_name
    problems: list[Problem] = [
        (f"serving.batching.{to_camel(name)}",
         f"TF Serving {version} has no such BatchingParameters field"
         + (f" (it came in {_BATCHING_FIRST[name]}: use an image of that release or later)"
            if name in _BATCHING_FIRST else ""))
        for name, _ in fields if name not in known]
    if problems:
        return problems
    try:
        text_format.Parse(batching_proto.text(version, fields), schema())
    except text_format.ParseError as exc:
        return [("serving.batching", f"does not parse as TF Serving {version}'s BatchingParameters: {exc}")]
    sizes = b.allowed_batch_sizes
    if sizes is not None:
        if sizes[-1] != b.max_batch_size:
            problems.append(("serving.batching.allowedBatchSizes",
                             f"ends with {sizes[-1]}; TF Serving refuses to load the model unless the last entry is "
                             f"maxBatchSize ({b.max_batch_size})"))
        if sizes != sorted(sizes):
            problems.append(("serving.batching.allowedBatchSizes", f"{sizes} is not in increasing order"))
    if b.max_execution_batch_size is not None:
        if not b.enable_large_batch_splitting:
            problems.append(("serving.batching.maxExecutionBatchSize",
                             "is read only with enableLargeBatchSplitting: true"))
        elif b.max_execution_batch_size > b.max_batch_size:
            problems.append(("serving.batching.maxExecutionBatchSize",
                             f"{b.max_execution_batch_size} is above maxBatchSize ({b.max_batch_size}): TensorFlow's "
                             "scheduler refuses an execution batch larger than the input batch limit"))
    return problems


def eci_labels_need_burst(cfg: StackConfig, source: Optional[ModelSource]) -> list[Problem]:
    eci = cfg.capacity.eci
    if cfg.capacity.mode != "eci" or eci.scheduling == "burst" or eci.ecs_node_labels is None:
        return []
    return [("capacity.eci.ecsNodeLabels", "has no effect with capacity.eci.scheduling only (every pod goes to ECI): "
                                           "set scheduling burst to fill those ECS nodes first, or remove it")]


# The rules between keys, each with the top-level keys it reads: when the schema refuses a key,
# the rules that do not read it still run, so every independent problem is reported at once.
RULES: tuple[tuple[frozenset[str], Callable[[StackConfig, Optional[ModelSource]], list[Problem]]], ...] = (
    (frozenset({"model"}), serve_is_loaded),
    (frozenset({"model"}), canary_version),
    (frozenset({"model", "serving"}), service_names_fit),
    (frozenset({"autoscaling"}), replica_bounds),
    (frozenset({"autoscaling"}), idle_schedule),
    (frozenset({"capacity"}), pool_bounds),
    (frozenset({"capacity"}), pool_spot),
    (frozenset({"capacity"}), pool_key_pair),
    (frozenset({"capacity"}), eci_keys),
    (frozenset({"capacity"}), eci_labels_need_burst),
    (frozenset({"serving"}), gpu_image_needs_gpus),
    (frozenset({"serving"}), serving_quantities),
    (frozenset({"serving"}), batching_parameters),
    (frozenset({"capacity", "serving", "autoscaling"}), capacity_fits),
    (frozenset({"storage", "capacity"}), rrsa_on_eci),
    (frozenset({"capacity"}), eci_families),
    (frozenset({"model", "storage"}), oss_source_is_the_storage),
)


def check_cross_fields(cfg: StackConfig, source: Optional[ModelSource],
                       valid: Optional[frozenset[str]] = None) -> list[Problem]:
    """Rules between keys that no single field can check; with `valid`, only those that read valid
    top-level keys (the config is then partial: the schema refused the others)."""
    return [problem for reads, check in RULES if valid is None or reads <= valid for problem in check(cfg, source)]
