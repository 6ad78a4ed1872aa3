"""Unit tests of the pure spec builders, called directly."""

from __future__ import annotations

import json
import re

import kubernetes_validate
import pytest

from components import autoscaler, public_endpoint, serving_spec, volume_spec
from components.placement import Placement


def serving(**overrides) -> serving_spec.ServingInputs:
    values = dict(
        namespace="inference", name="bert", image="tensorflow/serving:2.19.0-gpu", gpus=1,
        cpu="4", memory="12Gi", model_name="chnsenticorp", versions=(3, 1), served_version=3, claim_name="claim",
        poll_seconds=60,
    )
    values.update(overrides)
    return serving_spec.ServingInputs(**values)


def volume(**overrides) -> volume_spec.VolumeInputs:
    values = dict(
        namespace="inference", name="bert", bucket="acme", endpoint="oss-cn-beijing-internal.aliyuncs.com",
        prefix="models/bert",
    )
    values.update(overrides)
    return volume_spec.VolumeInputs(**values)


SECRET = volume_spec.SecretCredential(secret_name="bert-oss-reader")


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


def test_readiness_asks_for_the_served_version_read_from_its_file(tmp_path):
    """The probe's shell: with the served-version file it asks for that version's metadata,
    without it (the first deployment) for the newest version's. Run with a stand-in server."""
    import subprocess  # noqa: PLC0415 - only this test runs the probe's shell
    import threading  # noqa: PLC0415
    from http.server import BaseHTTPRequestHandler, HTTPServer  # noqa: PLC0415

    asked: list[str] = []

    class Server(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            asked.append(self.path)
            self.send_response(200 if self.path.endswith("/versions/3/metadata") else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Server)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    script = serving_spec.served_probe("bert")["exec"]["command"][2]
    script = script.replace(serving_spec.SERVED_DIR, str(tmp_path)).replace(
        f"127.0.0.1/{serving_spec.REST_PORT}", f"127.0.0.1/{httpd.server_address[1]}")
    try:
        def probe() -> int:
            return subprocess.run(["bash", "-c", script], check=False, timeout=10).returncode

        assert probe() != 0 and asked[-1] == "/v1/models/bert/metadata"
        (tmp_path / serving_spec.SERVED_FILE).write_text("3", encoding="utf-8")
        assert probe() == 0 and asked[-1] == "/v1/models/bert/versions/3/metadata"
        (tmp_path / serving_spec.SERVED_FILE).write_text("4", encoding="utf-8")
        assert probe() != 0 and asked[-1] == "/v1/models/bert/versions/4/metadata"
    finally:
        httpd.shutdown()


def test_cpu_only_pods_request_no_gpu():
    container = serving_spec.deployment_manifest(serving(gpus=0, image="tensorflow/serving:2.19.0"), Placement(), "cm")[
        "spec"]["template"]["spec"]["containers"][0]
    assert "nvidia.com/gpu" not in json.dumps(container["resources"])


def test_placement_lands_in_the_pod_spec():
    placement = Placement(
        node_selector={"inference": "tensorflow"},
        tolerations=({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},),
        pod_labels={"alibabacloud.com/eci": "true"},
        pod_annotations={"k8s.aliyun.com/eci-use-specs": "ecs.gn6i-c4g1.xlarge"},
    )
    template = serving_spec.deployment_manifest(serving(), placement, "cm")["spec"]["template"]
    assert template["spec"]["nodeSelector"] == {"inference": "tensorflow"}
    assert template["spec"]["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert template["metadata"]["labels"]["alibabacloud.com/eci"] == "true"
    assert template["metadata"]["annotations"]["k8s.aliyun.com/eci-use-specs"] == "ecs.gn6i-c4g1.xlarge"
    # Placement labels never enter the immutable selector.
    selector = serving_spec.deployment_manifest(serving(), placement, "cm")["spec"]["selector"]["matchLabels"]
    assert "alibabacloud.com/eci" not in selector


def test_no_placement_means_no_constraints():
    pod = serving_spec.deployment_manifest(serving(), Placement(), "cm")["spec"]["template"]["spec"]
    assert "nodeSelector" not in pod and "tolerations" not in pod


def test_the_model_config_keeps_its_name_when_the_versions_change():
    """Edited in place (the server polls the file), never renamed: a new name would change the pod
    template and restart every pod."""
    a = serving_spec.config_map_manifest(serving(versions=(1,), served_version=1))
    b = serving_spec.config_map_manifest(serving(versions=(1, 2), served_version=1))
    assert a["metadata"]["name"] == b["metadata"]["name"] == "bert-config"
    assert a["data"] != b["data"]


def test_image_version_label():
    assert serving_spec.image_version("registry.cn-beijing.aliyuncs.com:5000/ns/tf:2.19.0-gpu") == "2.19.0-gpu"
    assert serving_spec.image_version("tf@sha256:" + "a" * 64) == "a" * 12


@pytest.mark.parametrize("qps,expected", [(10, "10"), (10.0, "10"), (2.5, "2500m"), (0.1, "100m")])
def test_qps_quantity(qps, expected):
    assert autoscaler.quantity(qps) == expected


def hpa_args(**overrides) -> autoscaler.AutoscalerArgs:
    values = dict(
        namespace="ns", name="h", deployment_name="d", service_name="svc", service_port=8501,
        sls_project="p", sls_logstore="l", min_replicas=1, max_replicas=5, target_qps=10,
        behavior=autoscaler.ScalingBehavior(scale_up_stabilization_seconds=0, scale_up_pods_per_minute=4,
                                            scale_down_stabilization_seconds=600, scale_down_pods_per_minute=1),
    )
    values.update(overrides)
    return autoscaler.AutoscalerArgs(**values)


def test_hpa_behavior_and_route():
    hpa = autoscaler.hpa_manifest(hpa_args(), route=autoscaler.ingress_route("ns", "svc", 8501))
    labels = hpa["spec"]["metrics"][0]["external"]["metric"]["selector"]["matchLabels"]
    assert labels["sls.ingress.route"] == "ns-svc-8501"
    up, down = hpa["spec"]["behavior"]["scaleUp"], hpa["spec"]["behavior"]["scaleDown"]
    assert up["stabilizationWindowSeconds"] == 0 and up["selectPolicy"] == "Max"
    assert {"type": "Pods", "value": 4, "periodSeconds": 60} in up["policies"]
    assert down["stabilizationWindowSeconds"] == 600
    assert down["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": 60}]


def endpoint_args(**overrides) -> public_endpoint.PublicEndpointArgs:
    values = dict(namespace="ns", name="i", host="a.example.com", class_name="nginx", service_name="svc",
                  service_port=8501, tls_secret_name=None, model_name="bert", served_version=3)
    values.update(overrides)
    return public_endpoint.PublicEndpointArgs(**values)


def test_ingress_uses_the_port_number_and_tls_only_when_asked():
    plain = public_endpoint.ingress_manifest(endpoint_args())
    # Without TLS or restrictions, the one annotation routes the public path to the served version.
    assert "tls" not in plain["spec"]
    rewrite = {public_endpoint.ANNOTATION_REWRITE: "/v1/models/bert/versions/3:predict"}
    assert plain["metadata"]["annotations"] == rewrite
    assert plain["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"] == {"number": 8501}
    tls = public_endpoint.ingress_manifest(endpoint_args(tls_secret_name="cert"))
    assert tls["spec"]["tls"] == [{"hosts": ["a.example.com"], "secretName": "cert"}]
    assert public_endpoint.endpoint_url("a.example.com", True) == "https://a.example.com"


def test_pv_name_changes_with_its_attributes_and_handle_follows():
    a = volume_spec.pv_manifest(volume(), SECRET)
    b = volume_spec.pv_manifest(volume(prefix="models/other"), SECRET)
    assert a["metadata"]["name"] != b["metadata"]["name"]
    for pv in (a, b):
        assert pv["spec"]["csi"]["volumeHandle"] == pv["metadata"]["name"]
    assert a == volume_spec.pv_manifest(volume(), SECRET)
    assert volume_spec.pvc_manifest(volume(), a["metadata"]["name"])["spec"]["volumeName"] == a["metadata"]["name"]


def test_rrsa_pv_has_no_secret_reference():
    pv = volume_spec.pv_manifest(volume(), volume_spec.RoleCredential(role_name="r"))
    assert "nodePublishSecretRef" not in pv["spec"]["csi"]
    assert pv["spec"]["csi"]["volumeAttributes"]["roleName"] == "r"


@pytest.mark.parametrize("stack", ["dev", "dev_eu", "team.a", "Feature/Branch", "x" * 80])
@pytest.mark.parametrize("suffix", ["oss-reader", "oss-read", "oss-rrsa"])
def test_ram_names_fit_the_ram_limits(stack, suffix):
    name = volume_spec.ram_name(stack, "c" + "0" * 32, "inference", "bert-tfserving", suffix)
    assert re.fullmatch(volume_spec.RAM_NAME, name), name
    assert name.endswith("-" + suffix)
    assert name != volume_spec.ram_name(stack, "c" + "1" * 32, "inference", "bert-tfserving", suffix)


def test_ram_names_of_plain_stacks_did_not_change():
    """Stacks named with letters, digits and '-' keep the names they had: no RAM replacement on
    upgrade for them."""
    assert volume_spec.ram_name("dev", "c" + "0" * 32, "inference", "bert-tfserving", "oss-reader") == (
        "ei-dev-inference-bert-tfserving-" + volume_spec.content_hash(
            ["dev", "c" + "0" * 32, "inference", "bert-tfserving"])[:6] + "-oss-reader")


def test_each_builder_returns_a_whole_valid_manifest():
    """The builders are the manifests' one definition (tests and reviewers call them directly):
    each returns a complete object, apiVersion and kind included, valid on its own."""
    s = serving()
    peers = serving_spec.NetworkPeers(ingress_namespace="kube-system", ingress_pod_labels=None)
    built = [
        serving_spec.config_map_manifest(s), serving_spec.service_account_manifest(s),
        serving_spec.deployment_manifest(s, Placement(), "cm"), serving_spec.service_manifest(s),
        serving_spec.pdb_manifest(s), serving_spec.pods_service_manifest(s), serving_spec.served_config_map_manifest(s),
        serving_spec.network_policy_manifest(s, peers),
        volume_spec.pv_manifest(volume(), SECRET), volume_spec.pvc_manifest(volume(), "pv"),
        autoscaler.hpa_manifest(hpa_args(), route="ns-svc-8501"), public_endpoint.ingress_manifest(endpoint_args()),
    ]
    assert [m["kind"] for m in built] == [
        "ConfigMap", "ServiceAccount", "Deployment", "Service", "PodDisruptionBudget", "Service", "ConfigMap",
        "NetworkPolicy",
        "PersistentVolume", "PersistentVolumeClaim", "HorizontalPodAutoscaler", "Ingress"]
    for manifest in built:
        kubernetes_validate.validate(manifest, "1.33.0", strict=True)


def test_the_version_label_fits_a_label_value():
    """A label value is at most 63 characters: a long tag is cut there, not one past it."""
    tag = "2.19.1-gpu-" + "x" * 70
    version = serving_spec.image_version(f"registry.example.com/team/serving:{tag}")
    assert version == tag[:63] and len(version) == 63


def test_the_hpa_reads_an_external_metric():
    """The metrics adapter serves sls_ingress_qps as an External metric; any other type would not
    be found."""
    (metric,) = autoscaler.hpa_manifest(hpa_args(), route="r")["spec"]["metrics"]
    assert metric["type"] == "External" and metric["external"]["metric"]["name"] == "sls_ingress_qps"
