"""Pure builders for the two capacity modes: the spot GPU node pool's arguments, the ECI pod
annotations and ResourcePolicy, and the Placement values each mode hands to the workload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

# The pool's nodes carry this taint so only pods that ask for GPUs land there.
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
# The ACK virtual node is tainted with this; pods sent to ECI must tolerate it.
VIRTUAL_NODE_TOLERATION = {"key": "virtual-kubelet.io/provider", "operator": "Exists", "effect": "NoSchedule"}
# Pod label that sends a pod to ECI (the burst-resource annotation is unmaintained since 1.24).
ECI_LABEL = "alibabacloud.com/eci"
ANNOTATION_SPECS = "k8s.aliyun.com/eci-use-specs"
ANNOTATION_SPOT = "k8s.aliyun.com/eci-spot-strategy"
ANNOTATION_IMAGE_CACHE = "k8s.aliyun.com/eci-auto-imc"
VIRTUAL_NODE_ADDON = "ack-virtual-node"
METRICS_ADAPTER_ADDON = "ack-alibaba-cloud-metrics-adapter"


@dataclass(frozen=True)
class PoolInputs:
    """Everything the node pool is built from (vSwitches come separately: they may be looked up)."""

    cluster_id: str
    name: str
    instance_types: tuple[str, ...]
    min_size: int
    max_size: int
    spot_strategy: str
    spot_price_limit: Optional[float]
    on_demand_percentage: int
    compensate_with_on_demand: bool
    labels: Mapping[str, str]
    key_name: str
    system_disk_size: int
    force_delete: bool


def toleration_for(taint: Mapping[str, str]) -> dict[str, str]:
    """The toleration that admits a pod onto nodes with exactly this taint."""
    return {"key": taint["key"], "operator": "Equal", "value": taint["value"], "effect": taint["effect"]}


def node_pool_args(p: PoolInputs) -> dict[str, Any]:
    """Keyword arguments of `alicloud.cs.NodePool` for an auto-scaling spot GPU pool.

    Neither `desired_size` nor `node_count`: with auto scaling on they fight the scaling group.
    """
    args: dict[str, Any] = {
        "cluster_id": p.cluster_id,
        "node_pool_name": p.name,
        "instance_types": list(p.instance_types),
        "instance_charge_type": "PostPaid",
        "spot_strategy": p.spot_strategy,
        # Cheapest zones and types first, a pay-as-you-go share for a floor of stable capacity,
        # pay-as-you-go instead when spot stock runs out, and replacement before a reclaim.
        "multi_az_policy": "COST_OPTIMIZED",
        "on_demand_base_capacity": 0,
        "on_demand_percentage_above_base_capacity": p.on_demand_percentage,
        "compensate_with_on_demand": p.compensate_with_on_demand,
        "spot_instance_remedy": True,
        "spot_instance_pools": min(len(p.instance_types), 10),
        # `type` cannot change after creation: GPU from the start.
        "scaling_config": {"enable": True, "min_size": p.min_size, "max_size": p.max_size, "type": "gpu"},
        "labels": [{"key": k, "value": v} for k, v in sorted(p.labels.items())],
        "taints": [dict(GPU_TAINT)],
        "key_name": p.key_name,
        "system_disk_category": "cloud_essd",
        "system_disk_size": p.system_disk_size,
        "system_disk_encrypted": True,
        "install_cloud_monitor": True,
        "management": {"enable": True, "auto_repair": True, "auto_upgrade": False, "auto_vul_fix": False},
        # Outside prod, destroy must not hang on a pool that still has nodes.
        "force_delete": p.force_delete,
    }
    if p.spot_strategy == "SpotWithPriceLimit":
        args["spot_price_limits"] = [
            {"instance_type": t, "price_limit": str(p.spot_price_limit)} for t in p.instance_types
        ]
    return args


def pool_node_selector(p: PoolInputs) -> dict[str, str]:
    """What the pods select: the pool's labels."""
    return dict(p.labels)


def pool_tolerations() -> list[dict[str, str]]:
    return [toleration_for(GPU_TAINT)]


def default_vswitches(nodepools: Sequence[Mapping[str, Any]], own_pool: str) -> list[str]:
    """The cluster's worker vSwitches: those of its other node pools, in a stable order."""
    found = sorted({v for pool in nodepools if pool["node_pool_name"] != own_pool for v in pool["vswitch_ids"]})
    if not found:
        raise ValueError(
            "the cluster has no other node pool to take worker vSwitches from; "
            "set capacity.nodePool.vswitchIds"
        )
    return found


def eci_pod_labels(scheduling: str) -> dict[str, str]:
    """`only`: the label sends every pod to ECI. `burst` leaves it to the ResourcePolicy."""
    return {ECI_LABEL: "true"} if scheduling == "only" else {}


def eci_pod_annotations(instance_types: Sequence[str], spot: bool, image_cache: bool) -> dict[str, str]:
    """ECI specs in order of preference, optional spot, and the image cache for the big image."""
    annotations = {ANNOTATION_SPECS: ",".join(instance_types)}
    if spot:
        annotations[ANNOTATION_SPOT] = "SpotAsPriceGo"
    if image_cache:
        annotations[ANNOTATION_IMAGE_CACHE] = "true"
    return annotations


def resource_policy_manifest(namespace: str, name: str, selector: Mapping[str, str]) -> dict:
    """ACK ResourcePolicy for `burst`: fill ECS nodes first, overflow to ECI.

    On scale-in the scheduler removes pods in reverse order, so the ECI ones go first.
    """
    return {
        "apiVersion": "scheduling.alibabacloud.com/v1alpha1",
        "kind": "ResourcePolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": dict(selector),
            "strategy": "prefer",
            "units": [{"resource": "ecs"}, {"resource": "eci"}],
        },
    }
