"""GpuNodePool: an auto-scaling pool of preemptible GPU instances, and the placement onto it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_alicloud as alicloud

from .capacity_spec import PoolInputs, default_vswitches, node_pool_args, pool_node_selector, pool_tolerations
from .placement import Placement


@dataclass(frozen=True)
class GpuNodePoolArgs:
    """The pool's settings; vSwitches are looked up from the cluster when not given."""

    pool: PoolInputs
    vswitch_ids: Optional[Sequence[str]]
    """vSwitches (zones) of the pool; None: the cluster's other node pools' vSwitches."""


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
            vswitches: pulumi.Input[list[str]] = list(args.vswitch_ids)
        else:
            pools = alicloud.cs.get_kubernetes_node_pools_output(
                cluster_id=args.pool.cluster_id, opts=pulumi.InvokeOutputOptions(parent=self)
            )
            vswitches = pools.nodepools.apply(
                lambda found: default_vswitches(
                    [{"node_pool_name": p.node_pool_name, "vswitch_ids": p.vswitch_ids} for p in found],
                    args.pool.name,
                )
            )
        pool = alicloud.cs.NodePool(
            f"{name}-pool",
            vswitch_ids=vswitches,
            **node_pool_args(args.pool),
            opts=pulumi.ResourceOptions(
                parent=self,
                # ACK can take a long time to drain and release GPU nodes.
                custom_timeouts=pulumi.CustomTimeouts(create="30m", update="30m", delete="30m"),
            ),
        )
        self.node_pool_id = pool.node_pool_id
        self.placement = Placement(
            node_selector=pool_node_selector(args.pool),
            tolerations=tuple(pool_tolerations()),
            depends_on=(pool,),
            describe=f"spot GPU node pool {args.pool.name} ({', '.join(args.pool.instance_types)})",
        )
        self.register_outputs({"nodePoolId": self.node_pool_id})
