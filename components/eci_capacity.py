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
# GPU ECS nodes are tainted so that only GPU pods land there (our node pool's taint,
# components/gpu_node_pool.py); in burst mode the pods must tolerate it, whatever its value.
GPU_NODE_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
# Pod label that sends a pod to ECI (the burst-resource annotation is unmaintained since 1.24).
ECI_LABEL = "alibabacloud.com/eci"
# ECI pod annotations (help.aliyun.com/zh/eci/user-guide/pod-annotations): instance types in
# order; spot strategy SpotAsPriceGo | SpotWithPriceLimit with a price limit of at most 3
# decimals; spot fallback to pay-as-you-go ("true"; ECI's default is false: the pod stays
# Pending when spot stock runs out); the GPU driver branch (`tesla=535`, the major only since
# 2025-03-17: help.aliyun.com/en/eci/user-guide/create-a-pod-by-specifying-the-gpu-specification);
# the automatic image cache, whose default is "true"
# (help.aliyun.com/en/eci/user-guide/use-imagecache-to-accelerate-the-creation-of-pods).
ANNOTATION_SPECS = "k8s.aliyun.com/eci-use-specs"
ANNOTATION_SPOT = "k8s.aliyun.com/eci-spot-strategy"
ANNOTATION_SPOT_PRICE_LIMIT = "k8s.aliyun.com/eci-spot-price-limit"
ANNOTATION_SPOT_FALLBACK = "k8s.aliyun.com/eci-spot-fallback"
ANNOTATION_GPU_DRIVER = "k8s.aliyun.com/eci-gpu-driver-version"
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
    spot_fallback: bool = True
    """Pay-as-you-go when spot stock runs out (with `spot`)."""
    spot_price_limit: Optional[float] = None
    """Highest hourly price (with `spot`); None: the market price."""
    image_cache: bool
    """ECI image cache for the serving image."""
    ecs_node_labels: Optional[Mapping[str, str]] = None
    """Labels of the GPU ECS nodes that `burst` fills first (required with `burst`)."""
    gpu_driver: Optional[int] = None
    """NVIDIA driver branch to ask ECI for; None: ECI's default suffices for the image."""


def eci_pod_labels(scheduling: str) -> dict[str, str]:
    """`only`: the label sends every pod to ECI. `burst` leaves it to the ResourcePolicy."""
    return {ECI_LABEL: "true"} if scheduling == "only" else {}


def _flag(value: bool) -> str:
    return "true" if value else "false"


def eci_pod_annotations(args: EciCapacityArgs) -> dict[str, str]:
    """ECI specs in order of preference, spot as configured, the driver the image needs, and the
    image cache written both ways (leaving it out means on)."""
    annotations = {ANNOTATION_SPECS: ",".join(args.instance_types), ANNOTATION_IMAGE_CACHE: _flag(args.image_cache)}
    if args.spot:
        if args.spot_price_limit is None:
            annotations[ANNOTATION_SPOT] = "SpotAsPriceGo"
        else:
            annotations[ANNOTATION_SPOT] = "SpotWithPriceLimit"
            annotations[ANNOTATION_SPOT_PRICE_LIMIT] = f"{args.spot_price_limit:.3f}".rstrip("0").rstrip(".")
        annotations[ANNOTATION_SPOT_FALLBACK] = _flag(args.spot_fallback)
    if args.gpu_driver is not None:
        annotations[ANNOTATION_GPU_DRIVER] = f"tesla={args.gpu_driver}"
    return annotations


def eci_tolerations(scheduling: str) -> tuple[dict[str, str], ...]:
    """The virtual node's taint; in `burst` also the GPU nodes' taint, or "ECS first" could only
    ever use untainted nodes."""
    if scheduling == "burst":
        return (dict(VIRTUAL_NODE_TOLERATION), dict(GPU_NODE_TOLERATION))
    return (dict(VIRTUAL_NODE_TOLERATION),)


def resource_policy_manifest(args: EciCapacityArgs) -> dict:
    """ACK ResourcePolicy for `burst`: fill the GPU ECS nodes first, overflow to ECI.

    On scale-in the scheduler removes pods in reverse order, so the ECI ones go first. Units and
    their `nodeSelector`: ACK docs, "Configure priority-based resource scheduling"
    (alibabacloud.com/help/en/ack/ack-managed-and-ack-dedicated/user-guide/configure-priority-based-resource-scheduling),
    which needs an ACK managed Pro cluster (config/account.py checks the edition).
    """
    assert args.ecs_node_labels, "config/rules.py requires capacity.eci.ecsNodeLabels with burst"
    return {
        "apiVersion": "scheduling.alibabacloud.com/v1alpha1",
        "kind": "ResourcePolicy",
        "metadata": {"name": args.name, "namespace": args.namespace},
        "spec": {
            "selector": dict(args.pod_selector),
            "strategy": "prefer",
            "units": [{"resource": "ecs", "nodeSelector": dict(args.ecs_node_labels)}, {"resource": "eci"}],
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
            tolerations=eci_tolerations(args.scheduling),
            pod_labels=eci_pod_labels(args.scheduling),
            pod_annotations=eci_pod_annotations(args),
            depends_on=tuple(depends),
            describe=f"ECI ({args.scheduling}) on {', '.join(args.instance_types)}",
        )
        self.register_outputs({})
