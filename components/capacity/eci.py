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

from components.capacity.placement import Placement
from components.wiring import k8s_object
from settings import Eci

# The ACK virtual node is tainted with this; pods sent to ECI must tolerate it.
VIRTUAL_NODE_TOLERATION = {"key": "virtual-kubelet.io/provider", "operator": "Exists", "effect": "NoSchedule"}
# The label ACK's virtual node carries ("the type: virtual-kubelet label (virtual nodes)": ACK's
# "Specify resource allocation for ECS and ECI", configure-eci-scaling, whose example admits a pod
# to either labelled ECS nodes or ECI with two OR'd required terms; upstream virtual-kubelet sets it,
# node/nodeutil/controller.go L298-301 at 7b1385bc). A ResourcePolicy's units order the nodes but do
# not confine the pods ("If strategy is prefer, the pod can be scheduled on all nodes":
# kubernetes-sigs/scheduler-plugins kep/594-resourcepolicy, the design ACK's follows, whose Filter
# only narrows the nodes the pod's own affinity already admits): so the pods name both themselves.
VIRTUAL_NODE_LABELS = {"type": "virtual-kubelet"}
# GPU ECS nodes are tainted so that only GPU pods land there (our node pool's taint,
# components/capacity/node_pool.py); in burst mode the pods must tolerate it, whatever its value.
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
# Pin a cache (help.aliyun.com/document_detail/141241.html: "明确指定使用某个ImageCache创建Pod").
ANNOTATION_IMAGE_CACHE_ID = "k8s.aliyun.com/eci-imc-id"
VIRTUAL_NODE_ADDON = "ack-virtual-node"


@dataclass(frozen=True)
class CacheUse:
    """The stack's ECI image cache (components/capacity/image_cache.py) as its ECI pods use it."""

    cache: pulumi.Resource
    """What the pods wait for: the cache is Ready once its create returns."""
    cache_id: pulumi.Input[str]
    """`imc-...`."""
    pinned: bool
    """Pinned by id (it takes precedence over automatic matching, and a pinned cache that is not
    Ready fails the pod: ECI's "Use ImageCache to accelerate the creation of pods"). False where
    ECI deletes the cache after `retentionDays`: then ECI matches it by image while it lives, and
    afterwards pulls (and builds its own) rather than failing every new pod."""


@dataclass(frozen=True, kw_only=True)
class EciCapacityArgs:
    """How the serving pods go to ECI: the settings, and the cluster's side of them."""

    cluster_id: str
    """Existing ACK cluster (the virtual node addon is installed into it)."""
    namespace: pulumi.Input[str]
    """Namespace of the serving pods (and of the ResourcePolicy): the cluster component's output, so
    the policy comes after the namespace and goes before it."""
    name: str
    """Name of the ResourcePolicy (burst): the serving name."""
    pod_selector: Mapping[str, str]
    """Labels of the serving pods (what the ResourcePolicy applies to)."""
    eci: Eci
    image_cache: Optional[CacheUse] = None
    """The stack's ECI image cache (`eci.image_cache`) as the pods use it; None: no cache (ECI's
    automatic one off too)."""


def eci_pod_labels(scheduling: str) -> dict[str, str]:
    """`only`: the label sends every pod to ECI. `burst` leaves it to the ResourcePolicy."""
    return {ECI_LABEL: "true"} if scheduling == "only" else {}


def _flag(value: bool) -> str:
    return "true" if value else "false"


def eci_instance_annotations(instance_types: tuple[str, ...], cache: Optional[CacheUse],
                             gpu_driver: Optional[int]) -> dict[str, pulumi.Input[str]]:
    """What an ECI pod of this stack needs, in either capacity mode (ECI reads them only on pods
    it runs: "no effect on pods scheduled to real nodes", ACK's pod annotations reference): the
    specs in order of preference, the cache (pinned, or matched; without one ECI's automatic cache
    turned off: leaving the annotation out means on), the driver the image needs."""
    annotations: dict[str, pulumi.Input[str]] = {ANNOTATION_SPECS: ",".join(instance_types)}
    if cache is not None and cache.pinned:
        annotations[ANNOTATION_IMAGE_CACHE_ID] = cache.cache_id
    else:
        annotations[ANNOTATION_IMAGE_CACHE] = _flag(cache is not None)
    if gpu_driver is not None:
        annotations[ANNOTATION_GPU_DRIVER] = f"tesla={gpu_driver}"
    return annotations


