"""The serving workload: the pods' hardening, resources, probes, rollout, drain and labels, and the
TF Serving model config they read."""

from __future__ import annotations

import json
import re

import pytest
from conftest import MODEL_VERSION
from harness import (
    NS,
    run_program,
)
from inputs import pool_alone, serving_inputs

from components.capacity.placement import Placement
from components.serving import spec as serving_spec
from config.image_ref import image_version


def test_the_container_is_hardened(rendered):
    """No privilege escalation, no capabilities, read-only root, non-root: what the README claims
    for node pools (and, in part, for ECI)."""
    container = rendered[("dev", False)].kind("Deployment")["spec"]["template"]["spec"]["containers"][0]
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["runAsNonRoot"] is True
    # With the root read-only, /tmp must be a writable volume of its own.
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert "/tmp" in mounts and not mounts["/tmp"].get("readOnly", False)


def test_pods_are_guaranteed_their_resources(rendered):
    """Requests equal limits for CPU, memory and GPU (QoS Guaranteed): a node under pressure
    evicts other pods first, and the scheduler places each pod where all of it fits."""
    resources = rendered[("dev", False)].kind("Deployment")["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources == {"requests": {"cpu": "4", "memory": "12Gi", "nvidia.com/gpu": "1"},
                         "limits": {"cpu": "4", "memory": "12Gi", "nvidia.com/gpu": "1"}}


def test_metrics_scrapers_find_the_metrics_where_tf_serving_serves_them(dev_config):
    """The pods' Prometheus annotations point at the path and port the monitoring config turns on,
    and the NetworkPolicy admits the scrapers' namespace (ACK's managed Prometheus runs its agent
    in arms-prom: docs/security.md)."""
    dev_config[NS + "network"] = {"metricsNamespaces": ["arms-prom"]}
    result = run_program(dev_config)
    template = result.kind("Deployment")["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    monitoring = result.kind("ConfigMap", "bert-tfserving-config")["data"]["monitoring.config"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert f'path: "{annotations["prometheus.io/path"]}"' in monitoring
    ports = {p["name"]: p["containerPort"] for p in template["spec"]["containers"][0]["ports"]}
    assert annotations["prometheus.io/port"] == str(int(ports["http"]))
    admitted = [rule for rule in result.kind("NetworkPolicy", "bert-tfserving")["spec"]["ingress"]
                if {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "arms-prom"}}} in rule["from"]]
    assert [rule["ports"] for rule in admitted] == [[{"protocol": "TCP", "port": int(ports["http"])}]]


@pytest.mark.parametrize("network, advertised", [
    ({}, False),                                      # the default policy admits no scraper
    ({"metricsNamespaces": ["arms-prom"]}, True),
    ({"policy": False}, True),                        # no policy: anyone in the cluster may scrape
])
def test_the_pods_advertise_their_metrics_only_where_a_scraper_can_reach_them(dev_config, network, advertised):
    dev_config[NS + "network"] = network
    annotations = run_program(dev_config).kind("Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert ("prometheus.io/scrape" in annotations) is advertised


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_pods_spread_across_zones_without_blocking(dev_config, prod_config, stack):
    """README: zone spreading, so a spot reclaim in one zone keeps the others serving; best effort
    (ScheduleAnyway), so a zone short of GPUs never leaves a pod Pending."""
    config = {"dev": dev_config, "prod": prod_config}[stack]
    template = run_program(config, stack).kind("Deployment")["spec"]["template"]
    (spread,) = template["spec"]["topologySpreadConstraints"]
    assert (spread["topologyKey"], spread["maxSkew"], spread["whenUnsatisfiable"]) == (
        "topology.kubernetes.io/zone", 1, "ScheduleAnyway")
    assert spread["labelSelector"]["matchLabels"].items() <= template["metadata"]["labels"].items()


def test_the_pod_holds_no_kubernetes_credential(rendered):
    """The server never calls the Kubernetes API: no service-account token is mounted."""
    pod = rendered[("dev", False)].kind("Deployment")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


def test_a_rollout_never_drops_a_serving_pod_first(rendered):
    """A new pod is ready before an old one goes (the default 25% unavailable would drop
    capacity mid-rollout), one extra GPU pod at a time."""
    strategy = rendered[("dev", False)].kind("Deployment")["spec"]["strategy"]
    assert strategy == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}


def test_ports_are_tcp_and_named(rendered):
    result = rendered[("dev", False)]
    container = result.kind("Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"] == [{"name": "grpc", "containerPort": 8500, "protocol": "TCP"},
                                  {"name": "http", "containerPort": 8501, "protocol": "TCP"}]
    assert {p["protocol"] for p in result.kind("Service", "bert-tfserving")["spec"]["ports"]} == {"TCP"}


def test_the_autoscaler_may_empty_a_node_under_a_serving_pod(rendered):
    """The /tmp emptyDir would otherwise stop the cluster autoscaler from removing the node:
    scale-in must be able to give GPU nodes back."""
    annotations = rendered[("dev", False)].kind("Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"] == "true"


