"""The guardrail policy pack: each policy with a passing and a failing resource, and the real
stacks passing all of them."""

from __future__ import annotations

import copy
import re
from typing import Any, Optional

import jsonschema
import pytest
from harness import ROOT, reveal, run_program
from pulumi_policy import PolicyResource, ResourceValidationArgs, StackValidationArgs, StackValidationPolicy

from policy import policies
from policy import policies as p

URN = "urn:pulumi:{stack}::elastic-inference::{type}::{name}"


def resource(type_: str, props: dict, name: str = "r", stack: str = "dev") -> PolicyResource:
    return PolicyResource(type_, props, URN.format(stack=stack, type=type_, name=name), name,
                          None, None, None, [], {})


def run_resource_policy(check, type_: str, props: dict, stack: str = "dev", config: Optional[dict] = None) -> list[str]:
    found: list[str] = []
    args = ResourceValidationArgs(type_, props, URN.format(stack=stack, type=type_, name="r"), "r",
                                  None, None, config)
    check(args, lambda message, *_: found.append(message))
    return found


def run_stack_policy(check, resources: list[PolicyResource], config: Optional[dict] = None) -> list[str]:
    found: list[str] = []
    check(StackValidationArgs(resources, config), lambda message, *_: found.append(message))
    return found


def deployment(replicas: Optional[int] = None, gpu: Optional[str] = "1", image: str = "tensorflow/serving:2.19.0-gpu",
               env: Optional[list] = None) -> dict:
    container: dict[str, Any] = {"name": "tensorflow-serving", "image": image,
                                 "resources": {"limits": {"cpu": "4"}}}
    if gpu is not None:
        container["resources"]["limits"]["nvidia.com/gpu"] = gpu
    if env is not None:
        container["env"] = env
    spec: dict[str, Any] = {"selector": {"matchLabels": {"a": "b"}}, "template": {
        "metadata": {"labels": {"app.kubernetes.io/name": "tensorflow-serving"}},
        "spec": {"containers": [container]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "bert", "namespace": "inference"}, "spec": spec}


def hpa(max_replicas: int = 4, target: str = "bert") -> dict:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "bert", "namespace": "inference"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                     "minReplicas": 1, "maxReplicas": max_replicas}}


def bucket_set(acl: str = "private", sse: Optional[str] = "AES256", block: bool = True) -> list[PolicyResource]:
    out = [resource(p.BUCKET, {"bucket": "b"}), resource(p.BUCKET_ACL, {"bucket": "b", "acl": acl})]
    if sse is not None:
        out.append(resource(p.BUCKET_SSE, {"bucket": "b", "sseAlgorithm": sse}))
    out.append(resource(p.BUCKET_PAB, {"bucket": "b", "blockPublicAccess": block}))
    return out


# --- one passing and one failing case per policy ---------------------------------------------

@pytest.mark.parametrize("resources,violations", [
    (bucket_set(), 0),
    (bucket_set(acl="public-read"), 1),
    (bucket_set(sse=None), 1),
    (bucket_set(sse="KMS"), 0),
    (bucket_set(sse="SM4"), 0),
    (bucket_set(sse="DES"), 1),
    (bucket_set(block=False), 1),
    ([resource(p.BUCKET, {"bucket": "b"})], 3),
], ids=["hardened", "public-acl", "unencrypted", "kms", "sm4", "not-an-oss-algorithm", "public-access-allowed",
        "bare-bucket"])
def test_bucket_private_encrypted(resources, violations):
    assert len(run_stack_policy(p.bucket_private_encrypted, resources)) == violations


