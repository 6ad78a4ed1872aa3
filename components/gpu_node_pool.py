"""GpuNodePool: an auto-scaling pool of preemptible GPU instances, and the placement onto it.

Everything about the spot pool is in this file: its settings, the pure builders of the
`alicloud.cs.NodePool` arguments and of the pods' placement, and the component that wires them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_alicloud as alicloud

from .placement import Placement

# The pool's nodes carry this taint so only pods that ask for GPUs land there.
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}


@dataclass(frozen=True, kw_only=True)
class GpuNodePoolArgs:
    """The pool's settings; vSwitches are looked up from the cluster when not given."""

    cluster_id: str
    """Existing ACK cluster the pool joins."""
    name: str
    """Node pool name (ACK's `node_pool_name`)."""
    instance_types: tuple[str, ...]
    """GPU instance types, most preferred first."""
    min_size: int
    """Fewest nodes the scaler keeps."""
    max_size: int
    """Most nodes the scaler may add."""
    spot_strategy: str
    """SpotAsPriceGo | SpotWithPriceLimit."""
    spot_price_limit: Optional[float]
    """Hourly price cap per instance (SpotWithPriceLimit only)."""
    on_demand_percentage: int
    """Pay-as-you-go share of the capacity above the base (0-100)."""
    compensate_with_on_demand: bool
    """Pay-as-you-go instances when spot stock runs out."""
    labels: Mapping[str, str]
    """Node labels; the serving pods select them."""
    key_name: str
    """ECS key pair of the nodes."""
    system_disk_size: int
    """GiB of the encrypted ESSD system disk."""
    force_delete: bool
    """Delete the pool even while it has nodes."""
    vswitch_ids: Optional[Sequence[str]]
    """vSwitches (zones) of the pool; None: the cluster's other node pools' vSwitches."""


def toleration_for(taint: Mapping[str, str]) -> dict[str, str]:
    """The toleration that admits a pod onto nodes with exactly this taint."""
    return {"key": taint["key"], "operator": "Equal", "value": taint["value"], "effect": taint["effect"]}


def node_pool_args(p: GpuNodePoolArgs) -> dict[str, Any]:
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


def pool_placement(p: GpuNodePoolArgs, pool: pulumi.Resource) -> Placement:
    """The pods select the pool's labels and tolerate its GPU taint; they wait for the pool."""
    return Placement(
        node_selector=dict(p.labels),
        tolerations=(toleration_for(GPU_TAINT),),
        depends_on=(pool,),
        describe=f"spot GPU node pool {p.name} ({', '.join(p.instance_types)})",
    )


def default_vswitches(nodepools: Sequence[Mapping[str, Any]], own_pool: str) -> list[str]:
    """The cluster's worker vSwitches: those of its other node pools, in a stable order."""
    found = sorted({v for pool in nodepools if pool["node_pool_name"] != own_pool for v in pool["vswitch_ids"]})
    if not found:
        raise ValueError(
            "the cluster has no other node pool to take worker vSwitches from; "
            "set capacity.nodePool.vswitchIds"
        )
    return found


class GpuNodePool(pulumi.ComponentResource):
    """Spot GPU capacity that scales with the pending serving pods.

    Outputs: `placement` (node selector and GPU toleration, depending on the pool),
    `node_pool_id`.
    """

    placement: Placement
    node_pool_id: pulumi.Output[str]

    def __init__(self, name: str, args: GpuNodePoolArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("elastic-inference:capacity:GpuNodePool", name, None, opts)
        if args.vswitch_ids is not None:
            vswitches: pulumi.Input[Sequence[pulumi.Input[str]]] = list(args.vswitch_ids)
        else:
            pools = alicloud.cs.get_kubernetes_node_pools_output(
                cluster_id=args.cluster_id, opts=pulumi.InvokeOutputOptions(parent=self)
            )
            vswitches = pools.nodepools.apply(
                lambda found: default_vswitches(
                    [{"node_pool_name": p.node_pool_name, "vswitch_ids": p.vswitch_ids} for p in found],
                    args.name,
                )
            )
        pool = alicloud.cs.NodePool(
            f"{name}-pool",
            vswitch_ids=vswitches,
            **node_pool_args(args),
            opts=pulumi.ResourceOptions(
                parent=self,
                # ACK can take a long time to drain and release GPU nodes.
                custom_timeouts=pulumi.CustomTimeouts(create="30m", update="30m", delete="30m"),
            ),
        )
        self.node_pool_id = pool.node_pool_id
        self.placement = pool_placement(args, pool)
        self.register_outputs({"nodePoolId": self.node_pool_id})
