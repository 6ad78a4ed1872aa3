"""EciCapacity: GPU pods on Elastic Container Instances through the ACK virtual node.

Everything about the ECI mode is in this file: the pod labels and annotations ECI reads, the
ResourcePolicy of the burst scheduling, and the component that installs the virtual node.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_alicloud as alicloud
import pulumi_kubernetes as k8s

from .placement import Placement

# The ACK virtual node is tainted with this; pods sent to ECI must tolerate it.
VIRTUAL_NODE_TOLERATION = {"key": "virtual-kubelet.io/provider", "operator": "Exists", "effect": "NoSchedule"}
# Pod label that sends a pod to ECI (the burst-resource annotation is unmaintained since 1.24).
ECI_LABEL = "alibabacloud.com/eci"
ANNOTATION_SPECS = "k8s.aliyun.com/eci-use-specs"
ANNOTATION_SPOT = "k8s.aliyun.com/eci-spot-strategy"
ANNOTATION_IMAGE_CACHE = "k8s.aliyun.com/eci-auto-imc"
VIRTUAL_NODE_ADDON = "ack-virtual-node"


@dataclass(frozen=True, kw_only=True)
class EciCapacityArgs:
    """How the serving pods go to ECI."""

    cluster_id: str
    """Existing ACK cluster (the virtual node addon is installed into it)."""
    namespace: str
    """Namespace of the serving pods (and of the ResourcePolicy)."""
    name: str
    """Name of the ResourcePolicy (burst): the serving name."""
    pod_selector: Mapping[str, str]
    """Labels of the serving pods (what the ResourcePolicy applies to)."""
    instance_types: tuple[str, ...]
    """ECI specs, most preferred first."""
    scheduling: str
    """only | burst."""
    spot: bool
    """Preemptible ECI."""
    image_cache: bool
    """ECI image cache for the serving image."""


def eci_pod_labels(scheduling: str) -> dict[str, str]:
    """`only`: the label sends every pod to ECI. `burst` leaves it to the ResourcePolicy."""
    return {ECI_LABEL: "true"} if scheduling == "only" else {}


def eci_pod_annotations(args: EciCapacityArgs) -> dict[str, str]:
    """ECI specs in order of preference, optional spot, and the image cache for the big image."""
    annotations = {ANNOTATION_SPECS: ",".join(args.instance_types)}
    if args.spot:
        annotations[ANNOTATION_SPOT] = "SpotAsPriceGo"
    if args.image_cache:
        annotations[ANNOTATION_IMAGE_CACHE] = "true"
    return annotations


def resource_policy_manifest(args: EciCapacityArgs) -> dict:
    """ACK ResourcePolicy for `burst`: fill ECS nodes first, overflow to ECI.

    On scale-in the scheduler removes pods in reverse order, so the ECI ones go first.
    """
    return {
        "apiVersion": "scheduling.alibabacloud.com/v1alpha1",
        "kind": "ResourcePolicy",
        "metadata": {"name": args.name, "namespace": args.namespace},
        "spec": {
            "selector": dict(args.pod_selector),
            "strategy": "prefer",
            "units": [{"resource": "ecs"}, {"resource": "eci"}],
        },
    }


class EciCapacity(pulumi.ComponentResource):
    """The virtual node addon, and pod labels/annotations that put the pods on GPU ECI.

    Outputs: `placement`. (There is no node pool in this mode.) The Kubernetes provider comes
    through `opts` (`providers=`), like every component's.
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
            policy = resource_policy_manifest(args)
            depends.append(
                k8s.apiextensions.CustomResource(
                    f"{name}-resource-policy",
                    api_version=policy["apiVersion"],
                    kind=policy["kind"],
                    metadata=policy["metadata"],
                    spec=policy["spec"],
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[addon]),
                )
            )
        self.placement = Placement(
            tolerations=(dict(VIRTUAL_NODE_TOLERATION),),
            pod_labels=eci_pod_labels(args.scheduling),
            pod_annotations=eci_pod_annotations(args),
            depends_on=tuple(depends),
            describe=f"ECI ({args.scheduling}) on {', '.join(args.instance_types)}",
        )
        self.register_outputs({})
