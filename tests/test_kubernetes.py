"""The Kubernetes half: every object validates strictly against each Kubernetes minor version
ACK offers, and the wiring between the objects holds."""

from __future__ import annotations

import inspect
import json
import re

import jsonschema
import kubernetes_validate
import pulumi
import pulumi_kubernetes as k8s
import pytest
from harness import (
    ACK_VERSIONS,
    FAKE_KUBECONFIG,
    RUN_IDS,
    RUNS,
    validate_strictly,
)
from inputs import SECRET, endpoint_args, hpa_args, serving_inputs, volume_inputs

from components import wiring
from components.capacity.placement import Placement
from components.network import public_endpoint
from components.scaling import autoscaler
from components.serving import spec as serving_spec
from components.serving.versions import spec as versions_spec
from components.storage import volume_spec
from settings import Network

CLUSTER_SCOPED = {"Namespace", "PersistentVolume"}


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
        validate_strictly(manifest, version)


def test_strict_validation_catches_a_wrong_field():
    """The validator really is strict: a misspelled field fails (guards against vacuity)."""
    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"port": 1}}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_strictly(bad, ACK_VERSIONS[0])


@pytest.mark.parametrize("mistake", ["unit-field", "policy", "timeout", "resource", "spec-field"])
def test_the_resource_policy_schema_catches_what_the_scheduler_would_not_read(rendered, mistake):
    """The transcribed ResourcePolicy schema is strict too: prod's own policy passes, and each
    slip (a field the Go type lacks, a policy or resource outside its enum, a duration Go does
    not parse) fails."""
    policy = json.loads(json.dumps(rendered[("prod", False)].kind("ResourcePolicy")))
    validate_strictly(policy, ACK_VERSIONS[0])
    spec = policy["spec"]
    if mistake == "unit-field":
        spec["units"][0]["nodeSelectors"] = spec["units"][0].pop("nodeSelector")
    elif mistake == "policy":
        spec["whenTryNextUnits"]["policy"] = "TimeoutOrExceedsMax"
    elif mistake == "timeout":
        spec["whenTryNextUnits"]["timeout"] = "30"
    elif mistake == "resource":
        spec["units"][1]["resource"] = "ECI"
    else:
        spec["whenTryNextUnit"] = spec.pop("whenTryNextUnits")
    with pytest.raises(jsonschema.ValidationError):
        validate_strictly(policy, ACK_VERSIONS[0])


@pytest.mark.parametrize("run", RUNS, ids=RUN_IDS)
def test_every_object_goes_through_the_cluster_provider_into_the_namespace(rendered, run):
    result = rendered[run]
    provider = result.one("pulumi:providers:kubernetes")
    assert provider.secret_inputs, "the kubeconfig must be a secret input"
    assert FAKE_KUBECONFIG not in json.dumps(provider.inputs)  # only inside the secret wrapper
    for registration in result.kubernetes():
        assert registration.provider.startswith(provider.urn + "::"), registration.name
        manifest = result.manifest(registration)
        if manifest["kind"] in ("Role", "RoleBinding") and registration.name.startswith("edge-log-check"):
            # The one exception: the edge-log check may read the controller's ConfigMap, in its namespace.
            assert manifest["metadata"]["namespace"] == "kube-system", registration.name
        elif manifest["kind"] not in CLUSTER_SCOPED:
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


def test_the_namespace_says_which_project_it_belongs_to(rendered):
    labels = rendered[("dev", False)].kind("Namespace")["metadata"]["labels"]
    assert labels == {"app.kubernetes.io/part-of": "elastic-inference"}


def test_content_named_objects_end_in_an_eight_digit_hash(rendered):
    """The volume and the version gate's Jobs are named by a hash of their content: a change of
    the scheme would rename (and replace) them on every existing stack. The model config is not:
    it is edited in place."""
    result = rendered[("dev", False)]
    names = [result.kind("PersistentVolume")["metadata"]["name"]]
    names += [m["metadata"]["name"] for m in result.manifests() if m["kind"] == "Job"]
    # The volume, the retire check, the serve gate, the edge-log check.
    assert len(names) == 4 and all(re.search(r"-[0-9a-f]{8}$", n) for n in names), names
    assert result.kind("ConfigMap", "bert-tfserving-config")


def test_each_builder_returns_a_whole_valid_manifest():
    """The builders are the manifests' one definition (tests and reviewers call them directly):
    each returns a complete object, apiVersion and kind included, valid on its own."""
    s = serving_inputs()
    peers = serving_spec.NetworkPeers(network=Network(ingress_namespace="kube-system", ingress_pod_labels=None,
                                                      grpc_client_namespaces=(), metrics_namespaces=()),
                                      check_pod_labels=versions_spec.gate_labels(s.name))
    built = [
        serving_spec.config_map_manifest(s), serving_spec.service_account_manifest(s),
        serving_spec.deployment_manifest(s, Placement(), "cm"), serving_spec.service_manifest(s),
        serving_spec.pdb_manifest(s), serving_spec.pods_service_manifest(s),
        versions_spec.served_config_map_manifest(s),
        serving_spec.network_policy_manifest(s, peers),
        volume_spec.pv_manifest(volume_inputs(), SECRET), volume_spec.pvc_manifest(volume_inputs(), "pv"),
        autoscaler.hpa_manifest(hpa_args()), public_endpoint.ingress_manifest(endpoint_args()),
    ]
    assert [m["kind"] for m in built] == [
        "ConfigMap", "ServiceAccount", "Deployment", "Service", "PodDisruptionBudget", "Service", "ConfigMap",
        "NetworkPolicy",
        "PersistentVolume", "PersistentVolumeClaim", "HorizontalPodAutoscaler", "Ingress"]
    for manifest in built:
        kubernetes_validate.validate(manifest, "1.33.0", strict=True)


def test_k8s_object_hands_the_sdk_every_key_of_a_manifest():
    """A builder's manifest reaches its SDK class whole: each top-level key becomes the keyword
    the class's constructor declares (none dropped, as spelling metadata= and spec= by hand
    could), and the options join parent and depends_on."""
    s = serving_inputs()
    calls: list[tuple[type, str, dict]] = []

    def through(cls: type):
        def record(name: str, **kwargs):
            # The typed constructor's keywords (its __init__ is an overload over *args, **kwargs)
            inspect.signature(cls._internal_init).bind(None, name, **kwargs)
            calls.append((cls, name, kwargs))
            return name
        return record

    wiring.k8s_object(through(k8s.core.v1.ServiceAccount), "sa", serving_spec.service_account_manifest(s),
                      parent=None, depends_on=[], custom_timeouts=pulumi.CustomTimeouts(create="1m"))
    wiring.k8s_object(through(k8s.rbac.v1.RoleBinding), "rb",
                      {"metadata": {"name": "b"}, "roleRef": {"kind": "Role", "name": "r", "apiGroup": "x"},
                       "subjects": []}, parent=None)
    (_, _, sa), (_, _, rb) = calls
    assert sa["automount_service_account_token"] is False
    assert sa["opts"].custom_timeouts.create == "1m" and sa["opts"].depends_on == []
    assert rb["role_ref"]["name"] == "r" and set(rb) == {"metadata", "role_ref", "subjects", "opts"}
    with pytest.raises(TypeError):
        wiring.k8s_object(through(k8s.core.v1.ConfigMap), "cm", {"metadata": {}, "dataa": {}}, parent=None)
