"""Capacity: the node pool's and ECI's own keys, what fits the listed instance types, and the
settings that do nothing in the chosen mode."""

from __future__ import annotations

from typing import Optional

from ..derived import behavior_of, has_image_cache, stack_split
from ..errors import Problem
from ..hpa import HpaSpec, scale_up_steps
from ..instance_types import CATALOG, ECI_GPU_DOC, ECI_GPU_FAMILIES, InstanceType, family, gpu_of, node_allocatable
from ..schema import AutoscalingSettings, CapacitySettings, ModelSettings, ServingSettings, StorageSettings
from .check import rule, warning
from .quantities import parse_quantity


def runs_on_eci(capacity: CapacitySettings) -> Optional[str]:
    """What puts serving pods on ECI, as a user would name it; None where none run there."""
    if capacity.mode == "eci":
        return "capacity.mode eci"
    if capacity.node_pool.eci_overflow:
        return "capacity.nodePool.eciOverflow true"
    return None


@rule
def pool_bounds(capacity: CapacitySettings) -> list[Problem]:
    pool = capacity.node_pool
    if pool.min_size <= pool.max_size:
        return []
    return [("capacity.nodePool.minSize", f"must not exceed capacity.nodePool.maxSize ({pool.min_size} > "
                                          f"{pool.max_size})")]


@rule
def pool_spot(capacity: CapacitySettings) -> list[Problem]:
    """A price limit goes with SpotWithPriceLimit, and only with it."""
    pool = capacity.node_pool
    if pool.spot_strategy == "SpotWithPriceLimit" and pool.spot_price_limit is None:
        return [("capacity.nodePool.spotPriceLimit",
                 "is required when capacity.nodePool.spotStrategy is SpotWithPriceLimit "
                 "(the highest hourly price to pay per instance)")]
    if pool.spot_strategy == "SpotAsPriceGo" and pool.spot_price_limit is not None:
        return [("capacity.nodePool.spotPriceLimit",
                 "has no effect with capacity.nodePool.spotStrategy SpotAsPriceGo (spot instances are bid "
                 "for at the market price): set spotStrategy SpotWithPriceLimit to cap the price, or remove it")]
    return []


@rule
def pool_key_pair(capacity: CapacitySettings) -> list[Problem]:
    if capacity.mode != "nodepool" or capacity.node_pool.key_name is not None:
        return []
    return [("capacity.nodePool.keyName",
             "is required in nodepool mode: ACK managed node pools need an ECS key pair (create one in the "
             "ECS console; nobody has to log in, auto repair replaces broken nodes)")]


@rule
def eci_keys(capacity: CapacitySettings) -> list[Problem]:
    """Keys of capacity.eci that only mean something together."""
    eci, problems = capacity.eci, []
    if capacity.mode != "eci":
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
        problems.append(("capacity.eci.spotPriceLimit", f"takes at most 3 decimals (got {eci.spot_price_limit})"))
    if eci.scheduling != "burst" and eci.ecs_node_labels is not None:
        problems.append(("capacity.eci.ecsNodeLabels", "has no effect with capacity.eci.scheduling only (every pod "
                                                       "goes to ECI): set scheduling burst to fill those ECS nodes "
                                                       "first, or remove it"))
    return problems


@rule
def eci_families(capacity: CapacitySettings) -> list[Problem]:
    """Pods on ECI get the listed types (at most five: the schema holds ECI's limit for
    `eci-use-specs`), and ECI offers only some GPU families (config/instance_types.py)."""
    eci = runs_on_eci(capacity)
    if eci is None:
        return []
    return [(f"capacity.instanceTypes[{index}]", (
        f"{name!r} is of family {family(name)!r}, which ECI does not offer (with {eci} pods run on ECI); "
        f"ECI's GPU families: {', '.join(sorted(ECI_GPU_FAMILIES))} ({ECI_GPU_DOC})"))
        for index, name in enumerate(capacity.instance_types) if family(name) not in ECI_GPU_FAMILIES]


@rule
def rrsa_on_eci(storage: StorageSettings, capacity: CapacitySettings) -> list[Problem]:
    eci = runs_on_eci(capacity)
    if storage.auth != "rrsa" or eci is None:
        return []
    other = "capacity.mode nodepool" if capacity.mode == "eci" else "capacity.nodePool.eciOverflow false"
    return [("storage.auth", (
        f"rrsa cannot be used with {eci}: on the virtual node ECI mounts the OSS "
        "volume inside the instance, not through the cluster's ack-csi-fuse/csi-fuse-ossfs pods "
        "that the role trusts, and no Alibaba Cloud document says virtual nodes support RRSA "
        "volumes; use storage.auth ramUser (a least-privilege RAM user whose key stays in a "
        f"Secret), or {other}"))]