@pytest.mark.parametrize("jit", [False, True], ids=["native", "ptx-jit"])
def test_a_rollout_is_not_declared_failed_before_a_new_pod_could_be_ready(dev_config, jit):
    """Kubernetes' progress deadline is at least a new pod's budget (node or ECI provisioning, then
    the startup probe), the same budget `pulumi up` waits: a slow but healthy cold start is not a
    failed rollout."""
    if jit:
        dev_config[NS + "serving"].update(image="registry-vpc.cn-beijing.aliyuncs.com/acme/serving:1.0-gpu",
                                          imageBuild={"cuda": "12.2", "kernels": ["compute_70"]})
    result = run_program(dev_config)
    deployment = result.one("kubernetes:apps/v1:Deployment")
    spec = result.manifest(deployment)["spec"]
    probe = spec["template"]["spec"]["containers"][0]["startupProbe"]
    assert spec["progressDeadlineSeconds"] >= probe["periodSeconds"] * probe["failureThreshold"]
    assert spec["progressDeadlineSeconds"] == 60 * int(deployment.custom_timeouts["create"].removesuffix("m"))


def test_one_pod_at_a_time_may_be_disrupted(rendered):
    """A node drain or spot reclaim takes at most one serving pod at a time."""
    result = rendered[("prod", False)]
    pdb, deployment = result.kind("PodDisruptionBudget"), result.kind("Deployment")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert "minAvailable" not in pdb["spec"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_a_stopping_pod_drains_before_it_goes(rendered):
    """README: a 15 s preStop delay (the ingress drops the endpoint first) inside a 60 s grace
    period, so in-flight requests finish."""
    pod = rendered[("dev", False)].kind("Deployment")["spec"]["template"]["spec"]
    assert pod["containers"][0]["lifecycle"]["preStop"] == {"exec": {"command": ["sleep", "15"]}}
    assert pod["terminationGracePeriodSeconds"] == 60


@pytest.mark.parametrize("kind", ["HorizontalPodAutoscaler", "Ingress", "Deployment", "Service"])
def test_objects_carry_the_recommended_labels(kind, rendered):
    """`kubectl get -l app.kubernetes.io/part-of=...` finds every object of the service."""
    labels = rendered[("dev", False)].kind(kind, "bert-tfserving" if kind == "Service" else None)["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "tensorflow-serving"
    assert labels["app.kubernetes.io/instance"] == "bert-tfserving"
    assert labels["app.kubernetes.io/part-of"] == "elastic-inference"
    assert labels["app.kubernetes.io/managed-by"] == "pulumi"


def test_probes_are_the_documented_ones(rendered):
    """README "Probes": readiness every 10 s (5 s timeout, out after 3 misses), liveness every 20 s
    (5 s timeout, restart after 3 misses: a minute without an answer), startup every 10 s for the
    start-up budget."""
    container = rendered[("dev", False)].kind("Deployment")["spec"]["template"]["spec"]["containers"][0]
    timing = {probe: {k: container[probe][k] for k in ("periodSeconds", "timeoutSeconds", "failureThreshold")}
              for probe in ("readinessProbe", "livenessProbe", "startupProbe")}
    assert timing == {
        "readinessProbe": {"periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {"periodSeconds": 20, "timeoutSeconds": 5, "failureThreshold": 3},
        "startupProbe": {"periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 90},
    }


def test_liveness_asks_the_model_status_not_the_root(rendered):
    """TF Serving answers 404 at `/`: a liveness probe there would restart healthy pods."""
    container = rendered[("dev", False)].kind("Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"] == {"path": "/v1/models/chnsenticorp", "port": "http"}


def test_model_config_text_is_the_exact_text_proto():
    assert serving_spec.model_config_text("bert", "/models/bert", [3, 1]) == (
        "model_config_list {\n"
        "  config {\n"
        '    name: "bert"\n'
        '    base_path: "/models/bert"\n'
        '    model_platform: "tensorflow"\n'
        "    model_version_policy {\n"
        "      specific {\n"
        "        versions: 1\n"
        "        versions: 3\n"
        "      }\n"
        "    }\n"
        "  }\n"
        "}\n"
    )


def test_cpu_only_pods_request_no_gpu():
    cpu_only = serving_inputs(gpus=0, image="tensorflow/serving:2.19.0")
    pod = serving_spec.deployment_manifest(cpu_only, Placement(), "cm")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert "nvidia.com/gpu" not in json.dumps(container["resources"])


def test_image_version_label():
    assert image_version("registry.cn-beijing.aliyuncs.com:5000/ns/tf:2.19.0-gpu") == "2.19.0-gpu"
    assert image_version("tf@sha256:" + "a" * 64) == "a" * 12


def test_the_version_label_fits_a_label_value():
    """A label value is at most 63 characters: a long tag is cut there, not one past it."""
    tag = "2.19.1-gpu-" + "x" * 70
    version = image_version(f"registry.example.com/team/serving:{tag}")
    assert version == tag[:63] and len(version) == 63


def test_mount_path_and_versions_match_the_model_config(prod_config):
    result = run_program(pool_alone(prod_config), "prod")  # in place: the served-version file
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
