"""The one place that turns `capacity.mode` into a capacity component and its Placement."""

from __future__ import annotations

from typing import Optional, Union

import pulumi

from config import Settings
from config.images import eci_driver
from config.rules import node_pool_name

from .eci_capacity import EciCapacity, EciCapacityArgs
from .gpu_node_pool import GpuNodePool, GpuNodePoolArgs
from .serving_spec import selector_labels

Capacity = Union[GpuNodePool, EciCapacity]


def build_capacity(s: Settings, opts: pulumi.ResourceOptions) -> Capacity:
    """A spot GPU node pool or ECI, chosen by `capacity.mode`; the other mode registers nothing.

    `opts` carries the Kubernetes provider (`providers=`) for the ECI mode's ResourcePolicy.
    """
    c = s.capacity
    if c.mode == "nodepool":
        pool = c.node_pool
        # config/rules.py requires a key pair in this mode; config/account.py resolves the vSwitches.
        assert pool.key_name is not None and s.pool_vswitch_ids is not None
        return GpuNodePool("capacity", GpuNodePoolArgs(
            cluster_id=s.cluster_id,
            name=node_pool_name(s.serving.name),
            instance_types=tuple(c.instance_types),
            min_size=pool.min_size,
            max_size=pool.max_size,
            spot_strategy=pool.spot_strategy,
            spot_price_limit=pool.spot_price_limit,
            on_demand_percentage=pool.on_demand_percentage,
            compensate_with_on_demand=pool.compensate_with_on_demand,
            labels=pool.labels,
            key_name=pool.key_name,
            system_disk_size=pool.system_disk_size,
            vswitch_ids=s.pool_vswitch_ids,
            gpu_driver_version=pool.gpu_driver_version,
        ), opts)
    return EciCapacity("capacity", EciCapacityArgs(
        cluster_id=s.cluster_id,
        namespace=s.serving.namespace,
        name=s.serving.name,
        pod_selector=selector_labels(s.serving.name),
        instance_types=tuple(c.instance_types),
        scheduling=c.eci.scheduling,
        spot=c.eci.spot,
        spot_fallback=c.eci.spot_fallback,
        spot_price_limit=c.eci.spot_price_limit,
        image_cache=c.eci.image_cache,
        ecs_node_labels=c.eci.ecs_node_labels,
        gpu_driver=eci_driver(s.gpu.min_driver) if s.gpu is not None else None,
    ), opts)


def node_pool_id(capacity: Capacity) -> Optional[pulumi.Output[str]]:
    """The pool id in nodepool mode; None in eci mode (documented stack output)."""
    return capacity.node_pool_id if isinstance(capacity, GpuNodePool) else None
