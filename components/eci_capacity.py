"""EciCapacity: GPU pods on Elastic Container Instances through the ACK virtual node."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import pulumi
import pulumi_alicloud as alicloud
import pulumi_kubernetes as k8s

from .capacity_spec import (
    VIRTUAL_NODE_ADDON,
    VIRTUAL_NODE_TOLERATION,
    eci_pod_annotations,
    eci_pod_labels,
    resource_policy_manifest,
)
from .placement import Placement


@dataclass(frozen=True)
class EciCapacityArgs:
    """How the serving pods go to ECI."""

    cluster_id: str
    namespace: str
    name: str
    """Name of the ResourcePolicy (burst): the serving name."""
    pod_selector: Mapping[str, str]
    """Labels of the serving pods (what the ResourcePolicy applies to)."""
    instance_types: tuple[str, ...]
    scheduling: str
    """only | burst."""
    spot: bool
    image_cache: bool
    provider: k8s.Provider


class EciCapacity(pulumi.ComponentResource):
    """The virtual node addon, and pod labels/annotations that put the pods on GPU ECI.

    Outputs: `placement`. (There is no node pool in this mode.)
    """

    placement: Placement

    def __init__(self, name: str, args: EciCapacityArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("elastic-inference:capacity:EciCapacity", name, None, opts)
        addon = alicloud.cs.KubernetesAddon(
            f"{name}-virtual-node",
            cluster_id=args.cluster_id,
            name=VIRTUAL_NODE_ADDON,
            # Installed if missing, left alone if present. The virtual node serves the whole
            # cluster, so destroying this stack must not uninstall it.
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )
        depends: list[pulumi.Resource] = [addon]
        if args.scheduling == "burst":
            policy = resource_policy_manifest(args.namespace, args.name, args.pod_selector)
            depends.append(
                k8s.apiextensions.CustomResource(
                    f"{name}-resource-policy",
                    api_version=policy["apiVersion"],
                    kind=policy["kind"],
                    metadata=policy["metadata"],
                    spec=policy["spec"],
                    opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[addon]),
                )
            )
        self.placement = Placement(
            tolerations=(dict(VIRTUAL_NODE_TOLERATION),),
            pod_labels=eci_pod_labels(args.scheduling),
            pod_annotations=eci_pod_annotations(args.instance_types, args.spot, args.image_cache),
            depends_on=tuple(depends),
            describe=f"ECI ({args.scheduling}) on {', '.join(args.instance_types)}",
        )
        self.register_outputs({})