@pytest.mark.parametrize("type_,props,violations", [
    (p.PV, {"spec": {"csi": {"volumeAttributes": {"bucket": "b", "url": "u"},
                             "nodePublishSecretRef": {"name": "s", "namespace": "n"}}}}, 0),
    (p.PV, {"spec": {"csi": {"volumeAttributes": {"bucket": "b", "akId": "LTAI5tAbCdEfGhIjKlMn",
                                                  "akSecret": "x"}}}}, 2),
    (p.DEPLOYMENT, deployment(env=[{"name": "MODEL", "value": "bert"},
                                   {"name": "KEY", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]), 0),
    (p.DEPLOYMENT, deployment(env=[{"name": "ALICLOUD_ACCESS_KEY", "value": "LTAI5tAbCdEfGhIjKlMn"}]), 1),
    (p.CONFIG_MAP, {"data": {"models.config": "model_config_list {}"}}, 0),
    (p.CONFIG_MAP, {"data": {"creds.ini": "access_key_id = LTAI5tAbCdEfGhIjKlMn"}}, 1),
], ids=["pv-secret-ref", "pv-inline-keys", "env-from-secret", "env-plain-key", "configmap-clean", "configmap-key"])
def test_no_plaintext_access_keys(type_, props, violations):
    assert len(run_resource_policy(p.no_plaintext_access_keys, type_, props)) == violations


@pytest.mark.parametrize("dep,violations", [
    (deployment(), 0),
    (deployment(replicas=2), 1),
    (deployment(gpu=None), 1),
], ids=["hpa-owned", "replicas-set", "no-gpu-limit"])
def test_serving_gpu_and_hpa_replicas(dep, violations):
    resources = [resource(p.DEPLOYMENT, dep), resource(p.HPA, hpa())]
    assert len(run_stack_policy(p.serving_gpu_and_hpa_replicas, resources)) == violations


def test_hpa_pointing_nowhere_is_flagged():
    assert run_stack_policy(p.serving_gpu_and_hpa_replicas, [resource(p.HPA, hpa(target="ghost"))])


def pool(max_size: int, types=("ecs.gn6i-c8g1.2xlarge",)) -> PolicyResource:
    return resource(p.NODE_POOL, {"instanceTypes": list(types), "scalingConfig": {"maxSize": max_size}})


@pytest.mark.parametrize("resources,violations", [
    ([pool(10), resource(p.DEPLOYMENT, deployment()), resource(p.HPA, hpa(10))], 0),
    ([pool(3), resource(p.DEPLOYMENT, deployment()), resource(p.HPA, hpa(10))], 1),
    ([pool(3, ("ecs.gn6i-c24g1.24xlarge",)), resource(p.DEPLOYMENT, deployment()), resource(p.HPA, hpa(10))], 0),
    ([resource(p.DEPLOYMENT, deployment()), resource(p.HPA, hpa(20))], 0),
    ([resource(p.DEPLOYMENT, deployment()), resource(p.HPA, hpa(21))], 1),
], ids=["fits-pool", "exceeds-pool", "multi-gpu-nodes", "eci-at-bound", "eci-over-bound"])
def test_hpa_within_capacity(resources, violations):
    assert len(run_stack_policy(p.hpa_within_capacity, resources)) == violations


def ingress(host: Optional[str] = "bert.example.com", tls: bool = False, annotations: Optional[dict] = None) -> dict:
    spec: dict[str, Any] = {"rules": [{"host": host, "http": {"paths": []}} if host else {"http": {"paths": []}}]}
    if tls:
        spec["tls"] = [{"hosts": [host], "secretName": "cert"}]
    return {"metadata": {"annotations": annotations or {}}, "spec": spec}


@pytest.mark.parametrize("props,violations", [
    (ingress(), 1),
    (ingress(tls=True), 0),
    (ingress(annotations={p.SOURCE_RANGE: "203.0.113.0/24"}), 0),
    (ingress(annotations={"nginx.ingress.kubernetes.io/limit-rps": "20"}), 0),
    (ingress(annotations={"nginx.ingress.kubernetes.io/limit-connections": "5"}), 0),
    (ingress(annotations={p.SOURCE_RANGE: ""}), 1),
], ids=["open", "tls", "allow-list", "rate-limit", "connection-limit", "empty-allow-list"])
def test_public_endpoint_restricted(props, violations):
    assert len(run_resource_policy(p.public_endpoint_restricted, p.INGRESS, props)) == violations


def test_an_open_dev_endpoint_is_blocked(dev_config):
    """dev without its allow-list: public, plain HTTP and unlimited, so anyone could scale it out."""
    del dev_config["elastic-inference:ingress"]["allowSourceCidrs"]
    violations = all_violations(run_program(dev_config, "dev"))
    assert [v.split(":")[0] for v in violations] == ["public-endpoint-restricted"], violations


@pytest.mark.parametrize("props,stack,violations", [
    (ingress(), "dev", 0),
    (ingress(host=None), "dev", 1),
    (ingress(tls=True), "prod", 0),
    (ingress(), "prod", 1),
], ids=["dev-host", "no-host", "prod-tls", "prod-no-tls"])
def test_ingress_host_and_tls(props, stack, violations):
    assert len(run_resource_policy(p.ingress_host_and_tls, p.INGRESS, props, stack)) == violations


@pytest.mark.parametrize("image,violations", [
    ("tensorflow/serving:2.19.0-gpu", 0),
    ("registry.cn-beijing.aliyuncs.com:5000/ns/tf@sha256:" + "a" * 64, 0),
    ("registry.cn-beijing.aliyuncs.com:5000/ns/tf", 1),
    ("tensorflow/serving:latest", 1),
    ("tensorflow/serving:latest@sha256:" + "a" * 64, 1),
    ("tensorflow/serving:latest-gpu", 1),
    ("tensorflow/serving:nightly", 1),
], ids=["tag", "digest", "untagged-with-port", "latest", "latest-with-digest", "latest-gpu", "nightly"])
def test_images_pinned(image, violations):
    assert len(run_resource_policy(p.images_pinned, p.DEPLOYMENT, deployment(image=image))) == violations


@pytest.mark.parametrize("type_,spec", [
    ("kubernetes:batch/v1:Job", {"template": {"spec": {"containers": [{"name": "c", "image": "x:latest"}]}}}),
    ("kubernetes:batch/v1:CronJob", {"jobTemplate": {"spec": {"template": {"spec": {
        "initContainers": [{"name": "c", "image": "x:latest"}]}}}}}),
    ("kubernetes:core/v1:Pod", {"containers": [{"name": "c", "image": "x:latest"}]}),
], ids=["job", "cronjob-init-container", "pod"])
def test_containers_are_found_at_every_level_of_template_nesting(type_, spec):
    """The policies see the containers of every workload kind, not only Deployments."""
    assert run_resource_policy(p.images_pinned, type_, {"spec": spec}) == [
        "container 'c' image 'x:latest' must not use the floating tag 'latest' (latest and nightly tags move); "
        "pin a version tag or a digest"]


@pytest.mark.parametrize("type_,metadata,violations", [
    ("kubernetes:core/v1:Service", {"name": "s", "namespace": "inference"}, 0),
    ("kubernetes:core/v1:Service", {"name": "s"}, 1),
    ("kubernetes:core/v1:Service", {"name": "s", "namespace": "default"}, 1),
    ("kubernetes:core/v1:PersistentVolume", {"name": "pv"}, 0),
    ("kubernetes:scheduling.alibabacloud.com/v1alpha1:ResourcePolicy", {"name": "rp"}, 1),
], ids=["namespaced", "missing", "default", "cluster-scoped", "custom-resource"])
def test_namespaced_objects(type_, metadata, violations):
    assert len(run_resource_policy(p.namespaced_objects, type_, {"metadata": metadata})) == violations


# --- the real stacks pass every policy ------------------------------------------------------

def as_policy_resources(result) -> list[PolicyResource]:
    return [PolicyResource(r.type, reveal(r.inputs), r.urn, r.name, None, None, None, [], {})
            for r in result.resources]


def all_violations(result, config: Optional[dict] = None) -> list[str]:
    found: list[str] = []
    resources = as_policy_resources(result)
    for guardrail in p.GUARDRAILS:
        if guardrail.per_stack:
            found += [f"{guardrail.name}: {m}" for m in run_stack_policy(guardrail.check, resources, config)]
            continue
        for r in resources:
            args = ResourceValidationArgs(r.resource_type, r.props, r.urn, r.name, None, None, config)
            prefix = f"{guardrail.name}: {r.name}: "
            guardrail.check(args, lambda message, *_, prefix=prefix, found=found: found.append(prefix + message))
    return found


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("preview", [False, True], ids=["update", "preview"])
def test_stacks_pass_every_policy(stack, preview, dev_config, prod_config):
    config = dev_config if stack == "dev" else prod_config
    assert all_violations(run_program(config, stack, preview)) == []


def test_an_unsafe_change_is_blocked(prod_config):
    """What the pack exists for: drop TLS in prod and it is caught before `up`."""
    unsafe = copy.deepcopy(prod_config)
    del unsafe["elastic-inference:ingress"]["tlsSecretName"]
    violations = all_violations(run_program(unsafe, "prod"))
    assert violations and all(v.startswith("ingress-host-and-tls") for v in violations), violations


def test_every_policy_is_mandatory_and_named_uniquely():
    names = [policy.name for policy in p.POLICIES]
    assert len(names) == len(set(names)) == 10
    assert all(policy.enforcement_level == p.EnforcementLevel.MANDATORY for policy in p.POLICIES)
    # Each guardrail runs as the kind of policy its check expects.
    for guardrail, policy in zip(p.GUARDRAILS, p.POLICIES, strict=True):
        assert isinstance(policy, StackValidationPolicy) == guardrail.per_stack, guardrail.name
        assert (policy.config_schema is None) == (guardrail.config is None), guardrail.name


def stack_reports(check, resources: list[PolicyResource], config: Optional[dict] = None) -> list[tuple[str, Any]]:
    """What a stack policy reports: (message, the resource it names)."""
    found: list[tuple[str, Any]] = []
    check(StackValidationArgs(resources, config), lambda message, urn=None: found.append((message, urn)))
    return found


def test_pods_per_node_count_the_gpus_each_pod_asks_for():
    """A 4-GPU node holds two 2-GPU pods: 3 nodes hold 6 such pods, not 12."""
    two_gpus = resource(p.DEPLOYMENT, deployment(gpu="2"))
    four_gpu_pool = pool(3, ("ecs.gn6i-c24g1.24xlarge",))
    assert stack_reports(p.hpa_within_capacity, [four_gpu_pool, two_gpus, resource(p.HPA, hpa(6))]) == []
    assert [m for m, _ in stack_reports(p.hpa_within_capacity, [four_gpu_pool, two_gpus, resource(p.HPA, hpa(7))])] == [
        "HPA maxReplicas 7 exceeds what the node pool holds (6 pods)"]


@pytest.mark.parametrize("max_replicas,expected", [
    (3, []),
    (4, ["HPA maxReplicas 4 exceeds what the node pool holds (3 pods)"]),
], ids=["exactly-what-the-pool-holds", "one-more"])
def test_hpa_within_capacity_at_the_edge(max_replicas, expected):
    """A 3-node pool of 1-GPU nodes holds exactly 3 one-GPU pods: 3 passes, 4 does not, and the
    violation is reported on the HPA (the thing to change), saying both numbers."""
    the_hpa = resource(p.HPA, hpa(max_replicas))
    reports = stack_reports(p.hpa_within_capacity, [pool(3), resource(p.DEPLOYMENT, deployment()), the_hpa])
    assert reports == [(message, the_hpa.urn) for message in expected]


@pytest.mark.parametrize("the_pool", [
    pool(3, ("ecs.gn9x-unknown.xlarge",)),
    resource(p.NODE_POOL, {"instanceTypes": ["ecs.gn6i-c8g1.2xlarge"], "scalingConfig": {}}),
    resource(p.NODE_POOL, {"instanceTypes": ["ecs.gn6i-c8g1.2xlarge"], "scalingConfig": {"maxSize": p.UNKNOWN}}),
], ids=["unknown-type-with-max-size", "no-max-size", "max-size-not-known-yet"])
def test_hpa_within_capacity_says_when_it_cannot_bound_the_pool(the_pool):
    """Either half missing (pods per node, or the pool's maxSize) is reported, not guessed."""
    the_hpa = resource(p.HPA, hpa(4))
    reports = stack_reports(p.hpa_within_capacity, [the_pool, resource(p.DEPLOYMENT, deployment()), the_hpa])
    assert [(m.split(":")[0], urn) for m, urn in reports] == [("cannot bound HPA maxReplicas", the_hpa.urn)]


def test_violations_name_the_resource_to_fix():
    """Each stack policy reports on the resource a reviewer has to change, with a message that
    says what is wrong with it."""
    the_bucket = resource(p.BUCKET, {"bucket": "b", "acl": "public-read"}, name="bucket")
    assert stack_reports(p.bucket_private_encrypted, [the_bucket])[0] == (
        "bucket 'b' sets a non-private inline ACL 'public-read'", the_bucket.urn)
    replicated = resource(p.DEPLOYMENT, deployment(replicas=2), name="deployment")
    the_hpa = resource(p.HPA, hpa(), name="hpa")
    assert stack_reports(p.serving_gpu_and_hpa_replicas, [replicated, the_hpa]) == [(
        "Deployment inference/bert sets spec.replicas while an HPA scales it: every update would reset the "
        "replica count", replicated.urn)]
    ghost = resource(p.HPA, hpa(target="ghost"), name="hpa")
    assert stack_reports(p.serving_gpu_and_hpa_replicas, [ghost]) == [(
        "HPA targets Deployment inference/ghost, which this stack does not define", ghost.urn)]
    no_gpu = resource(p.DEPLOYMENT, deployment(gpu=None), name="deployment")
    assert stack_reports(p.serving_gpu_and_hpa_replicas, [no_gpu]) == [(
        "serving container 'tensorflow-serving' has no nvidia.com/gpu limit", no_gpu.urn)]
    over = resource(p.HPA, hpa(21), name="hpa")
    assert stack_reports(p.hpa_within_capacity, [resource(p.DEPLOYMENT, deployment()), over]) == [(
        "HPA maxReplicas 21 exceeds the ECI bound 20 (policy config eciMaxReplicas)", over.urn)]


@pytest.mark.parametrize("check,type_,props,message", [
    (p.public_endpoint_restricted, p.INGRESS, {"spec": {"rules": [{"host": "a.example.com"}]}},
     "Ingress is open to any address, unlimited and plain HTTP"),
    (p.ingress_host_and_tls, p.INGRESS, {"spec": {"rules": [{}]}}, "Ingress rule 0 has no host"),
    (p.ingress_host_and_tls, p.INGRESS, {"spec": {"defaultBackend": {}}},
     "Ingress has no rules (a default backend on every host)"),
    (p.images_pinned, p.DEPLOYMENT, None, "container 'tensorflow-serving' image 'tensorflow/serving:latest'"),
    (p.namespaced_objects, "kubernetes:core/v1:Service", {"metadata": {"namespace": "default"}},
     "Kubernetes object in the 'default' namespace"),
    (p.no_plaintext_access_keys, p.CONFIG_MAP, {"data": {"akSecret": "x"}}, "data.akSecret holds a credential"),
    (p.no_plaintext_access_keys, p.PV, {"spec": {"csi": {"volumeAttributes": {"akSecret": "x"}}}},
     "spec.csi.volumeAttributes.akSecret holds a credential"),
], ids=["open-endpoint", "hostless-rule", "no-rules", "latest", "default-namespace", "key-in-configmap",
        "key-in-pv"])
def test_resource_violations_say_what_is_wrong(check, type_, props, message):
    if props is None:
        props = deployment(image="tensorflow/serving:latest")
    reports = run_resource_policy(check, type_, props)
    assert reports and reports[0].startswith(message), reports


@pytest.mark.parametrize("stack, component, violations", [
    ("prod", "idle-schedule", 1),   # prod keeps its minimum around the clock
    ("dev", "idle-schedule", 0),
    ("prod", "something-else", 0),  # only the idle schedule's CronJobs
])
def test_an_idle_schedule_is_refused_in_an_always_on_stack(stack, component, violations):
    props = {"metadata": {"name": "bert-tfserving-sleep", "namespace": "inference",
                          "labels": {"app.kubernetes.io/component": component}}}
    found = run_resource_policy(p.idle_schedule_not_always_on, p.CRON_JOB, props, stack=stack)
    assert len(found) == violations
    if violations:
        assert "autoscaling.idle.mode" in found[0]


def test_a_deployment_without_gpu_limits_counts_one_gpu_a_pod():
    """Without a GPU limit to read (or before the Deployment is known), a pod is taken to need one
    GPU: a 3-node pool of 1-GPU nodes holds 3 such pods, not fewer."""
    assert stack_reports(p.hpa_within_capacity, [pool(3), resource(p.HPA, hpa(3))]) == []
    no_gpu = resource(p.DEPLOYMENT, deployment(gpu=None))
    assert stack_reports(p.hpa_within_capacity, [pool(3), no_gpu, resource(p.HPA, hpa(3))]) == []


def test_the_packs_type_tokens_are_the_ones_the_program_registers(dev_config, prod_config):
    """A policy keyed on a type the program never registers would pass everything."""
    registered = {r.type for config, stack in ((dev_config, "dev"), (prod_config, "prod"))
                  for r in run_program(config, stack).resources}
    for token in (p.BUCKET, p.BUCKET_ACL, p.BUCKET_SSE, p.BUCKET_PAB, p.NODE_POOL, p.DEPLOYMENT, p.HPA, p.INGRESS,
                  p.PV, p.CONFIG_MAP, p.CRON_JOB):
        assert token in registered, token


def test_policy_config_is_checked_against_its_schema():
    """A wrong policy-pack config (tlsStacks not a list of stack names) is refused by the schema
    the pack declares, as the Pulumi CLI validates it, instead of being read as something else."""
    schemas = {g.name: {"type": "object", "properties": g.config} for g in policies.GUARDRAILS if g.config}
    validator = jsonschema.Draft7Validator(schemas["ingress-host-and-tls"])
    assert validator.is_valid({"tlsStacks": ["prod", "staging"]})
    assert not validator.is_valid({"tlsStacks": [1]})
    assert not validator.is_valid({"tlsStacks": "prod"})
    eci = jsonschema.Draft7Validator(schemas["hpa-within-capacity"])
    assert eci.is_valid({"eciMaxReplicas": 30}) and not eci.is_valid({"eciMaxReplicas": "30"})


def test_the_docs_list_every_guardrail_by_its_name():
    """Users find a violation's policy in docs/reviewing.md's table by the name the CLI prints."""
    readme = (ROOT / "docs" / "reviewing.md").read_text(encoding="utf-8")
    start = readme.index("| policy | blocks |")
    table = readme[start:readme.index("\n\n", start)]
    listed = re.findall(r"^\| `([a-z-]+)` \| ", table, re.MULTILINE)
    assert listed == [g.name for g in policies.GUARDRAILS]
