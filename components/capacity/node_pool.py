"""GpuNodePool: an auto-scaling pool of preemptible GPU instances, and the placement onto it.

Everything about the spot pool is in this file: the pure builders of the `alicloud.cs.NodePool`
arguments and of the pods' placement, and the component that wires them (its settings are
settings.NodePool).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_alicloud as alicloud

from components.capacity.eci import (
    VIRTUAL_NODE_LABELS,
    CacheUse,
    eci_instance_annotations,
    resource_policy,
    virtual_node,
)
from components.capacity.placement import Placement
from settings import NodePool

# The pool's nodes carry this taint so only pods that ask for GPUs land there.
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}


# The node pool label that makes ACK install this NVIDIA driver on the pool's new nodes (ACK docs,
# "Specify an NVIDIA driver version for nodes by adding a label"):
# alibabacloud.com/help/en/ack/ack-managed-and-ack-dedicated/user-guide/
#   customize-the-gpu-driver-version-of-the-node-by-specifying-the-version-number
DRIVER_LABEL = "ack.aliyun.com/nvidia-driver-version"


# The provider's own timeouts for a node pool (aliyun/terraform-provider-alicloud
# alicloud/resource_alicloud_cs_kubernetes_node_pool.go, Timeouts L32-35, at ace5bcf87 on release/v2,
# the line pulumi-alicloud 4.0.0 bridges): ours are never
# shorter. Draining and releasing GPU nodes takes long; a shorter timeout fails a working delete.
TIMEOUTS = pulumi.CustomTimeouts(create="90m", update="60m", delete="60m")


# ECI overflow: a pod the pool has no room for waits this long on the pool, then starts on ECI.
# The scaler must find it waiting, or the pool never grows: node instant scaling, which ACK requires
# beside a ResourcePolicy, reacts in 1-3 s; every second longer is a second the burst waits
# (benchmarks/bursts.py measures 0-60 s: docs/capacity.md, "How long a pod waits on the pool").
# ResourcePolicy `whenTryNextUnits` TimeoutOrExceedMax, with the ECS unit's
# `k8s.aliyun.com/resource-policy-wait-for-ecs-scaling: "true"` pod label (ACK docs, "Configure
# priority-based resource scheduling": "prioritize scaling out the node pool and automatically
# use ECI after the timeout"; cluster 1.24+ and kube-scheduler 6.4+). Without the wait the pod
# would never be pending, and the pool would never grow.
OVERFLOW_WAIT_SECONDS = 10
WAIT_FOR_ECS_SCALING = "k8s.aliyun.com/resource-policy-wait-for-ecs-scaling"


@dataclass(frozen=True, kw_only=True)
class EciOverflowArgs:
    """Where the serving pods go while the pool's nodes boot (`pool.eci_overflow`), as the cluster
    knows them."""

    namespace: pulumi.Input[str]
    """Namespace of the serving pods (and of the ResourcePolicy): the cluster component's output, so
    the policy comes after the namespace and goes before it."""
    name: str
    """Name of the ResourcePolicy: the serving name."""
    pod_selector: Mapping[str, str]
    """Labels of the serving pods."""
    image_cache: CacheUse
    """The stack's ECI image cache, which the ECI pods start from."""


@dataclass(frozen=True, kw_only=True)
class GpuNodePoolArgs:
    """The pool's settings, and the cluster it joins."""

    cluster_id: str
    pool: NodePool
    overflow: Optional[EciOverflowArgs] = None
    """With `pool.eci_overflow`: the pods' way to ECI; None: the pool alone."""


def toleration_for(taint: Mapping[str, str]) -> dict[str, str]:
    """The toleration that admits a pod onto nodes with exactly this taint."""
    return {"key": taint["key"], "operator": "Equal", "value": taint["value"], "effect": taint["effect"]}


def node_labels(p: NodePool) -> dict[str, str]:
    """The pool's labels, and the driver label when a driver is pinned (the pods select only the
    configured labels)."""
    if p.gpu_driver_version is None:
        return dict(p.labels)
    return {**p.labels, DRIVER_LABEL: p.gpu_driver_version}


