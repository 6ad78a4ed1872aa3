"""The Kubernetes half: every object validates strictly against each Kubernetes minor version
ACK offers, and the wiring between the objects holds."""

from __future__ import annotations

import json
import os
import re

import kubernetes_validate
import pytest
from conftest import MODEL_VERSION, write_saved_model
from harness import (
    FAKE_ACCESS_KEY_SECRET,
    FAKE_ACCOUNT_ID,
    FAKE_KUBECONFIG,
    SECRET_SIG,
    run_program,
    stack_file_config,
)

from components.volume_spec import CSI_DRIVER, CSI_FUSE_SUBJECT

# Kubernetes minor versions an ACK cluster can run in late 2026 (ACK supports each minor for
# a year since 1.31 and creates clusters on the three newest), plus the next one ACK is
# rolling out, so an upgrade does not break the manifests.
ACK_VERSIONS = ["1.33.0", "1.34.0", "1.35.0", "1.36.0", "1.37.0"]
CLUSTER_SCOPED = {"Namespace", "PersistentVolume"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Dev and prod, in update and preview mode, run once for the whole module."""
    base = tmp_path_factory.mktemp("project")
    write_saved_model(base / "models" / "chnsenticorp", MODEL_VERSION)
    cwd = os.getcwd()
    os.chdir(base)
    try:
        return {
            (stack, preview): run_program(stack_file_config(stack), stack, preview)
            for stack in ("dev", "prod")
            for preview in (False, True)
        }
    finally:
        os.chdir(cwd)


RUNS = [("dev", False), ("dev", True), ("prod", False), ("prod", True)]
RUN_IDS = ["dev-update", "dev-preview", "prod-update", "prod-preview"]


@pytest.mark.parametrize("version", ACK_VERSIONS)
@pytest.mark.parametrize("run", RUNS, ids=RUN_IDS)
def test_every_object_validates_strictly(rendered, run, version):
    result = rendered[run]
    manifests = result.manifests()
    assert {m["kind"] for m in manifests} >= {
        "Namespace", "Secret", "PersistentVolume", "PersistentVolumeClaim", "ServiceAccount",
        "ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler",
        "Ingress", "NetworkPolicy",
    }
    for manifest in manifests:
        kubernetes_validate.validate(manifest, version, strict=True)


def test_strict_validation_catches_a_wrong_field():
    """The validator really is strict: a misspelled field fails (guards against vacuity)."""
    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"port": 1}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, ACK_VERSIONS[0], strict=True)


@pytest.mark.parametrize("run", RUNS, ids=RUN_IDS)
def test_every_object_goes_through_the_cluster_provider_into_the_namespace(rendered, run):
    result = rendered[run]
    provider = result.one("pulumi:providers:kubernetes")
    assert provider.secret_inputs, "the kubeconfig must be a secret input"
    assert FAKE_KUBECONFIG not in json.dumps(provider.inputs)  # only inside the secret wrapper
    for registration in result.kubernetes():
        assert registration.provider.startswith(provider.urn + "::"), registration.name
        manifest = result.manifest(registration)
        if manifest["kind"] not in CLUSTER_SCOPED:
            assert manifest["metadata"]["namespace"] == "inference", registration.name
    invokes = [token for token, _ in result.invokes]
    assert "alicloud:cs/getClusterCredential:getClusterCredential" in invokes


@pytest.mark.parametrize("run", RUNS, ids=RUN_IDS)
def test_every_resource_is_a_child_of_a_component(rendered, run):
    """parent=self everywhere: nothing hangs off the stack except the components themselves."""
    result = rendered[run]
    components = {r.urn for r in result.resources if not r.custom}
    assert components and all(r.type.startswith("elastic-inference:") for r in result.resources if not r.custom)
    orphans = [r.name for r in result.resources if r.custom and r.parent not in components]
    assert orphans == []


def test_hpa_targets_the_deployment_and_measures_the_ingress_route(rendered):
    result = rendered[("dev", False)]
    hpa, deployment = result.kind("HorizontalPodAutoscaler"), result.kind("Deployment")
    service, ingress = result.kind("Service", "bert-tfserving"), result.kind("Ingress")
    ref = hpa["spec"]["scaleTargetRef"]
    assert (ref["apiVersion"], ref["kind"], ref["name"]) == ("apps/v1", "Deployment", deployment["metadata"]["name"])
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    port = int(backend["port"]["number"])  # numbers travel as doubles on the wire
    assert port in [p["port"] for p in service["spec"]["ports"]]
    metric = hpa["spec"]["metrics"][0]["external"]
    assert metric["metric"]["name"] == "sls_ingress_qps"
    labels = metric["metric"]["selector"]["matchLabels"]
    assert labels["sls.ingress.route"] == (
        f"{service['metadata']['namespace']}-{service['metadata']['name']}-{port}"
    )
    assert labels["sls.project"] == "k8s-log-c0123456789abcdef0123456789abcdef"
    assert labels["sls.logstore"] == "nginx-ingress"
    assert metric["target"] == {"type": "AverageValue", "averageValue": "10"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 4)


def test_route_follows_a_renamed_service(dev_config):
    dev_config["elastic-inference:serving"]["name"] = "bert-v2"
    dev_config["elastic-inference:serving"]["namespace"] = "nlp"
    result = run_program(dev_config)
    metric = result.kind("HorizontalPodAutoscaler")["spec"]["metrics"][0]["external"]["metric"]
    labels = metric["selector"]["matchLabels"]
    assert labels["sls.ingress.route"] == "nlp-bert-v2-8501"


def test_service_and_ingress_reach_the_rest_port_of_the_pods(rendered):
    result = rendered[("prod", False)]
    deployment, ingress = result.kind("Deployment"), result.kind("Ingress")
    service = result.kind("Service", "bert-tfserving")
    template = deployment["spec"]["template"]
    container = template["spec"]["containers"][0]
    container_ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert container_ports == {"grpc": 8500, "http": 8501}
    assert service["spec"]["selector"].items() <= template["metadata"]["labels"].items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items()
    by_port = {p["port"]: p for p in service["spec"]["ports"]}
    backend_port = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"]["number"]
    assert container_ports[by_port[backend_port]["targetPort"]] == 8501
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["rules"][0]["host"] == "bert.example.com"
    assert ingress["spec"]["tls"] == [{"hosts": ["bert.example.com"], "secretName": "bert-prod-tls"}]
    assert "tls" not in rendered[("dev", False)].kind("Ingress")["spec"]


def test_claim_volume_bucket_chain(rendered):
    result = rendered[("dev", False)]
    pv, pvc = result.kind("PersistentVolume"), result.kind("PersistentVolumeClaim")
    deployment = result.kind("Deployment")
    csi = pv["spec"]["csi"]
    assert csi["driver"] == CSI_DRIVER
    assert csi["volumeHandle"] == pv["metadata"]["name"]
    assert pvc["spec"]["volumeName"] == pv["metadata"]["name"]
    assert pv["spec"]["storageClassName"] == pvc["spec"]["storageClassName"] == ""
    assert pv["spec"]["accessModes"] == pvc["spec"]["accessModes"] == ["ReadOnlyMany"]
    assert csi["readOnly"] is True
    attrs = csi["volumeAttributes"]
    assert attrs["bucket"] == result.exports["bucket"]
    assert attrs["url"] == result.exports["ossEndpoint"]
    assert "oss://" + attrs["bucket"] + attrs["path"] == result.exports["modelUri"]
    assert "allow_other" in attrs["otherOpts"] and "umask=022" in attrs["otherOpts"]
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["model"]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]


def test_mount_path_and_versions_match_the_model_config(rendered):
    result = rendered[("dev", False)]
    deployment, config_map = result.kind("Deployment"), result.kind("ConfigMap", "bert-tfserving-config")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    text = config_map["data"]["models.config"]
    assert re.search(r'base_path: "([^"]+)"', text).group(1) == mounts["model"]["mountPath"]
    assert re.findall(r"versions: (\d+)", text) == [str(MODEL_VERSION)]
    assert 'name: "chnsenticorp"' in text
    assert volumes["config"]["configMap"]["name"] == config_map["metadata"]["name"]
    flag = next(a for a in container["args"] if a.startswith("--model_config_file="))
    assert flag == f"--model_config_file={mounts['config']['mountPath']}/models.config"
    assert container["command"] == ["/usr/bin/tensorflow_model_server"]
    # Ready when the served version (read from the served-version file) is AVAILABLE.
    ready = container["readinessProbe"]["exec"]["command"]
    assert ready[:2] == ["/bin/bash", "-c"] and "/v1/models/chnsenticorp${v:+/versions/$v}/metadata" in ready[2]
    assert f"cat {mounts['served']['mountPath']}/version" in ready[2]
    assert container["startupProbe"]["exec"]["command"] == ready
    assert volumes["served"]["configMap"] == {"name": "bert-tfserving-served", "optional": True}


def test_deployment_leaves_replicas_to_the_hpa_and_survives_cold_starts(rendered):
    result = rendered[("prod", False)]
    deployment = result.kind("Deployment")
    assert "replicas" not in deployment["spec"]
    registration = result.one("kubernetes:apps/v1:Deployment")
    assert registration.custom_timeouts == {"create": "40m", "update": "40m"}
    assert next(r for r in result.of_type("kubernetes:core/v1:Service")
                if r.name == "serving-service").custom_timeouts["create"] == "40m"
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert container["resources"]["requests"]["cpu"] == container["resources"]["limits"]["cpu"] == "4"
    assert container["resources"]["limits"]["memory"] == "12Gi"
    assert container["lifecycle"]["preStop"]["exec"]["command"][0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] > int(container["lifecycle"]["preStop"]["exec"]["command"][1])
    assert pod["securityContext"]["runAsNonRoot"] is True and container["securityContext"]["runAsUser"] != 0
    assert any(a.startswith("--file_system_poll_wait_seconds=") and not a.endswith("=1") for a in container["args"])
    assert "--monitoring_config_file=/etc/tfserving/monitoring.config" in container["args"]
    assert "prometheus_config" in result.kind("ConfigMap", "bert-tfserving-config")["data"]["monitoring.config"]
    assert result.kind("PodDisruptionBudget")["spec"]["selector"] == deployment["spec"]["selector"]
    labels = deployment["metadata"]["labels"]
    for key in ("name", "instance", "version", "component", "part-of", "managed-by"):
        assert f"app.kubernetes.io/{key}" in labels


def test_workloads_wait_for_the_volume_and_the_upload(rendered):
    """The PV waits for every uploaded object; the claim for the PV; the pods for both. Only the
    PV lists the objects: the engine orders the rest through it (dependencies are transitive)."""
    result = rendered[("dev", False)]
    deployment = result.one("kubernetes:apps/v1:Deployment")
    pv = result.one("kubernetes:core/v1:PersistentVolume")
    pvc = result.one("kubernetes:core/v1:PersistentVolumeClaim")
    objects = {o.urn for o in result.of_type("alicloud:oss/bucketObject:BucketObject")}
    assert objects and objects <= set(pv.dependencies)
    assert {pv.urn, pvc.urn} <= set(deployment.dependencies)
    listing_objects = {r.name for r in result.resources if objects & set(r.dependencies)}
    assert listing_objects == {pv.name}
    pvc = result.one("kubernetes:core/v1:PersistentVolumeClaim")
    pv = result.one("kubernetes:core/v1:PersistentVolume")
    secret = result.one("kubernetes:core/v1:Secret")
    assert pv.urn in pvc.dependencies  # destroy: claim before volume
    assert secret.urn in pv.dependencies  # destroy: volume before its credentials


def test_reader_credentials_are_least_privilege_and_never_plain(rendered):
    result = rendered[("dev", False)]
    policy = json.loads(result.one("alicloud:ram/policy:Policy").inputs["policyDocument"])
    bucket = result.exports["bucket"]
    grants = {(tuple(s["Action"]), tuple(s["Resource"])) for s in policy["Statement"]}
    assert grants == {
        (("oss:ListObjects",), (f"acs:oss:*:*:{bucket}",)),
        (("oss:GetObject",), (f"acs:oss:*:*:{bucket}/models/chnsenticorp/*",)),
    }
    attachment = result.one("alicloud:ram/userPolicyAttachment:UserPolicyAttachment")
    assert attachment.inputs["policyType"] == "Custom"
    pv = result.kind("PersistentVolume")
    ref = pv["spec"]["csi"]["nodePublishSecretRef"]
    secret_reg = result.one("kubernetes:core/v1:Secret")
    secret = result.manifest(secret_reg)
    assert (ref["name"], ref["namespace"]) == (secret["metadata"]["name"], secret["metadata"]["namespace"])
    assert secret["stringData"]["akSecret"] == FAKE_ACCESS_KEY_SECRET
    assert set(secret["stringData"]) == {"akId", "akSecret"}
    assert secret_reg.secret_inputs
    # The key appears nowhere else: no PV attribute, env var, other input or stack output.
    for registration in result.resources:
        if registration is not secret_reg:
            assert FAKE_ACCESS_KEY_SECRET not in json.dumps(registration.inputs, default=str), registration.name
    assert FAKE_ACCESS_KEY_SECRET not in json.dumps(result.exports)
    assert not {"akId", "akSecret"} & set(pv["spec"]["csi"]["volumeAttributes"])
    assert "env" not in json.dumps(result.kind("Deployment")["spec"]["template"]["spec"]["containers"])


def test_rrsa_mode_uses_a_role_and_no_key(prod_config):
    prod_config["elastic-inference:storage"]["auth"] = "rrsa"
    result = run_program(prod_config, "prod")
    assert not result.of_type("alicloud:ram/accessKey:AccessKey")
    assert not result.of_type("kubernetes:core/v1:Secret")
    role = result.one("alicloud:ram/role:Role")
    trust = json.loads(role.inputs["assumeRolePolicyDocument"])["Statement"][0]
    cluster = "cfedcba9876543210fedcba9876543210"
    # The provider and issuer the cluster reports (the stand-in cloud's), not ones built by hand.
    assert trust["Principal"]["Federated"] == [f"acs:ram::{FAKE_ACCOUNT_ID}:oidc-provider/ack-rrsa-{cluster}"]
    assert trust["Condition"]["StringEquals"] == {
        "oidc:aud": "sts.aliyuncs.com",
        "oidc:iss": f"https://oidc-ack-cn-beijing.oss-cn-beijing.aliyuncs.com/{cluster}",
        "oidc:sub": CSI_FUSE_SUBJECT,
    }
    attrs = result.kind("PersistentVolume")["spec"]["csi"]["volumeAttributes"]
    assert attrs["authType"] == "rrsa" and attrs["roleName"] == role.inputs["roleName"]
    assert "nodePublishSecretRef" not in result.kind("PersistentVolume")["spec"]["csi"]
    attachment = result.one("alicloud:ram/rolePolicyAttachment:RolePolicyAttachment")
    assert attachment.inputs["roleName"] == role.inputs["roleName"]


@pytest.mark.parametrize("run", RUNS, ids=RUN_IDS)
def test_stack_outputs(rendered, run):
    stack, _ = run
    result = rendered[run]
    host = {"dev": "http://bert.dev.example.com", "prod": "https://bert.example.com"}[stack]
    assert result.exports["endpointUrl"] == host
    assert result.exports["predictUrl"] == f"{host}/v1/models/chnsenticorp:predict"
    assert result.exports["grpcAddress"] == "bert-tfserving.inference.svc.cluster.local:8500"
    assert result.exports["hpaName"] == "bert-tfserving"
    assert result.exports["deploymentName"] == "bert-tfserving"
    assert result.exports["modelUri"].startswith("oss://")
    dumped = json.dumps(result.exports, default=str)
    for secret in (FAKE_ACCESS_KEY_SECRET, "s3cr3t-token", SECRET_SIG):
        assert secret not in dumped


def test_behavior_is_per_stack(rendered):
    dev = rendered[("dev", False)].kind("HorizontalPodAutoscaler")["spec"]["behavior"]
    prod = rendered[("prod", False)].kind("HorizontalPodAutoscaler")["spec"]["behavior"]
    assert dev["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert dev["scaleDown"]["stabilizationWindowSeconds"] < prod["scaleDown"]["stabilizationWindowSeconds"]


def test_each_behaviour_knob_lands_in_its_own_field(dev_config):
    """Four distinct values, so swapping any two knobs anywhere between config and manifest fails."""
    dev_config["elastic-inference:autoscaling"].update(
        scaleUpStabilizationSeconds=7, scaleUpPodsPerMinute=3,
        scaleDownStabilizationSeconds=45, scaleDownPodsPerMinute=2)
    behavior = run_program(dev_config).kind("HorizontalPodAutoscaler")["spec"]["behavior"]
    assert behavior == {
        "scaleUp": {
            "stabilizationWindowSeconds": 7,
            "selectPolicy": "Max",
            # Whichever adds more per minute: the configured pods, or doubling.
            "policies": [{"type": "Pods", "value": 3, "periodSeconds": 60},
                         {"type": "Percent", "value": 100, "periodSeconds": 60}],
        },
        "scaleDown": {
            "stabilizationWindowSeconds": 45,
            "selectPolicy": "Min",
            "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}],
        },
    }
