"""The HPA on ingress QPS: its target, metric, route, bounds and behaviour, as built and as the
program registers it."""

from __future__ import annotations

import pytest
from harness import (
    run_program,
)
from inputs import hpa_args

from components.scaling import autoscaler
from config.derived import ingress_route


@pytest.mark.parametrize("qps,expected", [(10, "10"), (10.0, "10"), (2.5, "2500m"), (0.1, "100m")])
def test_qps_quantity(qps, expected):
    assert autoscaler.quantity(qps) == expected


def test_hpa_behavior_and_route():
    hpa = autoscaler.hpa_manifest(hpa_args(route=ingress_route("ns", "svc", 8501)))
    labels = hpa["spec"]["metrics"][0]["external"]["metric"]["selector"]["matchLabels"]
    assert labels["sls.ingress.route"] == "ns-svc-8501"
    up, down = hpa["spec"]["behavior"]["scaleUp"], hpa["spec"]["behavior"]["scaleDown"]
    assert up["stabilizationWindowSeconds"] == 0 and up["selectPolicy"] == "Max"
    assert {"type": "Pods", "value": 4, "periodSeconds": 60} in up["policies"]
    assert down["stabilizationWindowSeconds"] == 600
    assert down["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": 60}]


def test_the_hpa_reads_an_external_metric():
    """The metrics adapter serves sls_ingress_qps as an External metric; any other type would not
    be found."""
    (metric,) = autoscaler.hpa_manifest(hpa_args(route="r"))["spec"]["metrics"]
    assert metric["type"] == "External" and metric["external"]["metric"]["name"] == "sls_ingress_qps"


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
