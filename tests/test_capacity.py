"""Capacity: the spot GPU node pool field by field, ECI placement, switching modes, and the
capacity cross-checks."""

from __future__ import annotations

import copy

import pytest
from harness import NS, StackResult, run_expecting_error, run_program, validate_strictly
from inputs import pool_alone, serving_inputs

from components.capacity.eci import (
    ANNOTATION_GPU_DRIVER,
    ANNOTATION_IMAGE_CACHE,
    ANNOTATION_IMAGE_CACHE_ID,
    ANNOTATION_SPECS,
    ANNOTATION_SPOT,
    ANNOTATION_SPOT_FALLBACK,
    ANNOTATION_SPOT_PRICE_LIMIT,
    ECI_LABEL,
)
from components.capacity.placement import Placement
from components.serving import spec as serving_spec
from config import ConfigError
from tools.offline import node_pool

POOL = "alicloud:cs/nodePool:NodePool"
ADDON = "alicloud:cs/kubernetesAddon:KubernetesAddon"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
IMAGE_CACHE = "alicloud:eci/imageCache:ImageCache"


def as_nodepool(config: dict) -> dict:
    config = copy.deepcopy(config)
    config[NS + "capacity"]["mode"] = "nodepool"
    config[NS + "capacity"]["instanceTypes"] = ["ecs.gn6i-c8g1.2xlarge", "ecs.gn6v-c8g1.2xlarge"]
    config[NS + "capacity"]["nodePool"] = {"keyName": "ack-gpu-nodes", "maxSize": 4}
    return config


def as_eci(config: dict, **eci) -> dict:
    config = copy.deepcopy(config)
    config[NS + "capacity"] = {"mode": "eci", "instanceTypes": ["ecs.gn6i-c4g1.xlarge", "ecs.gn6i-c8g1.2xlarge"],
                               "eci": eci}
    return config


@pytest.mark.parametrize("preview", [False, True], ids=["update", "preview"])
def test_prod_pool_is_spot_gpu_autoscaling_field_by_field(prod_config, preview):
    result = run_program(prod_config, "prod", preview)
    pool = result.one(POOL).inputs
    assert pool["scalingConfig"] == {"enable": True, "minSize": 0, "maxSize": 10, "type": "gpu"}
    assert "desiredSize" not in pool and "nodeCount" not in pool
    assert pool["instanceTypes"] == ["ecs.gn6i-c8g1.2xlarge", "ecs.gn6i-c16g1.4xlarge", "ecs.gn6v-c8g1.2xlarge"]
    assert pool["instanceChargeType"] == "PostPaid"
    assert pool["spotStrategy"] == "SpotAsPriceGo"
    assert "spotPriceLimits" not in pool
    assert pool["multiAzPolicy"] == "COST_OPTIMIZED"
    # Strings in the 4.0.0 SDK's input types (checked for every input in test_provider_contract).
    assert pool["onDemandBaseCapacity"] == "0"
    assert pool["onDemandPercentageAboveBaseCapacity"] == "30"
    assert pool["compensateWithOnDemand"] is True
    assert pool["spotInstanceRemedy"] is True
    assert pool["spotInstancePools"] == 3
    assert pool["systemDiskEncrypted"] is True
    assert pool["management"]["enable"] is True and pool["management"]["autoRepair"] is True
    assert pool["keyName"] == "ack-gpu-nodes"
    # Looked up: the vSwitches of the cluster's other node pools, deduplicated and sorted.
    assert pool["vswitchIds"] == ["vsw-zoneh", "vsw-zonei", "vsw-zonek"]
    # Deletable with nodes in it in every stack, prod included: protection belongs to the bucket.
    assert pool["forceDelete"] is True
    # Label and taint changes reach the existing nodes, not only new ones.
    assert pool["updateNodes"] is True
    assert result.exports["capacityMode"] == "nodepool"
    # The pool's id as the provider reports it once the pool exists; unknown in a preview of a
    # pool not created yet (the mocks report it in both modes, so both runs see the id).
    assert result.exports["nodePoolId"] == "np-capacity-pool"