def eci_pod_annotations(args: EciCapacityArgs) -> dict[str, pulumi.Input[str]]:
    """The ECI instance's annotations, and spot as configured."""
    eci, spot = args.eci, args.eci.spot
    annotations = eci_instance_annotations(eci.instance_types, args.image_cache, eci.gpu_driver)
    if spot is not None:
        if spot.price_limit is None:
            annotations[ANNOTATION_SPOT] = "SpotAsPriceGo"
        else:
            annotations[ANNOTATION_SPOT] = "SpotWithPriceLimit"
            annotations[ANNOTATION_SPOT_PRICE_LIMIT] = f"{spot.price_limit:.3f}".rstrip("0").rstrip(".")
        annotations[ANNOTATION_SPOT_FALLBACK] = _flag(spot.fallback)
    return annotations


def eci_tolerations(scheduling: str) -> tuple[dict[str, str], ...]:
    """The virtual node's taint; in `burst` also the GPU nodes' taint, or "ECS first" could only
    ever use untainted nodes."""
    if scheduling == "burst":
        return (dict(VIRTUAL_NODE_TOLERATION), dict(GPU_NODE_TOLERATION))
    return (dict(VIRTUAL_NODE_TOLERATION),)


def resource_policy(namespace: pulumi.Input[str], name: str, selector: Mapping[str, str], units: list[dict],
                    when_try_next_units: Optional[dict] = None) -> dict:
    """An ACK ResourcePolicy: the selected pods go to the units in order, and on scale-in leave in
    reverse order (best effort). ACK docs, "Configure priority-based resource scheduling"
    (alibabacloud.com/help/en/ack/ack-managed-and-ack-dedicated/user-guide/configure-priority-based-resource-scheduling):
    an ACK managed Pro cluster (config/account.py checks the edition); the eci unit gives its pods
    the virtual node's toleration; never with the `alibabacloud.com/eci` label, which overrides it."""
    spec: dict = {"selector": dict(selector), "strategy": "prefer", "units": units}
    if when_try_next_units is not None:
        spec["whenTryNextUnits"] = when_try_next_units
    return {"apiVersion": "scheduling.alibabacloud.com/v1alpha1", "kind": "ResourcePolicy",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def resource_policy_manifest(args: EciCapacityArgs, ecs_node_labels: Mapping[str, str]) -> dict:
    """`burst`: fill the GPU ECS nodes first, overflow to ECI (whose pods go first on scale-in)."""
    return resource_policy(args.namespace, args.name, args.pod_selector,
                           [{"resource": "ecs", "nodeSelector": dict(ecs_node_labels)}, {"resource": "eci"}])


def virtual_node(parent: pulumi.Resource, name: str, cluster_id: str,
                 policy: Optional[dict] = None) -> list[pulumi.Resource]:
    """The ack-virtual-node addon (installed if missing, left alone if present: it serves the whole
    cluster, so destroying this stack never uninstalls it), and a ResourcePolicy that waits for it.
    What the pods wait for."""
    addon = alicloud.cs.KubernetesAddon(
        f"{name}-virtual-node", cluster_id=cluster_id, name=VIRTUAL_NODE_ADDON,
        opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=True))
    if policy is None:
        return [addon]
    return [addon, k8s_object(k8s.apiextensions.CustomResource, f"{name}-resource-policy", policy, parent=parent,
                              depends_on=[addon])]


class EciCapacity(pulumi.ComponentResource):
    """The virtual node addon, and pod labels/annotations that put the pods on GPU ECI.

    Outputs: `placement`. (There is no node pool in this mode.) The Kubernetes provider comes
    through `opts` (`providers=`), like every component's.
    """

    placement: Placement

    def __init__(self, name: str, args: EciCapacityArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("elastic-inference:capacity:EciCapacity", name, None, opts)
        # `burst`: the labelled ECS nodes first, then ECI, and nowhere else; `only`: the ECI label
        # sends every pod there.
        ecs, scheduling = args.eci.burst_node_labels, args.eci.scheduling
        depends = virtual_node(self, name, args.cluster_id,
                               resource_policy_manifest(args, ecs) if ecs is not None else None)
        self.placement = Placement(
            tolerations=eci_tolerations(scheduling),
            node_terms=(dict(ecs), dict(VIRTUAL_NODE_LABELS)) if ecs is not None else (),
            pod_labels=eci_pod_labels(scheduling),
            pod_annotations=eci_pod_annotations(args),
            depends_on=(*depends, *((args.image_cache.cache,) if args.image_cache is not None else ())),
            describe=f"ECI ({scheduling}) on {', '.join(args.eci.instance_types)}",
        )
        self.register_outputs({})