def node_pool_args(cluster_id: str, p: NodePool) -> dict[str, Any]:
    """Keyword arguments of `alicloud.cs.NodePool` for an auto-scaling spot GPU pool, nested
    blocks as the SDK's typed Args (so pyright checks their field names).

    Neither `desired_size` nor `node_count`: with auto scaling on they fight the scaling group.
    """
    args: dict[str, Any] = {
        "cluster_id": cluster_id,
        "node_pool_name": p.name,
        "vswitch_ids": list(p.vswitch_ids),
        "instance_types": list(p.instance_types),
        "instance_charge_type": "PostPaid",
        "spot_strategy": p.spot_strategy,
        # Cheapest zones and types first, a pay-as-you-go share for a floor of stable capacity,
        # pay-as-you-go instead when spot stock runs out, and replacement before a reclaim.
        "multi_az_policy": "COST_OPTIMIZED",
        # Strings in the 4.0.0 SDK (the provider parses them so a zero can be sent: its PR #8525).
        "on_demand_base_capacity": "0",
        "on_demand_percentage_above_base_capacity": str(p.on_demand_percentage),
        # Sent either way. The provider drops `false` on create (Create L1245-1246 reads it with
        # d.GetOk) and sends it on an update (L2621-2624); config/account.py warns when this run
        # creates the pool, and docs/provider.md says what follows.
        "compensate_with_on_demand": p.compensate_with_on_demand,
        "spot_instance_remedy": True,
        "spot_instance_pools": min(len(p.instance_types), 10),
        # `type` cannot change after creation: GPU from the start.
        "scaling_config": alicloud.cs.NodePoolScalingConfigArgs(
            enable=True, min_size=p.min_size, max_size=p.max_size, type="gpu"),
        "labels": [alicloud.cs.NodePoolLabelArgs(key=k, value=v) for k, v in sorted(node_labels(p).items())],
        "tags": dict(p.tags),
        "taints": [alicloud.cs.NodePoolTaintArgs(**GPU_TAINT)],
        # A label or taint change reaches the nodes that exist too, not only new ones: the pods'
        # node selector changes at once, and pods must not go Pending on relabelled-only-later nodes.
        "update_nodes": True,
        "key_name": p.key_name,
        "system_disk_category": "cloud_essd",
        "system_disk_size": p.system_disk_size,
        "system_disk_encrypted": True,
        "install_cloud_monitor": True,
        "management": alicloud.cs.NodePoolManagementArgs(
            enable=True, auto_repair=True, auto_upgrade=False, auto_vul_fix=False),
        # Delete even with nodes in it, in every stack: the workload is removed first (it depends
        # on the pool), and protecting prod is the bucket's job, not the pool's. ACK refuses a
        # non-forced delete of a pool with nodes; the provider forces unless this says false.
        "force_delete": True,
    }
    if p.spot_strategy == "SpotWithPriceLimit":
        args["spot_price_limits"] = [
            alicloud.cs.NodePoolSpotPriceLimitArgs(instance_type=t, price_limit=str(p.spot_price_limit))
            for t in p.instance_types
        ]
    return args


def overflow_policy(p: NodePool, o: EciOverflowArgs) -> dict:
    """The pool's nodes first (their labels), waiting OVERFLOW_WAIT_SECONDS for a new one, then ECI;
    on scale-in the ECI pods go first. No `max` on the pool's unit, as ACK advises for an
    auto-scaling pool ("include the elastic node pool in a unit and do not set the max field")."""
    return resource_policy(o.namespace, o.name, o.pod_selector, [
        {"resource": "ecs", "nodeSelector": dict(p.labels), "podLabels": {WAIT_FOR_ECS_SCALING: "true"}},
        {"resource": "eci"},
    ], {"policy": "TimeoutOrExceedMax", "timeout": f"{OVERFLOW_WAIT_SECONDS}s"})


def pool_placement(p: NodePool, o: Optional[EciOverflowArgs], pool: pulumi.Resource,
                   overflow: tuple[pulumi.Resource, ...] = ()) -> Placement:
    """The pods tolerate the pool's GPU taint and wait for the pool. Alone, they select its labels;
    with ECI overflow, they require the pool's labels or the virtual node's (a node selector would
    keep them off the virtual node, and the ResourcePolicy alone would let any GPU node they
    tolerate take them, or be the pool the autoscaler grows), the ResourcePolicy orders the two,
    and the pods carry what ECI needs."""
    where = f"spot GPU node pool {p.name} ({', '.join(p.instance_types)})"
    if p.eci_overflow is None or o is None:
        return Placement(node_selector=dict(p.labels), tolerations=(toleration_for(GPU_TAINT),),
                         depends_on=(pool,), describe=where)
    return Placement(
        tolerations=(toleration_for(GPU_TAINT),),
        node_terms=(dict(p.labels), dict(VIRTUAL_NODE_LABELS)),
        pod_annotations=eci_instance_annotations(p.instance_types, o.image_cache, p.eci_overflow.gpu_driver),
        depends_on=(pool, *overflow, o.image_cache.cache), describe=f"{where}, ECI while its nodes boot")


class GpuNodePool(pulumi.ComponentResource):
    """Spot GPU capacity that scales with the pending serving pods.

    Outputs: `placement` (node selector and GPU toleration, depending on the pool),
    `node_pool_id`.
    """

    placement: Placement
    node_pool_id: pulumi.Output[str]

    def __init__(self, name: str, args: GpuNodePoolArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("elastic-inference:capacity:GpuNodePool", name, None, opts)
        pool = alicloud.cs.NodePool(
            f"{name}-pool",
            **node_pool_args(args.cluster_id, args.pool),
            opts=pulumi.ResourceOptions(parent=self, custom_timeouts=TIMEOUTS),
        )
        self.node_pool_id = pool.node_pool_id
        overflow = () if args.overflow is None else tuple(
            virtual_node(self, name, args.cluster_id, overflow_policy(args.pool, args.overflow)))
        self.placement = pool_placement(args.pool, args.overflow, pool, overflow)
        self.register_outputs({"nodePoolId": self.node_pool_id})