def test_pods_select_the_pool_labels_and_tolerate_its_taints(prod_config):
    result = run_program(pool_alone(prod_config), "prod")
    pool = result.one(POOL).inputs
    pod = result.kind("Deployment")["spec"]["template"]["spec"]
    labels = {label["key"]: label["value"] for label in pool["labels"]}
    assert pod["nodeSelector"] and pod["nodeSelector"].items() <= labels.items()
    for taint in pool["taints"]:
        assert any(
            t["key"] == taint["key"] and t["effect"] == taint["effect"]
            and (t["operator"] == "Exists" or t.get("value") == taint["value"])
            for t in pod["tolerations"]
        ), taint
    assert ECI_LABEL not in result.kind("Deployment")["spec"]["template"]["metadata"]["labels"]


def test_workload_depends_on_the_pool(rendered):
    result = rendered[("prod", False)]
    assert result.one(POOL).urn in result.one(DEPLOYMENT).dependencies


def test_dev_pool_is_force_deleted_and_configured_vswitches_are_used(dev_config):
    config = as_nodepool(dev_config)
    config[NS + "capacity"]["nodePool"].update(vswitchIds=["vsw-b", "vsw-a"], onDemandPercentage=0,
                                               spotStrategy="SpotWithPriceLimit", spotPriceLimit=1.5)
    result = run_program(config)
    pool = result.one(POOL).inputs
    assert pool["forceDelete"] is True
    assert pool["vswitchIds"] == ["vsw-b", "vsw-a"]  # as given: order is priority
    assert pool["onDemandPercentageAboveBaseCapacity"] == "0"
    assert pool["spotPriceLimits"] == [
        {"instanceType": "ecs.gn6i-c8g1.2xlarge", "priceLimit": "1.5"},
        {"instanceType": "ecs.gn6v-c8g1.2xlarge", "priceLimit": "1.5"},
    ]


@pytest.mark.parametrize("preview", [False, True], ids=["update", "preview"])
def test_dev_eci_only_labels_and_annotations(dev_config, preview):
    result = run_program(dev_config, "dev", preview)
    assert not result.of_type(POOL)
    addons = {a.inputs["name"]: a for a in result.of_type(ADDON)}
    assert set(addons) == {"ack-virtual-node", "ack-alibaba-cloud-metrics-adapter"}
    assert all(a.retain_on_delete for a in addons.values())
    template = result.kind("Deployment")["spec"]["template"]
    assert template["metadata"]["labels"][ECI_LABEL] == "true"
    annotations = template["metadata"]["annotations"]
    assert annotations[ANNOTATION_SPECS] == "ecs.gn6i-c4g1.xlarge,ecs.gn6i-c8g1.2xlarge"
    # The stack's own cache, pinned (the id the provider reports: the mocks' `<name>-id`).
    cache = result.one(IMAGE_CACHE)
    assert annotations[ANNOTATION_IMAGE_CACHE_ID] == f"{cache.name}-id"
    assert ANNOTATION_IMAGE_CACHE not in annotations
    assert ANNOTATION_SPOT not in annotations and ANNOTATION_SPOT_FALLBACK not in annotations
    assert "alibabacloud.com/burst-resource" not in annotations
    virtual_node = {"key": "virtual-kubelet.io/provider", "operator": "Exists", "effect": "NoSchedule"}
    assert virtual_node in template["spec"]["tolerations"]
    assert addons["ack-virtual-node"].urn in result.one(DEPLOYMENT).dependencies
    assert result.exports["capacityMode"] == "eci"
    assert result.exports["nodePoolId"] is None


GPU_NODES = {"inference": "tensorflow"}