def pods_per_node(spec: InstanceType, cpu: float, memory_gib: float, gpus: int) -> int:
    """How many serving pods (`cpu` vCPU, `memory_gib` GiB, `gpus` GPUs each) one node of this
    type holds once the kubelet reservation is taken (0: none)."""
    alloc_cpu, alloc_mem = node_allocatable(spec)
    return min(
        spec.gpus // gpus if gpus else 10**6,
        int(alloc_cpu // cpu) if cpu else 10**6,
        int(alloc_mem // memory_gib) if memory_gib else 10**6,
    )


@rule
def capacity_fits(capacity: CapacitySettings, serving: ServingSettings, autoscaling: AutoscalingSettings,
                  model: ModelSettings) -> list[Problem]:
    """The pods must fit the listed instance types, and both tracks' maxReplicas the pool."""
    problems: list[Problem] = []
    cpu = parse_quantity(serving.cpu)
    memory_gib = parse_quantity(serving.memory) / 2**30
    gpus = serving.gpus
    pod = f"a pod ({serving.cpu} CPU, {serving.memory}, {gpus} GPU)"
    per_node: list[int] = []
    for index, name in enumerate(capacity.instance_types):
        key = f"capacity.instanceTypes[{index}]"
        spec, gpu = CATALOG.get(name), gpu_of(name)
        if spec is None:
            problems.append((key, f"{name!r} is not a GPU instance type whose size this project knows; "
                             "known: " + ", ".join(sorted(CATALOG)) +
                             " (add it, with its vCPUs, memory, GPUs and source, to config/instance_types.py)"))
            continue
        size = f"{name} ({spec.vcpus} vCPU, {spec.memory_gib:g} GiB, {spec.gpus} {gpu.model if gpu else '?'} GPU)"
        if capacity.mode == "eci":
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
    if capacity.mode == "nodepool" and per_node and min(per_node) >= 1:
        pool = capacity.node_pool
        room = min(per_node) * pool.max_size
        tracks = stack_split(autoscaling, model.canary)
        if tracks.max_pods > room:
            pods = f"{tracks.max_pods} pods" if tracks.canary is None else (
                f"{tracks.max_pods} pods (the main track's {tracks.main.max_replicas}, at least minReplicas, and "
                f"the canary's {tracks.canary.max_replicas} at model.canary.weight "
                f"{model.canary.weight if model.canary else 0})")
            problems.append(("autoscaling.maxReplicas", (
                f"{pods} do not fit in capacity.nodePool.maxSize "
                f"{pool.max_size} nodes of the smallest listed type ({min(per_node)} pod(s) per "
                f"node, {room} in all); raise capacity.nodePool.maxSize or lower "
                "autoscaling.maxReplicas" + ("" if tracks.canary is None else " or model.canary.weight"))))
    return problems


@warning
def ineffective_capacity(capacity: CapacitySettings) -> list[str]:
    """Settings written in the stack file that do nothing in the chosen mode: said, not refused, so
    a section kept for switching back does not stop the run (a contradiction inside the chosen mode
    is refused instead: pool_spot, eci_keys)."""
    found: list[str] = []
    if capacity.mode == "eci" and "node_pool" in capacity.model_fields_set:
        found.append("capacity.nodePool has no effect with capacity.mode eci: it is read only in nodepool mode")
    if capacity.mode == "nodepool" and "eci" in capacity.model_fields_set:
        found.append("capacity.eci has no effect with capacity.mode nodepool: it is read only in eci mode")
    if "eci_image_cache" in capacity.model_fields_set and not has_image_cache(capacity):
        why = ("capacity.eci.imageCache false" if capacity.mode == "eci"
               else "capacity.nodePool.eciOverflow false (no pod runs on ECI)")
        found.append(f"capacity.eciImageCache has no effect with {why}: the stack builds no image cache")
    return found


@warning
def burst_policy(capacity: CapacitySettings, autoscaling: AutoscalingSettings) -> list[str]:
    """Where ECI takes the burst (eci mode, or a pool's ECI overflow) every pod can start at once,
    so a scale-up policy that needs more than one minute to reach maxReplicas only makes the
    burst wait (issue #24: a 10x step waited two policy periods on warm capacity)."""
    a = autoscaling
    if runs_on_eci(capacity) is None:
        return []
    # The HPA's policies (a minute each) as the controller applies them (config/hpa.py).
    minutes = scale_up_steps(HpaSpec.of(a.min_replicas, a.max_replicas, 1000, behavior_of(a).manifest()))
    if minutes <= 1:
        return []
    return [f"autoscaling.scaleUpPodsPerMinute {a.scale_up_pods_per_minute} takes {minutes} minutes from minReplicas "
            f"{a.min_replicas} to maxReplicas {a.max_replicas}, though ECI can start every pod at once: set it to "
            f"{a.max_replicas - a.min_replicas} for the whole burst in one step (docs/capacity.md)"]