def test_eci_burst_fills_the_gpu_ecs_nodes_first(dev_config):
    """The ECS unit targets the GPU nodes by their labels and the pods tolerate their taint: without
    both, "ECS first" could only ever use untainted nodes, which have no GPU."""
    result = run_program(as_eci(dev_config, scheduling="burst", ecsNodeLabels=GPU_NODES))
    template = result.kind("Deployment")["spec"]["template"]
    assert ECI_LABEL not in template["metadata"]["labels"]
    policy = result.kind("ResourcePolicy")
    assert policy["apiVersion"] == "scheduling.alibabacloud.com/v1alpha1"
    assert policy["metadata"] == {"name": "bert-tfserving", "namespace": "inference"}
    assert policy["spec"]["units"] == [{"resource": "ecs", "nodeSelector": GPU_NODES}, {"resource": "eci"}]
    tolerations = template["spec"]["tolerations"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in tolerations
    assert {"key": "virtual-kubelet.io/provider", "operator": "Exists", "effect": "NoSchedule"} in tolerations
    # The labelled GPU nodes or ECI, nowhere else (the policy orders, the pods confine themselves).
    terms = template["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms["nodeSelectorTerms"] == [
        {"matchExpressions": [{"key": k, "operator": "In", "values": [v]} for k, v in sorted(GPU_NODES.items())]},
        {"matchExpressions": [{"key": "type", "operator": "In", "values": ["virtual-kubelet"]}]}]
    # It applies to exactly the serving pods.
    assert policy["spec"]["selector"].items() <= template["metadata"]["labels"].items()
    assert policy["spec"]["selector"] == {serving_spec.GROUP_LABEL: "bert-tfserving"}
    registration = next(r for r in result.kubernetes() if r.inputs.get("kind") == "ResourcePolicy")
    assert registration.urn in result.one(DEPLOYMENT).dependencies
    # Its ECI unit needs the virtual node: created after it, deleted before it.
    virtual_node = next(a for a in result.of_type(ADDON) if a.inputs["name"] == "ack-virtual-node")
    assert virtual_node.urn in registration.dependencies
    for manifest in result.manifests():
        validate_strictly(manifest, "1.35.0")


def test_eci_only_does_not_tolerate_the_gpu_taint(rendered):
    tolerations = rendered[("dev", False)].kind("Deployment")["spec"]["template"]["spec"]["tolerations"]
    assert [t["key"] for t in tolerations] == ["virtual-kubelet.io/provider"]


def test_burst_without_gpu_node_labels_is_rejected(dev_config):
    error, result = run_expecting_error(as_eci(dev_config, scheduling="burst"))
    assert "  - capacity.eci.ecsNodeLabels: is required with capacity.eci.scheduling burst" in str(error)
    assert result.resources == []


@pytest.mark.parametrize("edition", ["ack.standard", None], ids=["basic", "not-found"])
def test_burst_needs_an_ack_pro_cluster(dev_config, edition):
    result = StackResult()
    with pytest.raises(ConfigError) as error:
        run_program(as_eci(dev_config, scheduling="burst", ecsNodeLabels=GPU_NODES), result=result,
                    cluster={"spec": edition})
    assert "  - capacity.eci.scheduling: burst needs an ACK managed Pro cluster" in str(error.value)
    assert (repr(edition) if edition else "was not found") in str(error.value)
    assert result.resources == []


def eci_annotations(config: dict) -> dict:
    return run_program(config).kind("Deployment")["spec"]["template"]["metadata"]["annotations"]


def test_without_the_image_cache_the_automatic_one_is_off_too(dev_config):
    """ECI's own default is on: leaving the annotation out when it is off would leave it on."""
    config = as_eci(dev_config, imageCache=False)
    result = run_program(config)
    annotations = result.kind("Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations[ANNOTATION_IMAGE_CACHE] == "false"
    assert ANNOTATION_IMAGE_CACHE_ID not in annotations
    assert not result.of_type(IMAGE_CACHE)


@pytest.mark.parametrize("eci,expected", [
    ({"spot": True}, {ANNOTATION_SPOT: "SpotAsPriceGo", ANNOTATION_SPOT_FALLBACK: "true"}),
    ({"spot": True, "spotFallback": False}, {ANNOTATION_SPOT: "SpotAsPriceGo", ANNOTATION_SPOT_FALLBACK: "false"}),
    ({"spot": True, "spotPriceLimit": 0.85},
     {ANNOTATION_SPOT: "SpotWithPriceLimit", ANNOTATION_SPOT_PRICE_LIMIT: "0.85", ANNOTATION_SPOT_FALLBACK: "true"}),
    ({"spot": False}, {}),
], ids=["falls-back-by-default", "opted-out", "price-limit", "on-demand"])
def test_spot_eci_falls_back_to_pay_as_you_go_like_the_pool(dev_config, eci, expected):
    annotations = eci_annotations(as_eci(dev_config, **eci))
    spot_keys = {ANNOTATION_SPOT, ANNOTATION_SPOT_FALLBACK, ANNOTATION_SPOT_PRICE_LIMIT}
    assert {k: v for k, v in annotations.items() if k in spot_keys} == expected


@pytest.mark.parametrize("eci,key,words", [
    ({"spotPriceLimit": 1.0}, "capacity.eci.spotPriceLimit", "only applies with capacity.eci.spot true"),
    ({"spotFallback": False}, "capacity.eci.spotFallback", "only applies with capacity.eci.spot true"),
    ({"spot": True, "spotPriceLimit": 0.1234}, "capacity.eci.spotPriceLimit", "takes at most 3 decimals"),
], ids=["limit-without-spot", "fallback-without-spot", "four-decimals"])
def test_spot_keys_are_checked(dev_config, eci, key, words):
    error, result = run_expecting_error(as_eci(dev_config, **eci))
    assert f"  - {key}: {words}" in str(error), str(error)
    assert result.resources == []


def test_eci_gets_the_driver_a_cuda_12_image_needs(dev_config):
    """ECI's default driver (470) is CUDA 11.4; a CUDA 12.2 image needs 525 or newer, so the pod
    asks for ECI's 535 branch. The 1.15 image (CUDA 10.0) runs on the default."""
    assert ANNOTATION_GPU_DRIVER not in eci_annotations(dev_config)
    dev_config[NS + "serving"]["image"] = "tensorflow/serving:2.19.1-gpu"
    assert eci_annotations(dev_config)[ANNOTATION_GPU_DRIVER] == "tesla=535"


def test_hpa_waits_for_the_metrics_adapter_in_both_modes(rendered):
    for result in (rendered[("dev", False)], rendered[("prod", False)]):
        adapter = next(a for a in result.of_type(ADDON) if a.inputs["name"] == "ack-alibaba-cloud-metrics-adapter")
        assert adapter.urn in result.one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler").dependencies


@pytest.mark.parametrize("direction", ["eci-to-nodepool", "nodepool-to-eci"])
def test_switching_modes_changes_only_capacity_and_rolls_the_pods(dev_config, direction):
    eci, pool = as_eci(dev_config, scheduling="only"), as_nodepool(dev_config)
    before, after = (eci, pool) if direction == "eci-to-nodepool" else (pool, eci)
    a, b = run_program(before), run_program(after)
    urns_a, urns_b = {r.urn: r for r in a.resources}, {r.urn: r for r in b.resources}
    gone, new = set(urns_a) - set(urns_b), set(urns_b) - set(urns_a)
    capacity_types = {"elastic-inference:capacity:EciCapacity", "elastic-inference:capacity:GpuNodePool",
                      POOL, ADDON, "elastic-inference:capacity:EciImageCache", IMAGE_CACHE}
    # The engine deletes what is no longer registered: only capacity resources come and go, and
    # the served-version file, which only the node pool's in-place switch reads.
    served = {u for u in set(urns_a) | set(urns_b) if u.endswith("::serve-gate-served")}
    assert {urns_a[u].type for u in gone - served} <= capacity_types
    assert {urns_b[u].type for u in new - served} <= capacity_types
    assert (served <= new) == (direction == "eci-to-nodepool") and (served <= gone) == (direction == "nodepool-to-eci")
    assert any(urns_b[u].type == POOL for u in new) == (direction == "eci-to-nodepool")
    # The same Deployment (an update, not a replacement), with a new pod template: it rolls.
    deployment = a.one(DEPLOYMENT).urn
    assert deployment == b.one(DEPLOYMENT).urn
    assert a.kind("Deployment")["spec"]["template"] != b.kind("Deployment")["spec"]["template"]
    assert a.kind("Deployment")["spec"]["selector"] == b.kind("Deployment")["spec"]["selector"]
    # The metrics adapter stays put across the switch (no churn of a cluster-wide addon).
    adapter = [u for u, r in urns_b.items()
               if r.type == ADDON and r.inputs["name"] == "ack-alibaba-cloud-metrics-adapter"]
    assert adapter and adapter[0] in urns_a


def test_flipping_prod_to_eci_works(prod_config):
    config = copy.deepcopy(prod_config)
    config[NS + "capacity"]["mode"] = "eci"
    result = run_program(config, "prod")
    assert not result.of_type(POOL)
    assert result.kind("Deployment")["spec"]["template"]["metadata"]["labels"][ECI_LABEL] == "true"


CROSS_CHECKS = [
    ("pods-exceed-pool", lambda c: c[NS + "autoscaling"].update(maxReplicas=12),
     "autoscaling.maxReplicas", "12 pods do not fit in capacity.nodePool.maxSize 10 nodes"),
    ("pod-too-big-for-node", lambda c: c[NS + "serving"].update(cpu="8"),
     "capacity.instanceTypes[0]", "does not fit on ecs.gn6i-c8g1.2xlarge"),
    ("unknown-instance-type", lambda c: c[NS + "capacity"].update(instanceTypes=["ecs.g7.xlarge"]),
     "capacity.instanceTypes[0]", "add it, with its vCPUs, memory, GPUs and source, to config/instance_types.py"),
    ("key-name-required", lambda c: c[NS + "capacity"]["nodePool"].pop("keyName"),
     "capacity.nodePool.keyName", "is required in nodepool mode"),
    ("price-limit-required", lambda c: c[NS + "capacity"]["nodePool"].update(spotStrategy="SpotWithPriceLimit"),
     "capacity.nodePool.spotPriceLimit", "is required when"),
    ("gpu-image-needs-gpu", lambda c: c[NS + "serving"].update(gpus=0),
     "serving.gpus", "at least 1 for the GPU image"),
    ("node-labels", lambda c: c[NS + "capacity"]["nodePool"].update(labels={"bad key!": "x"}),
     "capacity.nodePool.labels.bad key!", "Kubernetes label key"),
]


@pytest.mark.parametrize("mutate,key,words", [c[1:] for c in CROSS_CHECKS], ids=[c[0] for c in CROSS_CHECKS])
def test_capacity_cross_checks(prod_config, mutate, key, words):
    mutate(prod_config)
    error, result = run_expecting_error(prod_config, "prod")
    assert isinstance(error, ConfigError)
    assert f"  - {key}: " in str(error) and words in str(error), str(error)
    assert result.resources == []


def test_eci_spec_must_hold_the_pod(dev_config):
    dev_config[NS + "serving"]["memory"] = "16Gi"
    error, _ = run_expecting_error(dev_config)
    assert ("capacity.instanceTypes[0]: a pod (4 CPU, 16Gi, 1 GPU) does not fit the ECI spec "
            "ecs.gn6i-c4g1.xlarge") in str(error)


def test_a_larger_pool_admits_more_replicas(prod_config):
    prod_config[NS + "autoscaling"]["maxReplicas"] = 20
    prod_config[NS + "capacity"]["nodePool"]["maxSize"] = 20
    run_program(prod_config, "prod")


@pytest.mark.parametrize("preview", [False, True], ids=["update", "preview"])
def test_a_cluster_without_other_pools_needs_configured_vswitches(prod_config, preview):
    """An empty vSwitch list must never reach the cloud: the look-up, made before anything is
    registered, names the key to set."""
    alone = [node_pool("np-own", "bert-tfserving-gpu", ["vsw-own"])]  # only the pool itself
    result = StackResult()
    with pytest.raises(ConfigError) as error:
        run_program(prod_config, "prod", preview, node_pools=alone, result=result)
    assert ("  - capacity.nodePool.vswitchIds: the cluster has no other node pool to take worker "
            "vSwitches from; set capacity.nodePool.vswitchIds") in str(error.value)
    assert result.resources == []


def test_eci_reads_the_annotations_by_their_documented_names(dev_config):
    """Written out, not through the module's constants: a misspelled annotation is silently
    ignored by ECI. Names as ECI documents them (help.aliyun.com/en/eci/user-guide/
    create-a-preemptible-elastic-container-instance, use-imagecache-to-accelerate-the-creation-of-pods,
    create-a-pod-by-specifying-the-gpu-specification)."""
    result = run_program(as_eci(dev_config, spot=True, spotPriceLimit=0.5))
    annotations = result.kind("Deployment")["spec"]["template"]["metadata"]["annotations"]
    eci = {k: v for k, v in annotations.items() if k.startswith("k8s.aliyun.com/")}
    assert eci == {
        "k8s.aliyun.com/eci-use-specs": "ecs.gn6i-c4g1.xlarge,ecs.gn6i-c8g1.2xlarge",
        "k8s.aliyun.com/eci-spot-strategy": "SpotWithPriceLimit",
        "k8s.aliyun.com/eci-spot-price-limit": "0.5",
        "k8s.aliyun.com/eci-spot-fallback": "true",
        "k8s.aliyun.com/eci-imc-id": "image-cache-cache-id",
    }


def test_the_eci_annotations_are_the_names_eci_documents():
    """ECI reads these exact keys (help.aliyun.com/en/eci/user-guide/create-a-pod-by-specifying-the-gpu-
    specification, .../use-imagecache-to-accelerate-the-creation-of-pods, the spot-instance pages);
    a misspelt key is silently ignored by ECI."""
    from components.capacity import eci as eci_capacity  # noqa: PLC0415

    assert (eci_capacity.ANNOTATION_SPECS, eci_capacity.ANNOTATION_GPU_DRIVER, eci_capacity.ANNOTATION_IMAGE_CACHE,
            eci_capacity.ANNOTATION_IMAGE_CACHE_ID, eci_capacity.ANNOTATION_SPOT,
            eci_capacity.ANNOTATION_SPOT_PRICE_LIMIT, eci_capacity.ANNOTATION_SPOT_FALLBACK) == (
        "k8s.aliyun.com/eci-use-specs", "k8s.aliyun.com/eci-gpu-driver-version", "k8s.aliyun.com/eci-auto-imc",
        "k8s.aliyun.com/eci-imc-id", "k8s.aliyun.com/eci-spot-strategy", "k8s.aliyun.com/eci-spot-price-limit",
        "k8s.aliyun.com/eci-spot-fallback")


@pytest.mark.parametrize("memory,fits", [("12288Mi", True), ("13G", True), ("12884901888", True),
                                         ("200Gi", False), ("214748364800", False)])
def test_memory_in_any_unit_is_checked_against_the_instance(dev_config, memory, fits):
    dev_config[NS + "serving"]["memory"] = memory
    if fits:
        assert run_program(dev_config).kind("Deployment")["spec"]["template"]["spec"]["containers"][0][
            "resources"]["limits"]["memory"] == memory
    else:
        error, result = run_expecting_error(dev_config)
        assert isinstance(error, ConfigError) and "capacity.instanceTypes[0]" in str(error)
        assert not result.resources


def test_compensate_with_on_demand_defaults_to_true(prod_config):
    """The README's default, with the key left out of the stack file."""
    del prod_config[NS + "capacity"]["nodePool"]["compensateWithOnDemand"]
    pool = run_program(prod_config, "prod").one("alicloud:cs/nodePool:NodePool").inputs
    assert pool["compensateWithOnDemand"] is True


def test_the_pool_repairs_nodes_but_never_upgrades_them_on_its_own(rendered):
    """Auto repair replaces broken GPU nodes; auto upgrade and CVE patching would restart the
    serving pods outside any rollout, so they stay off (an operator upgrades on purpose)."""
    pool = rendered[("prod", False)].one("alicloud:cs/nodePool:NodePool").inputs
    assert pool["management"] == {"enable": True, "autoRepair": True, "autoUpgrade": False, "autoVulFix": False}


def test_placement_lands_in_the_pod_spec():
    placement = Placement(
        node_selector={"inference": "tensorflow"},
        tolerations=({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},),
        pod_labels={"alibabacloud.com/eci": "true"},
        pod_annotations={"k8s.aliyun.com/eci-use-specs": "ecs.gn6i-c4g1.xlarge"},
    )
    template = serving_spec.deployment_manifest(serving_inputs(), placement, "cm")["spec"]["template"]
    assert template["spec"]["nodeSelector"] == {"inference": "tensorflow"}
    assert template["spec"]["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert template["metadata"]["labels"]["alibabacloud.com/eci"] == "true"
    assert template["metadata"]["annotations"]["k8s.aliyun.com/eci-use-specs"] == "ecs.gn6i-c4g1.xlarge"
    # Placement labels never enter the immutable selector.
    selector = serving_spec.deployment_manifest(serving_inputs(), placement, "cm")["spec"]["selector"]["matchLabels"]
    assert "alibabacloud.com/eci" not in selector


def test_no_placement_means_no_constraints():
    pod = serving_spec.deployment_manifest(serving_inputs(), Placement(), "cm")["spec"]["template"]["spec"]
    assert "nodeSelector" not in pod and "tolerations" not in pod
